"""billing.bulk: many invoices issued, many charges recorded, with a query count that does not grow (L1, L2, L3).

Who calls it: payments' B3 dunning (acceleration invoices, late interest, the €40 indemnity).
"""
import datetime
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError

from billing import bulk, services
from billing.choices import InvoiceKind, InvoiceStatus, PaymentMethod
from billing.exceptions import BillingError
from billing.models import Charge, Invoice, InvoiceLine, NumberSequence
from core.models import AuditLogEntry
from tests.factories.billing import line
from tests.factories.contracts import ClientFactory

D = datetime.date
pytestmark = pytest.mark.django_db


def _draft(client, amount="100.00", vat_rate=Decimal("20.00"), kind=InvoiceKind.EXTRA, **fields):
    if client is not None:
        fields["client"] = client
    invoice = Invoice(kind=kind, payment_method=PaymentMethod.TRANSFER, **fields)
    return invoice, [InvoiceLine(description="Prestation", quantity=Decimal("1"), unit_price=Decimal(amount),
                                 vat_rate=vat_rate)]


def _single(client, today):
    draft = services.invoice_create_draft(actor=None, client=client, kind=InvoiceKind.EXTRA, lines=[line()])
    return services.invoice_issue(actor=None, invoice=draft, today=today)


def test_bulk_issue_numbers_are_gapless_chronological_and_shared_with_single_issues_l1(provider, client_a,
                                                                                        client_b):
    first = _single(client_a, D(2026, 6, 1))
    issued = bulk.invoices_issue(actor=None, today=D(2026, 6, 2), drafts=[
        _draft(client_a, "100.00"), _draft(client_b, "250.00"), _draft(client_a, "40.00", vat_rate=None,
                                                                         kind=InvoiceKind.PENALTY),
    ])
    last = _single(client_b, D(2026, 6, 2))
    # Numbers follow the drafts' order, right after the single issue, and the next single issue follows them.
    assert [first.number, *[i.number for i in issued], last.number] == [
        "F-2026-000001", "F-2026-000002", "F-2026-000003", "F-2026-000004", "F-2026-000005"]
    assert NumberSequence.objects.get(series="F", year=2026).last_number == 5
    stored = {i.number: i for i in Invoice.objects.filter(pk__in=[i.pk for i in issued])}
    assert [(stored[n].total_ht, stored[n].total_vat, stored[n].total_ttc, stored[n].status, stored[n].issue_date)
            for n in ("F-2026-000002", "F-2026-000003", "F-2026-000004")] == [
        (Decimal("100.00"), Decimal("20.00"), Decimal("120.00"), InvoiceStatus.ISSUED, D(2026, 6, 2)),
        (Decimal("250.00"), Decimal("50.00"), Decimal("300.00"), InvoiceStatus.ISSUED, D(2026, 6, 2)),
        (Decimal("40.00"), Decimal("0.00"), Decimal("40.00"), InvoiceStatus.ISSUED, D(2026, 6, 2)),  # L3
    ]
    # Snapshots (L1), due on receipt, one audit entry each.
    assert stored["F-2026-000003"].buyer["name"] == client_b.name
    assert stored["F-2026-000002"].seller["siren"] == provider.siren
    assert stored["F-2026-000002"].due_date == D(2026, 6, 2)
    assert AuditLogEntry.objects.filter(action="billing.invoice.issued",
                                        object_id__in=[str(i.pk) for i in issued]).count() == 3
    # L2: issued invoices are frozen like any other.
    with pytest.raises(BillingError):
        Invoice.objects.filter(pk=issued[0].pk).update(total_ht=Decimal("1.00"))


def test_bulk_issue_refuses_an_earlier_date_and_saves_nothing_l1(provider, client_a):
    _single(client_a, D(2026, 6, 10))
    with pytest.raises(BillingError) as error:
        bulk.invoices_issue(actor=None, today=D(2026, 6, 9), drafts=[_draft(client_a), _draft(client_a)])
    assert error.value.code == "numbering_chronology"
    assert Invoice.objects.count() == 1
    assert NumberSequence.objects.get(series="F", year=2026).last_number == 1


