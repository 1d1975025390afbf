"""Portal pages of the backup option (K1 last good backup, K6 explanation, K7 usage, K3/K8 restores).

portal_user belongs to client A; other_portal_user to client B: client A's devices are 404 for B.
"""
import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backups import services
from backups.choices import RestoreKind, RestoreStatus
from backups.models import GB, RestoreRequest
from contracts.choices import ContactRole
from tests.factories.backups import DeviceFactory, JobReportFactory
from tests.factories.contracts import ContactFactory

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
NOW = datetime.datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_overview_shows_each_device_last_good_backup_usage_and_k6(client, portal_user, device_a, device_b, sub_a):
    JobReportFactory(device=device_a, ended_at=datetime.datetime(2026, 11, 27, 21, 30, tzinfo=UTC),
                     skipped={"video": 4}, skipped_videos=4, status="warning")
    silent = DeviceFactory(subscription=sub_a, hostname="pc-silencieux")
    JobReportFactory(device=silent, ended_at=datetime.datetime(2026, 11, 20, 21, 30, tzinfo=UTC))
    services.usage_record(today=datetime.date(2026, 11, 28))
    client.force_login(portal_user)
    response = client.get("/portal/sauvegardes/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "pc-accueil" in body and "srv-b" not in body
    assert "27/11/2026 22:30" in body  # last good backup, Paris time
    assert "20/11/2026 22:30" in body
    assert "pas de sauvegarde depuis 24 h" in body
    assert "4 vidéos exclues" in body
    assert "Les fichiers vidéo ne sont pas sauvegardés" in body  # K6
    assert "<strong>20 %</strong>" in body  # 2 × 10 GB for 100 GB
    assert "Capacité contractuelle : 100 Go" in body


def test_overview_announces_an_open_overage(client, portal_user, device_a):
    JobReportFactory(device=device_a, ended_at=datetime.datetime(2026, 11, 27, 21, 30, tzinfo=UTC),
                     bytes_stored=120 * GB)
    services.usage_record(today=datetime.date(2026, 11, 28))
    services.overage_process(today=datetime.date(2026, 11, 28))
    client.force_login(portal_user)
    body = client.get("/portal/sauvegardes/").content.decode()
    assert "Dépassement signalé par e-mail le 28/11/2026" in body
    assert "le 28/12/2026" in body


def test_another_clients_device_is_404(client, other_portal_user, device_a):
    client.force_login(other_portal_user)
    assert client.get(f"/portal/sauvegardes/appareils/{device_a.pk}/").status_code == 404
    response = client.post(f"/portal/sauvegardes/appareils/{device_a.pk}/restauration/",
                           {"point": "2026-11-27T23:00", "kind": "self"})
    assert response.status_code == 404
    assert RestoreRequest.objects.count() == 0


def test_billing_only_contact_cannot_see_backups(client, client_a, device_a):
    user = ContactFactory(client=client_a, portal_role=ContactRole.BILLING, with_login=True).user
    client.force_login(user)
    assert client.get("/portal/sauvegardes/").status_code == 403


def test_device_page_lists_reports_and_skipped_videos(client, portal_user, device_a):
    JobReportFactory(device=device_a, ended_at=datetime.datetime(2026, 11, 27, 21, 30, tzinfo=UTC),
                     skipped={"video": 1}, skipped_videos=1)
    client.force_login(portal_user)
    body = client.get(f"/portal/sauvegardes/appareils/{device_a.pk}/").content.decode()
    assert "1 vidéo exclue (option poste de travail)" in body
    assert "point le plus ancien restaurable : 24/10/2026 11:00" in body


def test_self_service_restore_from_the_portal_is_logged(client, portal_user, device_a):
    JobReportFactory(device=device_a, ended_at=datetime.datetime(2026, 11, 27, 21, 30, tzinfo=UTC))
    client.force_login(portal_user)
    response = client.post(f"/portal/sauvegardes/appareils/{device_a.pk}/restauration/",
                           {"point": "2026-11-27T23:00", "kind": RestoreKind.SELF_SERVICE, "description": "Bureau"},
                           follow=True)
    restore = RestoreRequest.objects.get()
    assert (restore.status, restore.requested_by, restore.description) == (RestoreStatus.LOGGED, portal_user, "Bureau")
    assert "point de restauration du 27/11/2026 22:30" in response.content.decode()


def test_k3_portal_refusal_shows_the_reason_and_stores_nothing(client, portal_user, device_a):
    JobReportFactory(device=device_a, ended_at=datetime.datetime(2026, 9, 1, 20, 0, tzinfo=UTC))
    client.force_login(portal_user)
    response = client.post(f"/portal/sauvegardes/appareils/{device_a.pk}/restauration/",
                           {"point": "2026-09-02T08:00", "kind": RestoreKind.STAFF}, follow=True)
    assert "hors de la durée de rétention de votre contrat (5 semaines, CGV K3)" in response.content.decode()
    assert RestoreRequest.objects.count() == 0


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_overview_query_count_does_not_grow_with_devices(client, portal_user, sub_a, django_assert_max_num_queries):
    for i in range(5):
        JobReportFactory(device=DeviceFactory(subscription=sub_a, hostname=f"a-{i}"))
    client.force_login(portal_user)
    five = _count(client, "/portal/sauvegardes/")
    for i in range(45):
        JobReportFactory(device=DeviceFactory(subscription=sub_a, hostname=f"b-{i}"))
    assert _count(client, "/portal/sauvegardes/") == five
    # session, user, contact; subscriptions + open overages; devices with their last backups; restores
    with django_assert_max_num_queries(five):
        client.get("/portal/sauvegardes/")
    assert five <= 12
