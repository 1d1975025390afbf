"""Backup demo data: plans, two subscriptions (one in overage), a week of reports, one silent device; idempotent."""
import datetime
import io

import pytest
import time_machine
from django.apps import apps

from backups import demo as backups_demo
from backups.choices import FlagKind, OverageStatus
from backups.models import BackupSubscription, JobReport, OverageEpisode, SupervisionFlag
from contracts import demo as contracts_demo
from core import demo as core_demo

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 28)


def _load():
    out = io.StringIO()
    for module in (core_demo, contracts_demo, backups_demo):
        module.load(today=TODAY, stdout=out)
    return out.getvalue()


def _counts():
    return {m._meta.label: m.objects.count() for m in apps.get_models()}


def test_backup_demo_data_is_complete_and_idempotent():
    with time_machine.travel(datetime.datetime(2026, 11, 28, 8, 0, tzinfo=datetime.UTC), tick=False):
        first_out = _load()
        first = _counts()
        second_out = _load()
    assert _counts() == first
    assert "Backup API token" in first_out and "Backup API token" not in second_out
    assert BackupSubscription.objects.count() == 2
    assert first["backups.Device"] == 5
    assert JobReport.objects.count() == 3 * 7 + 7 + 5  # pc-bureau silent for the last two days
    episode = OverageEpisode.objects.get()
    assert (episode.subscription.contract.reference, episode.status, episode.notified_on) == (
        "CT-2024-0002", OverageStatus.OPEN, datetime.date(2026, 11, 22)
    )
    assert list(SupervisionFlag.objects.values_list("device__hostname", "kind")) == [("pc-bureau", FlagKind.NO_SUCCESS)]
