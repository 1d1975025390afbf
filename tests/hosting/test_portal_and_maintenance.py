"""Portal pages of the hosting option and planned maintenance (H2).

Who is who: ``portal_user`` is a contact of client A and sees only client A's
domains, services and notices; client B's service answers 404 to them; a
billing-only contact of client A may not open the technical hosting pages.
"""
import datetime

import pytest
import time_machine
from django.urls import reverse

from contracts.choices import ContactRole
from core.dates import paris_datetime
from core.models import OutboundEmail
from hosting import services
from hosting.choices import ChangeRequestStatus, PricingMode, ServiceKind
from hosting.exceptions import HostingError
from hosting.models import ChangeRequest, MaintenanceWindow
from tests.factories.contracts import ContactFactory, ContractFactory
from tests.factories.hosting import DomainFactory, HostingServiceFactory, MailboxFactory, certificate_for

pytestmark = pytest.mark.django_db
NOW = paris_datetime(datetime.date(2026, 4, 10), 15, 0)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _service(client, name, **kwargs):
    contract = ContractFactory(client=client, has_hosting=True)
    return HostingServiceFactory(contract=contract, domain=DomainFactory(client=client, name=name), **kwargs)


def test_overview_shows_own_domains_services_mailboxes_only(client, portal_user, client_a, client_b, frozen):
    mine = _service(client_a, "client-a.fr", kind=ServiceKind.IMAP, mailbox_count=2)
    MailboxFactory(service=mine, local_part="contact", aliases="info")
    certificate_for(mine.domain, not_after=paris_datetime(datetime.date(2026, 12, 31), 12))
    _service(client_b, "client-b.fr")
    client.force_login(portal_user)
    response = client.get(reverse("portal:hosting"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "client-a.fr" in body and "client-b.fr" not in body
    assert "contact@client-a.fr" in body and "info@client-a.fr" in body
    assert "valide jusqu'au 31/12/2026" in body
    assert "2 boîtes aux lettres souscrites" in body


def test_h3_certificates_and_domains_expiring_within_30_days_are_highlighted(client, portal_user, client_a, frozen):
    service = _service(client_a, "client-a.fr")
    service.domain.expires_on = datetime.date(2026, 5, 10)
    service.domain.save()
    certificate_for(service.domain, not_after=paris_datetime(datetime.date(2026, 5, 1), 12))
    client.force_login(portal_user)
    body = client.get(reverse("portal:hosting")).content.decode()
    assert '<span class="badge warn">expire le 01/05/2026</span>' in body
    assert '<span class="badge warn">10/05/2026</span>' in body


def test_change_request_form_creates_a_request_due_in_8_days(client, portal_user, client_a, frozen):
    service = _service(client_a, "client-a.fr", pricing_mode=PricingMode.PACK, mailbox_count=5)
    client.force_login(portal_user)
    url = reverse("portal:hosting_change_request", args=[service.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"requested_mailboxes": "8", "comment": "3 arrivées"}, follow=True)
    assert response.redirect_chain == [(reverse("portal:hosting"), 302)]
    assert "traitée au plus tard le 18/04/2026" in response.content.decode()
    request = ChangeRequest.objects.get()
    assert (request.requested_mailboxes, request.mailboxes_before, request.due_on) == (8, 5, datetime.date(2026, 4, 18))
    assert request.origin == "portal" and request.requested_by_contact == portal_user.contact
    assert request.status == ChangeRequestStatus.OPEN
    # A second request while one is open: the refusal is shown on the form.
    response = client.post(url, {"requested_mailboxes": "9"})
    assert response.status_code == 200 and "Une demande est déjà en cours" in response.content.decode()


def test_another_clients_service_is_a_404(client, portal_user, client_b):
    other = _service(client_b, "client-b.fr")
    client.force_login(portal_user)
    response = client.post(reverse("portal:hosting_change_request", args=[other.pk]), {"requested_mailboxes": "9"})
    assert response.status_code == 404
    assert ChangeRequest.objects.count() == 0


def test_a_billing_only_contact_cannot_open_the_hosting_pages(client, client_a):
    user = ContactFactory(client=client_a, portal_role=ContactRole.BILLING, with_login=True).user
    client.force_login(user)
    assert client.get(reverse("portal:hosting")).status_code == 403


@pytest.mark.parametrize("n", [2, 8])
def test_overview_query_count_does_not_grow(client, portal_user, client_a, n, django_assert_num_queries, frozen):
    for i in range(n):
        service = _service(client_a, f"d{i}.fr", kind=ServiceKind.IMAP, mailbox_count=2)
        MailboxFactory(service=service)
        certificate_for(service.domain, not_after=paris_datetime(datetime.date(2026, 12, 31), 12))
    client.force_login(portal_user)
    # session, user, contact+client; domains, their certificates; services+domain, mailboxes,
    # open requests; maintenance windows; change requests
    with django_assert_num_queries(10):
        assert client.get(reverse("portal:hosting")).status_code == 200


def test_h2_maintenance_is_announced_to_the_affected_clients_once(client, portal_user, client_a, client_b, frozen):
    ContactFactory(client=client_a, email="tech-a@a.fr", portal_role=ContactRole.TECHNICAL, is_technical_contact=True)
    ContactFactory(client=client_b, email="admin-b@b.fr")
    a1 = _service(client_a, "client-a.fr")
    a2 = _service(client_a, "client-a2.fr", kind=ServiceKind.IMAP)
    _service(client_b, "client-b.fr")
    window = MaintenanceWindow.objects.create(
        title="Mise à jour Exchange", starts_at=paris_datetime(datetime.date(2026, 4, 18), 22),
        ends_at=paris_datetime(datetime.date(2026, 4, 19), 2),
    )
    with pytest.raises(HostingError, match="Choisissez les services concernés"):
        services.maintenance_announce(actor=None, window=window, now=NOW)
    window.services.add(a1, a2)
    assert services.maintenance_announce(actor=None, window=window, now=NOW) == 1
    assert services.maintenance_announce(actor=None, window=window, now=NOW) == 0
    (email,) = OutboundEmail.objects.filter(key__startswith="hosting.maintenance.")
    assert email.to == [portal_user.email, "tech-a@a.fr"]
    assert email.subject == "Maintenance planifiée du 18/04/2026 22:00 au 19/04/2026 02:00"
    assert "Messagerie Exchange mutualisée — client-a.fr" in email.body
    window.refresh_from_db()
    assert window.announced_at == NOW
    client.force_login(portal_user)
    assert "Mise à jour Exchange" in client.get(reverse("portal:hosting")).content.decode()


def test_h2_an_unannounced_or_other_clients_window_is_not_shown(client, portal_user, client_a, client_b, frozen):
    mine = _service(client_a, "client-a.fr")
    theirs = _service(client_b, "client-b.fr")
    draft = MaintenanceWindow.objects.create(title="Brouillon", starts_at=NOW + datetime.timedelta(days=2),
                                             ends_at=NOW + datetime.timedelta(days=2, hours=2))
    draft.services.add(mine)
    other = MaintenanceWindow.objects.create(title="Chez B", starts_at=NOW + datetime.timedelta(days=2),
                                             ends_at=NOW + datetime.timedelta(days=2, hours=2))
    other.services.add(theirs)
    services.maintenance_announce(actor=None, window=other, now=NOW)
    client.force_login(portal_user)
    body = client.get(reverse("portal:hosting")).content.decode()
    assert "Brouillon" not in body and "Chez B" not in body
