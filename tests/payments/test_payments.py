"""Payments and allocations (invoice status follows) and bank rejections (CGV B4)."""
import datetime
from decimal import Decimal

import pytest

from billing.choices import InvoiceKind, InvoiceStatus
from billing.models import Charge
from payments import services
from payments.choices import DebitItemStatus, MandateStatus, PaymentMethod, PaymentStatus, SequenceType
from payments.exceptions import PaymentsError
from payments.models import Allocation, DebitBatch, DebitItem
from tests.factories.payments import issued_invoice

D = datetime.date


def test_partial_transfer_then_cheque_settle_the_invoice(provider, client_a):
    invoice = issued_invoice(client=client_a, today=D(2026, 3, 2), kind=InvoiceKind.ORDER, amount_ht="250.00")
    assert invoice.total_ttc == Decimal("300.00")
    services.payment_record(actor=None, client=client_a, method=PaymentMethod.TRANSFER, amount=Decimal("100.00"),
                            received_on=D(2026, 3, 10), today=D(2026, 3, 10), reference="VIR 123")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PARTLY_PAID, Decimal("100.00"))
    services.payment_record(actor=None, client=client_a, method=PaymentMethod.CHEQUE, amount=Decimal("200.00"),
                            received_on=D(2026, 3, 20), today=D(2026, 3, 20), reference="CHQ 0004512",
                            allocations=[(invoice, Decimal("200.00"))])
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.paid_at) == (InvoiceStatus.PAID, Decimal("300.00"),
                                                                      D(2026, 3, 20))


def test_automatic_allocation_pays_the_earliest_due_first_and_keeps_the_rest(provider, client_a):
    first = issued_invoice(client=client_a, today=D(2026, 3, 2), kind=InvoiceKind.ORDER, amount_ht="100.00",
                           due_date=D(2026, 3, 15))
    second = issued_invoice(client=client_a, today=D(2026, 3, 3), kind=InvoiceKind.ORDER, amount_ht="100.00",
                            due_date=D(2026, 3, 10))
    payment = services.payment_record(actor=None, client=client_a, method=PaymentMethod.TRANSFER,
                                      amount=Decimal("150.00"), received_on=D(2026, 3, 12), today=D(2026, 3, 12))
    assert dict(Allocation.objects.filter(payment=payment).values_list("invoice_id", "amount")) == {
        second.pk: Decimal("120.00"), first.pk: Decimal("30.00")}
    first.refresh_from_db()
    second.refresh_from_db()
    assert (second.status, first.status) == (InvoiceStatus.PAID, InvoiceStatus.PARTLY_PAID)


def test_allocation_above_what_is_left_is_refused(provider, client_a):
    invoice = issued_invoice(client=client_a, today=D(2026, 3, 2), kind=InvoiceKind.ORDER, amount_ht="100.00")
    with pytest.raises(PaymentsError):
        services.payment_record(actor=None, client=client_a, method=PaymentMethod.TRANSFER,
                                amount=Decimal("500.00"), received_on=D(2026, 3, 12), today=D(2026, 3, 12),
                                allocations=[(invoice, Decimal("120.01"))])


def _collected(client):
    today = D(2026, 4, 30)
    invoice = issued_invoice(client=client, today=D(2026, 3, 2), amount_ht="100.00")  # 120,00 € on 30/04 (B2)
    services.batches_build(today=D(2026, 4, 26))
    batch = DebitBatch.objects.get()
    services.batch_export(actor=None, batch=batch)
    services.batches_settle_due(today=today)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    return invoice, DebitItem.objects.get(invoice=invoice)


def test_b4_rejected_debit_puts_the_invoice_back_to_unpaid_and_charges_the_fee(mandate, client_a):
    invoice, item = _collected(client_a)
    rejection = services.debit_reject(actor=None, item=item, reason_code="AM04", rejected_on=D(2026, 5, 4),
                                      today=D(2026, 5, 4))
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.paid_at) == (InvoiceStatus.ISSUED, Decimal("0.00"), None)
    item.refresh_from_db()
    assert item.status == DebitItemStatus.REJECTED
    assert item.payment.status == PaymentStatus.REJECTED
    charge = Charge.objects.get(source_key=f"payments.rejection:{item.pk}")
    assert (charge.unit_price, charge.vat_rate, charge.client_id, charge.status) == (
        Decimal("20.00"), None, client_a.pk, Charge.Status.PENDING)
    assert rejection.charge_id == charge.pk and "AM04" in charge.description
    mandate.refresh_from_db()
    assert (mandate.status, mandate.sequence) == (MandateStatus.ACTIVE, SequenceType.FIRST)  # first one rejected
    with pytest.raises(PaymentsError):
        services.debit_reject(actor=None, item=item, reason_code="AM04", rejected_on=D(2026, 5, 4),
                              today=D(2026, 5, 4))
    assert Charge.objects.filter(source="payments.rejection").count() == 1


def test_b4_closed_account_rejection_revokes_the_mandate(mandate, client_a, settings):
    settings.PAYMENTS_REJECTION_FEE = Decimal("12.50")
    _invoice, item = _collected(client_a)
    services.debit_reject(actor=None, item=item, reason_code="AC04", rejected_on=D(2026, 5, 4), today=D(2026, 5, 4))
    mandate.refresh_from_db()
    assert mandate.status == MandateStatus.REVOKED
    assert Charge.objects.get(source="payments.rejection").unit_price == Decimal("12.50")
