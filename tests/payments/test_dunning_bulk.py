"""B3 applied in bulk (CGV B3 a–d, C10; L1, L3): same figures, a query count that grows with neither
the instalments nor the late invoices, gapless numbers, nothing more on a replay."""
import datetime
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType

from billing.choices import InvoiceKind, InvoiceStatus
from billing.models import Charge, Invoice, NumberSequence
from contracts.choices import BillingFrequency, ContractStatus
from contracts.models import ContractSuspension
from core.models import AuditLogEntry, OutboundEmail
from payments import services
from payments.choices import FormalNoticeStatus
from payments.models import FormalNotice
from tests.factories.contracts import ClientFactory, ContractFactory, ContractLineFactory
from tests.factories.payments import issued_invoice

D = datetime.date
SENT, RECEIVED, APPLIES = D(2026, 5, 10), D(2026, 5, 12), D(2026, 6, 12)


def _clients_in_arrears(*setups):
    """Per ``(client, options)``: a 100 € HT/month contract (current period already invoiced), ``late_invoices``
    × 1 200 € TTC due 30/04, a formal notice received 12/05. Invoices are issued in date order (L1)."""
    contracts = []
    for client, options in setups:
        frequency = options.get("frequency", BillingFrequency.MONTHLY)
        contract = ContractFactory(client=client, billing_frequency=frequency, signature_date=D(2026, 3, 15),
                                   end_date=options.get("end_date"))
        ContractLineFactory(contract=contract, unit_price=Decimal("100.00"))
        for _i in range(options.get("late_invoices", 1)):
            issued_invoice(client=client, contract=contract, today=D(2026, 3, 2), amount_ht="1000.00")
        contracts.append(contract)
    for contract in contracts:
        months = BillingFrequency(contract.billing_frequency).months
        start = {1: D(2026, 6, 1), 3: D(2026, 4, 1)}[months]
        issued_invoice(client=contract.client, contract=contract, today=D(2026, 6, 1), kind=InvoiceKind.RECURRING,
                       amount_ht=str(100 * months), period_start=start, period_end=D(2026, 6, 30))
    result = []
    for contract in contracts:
        notice = services.formal_notice_issue(actor=None, client=contract.client, sent_on=SENT, today=SENT,
                                              tracking_number=f"1A {contract.client_id:05d}")
        services.formal_notice_update_letter(actor=None, notice=notice, received_on=RECEIVED)
        result.append((contract, notice))
    return result


def _client_in_arrears(client, **options):
    return _clients_in_arrears((client, options))[0]


def _warm_caches():
    """Django caches content types after their first use; the pinned counts are those of a running server."""
    for model in (Invoice, Charge, FormalNotice, ContractSuspension):
        ContentType.objects.get_for_model(model)
    from contracts.models import Contract

    ContentType.objects.get_for_model(Contract)


# 37 fixed queries: savepoint; claim (lock the notices still sent, mark them applied); the running contracts;
# (a) their lines, the periods already invoiced, billing.bulk.invoices_issue (savepoint, provider, mandate
# hook, lock + update the counter, insert invoices, insert lines, audit, release); (b)(c) the notices'
# invoices, their settled payments, billing.bulk.charges_record (savepoint, existing keys, savepoint, insert,
# release, audit, release); charges_invoice (savepoint, lock the charges, provider, mandate hook, lock + update
# the counter, insert invoice, insert lines, audit, mark the charges, release); audit of the notices; release.
# Plus (d) contracts.services.contract_suspend, 17 queries per contract (savepoint, lock, validation (3),
# insert, update, two audits, the client and its contacts for the e-mail, keyed e-mail (4), release).
SUSPEND_QUERIES = 17
APPLY_ONE_NOTICE_QUERIES = 37 + SUSPEND_QUERIES


