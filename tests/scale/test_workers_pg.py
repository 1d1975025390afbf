"""Several Celery workers share the recurring billing run (issue #11) and survive a killed worker (issue #12).

Two real ``celery -A mis_backoffice worker -c 1`` processes on Redis, against this
test's PostgreSQL database (committed data: ``transaction=True``). Run with::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mis_workers .venv/bin/pytest tests/scale -p no:cacheprovider

Redis is ``SCALE_REDIS_URL`` (default ``redis://127.0.0.1:6379/7``) with a key prefix
unique to each test. Skipped on SQLite or without Redis.
"""
import datetime
import re
import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from billing.choices import DocumentType, InvoiceKind, InvoiceStatus
from billing.models import Invoice
from core.models import OutboundEmail
from tests.factories.core import ProviderProfileFactory
from tests.scale.builders import monthly_contracts
from tests.scale.workers import Workers, redis_available, wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (real row locks, shared DB)"),
    pytest.mark.skipif(not redis_available(), reason="needs Redis (SCALE_REDIS_URL)"),
]
D = datetime.date
FEB_1 = D(2026, 2, 1)
CONTRACTS = 200
CHUNK = 20
CHUNK_LINE = re.compile(
    r"billing\.recurring 2026-02-01 chunk (\d+)/(\d+) by (w\d)@\S+: (\d+) contracts, (\d+) issued, (\d+) already"
)
PDF_LINE = re.compile(r"billing\.pdf chunk of (\d+) invoices \(first id \d+\) by (w\d)@\S+: (\d+) rendered, "
                      r"(\d+) failed, (\d+) already had one")


class Rollback(Exception):
    pass


def _contracts(count=CONTRACTS):
    ProviderProfileFactory()
    return [c.pk for c in monthly_contracts(count, signature=FEB_1, quantity="3", unit_price="39.90")]


def _chunks(logs: dict[str, str]) -> list[tuple[int, int, str, int, int, int]]:
    return [(int(i), int(t), worker, int(n), int(issued), int(already))
            for text in logs.values() for i, t, worker, n, issued, already in CHUNK_LINE.findall(text)]


def _assert_each_contract_invoiced_once_with_gapless_numbers(ids):
    invoices = list(Invoice.objects.values_list("contract_id", "number", "sequence", "status", "total_ttc"))
    assert Counter(contract for contract, *_ in invoices) == Counter(ids)  # exactly one each, no stranger
    assert sorted(seq for _, _, seq, _, _ in invoices) == list(range(1, len(ids) + 1))
    assert sorted(number for _, number, *_ in invoices) == [f"F-2026-{n:06d}" for n in range(1, len(ids) + 1)]
    # 3 × 39.90 = 119.70 HT, VAT 23.94 → 143.64 TTC
    assert {(status, ttc) for *_, status, ttc in invoices} == {(InvoiceStatus.ISSUED, Decimal("143.64"))}


