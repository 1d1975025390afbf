"""demo_data is idempotent: running it twice changes nothing."""
import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def _counts():
    return {m._meta.label: m.objects.count() for m in apps.get_models()}


def test_demo_data_twice_changes_nothing():
    call_command("demo_data")
    first = _counts()
    call_command("demo_data")
    assert _counts() == first
    assert first["contracts.Client"] == 3
    assert first["core.ProviderProfile"] == 1
    assert set(Group.objects.values_list("name", flat=True)) == {"Management", "Accounting", "Technicians", "DPO"}
    for group in Group.objects.all():
        assert group.user_set.count() == 1