@pytest.mark.parametrize("end_date, late_invoices, instalments", [
    (D(2026, 7, 31), 1, 1),  # July 2026 only
    (D(2027, 6, 30), 1, 12),  # July 2026 – June 2027
    (D(2027, 6, 30), 5, 12),  # and five late invoices instead of one
])
def test_b3_application_query_count_grows_with_neither_instalments_nor_late_invoices(
        provider, client_a, django_assert_num_queries, end_date, late_invoices, instalments):
    _contract, notice = _client_in_arrears(client_a, end_date=end_date, late_invoices=late_invoices)
    _warm_caches()
    with django_assert_num_queries(APPLY_ONE_NOTICE_QUERIES):
        result = services.formal_notice_apply(actor=None, notice=notice, today=APPLIES, now=None)
    assert result == {"acceleration_invoices": instalments, "penalty_charges": 2 * late_invoices,
                      "penalty_invoices": 1, "suspended_contracts": 1}
    # (b) 1 200 × 18 % × 43 days / 365 = 25,45 € and (c) 40 € per late invoice, on one out-of-scope invoice.
    penalty = Invoice.objects.get(kind=InvoiceKind.PENALTY)
    assert (penalty.total_ht, penalty.total_vat, penalty.total_ttc) == (
        Decimal("65.45") * late_invoices, Decimal("0.00"), Decimal("65.45") * late_invoices)
    assert penalty.lines.count() == 2 * late_invoices
    # (a) 120 € TTC per month left, due at once.
    accelerated = Invoice.objects.filter(source_key__startswith=f"payments.acceleration:{notice.pk}:")
    assert accelerated.count() == instalments
    assert set(accelerated.values_list("total_ttc", "due_date")) == {(Decimal("120.00"), APPLIES)}
    assert max(accelerated.values_list("period_end", flat=True)) == end_date


def test_b3_acceleration_invoices_are_numbered_gapless_in_period_order_l1(provider, client_a):
    _contract, notice = _client_in_arrears(client_a)
    before = NumberSequence.objects.get(series="F", year=2026).last_number
    services.formal_notices_process(today=APPLIES)
    accelerated = list(Invoice.objects.filter(source_key__startswith=f"payments.acceleration:{notice.pk}:")
                       .order_by("sequence"))
    penalty = Invoice.objects.get(kind=InvoiceKind.PENALTY)
    # 18 months (July 2026 – December 2027), then the penalty invoice: consecutive numbers, dated the same day.
    assert [i.sequence for i in accelerated] + [penalty.sequence] == list(range(before + 1, before + 20))
    assert [i.number for i in accelerated][:2] == [f"F-2026-{before + 1:06d}", f"F-2026-{before + 2:06d}"]
    assert [i.period_start for i in accelerated] == sorted(i.period_start for i in accelerated)
    assert (accelerated[0].period_start, accelerated[-1].period_end) == (D(2026, 7, 1), D(2027, 12, 31))
    assert {i.issue_date for i in accelerated} == {APPLIES}
    assert NumberSequence.objects.get(series="F", year=2026).last_number == before + 19
    assert AuditLogEntry.objects.filter(action="billing.invoice.issued",
                                        object_id__in=[str(i.pk) for i in accelerated]).count() == 18


def _state():
    return {
        "invoices": Invoice.objects.count(), "charges": Charge.objects.count(),
        "emails": OutboundEmail.objects.count(), "audit": AuditLogEntry.objects.count(),
        "suspended": ContractSuspension.objects.filter(resumed_at__isnull=True).count(),
        "applied": FormalNotice.objects.filter(status=FormalNoticeStatus.APPLIED).count(),
        "last_number": NumberSequence.objects.get(series="F", year=2026).last_number,
    }


