"""``python manage.py bench``: the scale benchmark of issue #11 (see bench/ and docs/benchmarks.md).

Run it on an empty database of its own (``make bench`` creates ``mis_bench`` on PostgreSQL)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mis_bench python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mis_bench python manage.py bench --scale 0.1
"""
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bench.builders import Sizes
from bench.runner import BenchRefused, run


class Command(BaseCommand):
    help = ("Build a synthetic MSP with bulk inserts on an empty benchmark database, time every nightly job, "
            "PDFs, ingestion, list pages and HTTP load, and write the table to docs/benchmarks.md.")

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0,
                            help="Multiply the default sizes (5,000 clients, 10,000 contracts, 200,000 invoices, "
                                 "100,000 tickets, 10,000 devices); e.g. 0.1 for a quick run.")
        parser.add_argument("--no-load", action="store_true", help="Skip the HTTP load (gunicorn + wrk).")
        parser.add_argument("--no-write", action="store_true", help="Print the table, leave docs/benchmarks.md.")
        parser.add_argument("--workers", type=int, default=3, help="gunicorn workers for the HTTP load.")
        parser.add_argument("--threads", type=int, default=1,
                            help="Threads per gunicorn worker (1: sync workers; production runs 4).")
        parser.add_argument("--connections", type=int, default=20, help="wrk concurrent connections.")
        parser.add_argument("--wrk-seconds", type=int, default=10)
        parser.add_argument("--pdfs", type=int, default=20, help="Invoices rendered for the PDF figure.")
        parser.add_argument("--reports", type=int, default=500, help="Backup reports POSTed for the ingestion.")

    def handle(self, *args, **o):
        if o["scale"] <= 0:
            raise CommandError("--scale must be positive.")
        sizes = Sizes().scaled(o["scale"]) if o["scale"] != 1 else Sizes()
        argv = " ".join(sys.argv[2:]) if len(sys.argv) > 2 else ""
        try:
            data = run(sizes=sizes, argv=argv, log=lambda m: self.stdout.write(m), pdf_count=o["pdfs"],
                       ingest_reports=o["reports"], http_load=not o["no_load"], workers=o["workers"], threads=o["threads"],
                       connections=o["connections"], wrk_seconds=o["wrk_seconds"],
                       docs=None if o["no_write"] else settings.BASE_DIR / "docs" / "benchmarks.md")
        except (BenchRefused, RuntimeError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("")
        self.stdout.write(data["text"])
