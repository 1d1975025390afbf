"""run_nightly exists, runs the registered jobs for a business date and logs them."""
import datetime

import pytest
from django.core.management import CommandError, call_command

from core import nightly

pytestmark = pytest.mark.django_db


def test_run_nightly_runs_registered_jobs_in_order_for_the_date(capsys):
    seen = []

    @nightly.nightly_job(order=1, name="test.first")
    def first(*, today):
        seen.append(("first", today))
        return {"n": 1}

    @nightly.nightly_job(order=2, name="test.second")
    def second(*, today):
        seen.append(("second", today))

    try:
        call_command("run_nightly", "--date", "2027-01-01")
    finally:
        nightly._REGISTRY.pop("test.first")
        nightly._REGISTRY.pop("test.second")
    assert seen == [("first", datetime.date(2027, 1, 1)), ("second", datetime.date(2027, 1, 1))]
    out = capsys.readouterr().out
    assert "Nightly run for 2027-01-01" in out
    assert "test.first: ok {'n': 1}" in out
    assert "core.retry_unsent_emails: ok" in out


def test_a_failing_job_does_not_stop_the_others_but_fails_the_command():
    seen = []

    @nightly.nightly_job(order=1, name="test.broken")
    def broken(*, today):
        raise RuntimeError("boom")

    @nightly.nightly_job(order=2, name="test.after")
    def after(*, today):
        seen.append(today)

    try:
        with pytest.raises(CommandError, match="1 nightly job"):
            call_command("run_nightly", "--date", "2026-11-29")
    finally:
        nightly._REGISTRY.pop("test.broken")
        nightly._REGISTRY.pop("test.after")
    assert seen == [datetime.date(2026, 11, 29)]


def test_bad_date_is_a_clear_error():
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("run_nightly", "--date", "29/11/2026")


def test_setup_schedule_creates_the_periodic_tasks_once():
    from django_celery_beat.models import PeriodicTask

    call_command("setup_schedule")
    call_command("setup_schedule")
    assert set(PeriodicTask.objects.values_list("name", flat=True)) >= {"nightly", "retry-unsent-emails"}
    nightly_task = PeriodicTask.objects.get(name="nightly")
    assert nightly_task.task == "core.tasks.run_nightly_task"
    assert (nightly_task.crontab.hour, nightly_task.crontab.minute) == ("1", "30")
