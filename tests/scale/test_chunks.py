"""The recurring billing run (CGV B1) by chunks (billing.chunks): inline, queued, idempotent, gapless (L1).

These run on SQLite too; test_workers_pg.py proves the same with two real Celery workers on Redis.
"""
import datetime
from decimal import Decimal

import pytest

from billing import chunks, services, tasks
from billing.models import Invoice
from contracts.choices import ContractStatus
from core.nightly import run_nightly
from mis_backoffice.celery import app as celery_app
from tests.scale.builders import monthly_contracts

pytestmark = pytest.mark.django_db
D = datetime.date
FEB_1 = D(2026, 2, 1)


def _contracts(count, signature=FEB_1):
    return monthly_contracts(count, signature=signature, quantity="2", unit_price="45.50")


@pytest.fixture
def chunk_calls(monkeypatch):
    """The contract ids of every chunk issued, in order (the real issue still runs)."""
    calls = []
    real = services.recurring_invoices_issue

    def spy(**kwargs):
        calls.append(list(kwargs["contract_ids"]))
        return real(**kwargs)

    monkeypatch.setattr(services, "recurring_invoices_issue", spy)
    return calls


def _numbers():
    return list(Invoice.objects.order_by("sequence").values_list("number", flat=True))


def test_nightly_job_issues_in_chunks_once_per_contract_with_gapless_numbers_cgv_b1_l1(provider, settings,
                                                                                        chunk_calls):
    settings.BILLING_RUN_CHUNK_SIZE = 20
    contracts = _contracts(45)
    first = run_nightly(today=FEB_1, only=["billing.recurring"])
    assert first[0]["status"] == "ok"
    assert first[0]["result"] == {"issued": 45, "already_invoiced": 0}
    # Three chunks, in contract reference order (the order of their numbers).
    ids = [c.pk for c in sorted(contracts, key=lambda c: c.reference)]
    assert chunk_calls == [ids[:20], ids[20:40], ids[40:]]
    assert _numbers() == [f"F-2026-{n:06d}" for n in range(1, 46)]
    by_contract = dict(Invoice.objects.values_list("contract_id", "sequence"))
    assert [by_contract[pk] for pk in ids] == list(range(1, 46))
    # 2 × 45.50 = 91.00 HT, VAT 20 % 18.20 → 109.20 TTC each.
    assert set(Invoice.objects.values_list("total_ht", "total_vat", "total_ttc")) == {
        (Decimal("91.00"), Decimal("18.20"), Decimal("109.20"))}

    second = run_nightly(today=FEB_1, only=["billing.recurring"])
    assert second[0]["result"] == {"issued": 0, "already_invoiced": 45}
    assert len(chunk_calls) == 3  # nothing due: no chunk at all
    assert Invoice.objects.count() == 45


def test_due_contracts_are_found_in_two_queries_whatever_their_number(provider, django_assert_num_queries):
    _contracts(3)
    with django_assert_num_queries(2):
        assert len(chunks.recurring_due(today=FEB_1)[0]) == 3
    _contracts(30)
    with django_assert_num_queries(2):
        due, already = chunks.recurring_due(today=FEB_1)
    assert (len(due), already) == (33, 0)


def test_due_skips_contracts_fully_invoiced_and_keeps_those_with_a_missing_period(provider):
    invoiced, caught_up, suspended = _contracts(3, signature=D(2026, 1, 1))
    suspended.status = ContractStatus.SUSPENDED
    suspended.save()
    services.recurring_invoices_issue(actor=None, today=D(2026, 1, 1), contract_ids=[caught_up.pk])  # January
    services.recurring_invoices_issue(actor=None, today=FEB_1, contract_ids=[invoiced.pk])  # January + February
    assert chunks.recurring_due(today=FEB_1) == ([caught_up.pk], 2)


