"""Measurements of the scale benchmark: each returns plain rows (dicts) for :mod:`bench.report`.

Query counts come from a database execute wrapper (works with ``DEBUG=False``, stores no SQL); one
``executemany`` or ``COPY`` counts as one statement, as PostgreSQL sees one round trip.
"""
import contextlib
import dataclasses
import datetime
import io
import json
import statistics
import time
from unittest import mock

from django.conf import settings
from django.contrib import admin
from django.db import connection, transaction
from django.test import Client as HttpClient
from django.urls import reverse

from core.dates import PARIS


class QueryCounter:
    """Counts the statements run on the default connection while installed.

    With ``collapse_bulk``, the batches of one bulk INSERT count as one statement: SQLite limits a
    statement to 999 parameters, so Django splits a ``bulk_create`` of a few dozen wide rows into
    several INSERTs there, where PostgreSQL takes thousands of rows at once (tests run on SQLite).
    """

    def __init__(self, *, collapse_bulk: bool = False):
        self.count = 0
        self.collapse_bulk = collapse_bulk
        self._bulk_table = None

    def __call__(self, execute, sql, params, many, context):
        table = None
        if self.collapse_bulk and sql.startswith("INSERT INTO "):
            table = sql.split(None, 3)[2]
            if table == self._bulk_table:
                return execute(sql, params, many, context)
        self._bulk_table = table if table and "), (" in sql else None
        self.count += 1
        return execute(sql, params, many, context)

    @contextlib.contextmanager
    def installed(self):
        with connection.execute_wrapper(self):
            yield self


@contextlib.contextmanager
def business_night(day: datetime.date):
    """Run as if it were 01:30 in Paris on ``day`` (the beat's time), the clock ticking from there."""
    import time_machine

    with time_machine.travel(datetime.datetime.combine(day, datetime.time(1, 30), tzinfo=PARIS), tick=True):
        yield


def nightly(day: datetime.date, *, label: str, collapse_bulk: bool = False) -> dict:
    """The whole ``core.nightly.run_nightly`` for ``day``, with the time and statements of each job."""
    from core import nightly as registry

    counter = QueryCounter(collapse_bulk=collapse_bulk)
    per_job: dict[str, int] = {}
    jobs = registry.discover()

    def counted(job):
        def run(*, today):
            before = counter.count
            try:
                return job.func(today=today)
            finally:
                per_job[job.name] = counter.count - before
        return run

    originals = {job.name: job for job in jobs}
    try:
        for job in jobs:  # wrap each registered job to read its statement count; restored below
            registry._REGISTRY[job.name] = dataclasses.replace(job, func=counted(job))
        with business_night(day), counter.installed():
            started, cpu = time.perf_counter(), time.process_time()
            results = registry.run_nightly(today=day)
            total, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        registry._REGISTRY.update(originals)
    rows = [{"job": r["job"], "seconds": r["seconds"], "queries": per_job.get(r["job"], 0), "status": r["status"],
             "result": r["result"]} for r in results]
    return {"label": label, "day": day, "seconds": total, "cpu_seconds": cpu, "queries": counter.count, "jobs": rows}


def billing_floor(day: datetime.date) -> dict | None:
    """PostgreSQL alone: one COPY of the invoice and line rows the night issued, into tables with the same
    columns, defaults, indexes and constraints (no foreign keys), committed. ``None`` on other databases."""
    if connection.vendor != "postgresql":
        return None
    from billing.models import Invoice, InvoiceLine

    inv, line = Invoice._meta.db_table, InvoiceLine._meta.db_table
    # The billing run's invoices: issued that day for a period starting in its catch-up window (B3 dunning
    # issues the remaining months of a contract the same night, with later periods).
    run = (f"issue_date = '{day.isoformat()}' AND kind = 'recurring' AND period_start BETWEEN "
           f"'{(day - datetime.timedelta(days=62)).isoformat()}' AND '{day.isoformat()}'")
    data = {}
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for table, where in ((inv, run), (line, f"invoice_id IN (SELECT id FROM {inv} WHERE {run})")):
            buffer = io.StringIO()
            raw.copy_expert(f"COPY (SELECT * FROM {table} WHERE {where}) TO STDOUT", buffer)
            data[table] = buffer.getvalue()
        for table in (inv, line):
            cursor.execute(f"DROP TABLE IF EXISTS bench_floor_{table}")
            cursor.execute(f"CREATE TABLE bench_floor_{table} (LIKE {table} INCLUDING ALL)")
    rows = {table: text.count("\n") for table, text in data.items()}
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for table, text in data.items():
            cursor.cursor.copy_expert(f"COPY bench_floor_{table} FROM STDIN", io.StringIO(text))
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        for table in (inv, line):
            cursor.execute(f"DROP TABLE bench_floor_{table}")
    return {"seconds": seconds, "invoices": rows[inv], "lines": rows[line]}


