"""Gapless numbering under concurrency (L1), on PostgreSQL: real row locks, several threads at once.

Run with ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/mis_billing .venv/bin/pytest tests/billing``;
skipped on SQLite (which serialises writers and has no SELECT … FOR UPDATE).
"""
import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from billing import services
from billing.choices import InvoiceKind
from billing.models import Invoice
from tests.factories.billing import line
from tests.factories.contracts import ClientFactory, ContractFactory, ContractLineFactory
from tests.factories.core import ProviderProfileFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]
D = datetime.date
THREADS = 8


class Rollback(Exception):
    pass


def _in_threads(work, count=THREADS):
    barrier = threading.Barrier(count)
    errors = []

    def run(index):
        try:
            barrier.wait()
            work(index)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_concurrent_issues_get_unique_gapless_numbers_l1():
    ProviderProfileFactory()
    client = ClientFactory()
    drafts = [
        services.invoice_create_draft(actor=None, client=client, kind=InvoiceKind.EXTRA,
                                      lines=[line(f"Intervention {i}", "1", "95.00")]).pk
        for i in range(THREADS * 5)
    ]

    def work(index):
        for position, pk in enumerate(drafts[index::THREADS]):
            invoice = Invoice.objects.get(pk=pk)
            if position == 2:
                # An issue that fails after taking its number must give the number back.
                try:
                    with transaction.atomic():
                        services.invoice_issue(actor=None, invoice=invoice, today=D(2026, 6, 30))
                        raise Rollback
                except Rollback:
                    pass
            services.invoice_issue(actor=None, invoice=invoice, today=D(2026, 6, 30))

    assert _in_threads(work) == []
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"F-2026-{n:06d}" for n in range(1, THREADS * 5 + 1)]
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == list(range(1, THREADS * 5 + 1))


def test_concurrent_recurring_runs_issue_each_invoice_once_cgv_b1():
    ProviderProfileFactory()
    for _ in range(20):
        ContractLineFactory(contract=ContractFactory(signature_date=D(2026, 6, 1)), unit_price=Decimal("50.00"))
    results = []

    def work(index):
        results.append(services.recurring_invoices_issue(actor=None, today=D(2026, 6, 1), render_pdf=False))

    assert _in_threads(work, count=4) == []
    assert sorted(r["issued"] for r in results) == [0, 0, 0, 20]
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [f"F-2026-{n:06d}" for n in range(1, 21)]
