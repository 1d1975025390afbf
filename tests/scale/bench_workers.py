"""``python -m tests.scale.bench_workers``: the recurring billing run (B1) with its PDFs, on 1 then 2 workers.

Re-creates the benchmark database (``DATABASE_URL``, default ``postgres://postgres@127.0.0.1:5432/
mis_workers_bench``; its name must contain ``bench``), builds ``--contracts`` monthly contracts (two
lines each, ``bench.builders``), then for each worker count starts that many real
``celery -A mis_backoffice worker -c 1`` processes on Redis (``SCALE_REDIS_URL``, default
``redis://127.0.0.1:6379/7``, unique key prefix), queues ``billing_run_dispatch`` for a new month and
times until every invoice is issued, then until every PDF (Factur-X) is rendered and its e-mail sent.
Each worker count bills its own month (1 worker: December 2026, 2 workers: January 2027...), so the
runs do the same work on the same data. Prints a Markdown table for docs/benchmarks.md.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mis_workers_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=400)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--chunk", type=int, default=50, help="contracts per chunk task")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = os.environ.get("DATABASE_URL") or DEFAULT_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mis_backoffice.settings")
    media = Path(tempfile.mkdtemp(prefix="mis-bench-workers-"))
    os.environ["MEDIA_ROOT"] = str(media)
    from bench.db import recreate

    recreate(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from dateutil.relativedelta import relativedelta
    from django.core.management import call_command

    from bench import builders

    call_command("migrate", verbosity=0)
    builders._ensure_reference_data()
    n = args.contracts
    builders._contracts(builders.Sizes(clients=n, contracts=n, invoices=n))
    rows = []
    for position, count in enumerate(args.workers):
        day = builders.LAST_PERIOD + relativedelta(months=position)
        rows.append((count, day, *_run(count=count, day=day, contracts=n, chunk=args.chunk, logs=media / f"logs-{count}",
                                       emails_before=n * position)))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"\n{when}: {n} contracts x 2 lines, chunks of {args.chunk}, PostgreSQL + Redis, load average {load}\n")
    print("| workers (`-c 1` each) | month billed | all invoices issued | all PDFs rendered + e-mails sent | PDFs/s |")
    print("|---|---|---|---|---|")
    for count, day, issued, rendered in rows:
        print(f"| {count} | {day:%Y-%m} | {issued:.1f} s | {rendered:.1f} s | {n / rendered:.2f} |")
    sys.stdout.flush()


def _run(*, count, day, contracts, chunk, logs, emails_before) -> tuple[float, float]:
    """Seconds until all invoices of ``day`` are issued, then until all their PDFs are rendered and e-mailed."""
    from billing.models import Invoice
    from core.models import OutboundEmail
    from tests.scale.workers import Workers, wait_for

    invoices = Invoice.objects.filter(issue_date=day)
    logs.mkdir(parents=True, exist_ok=True)
    with Workers(logs, names=[f"w{i}" for i in range(1, count + 1)]) as workers:
        started = time.perf_counter()
        workers.send("billing.tasks.billing_run_dispatch", day.isoformat(), chunk_size=chunk)
        wait_for(lambda: invoices.count() == contracts, timeout=3600, interval=0.2, what="the invoices")
        issued = time.perf_counter() - started
        wait_for(lambda: not invoices.filter(pdf="").exists() and OutboundEmail.objects.filter(
            status=OutboundEmail.Status.SENT).count() == emails_before + contracts,
            timeout=7200, interval=0.5, what="the PDFs and e-mails")
        rendered = time.perf_counter() - started
    assert sorted(invoices.values_list("sequence", flat=True)) == list(range(1, contracts + 1)), "numbering gap"
    return issued, rendered


if __name__ == "__main__":
    main()
