"""Staff groups follow least privilege."""
import pytest
from django.contrib.auth.models import Group

from core.roles import setup_roles

pytestmark = pytest.mark.django_db


def _codes(name):
    group = Group.objects.get(name=name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_groups_have_least_privilege():
    setup_roles()
    technicians = _codes("Technicians")
    assert "contracts.view_contract" in technicians
    assert "contracts.change_contract" not in technicians
    assert not any(c.startswith("core.") for c in technicians)
    dpo = _codes("DPO")
    assert "core.view_auditlogentry" in dpo and "contracts.change_client" not in dpo
    management = _codes("Management")
    assert "core.delete_auditlogentry" not in management
    assert "auth.change_user" not in management
    accounting = _codes("Accounting")
    assert "contracts.view_contract" in accounting and "contracts.delete_contract" not in accounting
