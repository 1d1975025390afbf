"""CGV K7 overage timeline, with exact dates.

Convention: the nightly run of day D measures usage from the reports ended
before D 00:00 Paris. Usage >= capacity × 1.10 on D → e-mail on D (one per
episode); still above capacity on D + 1 month → the matching tier is billed
from the 1st of the following month until the contract's term. Example used
below: e-mail 2026-03-10 → checked 2026-04-10 → new tier from 2026-05-01.
"""
import datetime
from decimal import Decimal

import pytest

from backups import services
from backups.choices import OverageStatus
from backups.models import GB, BackupSubscription, OverageEpisode, UsageSnapshot
from contracts.selectors import contract_lines_valid_on
from core.models import AuditLogEntry, OutboundEmail
from core.nightly import run_nightly
from tests.factories.backups import BackupPlanFactory, DeviceFactory, JobReportFactory
from tests.factories.contracts import ContractFactory

pytestmark = pytest.mark.django_db

JOBS = ["backups.usage", "backups.overage"]


@pytest.fixture
def setup(client_a):
    """A contract signed 2026-03-01 (term 2027-12-31) with the 100 Go tier (25 € HT / month) from 2026-03-01."""
    contract = ContractFactory(client=client_a, signature_date=datetime.date(2026, 3, 1))
    plan = BackupPlanFactory()
    sub = services.subscription_create(
        actor=None, contract=contract, plan=plan, tier=plan.tiers.get(capacity_gb=100),
        started_on=datetime.date(2026, 3, 1),
    )
    device = DeviceFactory(subscription=sub, hostname="srv-1")
    return sub, device


def usage_on(device, day: datetime.date, gb: int):
    """A job that ended on the evening before ``day`` (Paris) leaving ``gb`` GB stored, then the nightly run of ``day``."""
    evening = datetime.datetime.combine(day - datetime.timedelta(days=1), datetime.time(21, 0), tzinfo=datetime.UTC)
    JobReportFactory(device=device, ended_at=evening, bytes_stored=gb * GB, job_id=f"{day}")
    return run_nightly(today=day, only=JOBS)


def overage_emails():
    return list(OutboundEmail.objects.filter(key__startswith="backups.overage:"))


def test_k7_date_convention():
    assert services.overage_check_date(datetime.date(2026, 3, 10)) == datetime.date(2026, 4, 10)
    assert services.overage_effective_from(datetime.date(2026, 4, 10)) == datetime.date(2026, 5, 1)
    assert services.overage_check_date(datetime.date(2026, 1, 31)) == datetime.date(2026, 2, 28)
    assert services.overage_effective_from(datetime.date(2026, 12, 15)) == datetime.date(2027, 1, 1)
    # 110 % of 100 GB is the threshold, inclusive.
    assert services.overage_threshold_reached(used_bytes=110 * GB, capacity_gb=100)
    assert not services.overage_threshold_reached(used_bytes=110 * GB - 1, capacity_gb=100)


