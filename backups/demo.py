"""Demo data of the backup option (idempotent): a price table, two subscriptions (one in overage),
devices with a week of job reports, one device whose backups stopped two days ago."""
import datetime
from decimal import Decimal

from backups import services
from backups.choices import DeviceKind, JobStatus, Retention, SkipReason
from backups.models import GB, ApiToken, BackupPlan, BackupSubscription, BackupTier, Device
from contracts.models import Contract
from core.dates import paris_datetime

PLAN_NAME = "Sauvegarde en ligne — grille 2026"
TIERS = [(50, "15.00"), (100, "25.00"), (250, "49.00"), (500, "89.00"), (1000, "159.00")]

# contract reference -> (tier GB, retention, devices: hostname, kind, OS, stored GB, days without backup)
SUBSCRIPTIONS = {
    # Cabinet Durand: 115 GB stored for 100 GB → K7 overage episode, e-mail on the first measured day.
    "CT-2024-0002": (100, Retention.TWELVE_MONTHS, [
        ("srv-cabinet", DeviceKind.SERVER, "Windows Server 2022", 70, 0),
        ("nas-archives", DeviceKind.NAS, "Synology DSM 7.2", 40, 0),
        ("pc-accueil", DeviceKind.WORKSTATION, "Windows 11 Pro", 5, 0),
    ]),
    # Boulangerie Lemoine: within capacity; pc-bureau has sent nothing for two days (K1 supervision flag).
    "CT-2025-0001": (50, Retention.FIVE_WEEKS, [
        ("pc-caisse", DeviceKind.WORKSTATION, "Windows 11 Pro", 12, 0),
        ("pc-bureau", DeviceKind.WORKSTATION, "Windows 10 Pro", 18, 2),
    ]),
}
DAYS = 7


def load(*, today, stdout):
    plan, _ = BackupPlan.objects.get_or_create(name=PLAN_NAME)
    for capacity, price in TIERS:
        BackupTier.objects.get_or_create(plan=plan, capacity_gb=capacity, defaults={"monthly_price": Decimal(price)})
    first_day = today - datetime.timedelta(days=DAYS)
    for reference, (capacity, retention, devices) in SUBSCRIPTIONS.items():
        contract = Contract.objects.filter(reference=reference).select_related("client").first()
        if contract is None:
            continue
        subscription = BackupSubscription.objects.filter(contract=contract).first()
        if subscription is None:
            subscription = services.subscription_create(
                actor=None, contract=contract, plan=plan, tier=plan.tiers.get(capacity_gb=capacity),
                started_on=max(contract.start_date, first_day.replace(day=1)), retention=retention,
            )
        site = contract.client.sites.first()
        for hostname, kind, os_name, stored_gb, silent_days in devices:
            device = Device.objects.filter(client=contract.client, hostname=hostname).first()
            if device is None:
                device = services.device_register(
                    actor=None, subscription=subscription, hostname=hostname, kind=kind, os=os_name, site=site
                )
                # Registered when the week of demo reports starts, so the supervision checks it fully.
                Device.objects.filter(pk=device.pk).update(created_at=paris_datetime(first_day - datetime.timedelta(days=1)))
            for offset in range(DAYS - silent_days):
                day = first_day + datetime.timedelta(days=offset)
                start = paris_datetime(day, 22, 0)
                skipped = {SkipReason.VIDEO: 3} if kind == DeviceKind.WORKSTATION and offset % 3 == 0 else {}
                services.report_record(
                    client_id=contract.client_id, now=paris_datetime(today), source="api",
                    data={
                        "device": hostname, "job_id": f"demo-{hostname}-{day.isoformat()}",
                        "started_at": start.isoformat(),
                        "ended_at": (start + datetime.timedelta(minutes=25)).isoformat(),
                        "status": JobStatus.WARNING if skipped else JobStatus.SUCCESS,
                        "kind": "full" if offset == 0 else "incremental",
                        "bytes_transferred": 350_000_000, "bytes_stored": stored_gb * GB,
                        "files": 12_000, "copies": {"mis": 1, "ovh": 1}, "skipped": skipped,
                    },
                )
        if not ApiToken.objects.filter(client=contract.client, label="Logiciel de sauvegarde (démo)").exists():
            _token, raw = services.api_token_create(actor=None, client=contract.client,
                                                    label="Logiciel de sauvegarde (démo)")
            stdout.write(f"Backup API token for {contract.client.name} (shown once): {raw}")
    # Replay the nightly backup jobs over the week: usage, overage e-mail, supervision.
    for offset in range(1, DAYS + 1):
        day = first_day + datetime.timedelta(days=offset)
        services.usage_record(today=day)
        services.overage_process(today=day)
    services.supervision_run(today=today)
    stdout.write("Backups: 2 subscriptions (Cabinet Durand in overage), 5 devices, pc-bureau silent for 2 days.")
