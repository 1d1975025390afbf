import datetime
from decimal import Decimal

import factory

from backups.choices import DeviceKind, JobKind, JobStatus, Retention
from backups.models import GB, BackupPlan, BackupSubscription, BackupTier, Device, JobReport
from tests.factories.contracts import ContractFactory

TIER_PRICES = [(50, Decimal("15.00")), (100, Decimal("25.00")), (250, Decimal("49.00")), (500, Decimal("89.00"))]


class BackupPlanFactory(factory.django.DjangoModelFactory):
    """A price table with four tiers: 50 Go 15 €, 100 Go 25 €, 250 Go 49 €, 500 Go 89 € HT per month."""

    class Meta:
        model = BackupPlan
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Grille {n}")

    @factory.post_generation
    def tiers(obj, create, extracted, **kwargs):
        if create:
            for capacity, price in extracted or TIER_PRICES:
                BackupTier.objects.create(plan=obj, capacity_gb=capacity, monthly_price=price)


class BackupSubscriptionFactory(factory.django.DjangoModelFactory):
    """A 100 Go subscription (5 weeks retention) on an active contract; no contract line (use the service for that)."""

    class Meta:
        model = BackupSubscription

    contract = factory.SubFactory(ContractFactory, has_backup=True)
    plan = factory.SubFactory(BackupPlanFactory)
    tier = factory.LazyAttribute(lambda o: o.plan.tiers.get(capacity_gb=100))
    retention = Retention.FIVE_WEEKS
    started_on = factory.LazyAttribute(lambda o: o.contract.start_date)


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    subscription = factory.SubFactory(BackupSubscriptionFactory)
    client = factory.LazyAttribute(lambda o: o.subscription.contract.client)
    hostname = factory.Sequence(lambda n: f"pc-{n:04d}")
    kind = DeviceKind.WORKSTATION
    os = "Windows 11 Pro"


class JobReportFactory(factory.django.DjangoModelFactory):
    """A good, replicated incremental job that ended at ``ended_at`` (default 2026-11-27 22:30 UTC)."""

    class Meta:
        model = JobReport

    device = factory.SubFactory(DeviceFactory)
    job_id = factory.Sequence(lambda n: f"job-{n}")
    ended_at = datetime.datetime(2026, 11, 27, 22, 30, tzinfo=datetime.UTC)
    started_at = factory.LazyAttribute(lambda o: o.ended_at - datetime.timedelta(minutes=20))
    status = JobStatus.SUCCESS
    kind = JobKind.INCREMENTAL
    bytes_transferred = 10**8
    bytes_stored = 10 * GB
    files_count = 1000
    copies = factory.LazyFunction(lambda: {"mis": 1, "ovh": 1})
    replicated = True
    payload_hash = "x" * 64
