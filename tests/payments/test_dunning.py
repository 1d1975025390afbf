"""Dunning (CGV B3, C6, C10; L3): reminder, formal notice, sanctions applied once, suspension and resumption."""
import datetime
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta

from billing.choices import DocumentType, InvoiceKind, InvoiceStatus, PaymentMethod
from billing.models import Charge, Invoice
from contracts.choices import BillingFrequency, ContractStatus, SuspensionReason, TerminationKind
from contracts.models import ContractSuspension
from core.models import OutboundEmail
from payments import services
from payments.choices import FormalNoticeStatus
from payments.choices import PaymentMethod as PayMethod
from payments.exceptions import PaymentsError
from payments.models import OverdueReminder
from tests.factories.contracts import ContractFactory, ContractLineFactory
from tests.factories.payments import issued_invoice

D = datetime.date
SENT = D(2026, 5, 10)
RECEIVED = D(2026, 5, 12)
APPLIES = D(2026, 6, 12)  # 30 days after receipt without effect → from the 31st day


def _setup(client, frequency=BillingFrequency.MONTHLY):
    """A contract at 100 € HT a month signed 15/03/2026 (term 31/12/2027) and an unpaid 1 200 € invoice due 30/04."""
    contract = ContractFactory(client=client, billing_frequency=frequency, signature_date=D(2026, 3, 15))
    ContractLineFactory(contract=contract, unit_price=Decimal("100.00"))
    late = issued_invoice(client=client, contract=contract, today=D(2026, 3, 2), amount_ht="1000.00")
    assert (late.total_ttc, late.due_date) == (Decimal("1200.00"), D(2026, 4, 30))
    return contract, late


def _current_period_invoice(client, contract, frequency):
    months = BillingFrequency(frequency).months
    start = {1: D(2026, 6, 1), 3: D(2026, 4, 1), 12: D(2026, 3, 15)}[months]
    end = {1: D(2026, 6, 30), 3: D(2026, 6, 30), 12: D(2026, 12, 31)}[months]
    return issued_invoice(client=client, contract=contract, today=start, kind=InvoiceKind.RECURRING,
                          amount_ht=str(100 * months), period_start=start, period_end=end)


def _notice(client):
    notice = services.formal_notice_issue(actor=None, client=client, sent_on=SENT, today=SENT,
                                          tracking_number="1A 234 567 8901 2")
    return services.formal_notice_update_letter(actor=None, notice=notice, received_on=RECEIVED)


def test_b3_reminder_once_when_an_invoice_becomes_overdue(provider, client_a):
    _contract, late = _setup(client_a)
    assert services.overdue_reminders_send(today=D(2026, 4, 30)) == {"reminded": 0, "emails": 0}  # due today
    assert services.overdue_reminders_send(today=D(2026, 5, 1)) == {"reminded": 1, "emails": 1}
    assert services.overdue_reminders_send(today=D(2026, 5, 2)) == {"reminded": 0, "emails": 0}
    [email] = OutboundEmail.objects.filter(key__startswith="payments.overdue_reminder:")
    assert late.number in email.body and "1\u202f200,00" in email.body and "40,00" in email.body
    assert OverdueReminder.objects.get().invoice_id == late.pk


def test_formal_notice_records_lrar_and_sanctions_date_and_renders_pdf(provider, client_a, run_on_commit):
    _setup(client_a)
    with run_on_commit():
        notice = services.formal_notice_issue(actor=None, client=client_a, sent_on=SENT, today=SENT)
    notice.refresh_from_db()
    assert (notice.amount_due, notice.applies_on, notice.status) == (Decimal("1200.00"), D(2026, 6, 10),
                                                                     FormalNoticeStatus.SENT)
    assert notice.pdf.read(4) == b"%PDF"
    notice = services.formal_notice_update_letter(actor=None, notice=notice, tracking_number="1A 234",
                                                  received_on=RECEIVED)
    assert (notice.tracking_number, notice.applies_on) == ("1A 234", APPLIES)
    with pytest.raises(PaymentsError):
        services.formal_notice_issue(actor=None, client=client_a, sent_on=SENT, today=SENT)


