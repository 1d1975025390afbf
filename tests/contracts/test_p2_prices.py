"""CGV P2: maintenance prices are fixed in the contract, HT, for 12-month periods.

Between two 1 January revisions (P3) nothing moves a price: the monthly fee is the same on every day of
the year, even when a new Syntec index is published mid-year or the nightly jobs run every day.
"""
import datetime
from decimal import Decimal

from contracts import selectors
from contracts.models import ContractRevision
from tests.contracts.conftest import contracts_nightly
from tests.contracts.test_revision import prices, signed

D = datetime.date


def test_p2_prices_are_fixed_ht_for_the_whole_year_until_the_1_january_revision(syntec):
    contract = signed(D(2024, 3, 15))  # 100.00 + 4 × 35.00 HT a month
    for month in range(3, 13):  # the nightly run of each month, including after the 2024-08/09/10 publications
        day = D(2024, month, 28)
        contracts_nightly(day)
        contract.refresh_from_db()
        assert prices(contract) == [Decimal("100.00"), Decimal("35.00")], day
        assert selectors.contract_monthly_amount(contract, day) == Decimal("240.00"), day
    assert ContractRevision.objects.count() == 0
    contracts_nightly(D(2025, 1, 1))  # the next 12-month period starts with the revised prices (P3)
    assert selectors.contract_monthly_amount(contract, D(2025, 1, 1)) == Decimal("243.49")
    for day in (D(2025, 6, 30), D(2025, 12, 31)):
        contracts_nightly(day)
        assert selectors.contract_monthly_amount(contract, day) == Decimal("243.49"), day
    assert ContractRevision.objects.count() == 1
