"""CGV K1 daily supervision: flags, one staff digest a day, idempotent nightly run, constant queries.

The run of 2026-11-28 checks the 24 hours before 2026-11-28 00:00 Paris,
i.e. 2026-11-26 23:00 UTC → 2026-11-27 23:00 UTC.
"""
import datetime

import pytest
import time_machine
from django.apps import apps
from django.core.management import call_command

from backups import services
from backups.choices import FlagKind, JobStatus
from backups.models import SupervisionFlag, SupervisionRun
from contracts.choices import ContractStatus
from core.models import OutboundEmail
from tests.factories.backups import BackupSubscriptionFactory, DeviceFactory, JobReportFactory
from tests.factories.contracts import ContractFactory

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 11, 28)
UTC = datetime.UTC
IN_WINDOW = datetime.datetime(2026, 11, 27, 21, 30, tzinfo=UTC)  # 22:30 Paris on the 27th
BEFORE_WINDOW = datetime.datetime(2026, 11, 25, 21, 30, tzinfo=UTC)
REGISTERED = datetime.datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _device(sub, hostname, **kw):
    with time_machine.travel(kw.pop("registered", REGISTERED), tick=False):
        return DeviceFactory(subscription=sub, hostname=hostname, **kw)


@pytest.fixture
def fleet(client_a, client_b):
    sub = BackupSubscriptionFactory(contract=ContractFactory(client=client_a))
    ok = _device(sub, "ok")
    JobReportFactory(device=ok, ended_at=IN_WINDOW)
    silent = _device(sub, "silent")
    JobReportFactory(device=silent, ended_at=BEFORE_WINDOW)
    _device(sub, "never")
    failed = _device(sub, "failed")
    JobReportFactory(device=failed, ended_at=IN_WINDOW - datetime.timedelta(hours=2))
    JobReportFactory(device=failed, ended_at=IN_WINDOW, status=JobStatus.FAILED)
    single = _device(sub, "single-copy")
    JobReportFactory(device=single, ended_at=IN_WINDOW, replicated=False, copies={"mis": 1})
    # Registered during the window: not yet expected to have a backup, but still checked otherwise.
    _device(sub, "new", registered=datetime.datetime(2026, 11, 27, 10, 0, tzinfo=UTC))
    # A report after the window (00:30 Paris on the 28th) does not count for the 28th's run.
    late = _device(sub, "late")
    JobReportFactory(device=late, ended_at=datetime.datetime(2026, 11, 27, 23, 30, tzinfo=UTC))
    # Not supervised: inactive device, ended contract.
    _device(sub, "retired", is_active=False)
    ended = BackupSubscriptionFactory(contract=ContractFactory(client=client_b, status=ContractStatus.ENDED))
    _device(ended, "old-contract")
    return sub


def flags():
    return set(SupervisionFlag.objects.values_list("day", "device__hostname", "kind"))


def test_k1_supervision_flags_each_kind_of_problem(fleet):
    result = services.supervision_run(today=DAY)
    assert flags() == {
        (DAY, "silent", FlagKind.NO_SUCCESS),
        (DAY, "never", FlagKind.NO_SUCCESS),
        (DAY, "late", FlagKind.NO_SUCCESS),
        (DAY, "failed", FlagKind.FAILED_JOB),
        (DAY, "single-copy", FlagKind.MISSING_REPLICA),
    }
    assert result == {"devices": 7, "flags": 5, "flagged_devices": 5, "digest": True}
    assert SupervisionFlag.objects.get(device__hostname="silent").detail == (
        "dernière sauvegarde réussie : 25/11/2026 22:30"
    )
    assert SupervisionFlag.objects.get(device__hostname="never").detail == "dernière sauvegarde réussie : jamais"
    run = SupervisionRun.objects.get()
    assert (run.day, run.devices_checked, run.flagged_devices) == (DAY, 7, 5)
    assert (run.window_start, run.window_end) == (
        datetime.datetime(2026, 11, 26, 23, 0, tzinfo=UTC), datetime.datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
    )


def test_k1_one_staff_digest_per_day(fleet, settings, run_on_commit, mailoutbox):
    with run_on_commit():
        services.supervision_run(today=DAY)
    with run_on_commit():
        services.supervision_run(today=DAY)
    [email] = OutboundEmail.objects.all()
    assert email.key == "backups.supervision:2026-11-28"
    assert email.to == [settings.STAFF_NOTIFICATION_EMAIL]
    assert email.subject == "Supervision des sauvegardes du 28/11/2026 : 5 appareil(s) en anomalie"
    assert "Période contrôlée : du 27/11/2026 00:00 au 28/11/2026 00:00." in email.body
    assert "- Client A — failed : sauvegarde échouée (1 job(s) échoué(s) sur 24 h)" in email.body
    assert len(mailoutbox) == 1


def test_k1_a_quiet_night_still_sends_the_daily_digest(client_a):
    sub = BackupSubscriptionFactory(contract=ContractFactory(client=client_a))
    JobReportFactory(device=_device(sub, "ok"), ended_at=IN_WINDOW)
    services.supervision_run(today=DAY)
    email = OutboundEmail.objects.get()
    assert email.subject.endswith(": 0 appareil(s) en anomalie")
    assert "Aucune anomalie." in email.body


def _counts():
    return {m._meta.label: m.objects.count() for m in apps.get_models()}


def test_second_run_nightly_changes_nothing(fleet):
    """The whole nightly sequence, twice for the same date: the second run adds nothing (K1, K7)."""
    call_command("run_nightly", "--date", DAY.isoformat(), "--only", "backups.usage", "--only", "backups.overage",
                 "--only", "backups.supervision")
    first = _counts()
    values = list(SupervisionFlag.objects.values()) + list(SupervisionRun.objects.values("day", "devices_checked"))
    call_command("run_nightly", "--date", DAY.isoformat(), "--only", "backups.usage", "--only", "backups.overage",
                 "--only", "backups.supervision")
    assert _counts() == first
    assert list(SupervisionFlag.objects.values()) + list(SupervisionRun.objects.values("day", "devices_checked")) == values
    assert first["backups.SupervisionFlag"] == 5
    assert first["backups.UsageSnapshot"] == 2
    assert first["core.OutboundEmail"] == 1


def _fleet_of(n, sub, start=0):
    for i in range(start, start + n):
        device = _device(sub, f"dev-{i}")
        JobReportFactory(device=device, ended_at=IN_WINDOW, status=JobStatus.FAILED if i % 2 else JobStatus.SUCCESS)
        JobReportFactory(device=device, ended_at=BEFORE_WINDOW, replicated=bool(i % 3))


def _forget_the_run():
    SupervisionFlag.objects.all().delete()
    SupervisionRun.objects.all().delete()
    OutboundEmail.objects.all().delete()


def test_supervision_query_count_does_not_grow_with_devices(client_a, django_assert_num_queries):
    sub = BackupSubscriptionFactory(contract=ContractFactory(client=client_a))
    _fleet_of(5, sub)
    # devices with their last good backup (1), failed jobs of the window (1), then one transaction
    # (savepoint … release: 2): flags (1 insert), run upsert (savepoint, select, savepoint, insert,
    # release, release: 6), digest (key exists?, savepoint, insert, release: 4).
    with django_assert_num_queries(15):
        assert services.supervision_run(today=DAY)["devices"] == 5
    _forget_the_run()
    _fleet_of(45, sub, start=5)
    with django_assert_num_queries(15):
        assert services.supervision_run(today=DAY)["devices"] == 50
