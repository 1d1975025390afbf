"""Audit log: every service write records actor, time, object, action and changed fields."""
import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType

from contracts import services
from contracts.models import Client
from core.models import AuditLogEntry
from tests.factories.core import StaffUserFactory

pytestmark = pytest.mark.django_db


@time_machine.travel("2026-11-29 10:15:00+01:00", tick=False)
def test_client_create_and_update_are_audited_with_actor_and_changes():
    staff = StaffUserFactory(username="claire")
    client = services.client_create(
        actor=staff, name="Boulangerie", siren="845123454", address_line1="1 rue",
        postal_code="83600", city="Fréjus", billing_email="a@b.fr",
    )
    services.client_update(actor=staff, client=client, city="Saint-Raphaël", postal_code="83700")

    entries = list(AuditLogEntry.objects.filter(object_id=str(client.pk)).order_by("pk"))
    assert [e.action for e in entries] == ["contracts.client.created", "contracts.client.updated"]
    assert all(e.actor == staff and e.actor_label == "claire" for e in entries)
    assert entries[0].content_type == ContentType.objects.get_for_model(Client)
    assert entries[0].created_at.isoformat() == "2026-11-29T09:15:00+00:00"
    assert entries[1].changes == {"city": ["Fréjus", "Saint-Raphaël"], "postal_code": ["83600", "83700"]}


def test_system_actor_is_labelled():
    client = services.client_create(
        actor=None, name="B", siren="845123454", address_line1="1 rue", postal_code="83600",
        city="Fréjus", billing_email="a@b.fr",
    )
    entry = AuditLogEntry.objects.get(object_id=str(client.pk))
    assert entry.actor is None
    assert entry.actor_label == "système"


def test_invalid_client_is_not_saved_nor_audited():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.client_create(
            actor=None, name="B", siren="845123455", address_line1="1 rue", postal_code="83600",
            city="Fréjus", billing_email="a@b.fr",
        )
    assert Client.objects.count() == 0
    assert AuditLogEntry.objects.count() == 0


def test_admin_edit_is_audited(client, staff_user):
    target = services.client_create(
        actor=None, name="B", siren="845123454", address_line1="1 rue", postal_code="83600",
        city="Fréjus", billing_email="a@b.fr",
    )
    client.force_login(staff_user)
    data = {
        "name": "B renamed", "legal_form": "", "siren": "845123454", "siret": "", "vat_number": "",
        "address_line1": "1 rue", "address_line2": "", "postal_code": "83600", "city": "Fréjus",
        "country": "FR", "billing_email": "a@b.fr", "phone": "", "holiday_subdivision": "", "is_active": "on",
        "contacts-TOTAL_FORMS": "0", "contacts-INITIAL_FORMS": "0",
        "sites-TOTAL_FORMS": "0", "sites-INITIAL_FORMS": "0",
    }
    response = client.post(f"/admin/contracts/client/{target.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditLogEntry.objects.filter(action="contracts.client.updated").get()
    assert entry.actor == staff_user
    assert entry.changes == {"name": ["B", "B renamed"]}
    # The audit log is browsable by object in the admin.
    ct = ContentType.objects.get_for_model(Client)
    listing = client.get(f"/admin/core/auditlogentry/?content_type__id__exact={ct.pk}&q={target.pk}")
    assert listing.status_code == 200
    assert "contracts.client.updated" in listing.content.decode()