def test_k7_email_on_the_day_usage_crosses_110_percent_then_upgrade_after_one_full_month(setup):
    sub, device = setup
    usage_on(device, datetime.date(2026, 3, 9), 109)
    assert OverageEpisode.objects.count() == 0 and overage_emails() == []

    usage_on(device, datetime.date(2026, 3, 10), 110)
    episode = OverageEpisode.objects.get()
    assert (episode.status, episode.notified_on, episode.check_on) == (
        OverageStatus.OPEN, datetime.date(2026, 3, 10), datetime.date(2026, 4, 10)
    )
    assert (episode.usage_bytes, episode.capacity_gb) == (110 * GB, 100)
    [email] = overage_emails()
    assert email.to == [sub.contract.client.billing_email]
    assert email.subject == f"Dépassement de votre capacité de sauvegarde ({sub.contract.reference})"
    assert "110,0 Go pour une capacité contractuelle de 100 Go" in email.body
    assert "le 10/04/2026" in email.body and "à partir du 01/05/2026" in email.body
    assert "250 Go, 49,00 € HT par mois" in email.body

    # Still above: no second e-mail, and nothing happens before the check date.
    for day in (datetime.date(2026, 3, 11), datetime.date(2026, 4, 9)):
        usage_on(device, day, 120)
    assert len(overage_emails()) == 1
    assert OverageEpisode.objects.get().status == OverageStatus.OPEN
    sub.refresh_from_db()
    assert sub.tier.capacity_gb == 100

    usage_on(device, datetime.date(2026, 4, 10), 120)
    episode.refresh_from_db()
    assert episode.status == OverageStatus.UPGRADED
    assert episode.closed_on == datetime.date(2026, 4, 10)
    assert episode.effective_from == datetime.date(2026, 5, 1)
    assert episode.new_tier.capacity_gb == 250
    sub.refresh_from_db()
    assert sub.tier.capacity_gb == 250
    contract = sub.contract
    # The recurring invoice reads the dated contract lines: 25 € until 30 April, 49 € from 1 May to the term.
    [april] = [line for line in contract_lines_valid_on(contract, datetime.date(2026, 4, 30)) if line.source == "backups.tier"]
    [may] = [line for line in contract_lines_valid_on(contract, datetime.date(2026, 5, 1)) if line.source == "backups.tier"]
    assert (april.unit_price, april.valid_from, april.valid_until) == (
        Decimal("25.00"), datetime.date(2026, 3, 1), datetime.date(2026, 4, 30)
    )
    assert (may.unit_price, may.valid_from, may.valid_until) == (
        Decimal("49.00"), datetime.date(2026, 5, 1), datetime.date(2027, 12, 31)
    )
    assert may.description == "Option sauvegarde — palier 250 Go (avenant CGV K7 à compter du 01/05/2026)"
    assert not [line for line in contract_lines_valid_on(contract, datetime.date(2028, 1, 1)) if line.source == "backups.tier"]
    actions = set(AuditLogEntry.objects.values_list("action", flat=True))
    assert {"backups.overage.opened", "backups.overage.upgraded", "backups.subscription.tier_upgraded",
            "contracts.contractline.updated", "contracts.contractline.created"} <= actions
    upgrade_mail = OutboundEmail.objects.get(key=f"backups.overage.upgrade:{episode.pk}")
    assert "à partir du 01/05/2026" in upgrade_mail.body

    # Replaying the same night changes nothing; with the new 250 Go capacity 120 GB is no overage.
    before = (AuditLogEntry.objects.count(), OutboundEmail.objects.count(), contract.lines.count())
    run_nightly(today=datetime.date(2026, 4, 10), only=JOBS)
    usage_on(device, datetime.date(2026, 4, 11), 120)
    assert (AuditLogEntry.objects.count(), OutboundEmail.objects.count(), contract.lines.count()) == before


def test_k7_no_upgrade_when_usage_came_back_within_capacity(setup):
    sub, device = setup
    usage_on(device, datetime.date(2026, 3, 10), 115)
    usage_on(device, datetime.date(2026, 3, 25), 98)
    episode = OverageEpisode.objects.get()
    assert (episode.status, episode.closed_on, episode.closing_usage_bytes) == (
        OverageStatus.RESOLVED, datetime.date(2026, 3, 25), 98 * GB
    )
    usage_on(device, datetime.date(2026, 4, 10), 105)  # above capacity, below +10 %: no new episode
    assert OverageEpisode.objects.count() == 1
    sub.refresh_from_db()
    assert sub.tier.capacity_gb == 100
    assert [line.unit_price for line in sub.contract.lines.filter(source="backups.tier")] == [Decimal("25.00")]
    assert len(overage_emails()) == 1