def test_queued_run_sends_one_task_per_chunk_and_a_chunk_delivered_twice_issues_once(
    provider, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.BILLING_RUN_CHUNK_SIZE = 20
    contracts = _contracts(45)
    sent = []
    monkeypatch.setattr(tasks.recurring_chunk_task, "delay", lambda *a, **kw: sent.append((a, kw)))
    with django_capture_on_commit_callbacks(execute=True):
        result = chunks.recurring_run(today=FEB_1, queue=True)
    assert result == {"contracts_due": 45, "chunks_queued": 3, "already_invoiced": 0}
    ids = [c.pk for c in sorted(contracts, key=lambda c: c.reference)]
    assert sent == [
        ((ids[:20], "2026-02-01"), {"index": 1, "total": 3, "render_pdf": True}),
        ((ids[20:40], "2026-02-01"), {"index": 2, "total": 3, "render_pdf": True}),
        ((ids[40:], "2026-02-01"), {"index": 3, "total": 3, "render_pdf": True}),
    ]
    assert Invoice.objects.count() == 0  # queued, not issued

    # Workers run them in any order; a message redelivered (worker killed before its ack) runs again.
    rendered = []
    monkeypatch.setattr(tasks.render_invoice_pdfs_task, "delay", lambda ids: rendered.append(ids))
    for args, kwargs in [sent[2], sent[0], sent[0], sent[1], sent[2]]:
        with django_capture_on_commit_callbacks(execute=True):
            outcome = tasks.recurring_chunk_task(*args, **kwargs)
        assert outcome["issued"] + outcome["already_invoiced"] == len(args[0])
    assert Invoice.objects.count() == 45
    assert _numbers() == [f"F-2026-{n:06d}" for n in range(1, 46)]
    # Chunk 3 was issued first: its 5 invoices hold numbers 1–5.
    assert sorted(Invoice.objects.filter(contract_id__in=ids[40:]).values_list("sequence", flat=True)) == [1, 2, 3,
                                                                                                            4, 5]
    # Each chunk queued the PDFs of its own invoices, once: 3 render tasks, 45 ids, no id twice.
    assert [len(r) for r in rendered] == [5, 20, 20]
    assert sorted(i for r in rendered for i in r) == sorted(Invoice.objects.values_list("pk", flat=True))


def test_a_failing_chunk_does_not_stop_the_others_and_the_rerun_completes_it(provider, settings, monkeypatch):
    settings.BILLING_RUN_CHUNK_SIZE = 20
    contracts = _contracts(45)
    real = chunks.recurring_chunk_issue
    failures = []

    def flaky(*, contract_ids, **kwargs):
        if len(failures) == 0 and len(contract_ids) == 20 and contract_ids != sorted_ids[:20]:
            failures.append(contract_ids)
            raise RuntimeError("database went away")
        return real(contract_ids=contract_ids, **kwargs)

    sorted_ids = [c.pk for c in sorted(contracts, key=lambda c: c.reference)]
    monkeypatch.setattr(chunks, "recurring_chunk_issue", flaky)
    first = run_nightly(today=FEB_1, only=["billing.recurring"])
    assert first[0]["status"] == "failed"
    assert "1 of 3 chunks failed ([2])" in first[0]["result"]["error"]
    assert failures == [sorted_ids[20:40]]
    assert Invoice.objects.count() == 25
    assert not Invoice.objects.filter(contract_id__in=sorted_ids[20:40]).exists()

    second = run_nightly(today=FEB_1, only=["billing.recurring"])
    assert second[0]["result"] == {"issued": 20, "already_invoiced": 25}
    assert _numbers() == [f"F-2026-{n:06d}" for n in range(1, 46)]
    assert Invoice.objects.values("contract_id").distinct().count() == 45


def test_auto_mode_queues_only_inside_a_task_run_by_a_worker(settings):
    def queue_mode_probe():
        return chunks.queue_mode()

    probe = celery_app.task(name="tests.scale.queue_mode_probe")(queue_mode_probe)
    settings.BILLING_RUN_MODE = "auto"
    assert chunks.queue_mode() is False  # command line, tests
    assert probe.apply().get() is False  # eager
    celery_app.conf.task_always_eager = False
    try:
        assert probe() is True  # what a worker does: the task runs with a non-eager request
        settings.BILLING_RUN_MODE = "inline"
        assert probe() is False
    finally:
        celery_app.conf.task_always_eager = True
    settings.BILLING_RUN_MODE = "queue"
    assert chunks.queue_mode() is True