def pdfs(day: datetime.date, *, count: int = 20) -> dict:
    """Warm PDF + Factur-X of ``count`` invoices the night issued, beside WeasyPrint alone on the same HTML."""
    from weasyprint import HTML

    from billing import pdf
    from billing.models import Invoice

    ids = list(Invoice.objects.filter(issue_date=day, kind="recurring").order_by("pk").values_list("pk", flat=True)
               [:count + 1])
    if len(ids) < 2:
        return {}
    invoices = [Invoice.objects.select_related("contract", "credited_invoice", "client").get(pk=pk) for pk in ids]
    htmls = []
    real_html = pdf.HTML

    def capturing(*args, **kwargs):
        htmls.append(kwargs.get("string"))
        return real_html(*args, **kwargs)

    started = time.perf_counter()
    pdf.invoice_pdf_bytes(invoices[0])  # cold: fonts, templates, XSD
    cold = time.perf_counter() - started
    ours = []
    with mock.patch.object(pdf, "HTML", side_effect=capturing):
        for invoice in invoices[1:]:
            started = time.perf_counter()
            pdf.invoice_pdf_bytes(invoice)
            ours.append(time.perf_counter() - started)
    floor = []
    for html in htmls:
        started = time.perf_counter()
        HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
        floor.append(time.perf_counter() - started)
    return {"runs": len(ours), "cold": cold, "median": statistics.median(ours), "max": max(ours),
            "floor_median": statistics.median(floor) if floor else None, "captured_html": len(htmls)}


def _report_body(hostname: str, job_id: str, end: datetime.datetime) -> str:
    return json.dumps({
        "device": hostname, "job_id": job_id, "started_at": (end - datetime.timedelta(minutes=20)).isoformat(),
        "ended_at": end.isoformat(), "status": "success", "kind": "incremental", "bytes_transferred": 10**8,
        "bytes_stored": 5 * 1024**3, "files": 1000, "copies": {"mis": 1, "ovh": 1}, "skipped": {"video": 1},
    })


def ingestion_token():
    """A token of the first backed-up client and that client's device hostnames."""
    from backups import services
    from backups.models import Device

    device = Device.objects.select_related("client").order_by("pk").first()
    _token, raw = services.api_token_create(actor=None, client=device.client, label="bench",
                                            rate_limit_per_minute=10**9)
    hostnames = list(Device.objects.filter(client=device.client).values_list("hostname", flat=True))
    return raw, hostnames


def ingestion(*, reports: int, run: str) -> dict:
    """``POST /api/backups/reports/`` through Django's whole request stack (test client, in process)."""
    from django.utils import timezone

    raw, hostnames = ingestion_token()
    end = timezone.now() - datetime.timedelta(minutes=5)
    bodies = [_report_body(hostnames[i % len(hostnames)], f"ingest-{run}-{i}", end) for i in range(reports)]
    client = HttpClient()
    counter = QueryCounter()
    with counter.installed():
        started, cpu = time.perf_counter(), time.process_time()
        for body in bodies:
            response = client.post("/api/backups/reports/", body, content_type="application/json",
                                   HTTP_AUTHORIZATION=f"Bearer {raw}")
            if response.status_code != 201:
                raise RuntimeError(f"ingestion answered {response.status_code}: {response.content[:200]!r}")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"reports": reports, "seconds": seconds, "cpu_seconds": cpu, "queries": counter.count}


# --- list pages ------------------------------------------------------------------------------------------

PORTAL_PAGES = ("dashboard", "contracts", "equipment", "invoices", "statement", "payments", "quotes", "tickets",
                "hosting", "backups", "gdpr", "gdpr_register", "gdpr_requests", "users")


def admin_list_urls() -> list[str]:
    """The change list of every model registered in the staff admin."""
    return sorted(reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist") for m in admin.site._registry)


def portal_list_urls() -> list[str]:
    return [reverse(f"portal:{name}") for name in PORTAL_PAGES]


def logged_in_client(user, *, staff: bool) -> HttpClient:
    """A test client with ``user``'s session (staff sessions are marked as having passed 2FA when it is on)."""
    client = HttpClient()
    client.force_login(user)
    if staff:
        otp_verify(client, user)
    return client


def otp_verify(client: HttpClient, user) -> None:
    """When staff 2FA (django-otp) is installed, mark the session verified with a confirmed TOTP device."""
    if "django_otp" not in settings.INSTALLED_APPS:
        return
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def pages(client: HttpClient, urls: list[str], *, repeat: int = 3, warm: bool = True) -> list[dict]:
    """Each page: status, median time of ``repeat`` warm GETs, statements of one GET."""
    rows = []
    for url in urls:
        if warm:
            response = client.get(url)  # warm-up (templates, caches)
        counter = QueryCounter()
        timings = []
        for n in range(repeat):
            with counter.installed() if n == 0 else contextlib.nullcontext():
                started = time.perf_counter()
                response = client.get(url)
                timings.append(time.perf_counter() - started)
        rows.append({"url": url, "status": response.status_code, "seconds": statistics.median(timings),
                     "queries": counter.count, "bytes": len(response.content)})
    return rows
