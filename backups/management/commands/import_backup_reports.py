from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from backups import services
from contracts.models import Client


class Command(BaseCommand):
    help = (
        "Import backup job reports from a CSV file for one client (same validation as the API; "
        "all or nothing; already received jobs are skipped)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV file (UTF-8, header line: " + ",".join(services.CSV_COLUMNS) + ")")
        parser.add_argument("--client", required=True, help="SIREN of the client the devices belong to.")

    def handle(self, *args, **options):
        client = Client.objects.filter(siren=options["client"].replace(" ", "")).first()
        if client is None:
            raise CommandError(f"No client with SIREN {options['client']}.")
        path = Path(options["path"])
        if not path.exists():
            raise CommandError(f"{path} does not exist.")
        with path.open(encoding="utf-8-sig", newline="") as stream:
            try:
                result = services.reports_import_csv(actor=None, client=client, stream=stream, now=timezone.now())
            except services.ReportImportError as exc:
                for error in exc.errors:
                    self.stderr.write(error)
                raise CommandError(exc.message) from exc
        self.stdout.write(f"{result.created} report(s) imported, {result.duplicates} already received.")
