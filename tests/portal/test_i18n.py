"""The portal is French by default and English through Django's i18n (the language switch in the footer)."""
import pytest
from django.urls import reverse

from tests.factories.contracts import ContactFactory, ContractFactory

pytestmark = pytest.mark.django_db


def test_french_by_default_english_after_the_switch(client, client_a):
    contact = ContactFactory(client=client_a, with_login=True)
    ContractFactory(client=client_a)
    client.force_login(contact.user)
    body = client.get(reverse("portal:dashboard")).content.decode()
    assert '<html lang="fr">' in body and "Tableau de bord" in body and "Vos contrats en cours" in body
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/portal/"})
    assert response.status_code == 302
    body = client.get(reverse("portal:dashboard")).content.decode()
    assert '<html lang="en">' in body
    assert "Dashboard" in body and "Your running contracts" in body and "Notice by" in body
    assert "Tableau de bord" not in body


def test_login_page_in_english(client):
    client.cookies["django_language"] = "en"
    body = client.get(reverse("portal:login")).content.decode()
    assert "Log in to your client area" in body and "Forgotten password?" in body