def test_k7_between_capacity_and_110_percent_keeps_the_episode_open(setup):
    """Back under 110 % is not back within capacity: the episode stays open and the tier changes."""
    sub, device = setup
    usage_on(device, datetime.date(2026, 3, 10), 112)
    usage_on(device, datetime.date(2026, 3, 20), 104)
    assert OverageEpisode.objects.get().status == OverageStatus.OPEN
    usage_on(device, datetime.date(2026, 4, 10), 104)
    assert OverageEpisode.objects.get().new_tier.capacity_gb == 250


def test_k7_a_new_episode_after_a_resolved_one_sends_a_new_email(setup):
    sub, device = setup
    usage_on(device, datetime.date(2026, 3, 10), 115)
    usage_on(device, datetime.date(2026, 3, 12), 90)
    usage_on(device, datetime.date(2026, 3, 20), 111)
    assert list(OverageEpisode.objects.order_by("notified_on").values_list("status", "notified_on")) == [
        (OverageStatus.RESOLVED, datetime.date(2026, 3, 10)), (OverageStatus.OPEN, datetime.date(2026, 3, 20)),
    ]
    assert len(overage_emails()) == 2


def test_k7_usage_beyond_the_largest_tier_stays_open_for_staff(setup):
    sub, device = setup
    usage_on(device, datetime.date(2026, 3, 10), 600)
    result = usage_on(device, datetime.date(2026, 4, 10), 600)
    assert [r["result"] for r in result if r["job"] == "backups.overage"] == [
        {"opened": 0, "resolved": 0, "upgraded": 0, "no_tier": 1}
    ]
    assert OverageEpisode.objects.get().status == OverageStatus.OPEN


def test_usage_sums_the_latest_report_of_each_device_before_the_day(setup):
    sub, device = setup
    other = DeviceFactory(subscription=sub, hostname="nas-1")
    night = datetime.datetime(2026, 3, 9, 21, 0, tzinfo=datetime.UTC)
    JobReportFactory(device=device, ended_at=night - datetime.timedelta(days=1), bytes_stored=99 * GB)
    JobReportFactory(device=device, ended_at=night, bytes_stored=30 * GB)
    JobReportFactory(device=other, ended_at=night, bytes_stored=12 * GB)
    # Ended after 2026-03-10 00:00 Paris (23:00 UTC): counted on the 11th, not the 10th.
    JobReportFactory(device=other, ended_at=datetime.datetime(2026, 3, 9, 23, 30, tzinfo=datetime.UTC),
                     bytes_stored=500 * GB)
    services.usage_record(today=datetime.date(2026, 3, 10))
    snap = UsageSnapshot.objects.get(subscription=sub, day=datetime.date(2026, 3, 10))
    assert (snap.used_bytes, snap.capacity_gb, snap.percent) == (42 * GB, 100, Decimal("42.0"))


def test_subscription_create_adds_the_tier_line_and_sets_the_option_flag(client_a):
    contract = ContractFactory(client=client_a, has_backup=False)
    plan = BackupPlanFactory()
    sub = services.subscription_create(actor=None, contract=contract, plan=plan, tier=plan.tiers.get(capacity_gb=50),
                                       started_on=datetime.date(2026, 4, 1))
    contract.refresh_from_db()
    assert contract.has_backup is True
    line = contract.lines.get(source="backups.tier")
    assert (line.description, line.unit_price, line.valid_from, line.valid_until) == (
        "Option sauvegarde — palier 50 Go", Decimal("15.00"), datetime.date(2026, 4, 1), None
    )
    assert BackupSubscription.objects.get() == sub


def test_subscription_refuses_a_single_storage_site(client_a):
    from django.core.exceptions import ValidationError

    plan = BackupPlanFactory()
    with pytest.raises(ValidationError, match="K1"):
        services.subscription_create(actor=None, contract=ContractFactory(client=client_a), plan=plan,
                                     tier=plan.tiers.first(), started_on=datetime.date(2026, 4, 1),
                                     primary_site="ovh", replica_site="ovh")