def test_two_workers_share_the_billing_run_each_invoice_issued_and_rendered_once_cgv_b1_l1(tmp_path, settings):
    ids = _contracts()
    with Workers(tmp_path) as workers:
        workers.send("billing.tasks.billing_run_dispatch", FEB_1.isoformat(), chunk_size=CHUNK)
        wait_for(
            lambda: Invoice.objects.filter(pdf="").count() == 0 and Invoice.objects.count() == CONTRACTS
            and OutboundEmail.objects.filter(key__startswith="billing.invoice.sent:",
                                             status=OutboundEmail.Status.SENT).count() == CONTRACTS,
            timeout=900, interval=1, what="200 invoices issued, rendered and e-mailed",
        )
        wait_for(workers.queue_is_empty, timeout=120, what="an empty queue")
        logs = {name: workers.log(name) for name in workers.names}

    _assert_each_contract_invoiced_once_with_gapless_numbers(ids)
    # The dispatch queued 10 chunks; each ran once, and both workers took some.
    assert "billing.recurring 2026-02-01: 200 contracts due, 10 chunks queued" in "".join(logs.values())
    chunks = _chunks(logs)
    assert sorted(index for index, *_ in chunks) == list(range(1, 11))
    assert {(total, count, already) for _, total, _, count, _, already in chunks} == {(10, CHUNK, 0)}
    assert sum(issued for *_, issued, _ in chunks) == CONTRACTS
    workers_used = Counter(worker for _, _, worker, *_ in chunks)
    assert set(workers_used) == {"w1", "w2"}, workers_used
    # Invoices of a chunk hold consecutive numbers in contract order.
    sequence = dict(Invoice.objects.values_list("contract_id", "sequence"))
    for start in range(0, CONTRACTS, CHUNK):
        seqs = [sequence[pk] for pk in ids[start:start + CHUNK]]
        assert seqs == list(range(seqs[0], seqs[0] + CHUNK))
    # PDFs: rendered once each (no render lost to a concurrent one), both workers rendered, one file each.
    pdf_chunks = [tuple(int(x) if x.isdigit() else x for x in row)
                  for text in logs.values() for row in PDF_LINE.findall(text)]
    assert sum(rendered for _, _, rendered, _, _ in pdf_chunks) == CONTRACTS
    assert sum(failed + already for _, _, _, failed, already in pdf_chunks) == 0
    assert {worker for _, worker, *_ in pdf_chunks} == {"w1", "w2"}
    files = list((settings.MEDIA_ROOT / "billing").rglob("*.pdf"))
    assert len(files) == CONTRACTS
    assert sorted(f"billing/{p.parent.name}/{p.name}" for p in files) == sorted(
        Invoice.objects.values_list("pdf", flat=True))
    assert all(p.read_bytes().startswith(b"%PDF-") for p in files)
    assert OutboundEmail.objects.count() == CONTRACTS


def _hold_a_conflicting_draft(contract_id: int, held: threading.Event, release: threading.Event, pid: list):
    """An uncommitted draft of ``contract_id`` for February: issuing that period waits on it (unique index)."""
    from contracts.models import Contract

    try:
        with transaction.atomic():
            contract = Contract.objects.get(pk=contract_id)
            Invoice.objects.create(
                client_id=contract.client_id, contract=contract, kind=InvoiceKind.RECURRING,
                document_type=DocumentType.INVOICE, status=InvoiceStatus.DRAFT,
                period_start=FEB_1, period_end=D(2026, 2, 28),
            )
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid.append(cursor.fetchone()[0])
            held.set()
            release.wait(600)
            raise Rollback
    except Rollback:
        pass
    finally:
        held.set()
        connections.close_all()


