"""Contracts for the billing-run tests: monthly, one priced line each, in reference order (numbering order)."""
import datetime
from decimal import Decimal

from tests.factories.contracts import ContractFactory, ContractLineFactory


def monthly_contracts(count: int, *, signature: datetime.date, quantity: str, unit_price: str) -> list:
    contracts = []
    for _ in range(count):
        contract = ContractFactory(signature_date=signature)
        ContractLineFactory(contract=contract, position=0, description="Maintenance", quantity=Decimal(quantity),
                            unit_price=Decimal(unit_price))
        contracts.append(contract)
    return sorted(contracts, key=lambda c: c.reference)