@pytest.mark.parametrize("frequency, invoices, amount_ht", [
    (BillingFrequency.MONTHLY, 18, Decimal("100.00")),  # July 2026 – December 2027
    (BillingFrequency.QUARTERLY, 6, Decimal("300.00")),  # Q3 2026 – Q4 2027
    (BillingFrequency.YEARLY, 1, Decimal("1200.00")),  # 2027
])
def test_b3a_acceleration_invoices_every_instalment_left_until_term(provider, client_a, frequency, invoices,
                                                                     amount_ht):
    contract, _late = _setup(client_a, frequency)
    _current_period_invoice(client_a, contract, frequency)
    notice = _notice(client_a)
    assert services.formal_notices_process(today=APPLIES - datetime.timedelta(days=1)) == {"settled": 0,
                                                                                          "applied": 0}
    assert services.formal_notices_process(today=APPLIES) == {"settled": 0, "applied": 1}
    accelerated = Invoice.objects.filter(source_key__startswith=f"payments.acceleration:{notice.pk}:")
    assert accelerated.count() == invoices
    assert {(i.total_ht, i.total_ttc, i.due_date, i.kind, i.status) for i in accelerated} == {
        (amount_ht, amount_ht * Decimal("1.2"), APPLIES, InvoiceKind.RECURRING, InvoiceStatus.ISSUED)}
    assert sum(i.total_ht for i in accelerated) == {1: Decimal("1800.00"), 3: Decimal("1800.00"),
                                                    12: Decimal("1200.00")}[BillingFrequency(frequency).months]
    assert max(i.period_end for i in accelerated) == D(2027, 12, 31)
    # The recurring billing never invoices those periods again (one invoice per contract and period).
    from billing.services import recurring_invoices_issue

    contract.status = ContractStatus.ACTIVE
    contract.save(update_fields=["status"])
    recurring_invoices_issue(actor=None, today=D(2026, 7, 1), contract_ids=[contract.pk])
    assert Invoice.objects.filter(contract=contract, kind=InvoiceKind.RECURRING,
                                  period_start__gte=D(2026, 7, 1)).count() == invoices


def test_b3_sanctions_applied_once_then_lifted_when_the_debt_is_settled(provider, client_a, run_on_commit):
    contract, late = _setup(client_a)
    _current_period_invoice(client_a, contract, BillingFrequency.MONTHLY)
    notice = _notice(client_a)
    with run_on_commit():
        result = services.formal_notices_process(today=APPLIES)
    assert result == {"settled": 0, "applied": 1}
    notice.refresh_from_db()
    assert (notice.status, notice.applied_on) == (FormalNoticeStatus.APPLIED, APPLIES)

    # (b) interest: 1 200,00 × 18 % × 43 days (01/05 → 12/06) / 365 = 25,45 €; (c) 40 € for the late invoice.
    interest = Charge.objects.get(source_key=f"payments.late_interest:{late.pk}")
    indemnity = Charge.objects.get(source_key=f"payments.recovery_indemnity:{late.pk}")
    assert (interest.unit_price, interest.vat_rate) == (Decimal("25.45"), None)
    assert (indemnity.unit_price, indemnity.vat_rate) == (Decimal("40.00"), None)
    penalty_invoice = Invoice.objects.get(kind=InvoiceKind.PENALTY)
    assert (penalty_invoice.total_ht, penalty_invoice.total_vat, penalty_invoice.total_ttc) == (
        Decimal("65.45"), Decimal("0.00"), Decimal("65.45"))
    assert (penalty_invoice.due_date, penalty_invoice.payment_method) == (APPLIES, PaymentMethod.TRANSFER)

    # (d) suspension of every service (C10), the formal notice as the registered letter.
    contract.refresh_from_db()
    assert contract.status == ContractStatus.SUSPENDED
    suspension = ContractSuspension.objects.get(contract=contract)
    assert (suspension.reason, suspension.letter_sent_on, suspension.letter_tracking_number) == (
        SuspensionReason.UNPAID, SENT, "1A 234 567 8901 2")

    # Once: a second run (or the next day) changes nothing.
    assert services.formal_notices_process(today=APPLIES) == {"settled": 0, "applied": 0}
    assert services.formal_notices_process(today=APPLIES + datetime.timedelta(days=1)) == {"settled": 0,
                                                                                           "applied": 0}
    assert Charge.objects.filter(source__startswith="payments.").count() == 2

    # A partial payment does not lift the suspension.
    services.payment_record(actor=None, client=client_a, method=PayMethod.TRANSFER, amount=Decimal("1200.00"),
                            received_on=D(2026, 6, 20), today=D(2026, 6, 20), allocations=[(late, Decimal("1200"))])
    contract.refresh_from_db()
    assert contract.status == ContractStatus.SUSPENDED
    # Paying everything due lifts it at once, with the written resumption e-mail.
    due = sum(i.balance for i in Invoice.objects.filter(client=client_a, document_type=DocumentType.INVOICE,
                                                        status=InvoiceStatus.ISSUED, due_date__lte=D(2026, 6, 21)))
    assert due == Decimal("120.00") * 19 + Decimal("65.45")  # June + 18 accelerated instalments + penalties
    with run_on_commit():
        services.payment_record(actor=None, client=client_a, method=PayMethod.TRANSFER, amount=due,
                                received_on=D(2026, 6, 21), today=D(2026, 6, 21))
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    suspension.refresh_from_db()
    assert suspension.resumed_at is not None and suspension.resumption_letter_sent_on == D(2026, 6, 21)
    assert OutboundEmail.objects.filter(key=f"contracts.resumption:{suspension.pk}").count() == 1
    notice.refresh_from_db()
    assert notice.resumed_on == D(2026, 6, 21)

    # Interest runs until payment: 1 200 × 18 % × 51 days / 365 = 30,18 €, of which 25,45 € already invoiced.
    assert services.late_interest_final_record(today=D(2026, 6, 22)) == {"final_interest": 1}
    assert services.late_interest_final_record(today=D(2026, 6, 22)) == {"final_interest": 0}
    final = Charge.objects.get(source_key=f"payments.late_interest_final:{late.pk}")
    assert (final.unit_price, final.service_date, final.status) == (Decimal("4.73"), D(2026, 6, 20),
                                                                    Charge.Status.PENDING)


