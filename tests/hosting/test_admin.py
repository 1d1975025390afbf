"""Staff admin of the hosting option: pages load, and the actions call the services."""
import datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.dates import paris_datetime
from hosting.choices import ChangeRequestStatus, ServiceStatus
from hosting.models import (
    Certificate,
    ChangeRequest,
    Domain,
    HostingPrice,
    HostingService,
    Mailbox,
    MaintenanceWindow,
)
from tests.factories.hosting import HostingServiceFactory, certificate_for, pem_for, price_table

pytestmark = pytest.mark.django_db
NOW = paris_datetime(datetime.date(2026, 4, 10), 15)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.parametrize("model", [Domain, Certificate, HostingService, Mailbox, HostingPrice, ChangeRequest,
                                   MaintenanceWindow])
def test_admin_pages_load(client, staff_user, model):
    HostingServiceFactory()
    client.force_login(staff_user)
    opts = model._meta
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 200


def test_h3_certificate_upload_in_the_admin(client, staff_user):
    service = HostingServiceFactory(domain__name="exemple.fr")
    client.force_login(staff_user)
    url = reverse("admin:hosting_certificate_add")
    bad = SimpleUploadedFile("autre.pem", pem_for(["autre.fr"]).encode())
    response = client.post(url, {"domain": service.domain.pk, "pem_file": bad})
    assert response.status_code == 200
    assert "mais pas le domaine exemple.fr" in response.content.decode()
    good = SimpleUploadedFile("exemple.pem", pem_for(["exemple.fr", "*.exemple.fr"]).encode())
    response = client.post(url, {"domain": service.domain.pk, "pem_file": good})
    assert response.status_code == 302
    cert = Certificate.objects.get()
    assert cert.names == ["*.exemple.fr", "exemple.fr"] and cert.uploaded_by == staff_user


def test_h3_activate_action_shows_the_refusal_then_activates(client, staff_user):
    price_table()
    service = HostingServiceFactory(domain__name="exemple.fr")
    client.force_login(staff_user)
    url = reverse("admin:hosting_hostingservice_changelist")
    response = client.post(url, {"action": "activate", "_selected_action": [service.pk]}, follow=True)
    assert "aucun certificat SSL valide couvrant exemple.fr" in response.content.decode()
    certificate_for(service.domain, not_after=paris_datetime(datetime.date(2026, 12, 31), 12))
    client.post(url, {"action": "activate", "_selected_action": [service.pk]})
    service.refresh_from_db()
    assert service.status == ServiceStatus.ACTIVE


def test_h5_staff_records_and_completes_a_change_request_in_the_admin(client, staff_user):
    price_table()
    service = HostingServiceFactory(mailbox_count=3)
    client.force_login(staff_user)
    response = client.post(reverse("admin:hosting_changerequest_add"),
                           {"service": service.pk, "requested_mailboxes": 3, "comment": ""})
    assert response.status_code == 200 and "compte déjà 3 boîte" in response.content.decode()
    response = client.post(reverse("admin:hosting_changerequest_add"),
                           {"service": service.pk, "requested_mailboxes": 6, "comment": "par téléphone"})
    assert response.status_code == 302
    request = ChangeRequest.objects.get()
    assert request.origin == "staff" and request.due_on == datetime.date(2026, 4, 18)
    client.post(reverse("admin:hosting_changerequest_changelist"),
                {"action": "complete", "_selected_action": [request.pk]})
    request.refresh_from_db()
    assert request.status == ChangeRequestStatus.DONE and request.completed_by == staff_user


def test_h5_mailbox_admin_applies_the_service_checks(client, staff_user):
    from hosting.choices import ServiceKind

    service = HostingServiceFactory(kind=ServiceKind.IMAP, mailbox_count=1, domain__name="exemple.fr")
    client.force_login(staff_user)
    url = reverse("admin:hosting_mailbox_add")
    data = {"service": service.pk, "local_part": "Contact", "display_name": "", "aliases": "info", "is_active": "on"}
    assert client.post(url, data).status_code == 302
    mailbox = Mailbox.objects.get()
    assert (mailbox.local_part, mailbox.aliases) == ("contact", "info")
    response = client.post(url, {**data, "local_part": "vente", "aliases": ""})
    assert response.status_code == 200 and "toutes créées" in response.content.decode()
    # Deactivated, a mailbox frees its place; its alias stays reserved on the domain.
    change = reverse("admin:hosting_mailbox_change", args=[mailbox.pk])
    assert client.post(change, {"local_part": "contact", "display_name": "", "aliases": "info"}).status_code == 302
    response = client.post(url, {**data, "local_part": "info", "aliases": ""})
    assert "Adresse déjà utilisée sur exemple.fr : info" in response.content.decode()
    assert client.post(url, {**data, "local_part": "vente", "aliases": ""}).status_code == 302
    assert Mailbox.objects.filter(is_active=True).count() == 1


@pytest.mark.parametrize("name", ["hostingservice", "changerequest", "mailbox", "certificate", "domain"])
def test_admin_lists_do_not_grow_with_rows(client, staff_user, name):
    """The same number of queries for 3 and 12 rows of each list (joins done by list_select_related)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from hosting import services
    from hosting.choices import ChangeRequestOrigin
    from tests.factories.hosting import MailboxFactory

    def add(n):
        for _ in range(n):
            service = HostingServiceFactory(mailbox_count=2)
            MailboxFactory(service=service)
            certificate_for(service.domain, not_after=paris_datetime(datetime.date(2026, 12, 31), 12))
            services.change_request_create(actor=None, service=service, requested_mailboxes=4,
                                           origin=ChangeRequestOrigin.STAFF, now=NOW)

    client.force_login(staff_user)
    url = reverse(f"admin:hosting_{name}_changelist")
    counts = []
    for n in (3, 9):
        add(n)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_change_pages_show_certificates_and_mailboxes_read_only(client, staff_user):
    from tests.factories.hosting import MailboxFactory

    service = HostingServiceFactory(domain__name="exemple.fr")
    MailboxFactory(service=service, local_part="contact")
    cert = certificate_for(service.domain, not_after=paris_datetime(datetime.date(2026, 12, 31), 12))
    client.force_login(staff_user)
    body = client.get(reverse("admin:hosting_hostingservice_change", args=[service.pk])).content.decode()
    assert "contact" in body and 'name="mailboxes-0-local_part"' not in body
    body = client.get(reverse("admin:hosting_domain_change", args=[service.domain.pk])).content.decode()
    assert "*.exemple.fr" in body
    assert client.get(reverse("admin:hosting_certificate_change", args=[cert.pk])).status_code == 200
