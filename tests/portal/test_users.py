"""Company administrators invite and disable their company's portal users; the last login is shown.

Who is who: ``paul`` is the administrator of client A; ``emma`` a technical user
of client A; ``bob`` a user of client B (never visible to Paul).
"""
import datetime
import re

import pytest
import time_machine
from django.urls import reverse

from contracts.choices import ContactRole
from contracts.models import Contact
from core.models import AuditLogEntry, OutboundEmail
from portal import services
from portal.exceptions import PortalError
from tests.factories.contracts import ContactFactory
from tests.factories.core import TEST_PASSWORD

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 30, 9, 30, tzinfo=datetime.UTC)


@pytest.fixture
def paul(client_a):
    return ContactFactory(client=client_a, first_name="Paul", last_name="Lemoine", portal_role=ContactRole.ADMIN,
                          with_login=True)


@pytest.fixture
def emma(client_a):
    return ContactFactory(client=client_a, first_name="Emma", last_name="Petit", portal_role=ContactRole.TECHNICAL,
                          with_login=True)


def _invite(client, **overrides):
    data = {"first_name": "Jeanne", "last_name": "Martin", "email": "Jeanne.Martin@client-a.example.fr",
            "job_title": "Comptable", "role": ContactRole.BILLING}
    data.update(overrides)
    return client.post(reverse("portal:users"), data)


def test_admin_invites_a_colleague_with_a_one_time_link(client, paul, run_on_commit, mailoutbox):
    client.force_login(paul.user)
    with run_on_commit():
        response = _invite(client)
    assert response.status_code == 302
    jeanne = Contact.objects.get(email="jeanne.martin@client-a.example.fr")
    assert jeanne.client == paul.client and jeanne.portal_role == ContactRole.BILLING and jeanne.is_billing_contact
    assert jeanne.user.username == "jeanne.martin@client-a.example.fr"
    assert not jeanne.user.has_usable_password() and not jeanne.user.is_staff
    [email] = OutboundEmail.objects.all()
    assert email.to == ["jeanne.martin@client-a.example.fr"]
    assert "Paul Lemoine vous invite" in email.body
    assert AuditLogEntry.objects.filter(action="portal.user.invited", object_id=str(jeanne.pk)).count() == 1
    link = re.search(r"http://testserver(/portal/invitation/\S+/)", mailoutbox[0].body).group(1)

    # The invitee opens the link (Django redirects to a token-less URL), chooses a password and is signed in.
    client.logout()
    response = client.get(link, follow=True)
    assert response.status_code == 200 and response.context["validlink"]
    form_url = response.redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": "Boulangerie-83600", "new_password2": "Boulangerie-83600"})
    assert response.status_code == 302 and response["Location"] == reverse("portal:dashboard")
    assert client.get(reverse("portal:dashboard")).status_code == 200
    jeanne.user.refresh_from_db()
    assert jeanne.user.check_password("Boulangerie-83600")

    # One time only: the same link is dead once the password is set.
    client.logout()
    response = client.get(link, follow=True)
    assert response.context["validlink"] is False
    assert "déjà servi ou a expiré" in response.content.decode()


def test_invitation_link_expires_after_three_days(client, paul, mailoutbox, run_on_commit, settings):
    settings.PASSWORD_RESET_TIMEOUT = 3 * 24 * 3600
    client.force_login(paul.user)
    with time_machine.travel(NOW, tick=False):
        with run_on_commit():
            _invite(client)
    link = re.search(r"http://testserver(/portal/invitation/\S+/)", mailoutbox[0].body).group(1)
    client.logout()
    with time_machine.travel(NOW + datetime.timedelta(days=3, seconds=1), tick=False):
        assert client.get(link, follow=True).context["validlink"] is False


