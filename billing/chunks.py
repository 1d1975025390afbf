"""The recurring billing run (CGV B1) split into chunks that several Celery workers share.

:func:`recurring_run` finds the contracts with a billing period due and no
invoice for it yet (a fixed number of queries), splits their ids into chunks of
``BILLING_RUN_CHUNK_SIZE`` and then either

- **queues** one :func:`billing.tasks.recurring_chunk_task` per chunk (inside a
  non-eager Celery task, i.e. the nightly run started by beat on a worker): every
  worker takes chunks from the queue, or
- runs the chunks **inline**, one after the other (``run_nightly`` from the
  command line or the tests, eager Celery): same result, synchronously.

A chunk is one call of :func:`billing.services.recurring_invoices_issue` limited
to its contract ids: one transaction that takes the invoice series lock
(``billing.numbering``), re-reads what is already invoiced, reserves its numbers
and inserts its invoices. So two chunks never issue the same period twice (and
the ``invoice_one_recurring_per_contract_period`` constraint backs it), and a
chunk that dies before its commit gives its numbers back with its rollback: no
gap (L1). Running a chunk again, or the whole run again, issues only what is
missing. The PDFs of a chunk's invoices are queued after its commit, by chunks
of invoice ids (``billing.services.invoice_pdfs_queue``), to whichever worker is free.
"""
import datetime
import logging

from django.conf import settings
from django.db import transaction

from billing import rules, services
from billing.choices import DocumentType, InvoiceKind
from billing.models import Invoice
from contracts.choices import BillingFrequency

logger = logging.getLogger(__name__)

# As BILLING_RECURRING_BATCH: inline, the run keeps the query count of one recurring_invoices_issue
# batch per 2,000 contracts; queued, issuing is serialised by the series lock anyway, and the PDFs are
# queued by 50 invoices, so a bigger chunk does not reduce what the workers share.
DEFAULT_CHUNK_SIZE = 2000


def chunk_size() -> int:
    return max(1, int(getattr(settings, "BILLING_RUN_CHUNK_SIZE", DEFAULT_CHUNK_SIZE)))


def split(ids: list[int], size: int) -> list[list[int]]:
    return [ids[start:start + size] for start in range(0, len(ids), size)]


def recurring_due(*, today: datetime.date) -> tuple[list[int], int]:
    """``(contract ids with at least one period due and not invoiced, periods already invoiced elsewhere)``.

    Two queries whatever the number of contracts. The ids are in contract
    reference order, the order in which their invoices are numbered.
    """
    from_day, to_day = services.recurring_window(today=today)
    contracts = list(
        services.recurring_contracts(from_day=from_day, to_day=to_day)
        .values_list("pk", "start_date", "end_date", "billing_frequency")
    )
    existing = set(
        Invoice.objects.filter(
            kind=InvoiceKind.RECURRING, document_type=DocumentType.INVOICE, period_start__range=(from_day, to_day),
        ).values_list("contract_id", "period_start")
    )
    due, already_invoiced = [], 0
    for pk, start_date, end_date, frequency in contracts:
        starts = [
            period.start for period in rules.recurring_periods(
                contract_start=start_date, months=BillingFrequency(frequency).months, end=end_date,
                from_day=from_day, to_day=to_day,
            )
        ]
        if any((pk, start) not in existing for start in starts):
            due.append(pk)  # its chunk counts the periods of this contract that are already invoiced
        else:
            already_invoiced += len(starts)
    return due, already_invoiced


def queue_mode() -> bool:
    """Queue the chunks (True) or run them inline (False); ``BILLING_RUN_MODE`` = auto, queue or inline.

    ``auto`` queues only when called from a task a worker is running (the
    nightly run of beat): the command line and eager mode stay synchronous.
    """
    mode = getattr(settings, "BILLING_RUN_MODE", "auto")
    if mode in ("queue", "inline"):
        return mode == "queue"
    from celery import current_task

    from mis_backoffice.celery import app

    return bool(current_task) and not current_task.request.is_eager and not app.conf.task_always_eager


def recurring_chunk_issue(*, contract_ids: list[int], today: datetime.date, render_pdf: bool = True) -> dict:
    """Issue the due invoices of these contracts in one transaction (idempotent: only what is missing)."""
    return services.recurring_invoices_issue(
        actor=None, today=today, contract_ids=contract_ids, render_pdf=render_pdf
    )


def recurring_run(
    *, today: datetime.date, size: int | None = None, queue: bool | None = None, render_pdf: bool = True
) -> dict:
    """CGV B1: the recurring billing run of ``today``, by chunks (see the module docstring).

    Inline, returns ``{"issued": n, "already_invoiced": m}`` like
    ``recurring_invoices_issue``; one failing chunk does not stop the others,
    and the run then raises (the nightly job is reported failed, a rerun issues
    what is missing). Queued, returns what was dispatched.
    """
    from billing.tasks import recurring_chunk_task

    size = size or chunk_size()
    due, already_invoiced = recurring_due(today=today)
    chunks = split(due, size)
    if queue is None:
        queue = queue_mode()
    if queue:
        for index, ids in enumerate(chunks, start=1):
            transaction.on_commit(
                lambda ids=ids, index=index: recurring_chunk_task.delay(
                    ids, today.isoformat(), index=index, total=len(chunks), render_pdf=render_pdf
                )
            )
        logger.info("billing.recurring %s: %s contracts due, %s chunks queued", today, len(due), len(chunks))
        return {"contracts_due": len(due), "chunks_queued": len(chunks), "already_invoiced": already_invoiced}
    issued, failed = 0, []
    for index, ids in enumerate(chunks, start=1):
        try:
            result = recurring_chunk_issue(contract_ids=ids, today=today, render_pdf=render_pdf)
        except Exception:
            logger.exception("billing.recurring %s: chunk %s/%s failed", today, index, len(chunks))
            failed.append(index)
            continue
        issued += result["issued"]
        already_invoiced += result["already_invoiced"]
    if failed:
        raise RuntimeError(
            f"billing.recurring {today}: {len(failed)} of {len(chunks)} chunks failed ({failed}); "
            f"{issued} invoices issued, a rerun issues the rest"
        )
    return {"issued": issued, "already_invoiced": already_invoiced}