def test_b3c_indemnity_once_per_invoice_even_with_a_second_notice(provider, client_a):
    contract, late = _setup(client_a)
    _notice(client_a)
    services.formal_notices_process(today=APPLIES)
    # A second notice later for the same invoice (still unpaid) adds no second indemnity.
    notice2 = services.formal_notice_issue(actor=None, client=client_a, sent_on=D(2026, 7, 1), today=D(2026, 7, 1))
    services.formal_notice_update_letter(actor=None, notice=notice2, received_on=D(2026, 7, 2))
    services.formal_notices_process(today=D(2026, 8, 2))
    assert Charge.objects.filter(source_key=f"payments.recovery_indemnity:{late.pk}").count() == 1
    assert contract.pk


def test_b3_notice_followed_by_payment_is_settled_without_sanctions(provider, client_a):
    _contract, late = _setup(client_a)
    notice = _notice(client_a)
    services.payment_record(actor=None, client=client_a, method=PayMethod.CHEQUE, amount=Decimal("1200.00"),
                            received_on=D(2026, 5, 20), today=D(2026, 5, 20))
    assert services.formal_notices_process(today=D(2026, 5, 21)) == {"settled": 1, "applied": 0}
    notice.refresh_from_db()
    assert (notice.status, notice.settled_on) == (FormalNoticeStatus.SETTLED, D(2026, 5, 21))
    assert not Charge.objects.filter(source__startswith="payments.").exists()


def test_c6_termination_for_cause_offered_after_30_days_without_effect(provider, client_a):
    contract, _late = _setup(client_a)
    _current_period_invoice(client_a, contract, BillingFrequency.MONTHLY)
    notice = _notice(client_a)
    services.formal_notices_process(today=APPLIES)
    termination = services.formal_notice_terminate_for_cause(
        actor=None, notice=notice, contract=contract, letter_sent_on=APPLIES, today=APPLIES,
        letter_tracking_number="1A 999")
    assert (termination.kind, termination.formal_notice_received_on) == (TerminationKind.FOR_CAUSE, RECEIVED)
    # C6 claims the 18 instalments left (July 2026 – December 2027): the acceleration invoices are credited.
    assert termination.months_left == 18 and termination.amount_due == Decimal("1800.00")
    credited = Invoice.objects.filter(source_key__startswith=f"payments.acceleration:{notice.pk}:",
                                      status=InvoiceStatus.CANCELLED)
    assert credited.count() == 18


def test_c6_refused_before_30_days(provider, client_a):
    contract, _late = _setup(client_a)
    notice = _notice(client_a)
    from contracts.exceptions import ContractError

    with pytest.raises(ContractError):
        services.formal_notice_terminate_for_cause(actor=None, notice=notice, contract=contract,
                                                   letter_sent_on=APPLIES - relativedelta(days=2), today=APPLIES)