def test_inviting_an_address_used_by_another_company_is_refused(client, paul, other_portal_user):
    client.force_login(paul.user)
    response = _invite(client, email=other_portal_user.email)
    assert response.status_code == 400
    assert "un accès = un seul client" in response.content.decode()
    assert not Contact.objects.filter(client=paul.client, email=other_portal_user.email).exists()


def test_only_the_company_admin_manages_users(client, emma, paul):
    client.force_login(emma.user)
    assert client.get(reverse("portal:users")).status_code == 403
    assert client.post(reverse("portal:user_disable", kwargs={"contact_id": paul.pk})).status_code == 403
    with pytest.raises(PortalError):
        services.portal_user_disable(actor=emma.user, admin=emma, contact=paul, now=NOW)


def test_admin_disables_then_enables_a_user(client, paul, emma):
    client.force_login(paul.user)
    response = client.post(reverse("portal:user_disable", kwargs={"contact_id": emma.pk}))
    assert response.status_code == 302
    emma.user.refresh_from_db()
    assert emma.user.is_active is False
    assert AuditLogEntry.objects.filter(action="portal.user.disabled", object_id=str(emma.pk)).count() == 1

    # Emma's open session dies and she cannot log in again.
    other = client.__class__()
    assert other.post(reverse("portal:login"), {"username": emma.user.username, "password": TEST_PASSWORD}
                      ).status_code == 200
    other.force_login(emma.user)  # even a session forced open is anonymous for an inactive user
    assert other.get(reverse("portal:dashboard")).status_code == 302

    client.post(reverse("portal:user_enable", kwargs={"contact_id": emma.pk}))
    emma.user.refresh_from_db()
    assert emma.user.is_active is True


def test_admin_cannot_disable_itself_nor_another_companys_user(client, paul, other_portal_user):
    client.force_login(paul.user)
    client.post(reverse("portal:user_disable", kwargs={"contact_id": paul.pk}))
    paul.user.refresh_from_db()
    assert paul.user.is_active
    bob = other_portal_user.contact
    response = client.post(reverse("portal:user_disable", kwargs={"contact_id": bob.pk}))
    assert response.status_code == 404
    with pytest.raises(PortalError, match="n'appartient pas"):
        services.portal_user_disable(actor=paul.user, admin=paul, contact=bob, now=NOW)


def test_users_page_lists_the_company_only_with_last_login(client, paul, emma, other_portal_user):
    emma.user.last_login = datetime.datetime(2026, 11, 27, 15, 5, tzinfo=datetime.UTC)
    emma.user.save()
    client.force_login(paul.user)
    body = client.get(reverse("portal:users")).content.decode()
    assert "Emma Petit" in body and "27/11/2026 16:05" in body  # shown in Paris time
    assert other_portal_user.email not in body


def test_login_shows_the_previous_login_not_this_one(client, paul):
    paul.user.last_login = datetime.datetime(2026, 11, 20, 7, 45, tzinfo=datetime.UTC)
    paul.user.save()
    with time_machine.travel(NOW, tick=False):
        response = client.post(reverse("portal:login"), {"username": paul.user.username, "password": TEST_PASSWORD})
        assert response.status_code == 302
        body = client.get(reverse("portal:dashboard")).content.decode()
    assert "Dernière connexion" in body and "20 novembre 2026 à 08:45" in body


def test_first_login_says_so(client, paul):
    paul.user.last_login = None
    paul.user.save()
    client.post(reverse("portal:login"), {"username": paul.user.username, "password": TEST_PASSWORD})
    assert "Première connexion" in client.get(reverse("portal:dashboard")).content.decode()


def test_staff_account_cannot_log_in_to_the_portal(client, staff_user):
    response = client.post(reverse("portal:login"), {"username": staff_user.username, "password": TEST_PASSWORD})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["Ce compte n'a pas accès à l'espace client."]
    # And a staff session is shown the login form, not bounced in a redirect loop.
    client.force_login(staff_user)
    assert client.get(reverse("portal:login")).status_code == 200
