"""Issue #11: no nightly job and no list page whose statement count grows with the number of rows.

The synthetic MSP of ``manage.py bench`` (bench/builders.py) is built twice in the test database, at a
tiny size and at twice that size (twice the clients, contracts, invoices, tickets, devices, domains,
requests and formal notices, and twice the portal client's contracts, invoices and tickets). Every
nightly job of three nights (1 January 2027, its replay, 10 January) and every staff admin change list
and portal list page must not run more statements at the double size. The batches of one bulk INSERT
count as one statement (SQLite splits them at 999 parameters; see ``bench.measure.QueryCounter``).
Known exceptions are listed in ``GROWS`` with their reason; they must still run without error.
"""
import pytest
from django.db import transaction

from bench import measure
from bench.builders import NIGHT1, NIGHT2, Sizes, build_msp

SMALL = Sizes(clients=22, contracts=40, invoices=80, tickets=100, devices=50, report_days=2, domains=3,
              gdpr_requests=3, formal_notices=2)
DOUBLE = Sizes(clients=44, contracts=80, invoices=160, tickets=200, devices=100, report_days=2, domains=6,
               gdpr_requests=6, formal_notices=4)

# Jobs whose statements grow with what they do, known and documented (docs/benchmarks.md, "Scale benchmark").
GROWS = {
    "payments.dunning": "B3 is bulk, but C10 suspension goes through contracts' per-contract service (docs/payments.md)",
    "backups.overage": "each new overage episode: its own insert, audit and e-mail (about 9 statements each)",
    "hosting.expiry_alerts": "2 statements without an alert, 8 with any number (bulk e-mails); the small world has none that night",
    "core.retry_unsent_emails": "sends the queued e-mails one by one, at most 200 a night (core.mail limit)",
}


def _jobs(sizes: Sizes) -> dict:
    build_msp(sizes)
    jobs = {}
    for label, day in (("night", NIGHT1), ("replay", NIGHT1), ("batch", NIGHT2)):
        for row in measure.nightly(day, label=label, collapse_bulk=True)["jobs"]:
            assert row["status"] == "ok", (label, row)
            jobs[(label, row["job"])] = row["queries"]
    return jobs


def _pages(sizes: Sizes, *, warm: bool) -> dict:
    world = build_msp(sizes)
    pages = {}
    for user, staff, urls in ((world.staff_user, True, measure.admin_list_urls()),
                              (world.portal_user, False, measure.portal_list_urls())):
        for row in measure.pages(measure.logged_in_client(user, staff=staff), urls, repeat=1, warm=warm):
            assert row["status"] == 200, row
            pages[row["url"]] = row["queries"]
    return pages


def _grown(small: dict, double: dict, *, exempt=()) -> dict:
    assert set(small) == set(double)
    return {key: (small[key], double[key]) for key in double
            if double[key] > small[key] and (key[1] if isinstance(key, tuple) else key) not in exempt}


@pytest.mark.django_db
def test_nightly_jobs_statements_do_not_grow_with_rows(provider):
    with transaction.atomic():
        small = _jobs(SMALL)
        transaction.set_rollback(True)
    double = _jobs(DOUBLE)
    grown = _grown(small, double, exempt=GROWS)
    assert not grown, f"statements (small, double) of the jobs that grew: {grown}"
    # The data made the jobs work: 1 January renews, revises and invoices every contract, the replay does nothing.
    for job in ("contracts.renewal", "contracts.syntec_revision", "billing.recurring"):
        assert double[("night", job)] > double[("replay", job)], job


@pytest.mark.django_db
def test_list_pages_statements_do_not_grow_with_rows(provider):
    with transaction.atomic():
        small = _pages(SMALL, warm=True)  # the first GET of each page fills caches (content types, …)
        transaction.set_rollback(True)
    double = _pages(DOUBLE, warm=False)
    grown = _grown(small, double)
    assert not grown, f"statements (small, double) of the pages that grew: {grown}"
