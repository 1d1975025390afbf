"""Real objects of the other apps for the portal tests, made through their services (no fakes)."""
import datetime
from decimal import Decimal

from billing import services as billing_services
from billing.choices import InvoiceKind
from tests.factories.contracts import ContractFactory

TODAY = datetime.date(2026, 11, 30)


def issue_invoice(client, *, today=TODAY, unit_price="100.00", quantity="1", kind=InvoiceKind.EXTRA,
                  description="Intervention sur site", contract=None):
    """An issued invoice (number, snapshot, dates); its PDF is rendered when the on-commit callbacks run."""
    draft = billing_services.invoice_create_draft(
        actor=None, client=client, kind=kind, contract=contract,
        lines=[{"description": description, "quantity": Decimal(quantity), "unit_price": Decimal(unit_price),
                "vat_rate": Decimal("20.00")}],
    )
    return billing_services.invoice_issue(actor=None, invoice=draft, today=today)


def send_quote(client, *, today=TODAY, title="Remplacement du serveur", unit_price="1500.00",
               deposit_rate=Decimal("0"), valid_until=None):
    """A quote sent to the client (numbered; its PDF is rendered when the on-commit callbacks run)."""
    quote = billing_services.quote_create(
        actor=None, client=client, title=title, deposit_rate=deposit_rate,
        contract=ContractFactory(client=client), valid_until=valid_until,
        lines=[{"description": "Serveur Dell PowerEdge T160", "quantity": Decimal("1"),
                "unit_price": Decimal(unit_price), "vat_rate": Decimal("20.00")},
               {"description": "Installation et migration", "quantity": Decimal("4"),
                "unit_price": Decimal("75.00"), "vat_rate": Decimal("20.00")}],
    )
    return billing_services.quote_send(actor=None, quote=quote, today=today)
