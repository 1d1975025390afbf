import datetime

from django.core.management.base import BaseCommand, CommandError

from core.dates import business_today
from core.nightly import discover, run_nightly


class Command(BaseCommand):
    help = (
        "Run the whole nightly sequence synchronously for a business date (default: today in Paris). "
        "Safe to run twice: every job is idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="Business date YYYY-MM-DD (catch-up after an outage, replay in tests).")
        parser.add_argument("--only", action="append", help="Run only this job (repeatable).")
        parser.add_argument("--list", action="store_true", help="List the jobs in order and exit.")

    def handle(self, *args, **options):
        if options["list"]:
            for job in discover():
                self.stdout.write(f"{job.order:>4} {job.name}")
            return
        try:
            today = datetime.date.fromisoformat(options["date"]) if options["date"] else business_today()
        except ValueError as exc:
            raise CommandError(f"--date must be YYYY-MM-DD, got {options['date']!r}.") from exc
        results = run_nightly(today=today, only=options["only"])
        self.stdout.write(f"Nightly run for {today}: {len(results)} job(s)")
        failed = 0
        for r in results:
            self.stdout.write(f"  {r['job']}: {r['status']} {r['result']} ({r['seconds']:.2f}s)")
            failed += r["status"] != "ok"
        if failed:
            raise CommandError(f"{failed} nightly job(s) failed; see the log above.")
