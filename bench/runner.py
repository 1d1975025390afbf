"""The whole benchmark, in order: build, nights, floors, PDFs, ingestion, pages, HTTP load, report."""
import datetime
import os
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from bench import measure, report
from bench.builders import NIGHT1, NIGHT2, Sizes, build_msp

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mis_bench"


class BenchRefused(Exception):
    """The benchmark would write into a database that is not a benchmark database."""


def database_name() -> str:
    return str(settings.DATABASES["default"]["NAME"])


def check_database() -> None:
    """Refuse anything but a benchmark database (``mis_bench…``, a name containing ``bench``, or a test one)."""
    name = Path(database_name()).name
    if "bench" in name or name.startswith("test_") or name in (":memory:", "") or "mode=memory" in name:
        return
    raise BenchRefused(
        f"Refusing to run the benchmark on database {name!r}: it writes hundreds of thousands of rows. "
        f"Use a database of its own whose name contains 'bench', e.g. DATABASE_URL={DEFAULT_DATABASE_URL}.")


def quiet_side_effects() -> None:
    """Tasks queued on commit (PDFs, e-mails) go to an in-process broker nobody consumes: the benchmark times
    the nightly work itself, not the workers (PDFs are timed on their own). E-mails that a job sends itself
    (``core.retry_unsent_emails``) go to Django's dummy backend."""
    from mis_backoffice.celery import app

    app.conf.broker_url = "memory://"
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"


def analyze() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def run(*, sizes: Sizes, argv: str, log, pdf_count: int = 20, ingest_reports: int = 500, page_repeat: int = 3,
        http_load: bool = True, workers: int = 3, threads: int = 1, connections: int = 20, wrk_seconds: int = 10,
        docs: Path | None = None) -> dict:
    check_database()
    quiet_side_effects()
    data = {"argv": argv, "date": report.now(), "load_start": os.getloadavg(),
            "sizes": {k: v for k, v in vars(sizes).items() if k != "portal_share"}}
    started = time.perf_counter()
    log(f"Building the synthetic MSP on {connection.vendor} {database_name()!r}: {data['sizes']}")
    world = build_msp(sizes, log=log)
    analyze()
    data["build_seconds"] = time.perf_counter() - started
    started = time.perf_counter()

    log(f"Nightly run of {NIGHT1} (renewal, 1 January revision, January invoices, dunning…)")
    data["nightly"] = [measure.nightly(NIGHT1, label="1 January: renewal, revision, recurring billing, dunning")]
    log(_night_line(data["nightly"][-1]))
    data["billing_floor"] = measure.billing_floor(NIGHT1)
    log(f"  billing floor (COPY of the same rows): {data['billing_floor']}")
    log(f"Replay of {NIGHT1} (idempotence: nothing more to do)")
    data["nightly"].append(measure.nightly(NIGHT1, label="replay of the same night"))
    log(_night_line(data["nightly"][-1]))
    log(f"Nightly run of {NIGHT2} (the 15 January direct debits enter their SEPA batch)")
    data["nightly"].append(measure.nightly(NIGHT2, label="SEPA batch of the January invoices"))
    log(_night_line(data["nightly"][-1]))

    log(f"PDF + Factur-X of {pdf_count} invoices vs WeasyPrint alone")
    data["pdfs"] = measure.pdfs(NIGHT1, count=pdf_count)
    log(f"  {data['pdfs']}")
    if ingest_reports:
        log(f"Ingestion of {ingest_reports} backup reports through the HTTP stack")
        data["ingestion"] = measure.ingestion(reports=ingest_reports, run=datetime.datetime.now().strftime("%H%M%S"))
        log(f"  {data['ingestion']}")
    log("Staff admin and portal list pages")
    admin_urls, portal_urls = measure.admin_list_urls(), measure.portal_list_urls()
    data["admin_pages"] = measure.pages(measure.logged_in_client(world.staff_user, staff=True), admin_urls,
                                        repeat=page_repeat)
    data["portal_pages"] = measure.pages(measure.logged_in_client(world.portal_user, staff=False), portal_urls,
                                         repeat=page_repeat)
    for row in data["admin_pages"] + data["portal_pages"]:
        log(f"  {row['url']}: {row['status']} {row['seconds'] * 1000:.0f} ms, {row['queries']} statements")
    data["load"] = []
    if http_load:
        from bench import load

        slowest = [r["url"] for r in sorted(data["admin_pages"], key=lambda r: -r["seconds"]) if r["status"] == 200][:3]
        portal = [r["url"] for r in sorted(data["portal_pages"], key=lambda r: -r["seconds"]) if r["status"] == 200][:3]
        log(f"HTTP load with wrk on the 3 slowest admin and portal list pages: {slowest + portal}")
        try:
            data["load"] = load.load(staff_user=world.staff_user, portal_user=world.portal_user, admin_urls=slowest,
                                     portal_urls=portal, workers=workers, threads=threads,
                                     connections=connections,
                                     seconds=wrk_seconds, log=log)
        except Exception as exc:  # keep the other figures: the table says the load failed
            log(f"  HTTP load failed: {exc!r}")
            data["load"] = [{"url": "(all)", "status": 0}]
    data["measure_seconds"] = time.perf_counter() - started
    data["machine"] = report.machine()
    data["growing"] = None
    text = report.render(data)
    if docs is not None:
        report.write(docs, text)
    data["text"] = text
    return data


def _night_line(night: dict) -> str:
    lines = [f"  whole run_nightly {night['day']}: {night['seconds']:.2f} s, {night['queries']} statements"]
    lines += [f"    {j['job']}: {j['seconds']:.2f} s, {j['queries']} statements, {j['status']} {j['result']}"
              for j in night["jobs"]]
    return "\n".join(lines)