def test_many_notices_at_once_exact_figures_per_client_and_an_idempotent_replay(
        provider, client_a, client_b, django_assert_num_queries):
    """Three clients applied in one nightly pass; each gets its own figures; a replay changes nothing."""
    client_c = ClientFactory(name="Client C")
    (contract_a, notice_a), (contract_b, notice_b), (contract_c, notice_c) = _clients_in_arrears(
        (client_a, {}),  # monthly: 18 months left
        (client_b, {"frequency": BillingFrequency.QUARTERLY}),  # 6 quarters left
        (client_c, {"late_invoices": 3}),
    )
    assert services.formal_notices_process(today=APPLIES) == {"settled": 0, "applied": 3}
    for notice, count, amount_ht in [(notice_a, 18, "100.00"), (notice_b, 6, "300.00"), (notice_c, 18, "100.00")]:
        accelerated = Invoice.objects.filter(source_key__startswith=f"payments.acceleration:{notice.pk}:")
        assert accelerated.count() == count
        assert {(i.client_id, i.total_ht, i.status) for i in accelerated} == {
            (notice.client_id, Decimal(amount_ht), InvoiceStatus.ISSUED)}
    penalties = {i.client_id: i.total_ttc for i in Invoice.objects.filter(kind=InvoiceKind.PENALTY)}
    assert penalties == {client_a.pk: Decimal("65.45"), client_b.pk: Decimal("65.45"),
                         client_c.pk: Decimal("196.35")}
    for contract in (contract_a, contract_b, contract_c):
        contract.refresh_from_db()
        assert contract.status == ContractStatus.SUSPENDED
    applied = {e.object_id: e.changes for e in AuditLogEntry.objects.filter(action="payments.formal_notice.applied")}
    assert applied[str(notice_c.pk)]["penalty_charges"] == [None, 6]
    numbers = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert numbers == list(range(1, len(numbers) + 1))  # gapless across the whole night

    before = _state()
    # A replay for the same date: read the pending notices and their unpaid invoices, nothing to do.
    with django_assert_num_queries(1):
        assert services.formal_notices_process(today=APPLIES) == {"settled": 0, "applied": 0}
    assert services.formal_notices_process(today=APPLIES + datetime.timedelta(days=1)) == {"settled": 0,
                                                                                           "applied": 0}
    assert _state() == before
    # Applying a notice already applied (e.g. from a stale admin page) does nothing either.
    assert services.formal_notice_apply(actor=None, notice=notice_a, today=APPLIES, now=None) is None
    assert _state() == before


@pytest.mark.parametrize("notices", [2, 6])
def test_nightly_query_count_grows_only_with_the_contracts_suspended(provider, django_assert_num_queries,
                                                                     notices):
    """The nightly pass over N notices: fixed queries, plus contracts' suspension service per contract."""
    # Two months left each (July, August), so SQLite's 999-parameter cap never splits an INSERT.
    _clients_in_arrears(*[(ClientFactory(name=f"Client {i}"), {"late_invoices": 1 + i % 3, "end_date": D(2026, 8, 31)})
                          for i in range(notices)])
    _warm_caches()
    # The pending notices and which have unpaid invoices (2), the 37 fixed queries, one suspension per contract.
    with django_assert_num_queries(2 + 37 + notices * SUSPEND_QUERIES):
        assert services.formal_notices_process(today=APPLIES) == {"settled": 0, "applied": notices}
    assert Invoice.objects.filter(kind=InvoiceKind.PENALTY).count() == notices
    assert Invoice.objects.filter(source_key__startswith="payments.acceleration:").count() == 2 * notices


def test_final_interest_is_recorded_in_bulk_once(provider, client_a, client_b):
    """B3 (b) until payment: the complements of several paid invoices in one pass, never twice."""
    from payments.choices import PaymentMethod as PayMethod

    _clients_in_arrears((client_a, {}), (client_b, {"late_invoices": 2}))
    services.formal_notices_process(today=APPLIES)
    for client in (client_a, client_b):
        late = list(Invoice.objects.filter(client=client, kind=InvoiceKind.EXTRA))
        services.payment_record(actor=None, client=client, method=PayMethod.TRANSFER, received_on=D(2026, 6, 20),
                                today=D(2026, 6, 20), amount=Decimal("1200.00") * len(late),
                                allocations=[(inv, Decimal("1200.00")) for inv in late])
    assert services.late_interest_final_record(today=D(2026, 6, 21)) == {"final_interest": 3}
    assert services.late_interest_final_record(today=D(2026, 6, 21)) == {"final_interest": 0}
    # 1 200 × 18 % × 51 days / 365 = 30,18 €, of which 25,45 € was invoiced at application: 4,73 € each.
    finals = Charge.objects.filter(source_key__startswith="payments.late_interest_final:")
    assert sorted((c.client_id, c.unit_price, c.service_date, c.vat_rate) for c in finals) == sorted(
        [(client_a.pk, Decimal("4.73"), D(2026, 6, 20), None)]
        + [(client_b.pk, Decimal("4.73"), D(2026, 6, 20), None)] * 2)
