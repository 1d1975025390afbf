"""Benchmark of the backup option: report ingestion through the HTTP endpoint and the K1 supervision run.

Run it on its own database, never on production data::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mis_backups_bench python manage.py migrate
    DATABASE_URL=... python manage.py backups_benchmark --reports 3000 --devices 10000
    DATABASE_URL=... python manage.py backups_benchmark --reports 3000 --url http://127.0.0.1:8765/api/backups/reports/

Without ``--url`` reports go through Django's test client (the whole request stack in this process);
with ``--url`` they are POSTed over HTTP to a running server (e.g. one gunicorn worker).
"""
import datetime
import http.client
import json
import secrets
import time
import urllib.parse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import Client as HttpClient
from django.test.utils import override_settings
from django.utils import timezone

from backups import services
from backups.choices import DeviceKind, JobStatus
from backups.models import (
    GB,
    BackupPlan,
    BackupSubscription,
    BackupTier,
    Device,
    JobReport,
    SupervisionFlag,
    SupervisionRun,
)
from contracts.choices import ContractStatus
from contracts.models import Client, Contract
from core.dates import business_today, paris_datetime
from core.models import OutboundEmail

BENCH_SIREN = "732829320"  # a valid Luhn SIREN reserved for the benchmark client


class Command(BaseCommand):
    help = "Measure report ingestion (reports/s) and the supervision run over many devices. Use a dedicated database."

    def add_arguments(self, parser):
        parser.add_argument("--reports", type=int, default=2000)
        parser.add_argument("--devices", type=int, default=10000)
        parser.add_argument("--url", help="POST to this URL instead of the in-process test client.")
        parser.add_argument("--skip-supervision", action="store_true")
        parser.add_argument("--async-commit", action="store_true",
                            help="In-process only: ingest with BACKUPS_INGEST_ASYNC_COMMIT=True.")
        parser.add_argument("--i-know-this-writes-benchmark-data", action="store_true", required=True)

    def handle(self, *args, **options):
        if options["reports"] < 1 or options["devices"] < 1:
            raise CommandError("--reports and --devices must be positive.")
        today = business_today()
        subscription = self._subscription(today)
        self._devices(subscription, options["devices"])
        _token, raw = services.api_token_create(actor=None, client=subscription.contract.client,
                                                label="benchmark", rate_limit_per_minute=10**9)
        with override_settings(BACKUPS_INGEST_ASYNC_COMMIT=options["async_commit"]):
            self._ingest(raw, options["reports"], options["devices"], options["url"])
        if not options["skip_supervision"]:
            self._supervise(options["devices"], today)

    def _subscription(self, today) -> BackupSubscription:
        client, _ = Client.objects.get_or_create(siren=BENCH_SIREN, defaults=dict(
            name="Benchmark SAS", address_line1="1 rue du Test", postal_code="83600", city="Fréjus",
            billing_email="bench@example.fr"))
        contract, _ = Contract.objects.get_or_create(reference="CT-BENCH", defaults=dict(
            client=client, signature_date=datetime.date(today.year, 1, 1), start_date=datetime.date(today.year, 1, 1),
            status=ContractStatus.ACTIVE, current_period_end=datetime.date(today.year + 1, 12, 31)))
        plan, _ = BackupPlan.objects.get_or_create(name="Benchmark")
        tier, _ = BackupTier.objects.get_or_create(plan=plan, capacity_gb=100000, defaults={"monthly_price": 1})
        subscription = BackupSubscription.objects.filter(contract=contract).first()
        return subscription or services.subscription_create(actor=None, contract=contract, plan=plan, tier=tier,
                                                            started_on=contract.start_date)

    def _devices(self, subscription, count):
        existing = Device.objects.filter(subscription=subscription).count()
        if existing >= count:
            return
        registered = timezone.now() - datetime.timedelta(days=30)
        Device.objects.bulk_create(
            [Device(subscription=subscription, client_id=subscription.contract.client_id, hostname=f"bench-{i:05d}",
                    kind=DeviceKind.SERVER if i % 10 == 0 else DeviceKind.WORKSTATION)
             for i in range(existing, count)],
            batch_size=2000,
        )
        Device.objects.filter(subscription=subscription).update(created_at=registered)

    def _ingest(self, raw, count, devices, url):
        run = secrets.token_hex(4)
        end = timezone.now() - datetime.timedelta(minutes=5)
        payloads = [json.dumps({
            "device": f"bench-{i % devices:05d}", "job_id": f"bench-{run}-{i}",
            "started_at": (end - datetime.timedelta(minutes=20)).isoformat(), "ended_at": end.isoformat(),
            "status": "success", "kind": "incremental", "bytes_transferred": 10**8, "bytes_stored": 5 * GB,
            "files": 1000, "copies": {"mis": 1, "ovh": 1}, "skipped": {"video": 1},
        }) for i in range(count)]
        started, cpu_started = time.perf_counter(), time.process_time()
        if url:
            parts = urllib.parse.urlsplit(url)
            for body in payloads:
                conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10)
                conn.request("POST", parts.path, body, {"Authorization": f"Bearer {raw}",
                                                        "Content-Type": "application/json"})
                status = conn.getresponse().status
                conn.close()
                if status != 201:
                    raise CommandError(f"Unexpected HTTP {status}")
        else:
            http_client = HttpClient()
            for body in payloads:
                response = http_client.post("/api/backups/reports/", body, content_type="application/json",
                                            HTTP_AUTHORIZATION=f"Bearer {raw}")
                if response.status_code != 201:
                    raise CommandError(f"Unexpected HTTP {response.status_code}: {response.content[:200]}")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        via = url or "Django test client (in process)"
        if getattr(settings, "BACKUPS_INGEST_ASYNC_COMMIT", False):
            via += ", asynchronous commit"
        self.stdout.write(f"ingestion: {count} reports in {elapsed:.2f}s = {count / elapsed:.0f} reports/s via {via}")
        if not url:
            # CPU used by this process (Django + client): what one worker costs when it has a core to itself.
            self.stdout.write(f"  CPU time in this process: {cpu / count * 1000:.2f} ms/report "
                              f"= {count / cpu:.0f} reports/s per fully available core")

    def _supervise(self, devices, today):
        """Two reports per device (one in the 24-hour window, one older; 1 in 20 failed, 1 in 50 single copy)."""
        day = today + datetime.timedelta(days=1)
        start, end = services.supervision_window(day)
        ids = list(Device.objects.filter(client__siren=BENCH_SIREN).order_by("pk").values_list("pk", flat=True)[:devices])
        reports = []
        for n, pk in enumerate(ids):
            if n % 100 == 7:
                continue  # silent device
            for age, tag in ((datetime.timedelta(hours=2), "in"), (datetime.timedelta(days=3), "old")):
                reports.append(JobReport(
                    device_id=pk, job_id=f"sup-{day}-{tag}", started_at=end - age - datetime.timedelta(minutes=20),
                    ended_at=end - age, status=JobStatus.FAILED if n % 20 == 3 and tag == "in" else JobStatus.SUCCESS,
                    kind="incremental", bytes_transferred=0, bytes_stored=GB, files_count=10,
                    copies={"mis": 1} if n % 50 == 11 else {"mis": 1, "ovh": 1}, replicated=n % 50 != 11,
                    payload_hash="bench"))
        JobReport.objects.bulk_create(reports, batch_size=5000, ignore_conflicts=True)
        # Measure a first run of the day (forget a previous benchmark's run), then its idempotent replay.
        SupervisionFlag.objects.filter(day=day).delete()
        SupervisionRun.objects.filter(day=day).delete()
        OutboundEmail.objects.filter(key=f"backups.supervision:{day.isoformat()}").delete()
        for label in ("first run", "replay"):
            started = time.perf_counter()
            result = services.supervision_run(today=day)
            elapsed = time.perf_counter() - started
            self.stdout.write(f"supervision {label}: {result} in {elapsed:.2f}s (window ends {paris_datetime(day)})")
