"""Nightly jobs of the gdpr app (order band 700–799)."""
import datetime

from django.utils import timezone

from core.dates import paris_datetime
from core.nightly import nightly_job
from gdpr import services


def _job_now(today: datetime.date) -> datetime.datetime:
    """The instant the job acts at: now, or the end of ``today`` when replaying a past date."""
    return min(timezone.now(), paris_datetime(today + datetime.timedelta(days=1)))


@nightly_job(order=700, name="gdpr.register")
def sync_register(*, today):
    """Art. 30(2), D8: every client with a running contract has its standard register lines."""
    return services.register_sync()


@nightly_job(order=710, name="gdpr.breach_alerts")
def breach_alerts(*, today):
    """D6: the 24/48/66-hour alerts, in case the 15-minute task was down (sent once each)."""
    return services.breach_send_alerts(now=_job_now(today))


@nightly_job(order=750, name="gdpr.retention")
def retention(*, today):
    """D1, D3, D10: end-of-contract return/deletion and retention periods; returns what it did."""
    return services.retention_apply(today=today, now=_job_now(today))


@nightly_job(order=720, name="gdpr.controller_request_alerts")
def controller_request_alerts(*, today):
    """D4, D7: staff are told once about each controller request past the answer date MIS promised."""
    return services.controller_requests_alert_overdue(today=today, now=_job_now(today))
