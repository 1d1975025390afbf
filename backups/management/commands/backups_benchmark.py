"""Benchmark of the backup option: report ingestion through the HTTP endpoint and the K1 supervision run.

Run it on its own database, never on production data::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mis_backups_bench python manage.py migrate
    DATABASE_URL=... python manage.py backups_benchmark --reports 3000 --devices 10000
    DATABASE_URL=... python manage.py backups_benchmark --reports 3000 --url http://127.0.0.1:8765/api/backups/reports/
    DATABASE_URL=... python manage.py backups_benchmark --wrk 20 --url http://127.0.0.1:8765/api/backups/reports/

Without ``--url`` reports go through Django's test client (the whole request stack in this process).
With ``--url`` they are POSTed over HTTP to a running server (e.g. one gunicorn worker) by a
sequential Python client that keeps its connection open when the server allows it (gunicorn's
sync worker closes it after each answer: the client then reconnects). With ``--wrk SECONDS`` the
load comes from ``wrk`` (C, epoll) for that long with ``--connections`` open connections, every
request a new job id (a Lua script); the command then checks that every request stored one report.
"""
import datetime
import http.client
import json
import os
import re
import secrets
import subprocess
import tempfile
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


def _process_tree_cpu(pid: int) -> float:
    """User + system CPU seconds used so far by ``pid`` and its direct children (Linux ``/proc``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as children:
            pids += [int(child) for child in children.read().split()]
    total = 0
    for one in pids:
        with open(f"/proc/{one}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return total / ticks


class Command(BaseCommand):
    help = "Measure report ingestion (reports/s) and the supervision run over many devices. Use a dedicated database."

    def add_arguments(self, parser):
        parser.add_argument("--reports", type=int, default=2000)
        parser.add_argument("--devices", type=int, default=10000)
        parser.add_argument("--url", help="POST to this URL instead of the in-process test client.")
        parser.add_argument("--wrk", type=int, metavar="SECONDS",
                            help="With --url: load the server with wrk for SECONDS instead of the Python client.")
        parser.add_argument("--connections", type=int, default=1, help="wrk: open connections (default 1).")
        parser.add_argument("--server-pid", type=int,
                            help="With --url: also report the CPU time used by this process and its children "
                                 "(e.g. the gunicorn master: its worker), per report.")
        parser.add_argument("--skip-supervision", action="store_true")
        parser.add_argument("--async-commit", action="store_true",
                            help="In-process only: ingest with BACKUPS_INGEST_ASYNC_COMMIT=True.")
        parser.add_argument("--i-know-this-writes-benchmark-data", action="store_true", required=True)

    def handle(self, *args, **options):
        if options["reports"] < 1 or options["devices"] < 1:
            raise CommandError("--reports and --devices must be positive.")
        if options["wrk"] and not options["url"]:
            raise CommandError("--wrk needs --url (a running server).")
        today = business_today()
        subscription = self._subscription(today)
        self._devices(subscription, options["devices"])
        _token, raw = services.api_token_create(actor=None, client=subscription.contract.client,
                                                label="benchmark", rate_limit_per_minute=10**9)
        if options["url"]:
            # A fresh worker imports the URL conf, translations, … on its first requests: not measured.
            self._ingest(raw, 50, options["devices"], options["url"], quiet=True)
        server_cpu = _process_tree_cpu(options["server_pid"]) if options["server_pid"] else None
        if options["wrk"]:
            count = self._wrk(raw, options["devices"], options["url"], options["wrk"], options["connections"])
        else:
            count = options["reports"]
            with override_settings(BACKUPS_INGEST_ASYNC_COMMIT=options["async_commit"]):
                self._ingest(raw, count, options["devices"], options["url"])
        if server_cpu is not None:
            # CPU of the server process(es) only: what one worker costs when it has a core to itself.
            cpu = _process_tree_cpu(options["server_pid"]) - server_cpu
            self.stdout.write(f"  CPU time in the server (pid {options['server_pid']} and children): "
                              f"{cpu / count * 1000:.2f} ms/report = {count / cpu:.0f} reports/s per fully available core")
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

    @staticmethod
    def _report_times():
        end = timezone.now() - datetime.timedelta(minutes=5)
        return (end - datetime.timedelta(minutes=20)).isoformat(), end.isoformat()

    def _ingest(self, raw, count, devices, url, *, quiet=False):
        run = secrets.token_hex(4)
        started_at, ended_at = self._report_times()
        payloads = [json.dumps({
            "device": f"bench-{i % devices:05d}", "job_id": f"bench-{run}-{i}",
            "started_at": started_at, "ended_at": ended_at,
            "status": "success", "kind": "incremental", "bytes_transferred": 10**8, "bytes_stored": 5 * GB,
            "files": 1000, "copies": {"mis": 1, "ovh": 1}, "skipped": {"video": 1},
        }) for i in range(count)]
        started, cpu_started = time.perf_counter(), time.process_time()
        if url:
            connections = self._post_over_http(url, raw, payloads)
        else:
            http_client = HttpClient()
            for body in payloads:
                response = http_client.post("/api/backups/reports/", body, content_type="application/json",
                                            HTTP_AUTHORIZATION=f"Bearer {raw}")
                if response.status_code != 201:
                    raise CommandError(f"Unexpected HTTP {response.status_code}: {response.content[:200]}")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if quiet:
            return
        via = f"{url}, one sequential Python client, {connections} TCP connection(s)" if url else \
            "Django test client (in process)"
        if getattr(settings, "BACKUPS_INGEST_ASYNC_COMMIT", False):
            via += ", asynchronous commit"
        self.stdout.write(f"ingestion: {count} reports in {elapsed:.2f}s = {count / elapsed:.0f} reports/s via {via}")
        if not url:
            # CPU used by this process (Django + client): what one worker costs when it has a core to itself.
            self.stdout.write(f"  CPU time in this process: {cpu / count * 1000:.2f} ms/report "
                              f"= {count / cpu:.0f} reports/s per fully available core")

    @staticmethod
    def _post_over_http(url, raw, payloads) -> int:
        """POST each payload in turn, reusing the connection unless the server closes it; connections opened."""
        parts = urllib.parse.urlsplit(url)
        headers = {"Authorization": f"Bearer {raw}", "Content-Type": "application/json"}
        conn, opened = None, 0
        for body in payloads:
            if conn is None:
                conn, opened = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10), opened + 1
            conn.request("POST", parts.path, body, headers)
            response = conn.getresponse()
            content = response.read()
            if response.status != 201:
                raise CommandError(f"Unexpected HTTP {response.status}: {content[:200]}")
            if response.will_close:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()
        return opened

    def _wrk(self, raw, devices, url, seconds, connections):
        """Load ``url`` with wrk; each request is a new report (job id = run, wrk thread, counter)."""
        run = secrets.token_hex(4)
        started_at, ended_at = self._report_times()
        template = json.dumps({
            "device": "bench-%05d", "job_id": f"wrk-{run}-%d-%d", "started_at": started_at, "ended_at": ended_at,
            "status": "success", "kind": "incremental", "bytes_transferred": 10**8, "bytes_stored": 5 * GB,
            "files": 1000, "copies": {"mis": 1, "ovh": 1}, "skipped": {"video": 1},
        })
        script = f"""
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer {raw}"
wrk.headers["Content-Type"] = "application/json"
local threads, n = 0, 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
function request()
  n = n + 1
  return wrk.format(nil, nil, nil, string.format([[{template}]], n % {devices}, tid, n))
end
"""
        before = JobReport.objects.filter(job_id__startswith=f"wrk-{run}-").count()
        with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
            lua.write(script)
            lua.flush()
            result = subprocess.run(
                ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", lua.name, url],
                capture_output=True, text=True, check=True,
            )
        stored = JobReport.objects.filter(job_id__startswith=f"wrk-{run}-").count() - before
        rate = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
        total = re.search(r"(\d+) requests in", result.stdout)
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
        socket_errors = re.search(r"Socket errors: .*", result.stdout)
        self.stdout.write(result.stdout)
        # Requests still in flight when wrk stops are stored but not counted by wrk.
        if errors or socket_errors or not total or not int(total.group(1)) <= stored <= int(total.group(1)) + connections:
            raise CommandError(f"wrk: {total and total.group(1)} requests but {stored} reports stored "
                               f"({errors and errors.group(0)}; {socket_errors and socket_errors.group(0)})")
        self.stdout.write(f"ingestion: {stored} reports in {seconds}s = {float(rate.group(1)):.0f} reports/s "
                          f"via wrk, {connections} connection(s), {url}")
        return stored

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