@pytest.mark.parametrize("bad, error", [
    (lambda c: (Invoice(kind=InvoiceKind.EXTRA, client=c), []), BillingError),  # no line
    (lambda c: (Invoice(kind="nonsense", client=c), _draft(c)[1]), ValidationError),  # bad field
    (lambda c: (Invoice(kind=InvoiceKind.EXTRA, client=c),  # VAT and out-of-scope lines mixed (BR-O-11)
                _draft(c)[1] + _draft(c, vat_rate=None)[1]), BillingError),
])
def test_one_bad_draft_issues_nothing(provider, client_a, bad, error):
    with pytest.raises(error):
        bulk.invoices_issue(actor=None, today=D(2026, 6, 2), drafts=[_draft(client_a), bad(client_a)])
    assert Invoice.objects.count() == 0 and InvoiceLine.objects.count() == 0
    assert not NumberSequence.objects.filter(last_number__gt=0).exists()


# 20: SQLite caps one INSERT at 999 parameters (about 27 invoices); PostgreSQL inserts 500 invoices at a time.
@pytest.mark.parametrize("count", [2, 20])
def test_bulk_issue_query_count_does_not_grow_with_the_invoices(provider, django_assert_num_queries,
                                                              django_capture_on_commit_callbacks, count):
    clients = ClientFactory.create_batch(3)
    drafts = [_draft(clients[i % 3]) for i in range(count)]
    drafts[1] = _draft(None, client_id=clients[1].pk)  # client not loaded: read in one query for the snapshots
    NumberSequence.objects.create(series="F", year=2026)  # the year's counter exists (created once a year)
    ContentType.objects.get_for_model(Invoice)  # cached by Django after its first use
    # savepoint, clients, provider profile, mandate references (hook), lock the series counter, update it,
    # insert the invoices, insert the lines, insert the audit entries, release.
    with django_capture_on_commit_callbacks() as callbacks, django_assert_num_queries(10):
        issued = bulk.invoices_issue(actor=None, today=D(2026, 6, 2), drafts=drafts)
    assert [i.number for i in issued] == [f"F-2026-{n:06d}" for n in range(1, count + 1)]
    assert len(callbacks) == 1  # PDFs rendered after commit, 50 per task


def _spec(client, key, price="40.00", **more):
    return {"client": client, "source": "payments.recovery_indemnity", "source_key": key,
            "description": f"Indemnité {key}", "unit_price": Decimal(price), "service_date": D(2026, 6, 12),
            "vat_rate": None, **more}


def test_bulk_charges_are_recorded_once_per_source_key_l3(provider, client_a, client_b):
    existing, _ = services.charge_record(actor=None, **_spec(client_a, "k:1"))
    created = bulk.charges_record(actor=None, charges=[
        _spec(client_a, "k:1", "99.00"), _spec(client_a, "k:2"), _spec(client_b, "k:3", "12.345"),
        _spec(client_b, "k:3", "1.00"),  # repeated in the same call: the first wins
    ])
    assert [(c.source_key, c.unit_price, c.vat_rate, c.status) for c in created] == [
        ("k:2", Decimal("40.00"), None, Charge.Status.PENDING),
        ("k:3", Decimal("12.35"), None, Charge.Status.PENDING),  # rounded half-up to the cent
    ]
    assert all(c.pk for c in created)
    assert Charge.objects.get(source_key="k:1").unit_price == existing.unit_price == Decimal("40.00")
    # A second run records nothing more.
    assert bulk.charges_record(actor=None, charges=[_spec(client_a, "k:2"), _spec(client_b, "k:3")]) == []
    assert Charge.objects.count() == 3
    assert AuditLogEntry.objects.filter(action="billing.charge.recorded").count() == 3
    with pytest.raises(ValidationError):
        bulk.charges_record(actor=None, charges=[_spec(client_a, "k:4", description="x" * 301)])
    assert Charge.objects.count() == 3


@pytest.mark.parametrize("count", [3, 50])
def test_bulk_charges_query_count_does_not_grow(provider, client_a, django_assert_num_queries, count):
    specs = [_spec(client_a, f"k:{i}") for i in range(count)]
    # savepoint, existing keys, savepoint, insert, release, audit insert, release.
    with django_assert_num_queries(7):
        assert len(bulk.charges_record(actor=None, charges=specs)) == count
    with django_assert_num_queries(3):  # replay: savepoint, existing keys, release
        assert bulk.charges_record(actor=None, charges=specs) == []
