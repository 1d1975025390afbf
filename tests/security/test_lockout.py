"""django-axes locks a username + IP pair after 5 failed logins, on the portal and the admin (issue #12)."""
import datetime

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth.models import Group
from django.urls import reverse

from core.models import AuditLogEntry
from core.roles import MANAGEMENT, TECHNICIANS, setup_roles
from tests.factories.core import TEST_PASSWORD, StaffUserFactory
from tests.security.conftest import verified_login

pytestmark = pytest.mark.django_db
T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
PORTAL_LOGIN = "/portal/connexion/"
ADMIN_LOGIN = "/admin/login/"


def _fail(client, url, username, times, ip="10.0.0.1"):
    """``times`` wrong passwords: the form again with its error, the 5th one locks (429)."""
    for n in range(1, times + 1):
        response = client.post(url, {"username": username, "password": "wrong-password-123"}, REMOTE_ADDR=ip)
        assert response.status_code == (429 if n >= 5 else 200)


@pytest.mark.parametrize("url", [PORTAL_LOGIN, ADMIN_LOGIN])
def test_five_failures_lock_the_username_from_that_ip_then_cool_off(client, url, portal_user):
    user = portal_user if url == PORTAL_LOGIN else StaffUserFactory()
    with time_machine.travel(T0, tick=False):
        _fail(client, url, user.username, 5)
        locked = client.post(url, {"username": user.username, "password": TEST_PASSWORD}, REMOTE_ADDR="10.0.0.1")
        assert locked.status_code == 429
        text = locked.content.decode()
        assert "Connexion temporairement bloquée" in text
        assert "Réessayez dans 15 minutes" in text
        assert "_auth_user_id" not in client.session
        # Same person from another address: not locked (the pair is username + IP).
        other = client.post(url, {"username": user.username, "password": TEST_PASSWORD}, REMOTE_ADDR="10.0.0.2")
        assert other.status_code == 302
    client.logout()
    with time_machine.travel(T0 + datetime.timedelta(minutes=16), tick=False):
        again = client.post(url, {"username": user.username, "password": TEST_PASSWORD}, REMOTE_ADDR="10.0.0.1")
        assert again.status_code == 302


def test_four_failures_do_not_lock(client, portal_user):
    _fail(client, PORTAL_LOGIN, portal_user.username, 4)
    ok = client.post(PORTAL_LOGIN, {"username": portal_user.username, "password": TEST_PASSWORD},
                     REMOTE_ADDR="10.0.0.1")
    assert ok["Location"] == reverse("portal:dashboard")


def test_management_unlocks_from_the_admin_and_it_is_audited(client, portal_user):
    _fail(client, PORTAL_LOGIN, portal_user.username, 5)
    attempt = AccessAttempt.objects.get(username=portal_user.username)
    setup_roles()
    manager = StaffUserFactory()
    manager.groups.add(Group.objects.get(name=MANAGEMENT))
    verified_login(client, manager)
    changelist = reverse("admin:axes_accessattempt_changelist")
    assert portal_user.username in client.get(changelist).content.decode()
    response = client.post(changelist, {"action": "unlock", "_selected_action": [attempt.pk]})
    assert response.status_code == 302
    assert AccessAttempt.objects.count() == 0
    entry = AuditLogEntry.objects.get(action="core.login.unlocked")
    assert entry.actor == manager and entry.changes["username"] == [portal_user.username, None]
    client.logout()
    ok = client.post(PORTAL_LOGIN, {"username": portal_user.username, "password": TEST_PASSWORD},
                     REMOTE_ADDR="10.0.0.1")
    assert ok.status_code == 302


def test_technicians_cannot_unlock(client, portal_user):
    _fail(client, PORTAL_LOGIN, portal_user.username, 5)
    setup_roles()
    tech = StaffUserFactory()
    tech.groups.add(Group.objects.get(name=TECHNICIANS))
    verified_login(client, tech)
    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 403
