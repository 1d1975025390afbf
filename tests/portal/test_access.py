"""Portal users: bound to one client, refused from /admin/; staff are not portal users."""
import pytest

from contracts import services
from contracts.exceptions import ContractError
from core.models import OutboundEmail
from tests.factories.contracts import ContactFactory, ContractFactory
from tests.factories.core import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_portal_user_sees_its_own_client_contracts_only(client, portal_user, client_a, client_b):
    ContractFactory(client=client_a, reference="CT-A-1")
    ContractFactory(client=client_b, reference="CT-B-1")
    client.force_login(portal_user)
    response = client.get("/portal/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "CT-A-1" in body and "CT-B-1" not in body
    assert "Client A" in body


def test_portal_user_is_refused_from_admin(client, portal_user):
    client.force_login(portal_user)
    for url in ["/admin/", "/admin/contracts/client/", "/admin/login/"]:
        response = client.get(url)
        assert response.status_code == 403, url


def test_portal_login_with_email_and_password(client, portal_user):
    response = client.post("/portal/connexion/", {"username": portal_user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/portal/"


def test_anonymous_is_sent_to_portal_login(client):
    response = client.get("/portal/")
    assert response.status_code == 302
    assert response["Location"].startswith("/portal/connexion/?next=/portal/")


def test_staff_without_contact_is_not_a_portal_user(client, staff_user):
    client.force_login(staff_user)
    response = client.get("/portal/")
    assert response.status_code == 302


def test_one_login_belongs_to_exactly_one_client(client_a, client_b):
    first = ContactFactory(client=client_a, email="same@example.fr")
    other = ContactFactory(client=client_b, email="same@example.fr")
    user = services.contact_enable_portal(actor=None, contact=first, password="x-long-password-1")
    assert user.contact.client == client_a and not user.is_staff
    with pytest.raises(ContractError, match="un accès = un seul client"):
        services.contact_enable_portal(actor=None, contact=other, password="x-long-password-1")


def test_password_reset_sends_a_link_through_the_mail_queue(client, portal_user, mailoutbox, run_on_commit):
    with run_on_commit():
        response = client.post("/portal/mot-de-passe/", {"email": portal_user.email})
    assert response.status_code == 302
    [email] = OutboundEmail.objects.all()
    assert email.to == [portal_user.email]
    assert len(mailoutbox) == 1
    assert "/portal/mot-de-passe/" in mailoutbox[0].body
