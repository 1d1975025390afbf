"""Nightly jobs of the interventions app (order band 400-499). Each is idempotent."""
import datetime

from django.utils import timezone

from core.dates import paris_datetime
from core.nightly import nightly_job
from interventions import services


def _scan_instant(today: datetime.date) -> datetime.datetime:
    """Now, or the end of ``today`` when replaying a past date (run_nightly --date)."""
    return min(timezone.now(), paris_datetime(today + datetime.timedelta(days=1)))


@nightly_job(order=400, name="interventions.sla_scan")
def sla_scan(*, today):
    """S2/K4/K5: the 15-minute scan, also run nightly (catch-up after an outage of the beat)."""
    return services.sla_scan(now=_scan_instant(today))


@nightly_job(order=410, name="interventions.preventive_visits")
def preventive_visits(*, today):
    """S3: plan the preventive visits due in the next 30 days."""
    return services.preventive_visits_generate(today=today)


@nightly_job(order=420, name="interventions.availability")
def availability(*, today):
    """C7: record last month's availability of every running contract (recomputed each night: late outages)."""
    last_month = today.replace(day=1) - datetime.timedelta(days=1)
    return services.availability_month_close(month=last_month)


@nightly_job(order=430, name="interventions.attachment_orphans")
def attachment_orphans(*, today):
    """Ticket attachments: delete stored files left without a row (a killed process, a rolled-back caller)."""
    return services.attachment_orphans_remove(now=timezone.now())
