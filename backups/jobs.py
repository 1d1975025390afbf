"""Nightly jobs of the backup option (order band 500–599)."""
from backups import services
from core.nightly import nightly_job


@nightly_job(order=510, name="backups.usage")
def record_usage(*, today):
    """K7: one usage snapshot per active subscription for ``today``."""
    return services.usage_record(today=today)


@nightly_job(order=520, name="backups.overage")
def process_overage(*, today):
    """K7: open / resolve / upgrade overage episodes from today's usage."""
    return services.overage_process(today=today)


@nightly_job(order=550, name="backups.supervision")
def supervise(*, today):
    """K1: daily supervision flags and the staff digest."""
    return services.supervision_run(today=today)