def _backends_blocked_by(pid: int) -> list[tuple[int, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, application_name, query FROM pg_stat_activity "
            "WHERE datname = current_database() AND %s = ANY(pg_blocking_pids(pid))", [pid],
        )
        return cursor.fetchall()


@pytest.mark.parametrize("recovery", ["rerun", "redelivery"])
def test_worker_killed_in_the_middle_of_the_billing_run_leaves_no_duplicate_no_gap_and_recovery_completes_it(
    tmp_path, recovery
):
    """Issue #12: SIGKILL a worker while its chunk holds reserved numbers and inserted, uncommitted invoices.

    The chunk of contracts 101–120 (the 6th of 10) is made to wait, mid-transaction, on an uncommitted
    draft for its 11th contract; the worker running it is killed there. PostgreSQL rolls its transaction
    back (numbers given back), the other worker goes on. ``rerun``: with the production visibility
    timeout the message stays unacknowledged, the next run issues the 20 missing invoices. ``redelivery``:
    with a 3-second visibility timeout Redis gives the chunk back and the surviving worker completes it.
    """
    ids = _contracts()
    victim_ids = ids[100:120]
    env = {}
    if recovery == "redelivery":
        env = {"CELERY_VISIBILITY_TIMEOUT": 3, "CELERY_UNACKED_RESTORE_INTERVAL": 1,
               "CELERY_UNACKED_RESTORE_THROTTLE": 1}
    held, release, locker = threading.Event(), threading.Event(), []
    thread = threading.Thread(target=_hold_a_conflicting_draft, args=(victim_ids[10], held, release, locker))
    thread.start()
    try:
        assert held.wait(60) and locker
        with Workers(tmp_path, **env) as workers:
            workers.send("billing.tasks.billing_run_dispatch", FEB_1.isoformat(), chunk_size=CHUNK,
                         render_pdf=False)
            blocked = wait_for(lambda: _backends_blocked_by(locker[0]), timeout=180, interval=0.2,
                               what="the 6th chunk waiting on the draft")
            assert len(blocked) == 1
            _, victim, query = blocked[0]
            assert query.startswith('INSERT INTO "billing_invoice"'), query
            survivor = {"w1": "w2", "w2": "w1"}[victim]
            workers.kill(victim)
            release.set()
            thread.join(60)

            if recovery == "rerun":
                # The survivor finishes the other chunks; the killed one left nothing behind.
                wait_for(lambda: Invoice.objects.count() == CONTRACTS - CHUNK, timeout=300, what="180 invoices")
                wait_for(lambda: "chunk 10/10" in workers.log(survivor) or "chunk 10/10" in workers.log(victim),
                         timeout=120, what="the last chunk")
                _assert_each_contract_invoiced_once_with_gapless_numbers(ids[:100] + ids[120:])
                assert not Invoice.objects.filter(contract_id__in=victim_ids).exists()
                workers.send("billing.tasks.billing_run_dispatch", FEB_1.isoformat(), chunk_size=CHUNK,
                             render_pdf=False)
                wait_for(lambda: Invoice.objects.count() == CONTRACTS, timeout=300, what="the rerun")
                wait_for(lambda: "chunk 1/1 " in workers.log(survivor), timeout=60, what="the rerun's log")
                assert "billing.recurring 2026-02-01: 20 contracts due, 1 chunks queued" in workers.log(survivor)
            else:
                wait_for(lambda: Invoice.objects.count() == CONTRACTS, timeout=300, what="the redelivered chunk")
            logs = {name: workers.log(name) for name in workers.names}
    finally:
        release.set()
        thread.join(60)

    _assert_each_contract_invoiced_once_with_gapless_numbers(ids)
    # The killed worker never finished its chunk: the survivor issued those 20 invoices.
    victim_done = [c for c in _chunks({victim: logs[victim]}) if c[4] > 0 and c[0] == 6]
    assert victim_done == []
    survivor_chunks = _chunks({survivor: logs[survivor]})
    expected = (1, 1, survivor, CHUNK, CHUNK, 0) if recovery == "rerun" else (6, 10, survivor, CHUNK, CHUNK, 0)
    assert expected in survivor_chunks
    assert sum(c[4] for c in _chunks(logs)) == CONTRACTS


def test_beats_nightly_run_on_a_worker_queues_the_billing_chunks_for_all_workers_cgv_b1(tmp_path):
    """The production path: beat queues ``run_nightly_task``; the job ``billing.recurring`` run by a worker
    queues its chunks (``BILLING_RUN_MODE=auto``) instead of issuing them inline, for any worker to take."""
    ids = _contracts(40)
    with Workers(tmp_path, BILLING_RUN_CHUNK_SIZE=5) as workers:
        workers.send("core.tasks.run_nightly_task", FEB_1.isoformat())
        wait_for(lambda: Invoice.objects.filter(pdf="").count() == 0 and Invoice.objects.count() == 40,
                 timeout=600, interval=1, what="40 invoices issued and rendered")
        wait_for(workers.queue_is_empty, timeout=120, what="an empty queue")
        logs = {name: workers.log(name) for name in workers.names}
    _assert_each_contract_invoiced_once_with_gapless_numbers(ids)
    text = "".join(logs.values())
    assert "billing.recurring 2026-02-01: 40 contracts due, 8 chunks queued" in text
    assert re.search(r"nightly 2026-02-01 billing\.recurring: ok \{'contracts_due': 40, 'chunks_queued': 8", text)
    chunks = _chunks(logs)
    assert sorted(index for index, *_ in chunks) == list(range(1, 9))
    assert sum(issued for *_, issued, _ in chunks) == 40
    # (Which workers take them depends on how long the rest of the night keeps the first one busy.)
