import datetime
from decimal import Decimal

import factory

from billing import services as billing_services
from billing.choices import InvoiceKind, PaymentMethod
from payments.models import Mandate
from tests.factories.contracts import ClientFactory

# Real-format French IBANs (valid checksums) for the tests.
IBAN_A = "FR7630006000011234567890189"
IBAN_B = "FR1420041010050500013M02606"


class MandateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Mandate

    client = factory.SubFactory(ClientFactory)
    reference = factory.Sequence(lambda n: f"RUM-MIS-{n:06d}")
    debtor_name = factory.LazyAttribute(lambda o: o.client.name)
    iban = IBAN_A
    bic = "AGRIFRPP"
    signed_on = datetime.date(2025, 1, 10)
    scheme = "CORE"


def issued_invoice(
    *, client, today: datetime.date, amount_ht="100.00", kind=InvoiceKind.EXTRA, contract=None,
    payment_method=None, due_date=None, collection_date=None, vat_rate=Decimal("20.00"), period_start=None,
    period_end=None,
):
    """An issued invoice of one line through billing's services (the way payments sees real invoices)."""
    draft = billing_services.invoice_create_draft(
        actor=None, client=client, kind=kind, contract=contract, due_date=due_date, collection_date=collection_date,
        payment_method=payment_method or (PaymentMethod.DIRECT_DEBIT if kind in (InvoiceKind.EXTRA,
                                                                                  InvoiceKind.RECURRING)
                                          else PaymentMethod.TRANSFER),
        period_start=period_start, period_end=period_end,
        lines=[{"description": "Prestation", "quantity": Decimal("1"), "unit_price": Decimal(amount_ht),
                "vat_rate": vat_rate}],
    )
    return billing_services.invoice_issue(actor=None, invoice=draft, today=today)
