"""Nightly jobs of billing (order band 200–299). Each is idempotent and bulk."""
import datetime

from billing import chunks, services
from billing.models import Charge
from core.nightly import nightly_job


@nightly_job(order=200, name="billing.recurring")
def recurring_invoices(*, today: datetime.date) -> dict:
    """CGV B1: the invoices of the billing periods now due (in advance), missed nights included.

    By chunks of ``BILLING_RUN_CHUNK_SIZE`` contracts (``billing.chunks``): queued
    for all the workers when a worker runs the nightly sequence (beat), inline
    from ``run_nightly`` on the command line and in eager mode.
    """
    return chunks.recurring_run(today=today)


@nightly_job(order=210, name="billing.terminations")
def termination_invoices(*, today: datetime.date) -> dict:
    """CGV C4–C6: invoice once the amount of each termination that leaves something due."""
    from contracts.choices import TerminationStatus
    from contracts.models import Termination

    done = set(Charge.objects.filter(source="contracts.termination").values_list("source_key", flat=True))
    pending = [
        t for t in Termination.objects.filter(amount_due__gt=0).exclude(status=TerminationStatus.WITHDRAWN)
        .select_related("contract__client")
        if t.billing_source_key not in done
    ]
    invoices = [services.invoice_for_termination(actor=None, termination=t, today=today) for t in pending]
    return {"invoiced": len([i for i in invoices if i])}


@nightly_job(order=220, name="billing.extra_work")
def extra_work_invoices(*, today: datetime.date) -> dict:
    """CGV B2: last month's (and older) pending charges become one invoice per client and nature.

    Run every night, it invoices on the 1st what the previous month left pending
    and catches up charges recorded late or a missed night.
    """
    first_of_month = today.replace(day=1)
    invoices = services.charges_invoice(actor=None, today=today, up_to=first_of_month - datetime.timedelta(days=1))
    return {"invoiced": len(invoices)}


@nightly_job(order=290, name="billing.missing_pdfs")
def missing_pdfs(*, today: datetime.date) -> dict:
    """Re-queue the PDF of invoices issued before today still without one (failed render, lost task).

    Today's invoices are left to the tasks their issue queued, so nothing is rendered twice.
    """
    from billing.models import Invoice

    ids = list(
        Invoice.objects.issued().filter(pdf="", issue_date__lt=today).order_by("pk").values_list("pk", flat=True)[:2000]
    )
    services.invoice_pdfs_queue(ids)
    return {"queued": len(ids)}
