"""Portal pages of personal data (D3, D5, D8, D9).

Who sees what: ``portal_user`` is a company administrator of client A; ``other_portal_user`` belongs to
client B and gets a 404 on client A's requests; a technical contact of A may file a request but only the
company's administrators follow the requests (they carry third parties' personal data).
"""
import datetime

import pytest

from contracts.choices import ContactRole
from core.models import AuditLogEntry, OutboundEmail
from gdpr import services
from gdpr.models import DataSubjectRequest
from tests.factories.contracts import ContactFactory, ContractFactory
from tests.factories.gdpr import DataSubjectRequestFactory, SubProcessorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def register_a(client_a):
    ContractFactory(client=client_a, has_backup=True)
    services.register_sync()


def test_d9_d8_overview_shows_subprocessors_and_the_companys_register(client, portal_user, client_a, register_a):
    SubProcessorFactory(name="Nouvel Hébergeur")
    client.force_login(portal_user)
    body = client.get("/portal/donnees-personnelles/").content.decode()
    body += client.get("/portal/donnees-personnelles/registre/").content.decode()
    for text in ["COMIP", "RCS Fréjus B 798 444 303", "AMS SOLUTION", "139 Chem. des Vernèdes",
                 "Maintenance et assistance informatique", "Sauvegarde de données (option)",
                 "Aucun transfert hors de l&#x27;Union européenne.", "non autorisé : non utilisé pour vos données"]:
        assert text in body, text
    assert "Hébergement de messagerie" not in body  # client A has no hosting option
    assert 'href="/portal/donnees-personnelles/"' in body and "aria-current" in body


def test_d8_register_downloads_are_scoped_and_logged(client, portal_user, client_a, register_a):
    client.force_login(portal_user)
    pdf = client.get("/portal/donnees-personnelles/registre/?format=pdf")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    csv = client.get("/portal/donnees-personnelles/registre/?format=csv")
    text = csv.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Responsable de traitement;SIREN;Traitement;")
    assert len(text.strip().splitlines()) == 3  # header + maintenance + backup
    assert "COMIP (RCS Fréjus B 798 444 303, Téléphonie et internet)" in text
    assert client.get("/portal/donnees-personnelles/registre/?format=xls").status_code == 404
    assert AuditLogEntry.objects.filter(action="gdpr.register.exported", object_id=str(client_a.pk)).count() == 2


def test_d5_filing_a_request_from_the_portal_forwards_it_at_once(client, portal_user, client_a):
    ContactFactory(client=client_a, email="dpo@client-a.fr", is_dpo=True, portal_role=ContactRole.TECHNICAL)
    client.force_login(portal_user)
    form = client.get("/portal/donnees-personnelles/demandes/nouvelle/").content.decode()
    assert portal_user.email in form  # pre-filled with the contact's own details
    response = client.post("/portal/donnees-personnelles/demandes/nouvelle/", {
        "kind": "rectification", "requester_name": "Jean Client", "requester_email": "jean@example.fr",
        "description": "Mon adresse a changé.",
    })
    dsr = DataSubjectRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/portal/donnees-personnelles/demandes/{dsr.pk}/"
    assert dsr.channel == "portal" and dsr.filed_by.user == portal_user and dsr.contact is None
    assert dsr.forwarded_at is not None and dsr.forwarded_to == ["dpo@client-a.fr"]
    assert OutboundEmail.objects.get(key=f"gdpr.request.{dsr.pk}.forwarded").to == ["dpo@client-a.fr"]
    detail = client.get(response["Location"]).content.decode()
    assert dsr.reference in detail and dsr.due_date.strftime("%d/%m/%Y") in detail


def test_invalid_request_form_is_a_400(client, portal_user):
    client.force_login(portal_user)
    response = client.post("/portal/donnees-personnelles/demandes/nouvelle/", {"kind": "access"})
    assert response.status_code == 400
    assert not DataSubjectRequest.objects.exists()


def test_another_clients_request_is_a_404(client, other_portal_user, client_a):
    dsr = DataSubjectRequestFactory(client=client_a)
    client.force_login(other_portal_user)
    assert client.get(f"/portal/donnees-personnelles/demandes/{dsr.pk}/").status_code == 404
    assert "Jeanne Martin" not in client.get("/portal/donnees-personnelles/demandes/").content.decode()


def test_a_technical_contact_files_a_request_but_only_administrators_follow_them(client, client_a):
    tech = ContactFactory(client=client_a, portal_role=ContactRole.TECHNICAL, with_login=True)
    client.force_login(tech.user)
    response = client.post("/portal/donnees-personnelles/demandes/nouvelle/", {
        "kind": "access", "requester_name": tech.full_name, "requester_email": tech.email, "description": "Copie.",
    })
    dsr = DataSubjectRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == "/portal/donnees-personnelles/"
    assert dsr.contact == tech  # filed for itself: linked to its contact record
    assert dsr.reference in client.get(response["Location"]).content.decode()  # the confirmation message
    assert client.get("/portal/donnees-personnelles/demandes/").status_code == 403
    assert client.get(f"/portal/donnees-personnelles/demandes/{dsr.pk}/").status_code == 403


@pytest.mark.parametrize("n", [5, 50])
def test_request_list_query_count_is_pinned(client, portal_user, client_a, django_assert_num_queries, n):
    for i in range(n):
        DataSubjectRequestFactory(client=client_a, received_at=datetime.datetime(2026, 3, 2, 10, i % 60,
                                                                                  tzinfo=datetime.UTC))
    client.force_login(portal_user)
    # session, user, contact+client, requests (with filed_by).
    with django_assert_num_queries(4):
        response = client.get("/portal/donnees-personnelles/demandes/")
    assert response.content.decode().count("DDP-") == n


@pytest.mark.parametrize("n", [1, 3])
def test_overview_and_register_query_counts_are_pinned(client, portal_user, client_a, register_a,
                                                        django_assert_num_queries, n):
    for _i in range(n):
        SubProcessorFactory()
    client.force_login(portal_user)
    # session, user, contact+client, then authorisations and sub-processors.
    with django_assert_num_queries(5):
        client.get("/portal/donnees-personnelles/")
    # session, user, contact+client, then register lines, their sub-processors, controller contacts.
    with django_assert_num_queries(6):
        client.get("/portal/donnees-personnelles/registre/")
