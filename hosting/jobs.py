"""Nightly jobs of the hosting option (order band 600)."""
from django.utils import timezone

from core.nightly import nightly_job
from hosting import services


@nightly_job(order=600, name="hosting.expiry_alerts")
def expiry_alerts(*, today):
    """H3: certificates and domains expiring in 30, 14 and 7 days (once per threshold)."""
    return services.expiry_alerts_send(today=today)


@nightly_job(order=610, name="hosting.overdue_change_requests")
def overdue_change_requests(*, today):
    """H5: mailbox change requests past their 8-day deadline, flagged to staff once."""
    return {"flagged": services.change_requests_flag_overdue(today=today, now=timezone.now())}
