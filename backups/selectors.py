"""Reads of the backup option, with their joins and annotations done once."""
import datetime
from dataclasses import dataclass

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from backups.choices import GOOD_STATUSES, OverageStatus
from backups.models import (
    BackupSubscription,
    BackupTier,
    Device,
    JobReport,
    OverageEpisode,
    RestoreRequest,
    SupervisionFlag,
    UsageSnapshot,
)


def report_for_job(*, client_id: int, hostname: str, job_id: str, only_device_id: int | None = None) -> JobReport | None:
    """The report already received for ``job_id`` from a client's device (off the ingestion hot path:
    only when the INSERT stored nothing, to tell a retry or a conflict from an unknown device)."""
    qs = JobReport.objects.filter(device__client_id=client_id, device__hostname=hostname, job_id=job_id)
    if only_device_id is not None:
        qs = qs.filter(device_id=only_device_id)
    return qs.order_by().first()


def _latest_report(*, before: datetime.datetime | None = None, good_only: bool = False) -> QuerySet[JobReport]:
    qs = JobReport.objects.filter(device=OuterRef("pk"))
    if before is not None:
        qs = qs.filter(ended_at__lt=before)
    if good_only:
        qs = qs.filter(status__in=GOOD_STATUSES)
    return qs.order_by("-ended_at", "-pk")


def with_backup_status(qs: QuerySet[Device], *, before: datetime.datetime | None = None) -> QuerySet[Device]:
    """Annotate each device with its last good backup (K1) and its last report, as of ``before``.

    One query whatever the number of devices: correlated subqueries on the
    (device, ended_at) index.
    """
    good = _latest_report(before=before, good_only=True)
    last = _latest_report(before=before)
    return qs.annotate(
        last_good_at=Subquery(good.values("ended_at")[:1]),
        last_good_replicated=Subquery(good.values("replicated")[:1]),
        last_report_at=Subquery(last.values("ended_at")[:1]),
        last_status=Subquery(last.values("status")[:1]),
        last_skipped_videos=Subquery(last.values("skipped_videos")[:1]),
    )


@dataclass(frozen=True)
class SupervisedDevice:
    """What the daily supervision needs to know about a device (plain rows: 10,000 of them are read at once)."""

    pk: int
    hostname: str
    client_name: str
    created_at: datetime.datetime
    last_good_at: datetime.datetime | None
    last_good_replicated: bool | None


def devices_for_supervision(*, before: datetime.datetime) -> list[SupervisedDevice]:
    """Devices the daily supervision checks (active devices of active subscriptions of active contracts),
    with their last good backup ended before ``before``. One query."""
    from contracts.choices import ContractStatus

    good = _latest_report(before=before, good_only=True)
    rows = (
        Device.objects.filter(
            is_active=True,
            subscription__is_active=True,
            subscription__contract__status=ContractStatus.ACTIVE,
            created_at__lt=before,
        )
        .annotate(
            last_good_at=Subquery(good.values("ended_at")[:1]),
            last_good_replicated=Subquery(good.values("replicated")[:1]),
        )
        .order_by("client__name", "hostname")
        .values_list("pk", "hostname", "client__name", "created_at", "last_good_at", "last_good_replicated")
    )
    return [SupervisedDevice(*row) for row in rows]


def stored_bytes_by_device(*, before: datetime.datetime) -> QuerySet:
    """``(subscription_id, bytes_stored)`` of each device's latest report ended before ``before`` (K7 usage)."""
    latest = _latest_report(before=before)
    return (
        Device.objects.filter(subscription__is_active=True)
        .annotate(stored=Subquery(latest.values("bytes_stored")[:1]))
        .values_list("subscription_id", "stored")
    )


def tier_for_usage(*, plan_id: int, used_bytes: int) -> BackupTier | None:
    """K7: the smallest tier of the plan whose capacity holds ``used_bytes`` (``None`` if none does)."""
    for tier in BackupTier.objects.filter(plan_id=plan_id).order_by("capacity_gb"):
        if tier.capacity_bytes >= used_bytes:
            return tier
    return None


# --- portal (always scoped by the client) -------------------------------------------------


def subscriptions_for_client(client) -> QuerySet[BackupSubscription]:
    latest_usage = UsageSnapshot.objects.filter(subscription=OuterRef("pk")).order_by("-day")
    return (
        BackupSubscription.objects.filter(contract__client=client, is_active=True)
        .select_related("contract", "tier", "plan")
        .annotate(
            usage_day=Subquery(latest_usage.values("day")[:1]),
            usage_bytes=Subquery(latest_usage.values("used_bytes")[:1]),
        )
        .prefetch_related(
            Prefetch(
                "overages",
                queryset=OverageEpisode.objects.filter(status=OverageStatus.OPEN),
                to_attr="open_overages",
            )
        )
        .order_by("contract__reference")
    )


def devices_for_client(client) -> QuerySet[Device]:
    qs = Device.objects.filter(client=client).select_related("site", "subscription")
    return with_backup_status(qs).order_by("hostname")


def device_for_client(client, pk: int) -> Device:
    """A device of ``client`` or 404 (another client's device does not exist for this portal user)."""
    return get_object_or_404(devices_for_client(client), pk=pk)


def reports_for_device(device: Device, *, limit: int = 30) -> list[JobReport]:
    return list(JobReport.objects.filter(device=device).order_by("-ended_at", "-pk")[:limit])


def restores_for_client(client) -> QuerySet[RestoreRequest]:
    return RestoreRequest.objects.filter(subscription__contract__client=client).select_related("device", "report")


def flags_for_day(day: datetime.date) -> QuerySet[SupervisionFlag]:
    return SupervisionFlag.objects.filter(day=day).select_related("device__client").order_by(
        "device__client__name", "device__hostname", "kind"
    )


def usage_percent(*, used_bytes: int | None, capacity_gb: int) -> int | None:
    """Usage as a whole percentage of the capacity (display only)."""
    if used_bytes is None or not capacity_gb:
        return None
    return used_bytes * 100 // (capacity_gb * 10**9)


def device_health(device: Device, *, now: datetime.datetime) -> str:
    """``ok`` / ``warn`` / ``bad`` for display, from :func:`with_backup_status` annotations (K1 rules)."""
    if device.last_good_at is None or device.last_good_at < now - datetime.timedelta(hours=24):
        return "bad"
    if device.last_status == "failed" or not device.last_good_replicated:
        return "warn"
    return "ok"
