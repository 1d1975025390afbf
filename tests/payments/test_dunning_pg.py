"""Two dunning runs at once apply B3 once (CGV B3, C10; L1), on PostgreSQL: real row locks, several threads.

Run with ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/mis_payments .venv/bin/pytest tests/payments``;
skipped on SQLite (which serialises writers and has no SELECT … FOR UPDATE).
"""
import threading

import pytest
from django.db import connection, connections

from billing.choices import InvoiceKind
from billing.models import Charge, Invoice
from contracts.models import ContractSuspension
from payments import services
from payments.choices import FormalNoticeStatus
from payments.models import FormalNotice
from tests.factories.contracts import ClientFactory
from tests.factories.core import ProviderProfileFactory
from tests.payments.test_dunning_bulk import APPLIES, _clients_in_arrears

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]
RUNS = 4
NOTICES = 5


def test_concurrent_dunning_runs_apply_each_notice_once():
    ProviderProfileFactory()
    _clients_in_arrears(*[(ClientFactory(name=f"Client {i}"), {"late_invoices": 1 + i % 2}) for i in range(NOTICES)])
    barrier = threading.Barrier(RUNS)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(services.formal_notices_process(today=APPLIES))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _i in range(RUNS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    # The runs queue on the notices' row locks; the first claims them all, the others find them applied.
    assert sum(r["applied"] for r in results) == NOTICES
    assert FormalNotice.objects.filter(status=FormalNoticeStatus.APPLIED).count() == NOTICES
    assert Invoice.objects.filter(source_key__startswith="payments.acceleration:").count() == 18 * NOTICES
    assert Invoice.objects.filter(kind=InvoiceKind.PENALTY).count() == NOTICES
    late = 3 + 2 * 2  # 1, 2, 1, 2, 1 late invoices
    assert Charge.objects.filter(source__startswith="payments.").count() == 2 * late
    assert ContractSuspension.objects.count() == NOTICES
    sequences = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, len(sequences) + 1))
