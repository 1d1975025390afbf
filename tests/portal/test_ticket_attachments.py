"""Ticket attachments in the portal (issue #10) and in the staff admin.

Who is who: ``emma`` is the technical contact of client A: she joins files to client A's tickets
and downloads the visible ones; an internal file of staff, and anything of client B, is a 404 for
her. ``marc`` (billing role) has no ticket pages. ``staff_user`` (superuser) downloads everything
from the admin; an accountant (staff without the interventions rights) gets 403.
"""
import datetime
import hashlib
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contracts.choices import ContactRole
from core.models import OutboundEmail
from interventions.choices import Category, Severity, TicketStatus
from interventions.models import Ticket, TicketAttachment
from tests.factories.contracts import ContactFactory, ContractFactory
from tests.factories.core import StaffUserFactory
from tests.factories.interventions import (
    EXE_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    TicketAttachmentFactory,
    TicketFactory,
    stored_attachment_names,
)

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
TUESDAY_15H = datetime.datetime(2026, 12, 1, 15, 30, tzinfo=PARIS)
PNG = PNG_BYTES
EXE = EXE_BYTES


@pytest.fixture
def emma(client_a):
    return ContactFactory(client=client_a, first_name="Emma", last_name="Petit", portal_role=ContactRole.TECHNICAL,
                          with_login=True)


@pytest.fixture
def ticket(client_a):
    return TicketFactory(client=client_a, title="Imprimante hors ligne")


def _url(name, **kwargs):
    return reverse(f"portal:{name}", kwargs=kwargs)


def _post_files(client, ticket, *files):
    with time_machine.travel(TUESDAY_15H, tick=False):
        return client.post(_url("ticket_attachment_add", ticket_id=ticket.pk), {"attachments": list(files)})


_stored = stored_attachment_names


def test_upload_two_files_see_them_listed_and_staff_told(client, emma, ticket, run_on_commit, settings):
    client.force_login(emma.user)
    with run_on_commit():
        response = _post_files(client, ticket, SimpleUploadedFile("écran.png", PNG, "image/png"),
                               SimpleUploadedFile("journal.log", b"erreur 0x80070005\n", "text/plain"))
    assert response.status_code == 302 and response["Location"] == _url("ticket_detail", ticket_id=ticket.pk)
    rows = list(TicketAttachment.objects.order_by("pk"))
    assert [(a.original_name, a.size, a.content_type) for a in rows] == [
        ("écran.png", 56, "image/png"), ("journal.log", 18, "text/plain")]
    assert rows[0].sha256 == hashlib.sha256(PNG).hexdigest() and len(_stored()) == 2
    assert all(a.uploaded_by == emma.user and a.visible_to_client for a in rows)
    # One e-mail for the batch, to staff, sent after commit.
    assert OutboundEmail.objects.count() == 1
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [settings.STAFF_NOTIFICATION_EMAIL]
    assert "écran.png" in mail.outbox[0].body and "journal.log" in mail.outbox[0].body
    page = client.get(response["Location"]).content.decode()
    assert "2 fichier(s) joint(s) à la demande." in page
    assert "écran.png" in page and "56\xa0octets" in page and "01/12/2026 15:30" in page and "Emma Petit" in page
    assert _url("ticket_attachment", ticket_id=ticket.pk, attachment_id=rows[0].pk) in page


def test_download_is_the_stored_file_as_an_attachment(client, emma, ticket):
    attachment = TicketAttachmentFactory(ticket=ticket, original_name="Compte rendu d'été.pdf")
    client.force_login(emma.user)
    response = client.get(_url("ticket_attachment", ticket_id=ticket.pk, attachment_id=attachment.pk))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''Compte%20rendu%20d%27%C3%A9t%C3%A9.pdf")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("facture.pdf", EXE, "« facture.pdf » est un programme déguisé en .pdf : refusé."),
        ("outil.exe", EXE, "« outil.exe » est un programme : ce type de fichier est refusé."),
        ("page.html", b"<script>alert(1)</script>", "« page.html » : type de fichier non accepté."),
        ("photo.png", b"%PDF-1.4 not a png", "« photo.png » : le contenu ne correspond pas à un fichier .png."),
    ],
)
def test_refused_file_shows_why_and_stores_nothing(client, emma, ticket, name, content, message):
    client.force_login(emma.user)
    response = _post_files(client, ticket, SimpleUploadedFile(name, content))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not TicketAttachment.objects.exists() and _stored() == [] and not OutboundEmail.objects.exists()


def test_too_big_is_refused_with_the_limit(client, emma, ticket, settings):
    settings.TICKET_ATTACHMENT_MAX_BYTES = 2048
    client.force_login(emma.user)
    response = _post_files(client, ticket, SimpleUploadedFile("scan.pdf", b"%PDF-1.4" + b"0" * 3000))
    assert response.status_code == 400
    assert "« scan.pdf » pèse 2,9\xa0Kio : 2,0\xa0Kio au plus par fichier." in response.content.decode()
    assert not TicketAttachment.objects.exists() and _stored() == []


def test_one_bad_file_among_good_ones_stores_none(client, emma, ticket):
    client.force_login(emma.user)
    response = _post_files(client, ticket, SimpleUploadedFile("ok.png", PNG), SimpleUploadedFile("ko.png", EXE))
    assert response.status_code == 400 and "ko.png" in response.content.decode()
    assert not TicketAttachment.objects.exists() and _stored() == []


def test_a_closed_ticket_has_no_upload_form_and_refuses_a_post(client, emma, client_a):
    closed = TicketFactory(client=client_a, status=TicketStatus.CLOSED)
    client.force_login(emma.user)
    page = client.get(_url("ticket_detail", ticket_id=closed.pk)).content.decode()
    assert _url("ticket_attachment_add", ticket_id=closed.pk) not in page
    response = _post_files(client, closed, SimpleUploadedFile("capture.png", PNG))
    assert response.status_code == 400
    assert "Ce ticket est clos : on ne peut plus y joindre de fichier." in response.content.decode()
    assert not TicketAttachment.objects.exists() and _stored() == []


def test_no_file_chosen_is_a_clear_error(client, emma, ticket):
    client.force_login(emma.user)
    response = client.post(_url("ticket_attachment_add", ticket_id=ticket.pk), {})
    assert response.status_code == 400 and "Ce champ est obligatoire." in response.content.decode()


def test_internal_file_is_neither_listed_nor_downloadable(client, emma, ticket):
    internal = TicketAttachmentFactory(ticket=ticket, original_name="mot-de-passe-routeur.txt",
                                       visible_to_client=False)
    client.force_login(emma.user)
    assert "mot-de-passe-routeur" not in client.get(_url("ticket_detail", ticket_id=ticket.pk)).content.decode()
    assert client.get(_url("ticket_attachment", ticket_id=ticket.pk, attachment_id=internal.pk)).status_code == 404


def test_another_clients_file_is_404_even_through_an_own_ticket(client, emma, ticket, client_b):
    theirs = TicketAttachmentFactory(ticket=TicketFactory(client=client_b))
    client.force_login(emma.user)
    assert client.get(_url("ticket_attachment", ticket_id=theirs.ticket_id, attachment_id=theirs.pk)
                      ).status_code == 404
    assert client.get(_url("ticket_attachment", ticket_id=ticket.pk, attachment_id=theirs.pk)).status_code == 404
    assert _post_files(client, theirs.ticket, SimpleUploadedFile("a.png", PNG)).status_code == 404
    assert TicketAttachment.objects.count() == 1


def test_billing_contact_gets_403(client, client_a, ticket):
    marc = ContactFactory(client=client_a, portal_role=ContactRole.BILLING, with_login=True)
    attachment = TicketAttachmentFactory(ticket=ticket)
    client.force_login(marc.user)
    assert client.get(_url("ticket_attachment", ticket_id=ticket.pk, attachment_id=attachment.pk)).status_code == 403


def test_open_a_ticket_with_a_file(client, emma, client_a):
    ContractFactory(client=client_a)
    client.force_login(emma.user)
    page = client.get(_url("ticket_create")).content.decode()
    assert 'enctype="multipart/form-data"' in page and 'type="file"' in page and "10,0\xa0Mio au plus" in page
    payload = {"title": "Écran noir", "severity": Severity.MINOR, "category": Category.HARDWARE,
               "attachments": [SimpleUploadedFile("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg")]}
    with time_machine.travel(TUESDAY_15H, tick=False):
        response = client.post(_url("ticket_create"), payload)
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert [a.original_name for a in ticket.attachments.all()] == ["photo.jpg"]


def test_open_a_ticket_with_a_refused_file_opens_nothing(client, emma, client_a):
    ContractFactory(client=client_a)
    client.force_login(emma.user)
    payload = {"title": "Écran noir", "severity": Severity.MINOR, "category": Category.HARDWARE,
               "attachments": [SimpleUploadedFile("photo.jpg", EXE)]}
    response = client.post(_url("ticket_create"), payload)
    assert response.status_code == 400
    assert "« photo.jpg » est un programme déguisé en .jpg : refusé." in response.content.decode()
    assert not Ticket.objects.exists() and _stored() == []


@pytest.mark.parametrize("rows", [5, 50])
def test_ticket_page_query_count_does_not_grow_with_attachments(client, emma, ticket, rows,
                                                                django_assert_num_queries):
    staff = StaffUserFactory(first_name="Julien")
    for i in range(rows):
        TicketAttachmentFactory(ticket=ticket, uploaded_by=staff if i % 2 else emma.user)
    TicketAttachmentFactory(ticket=ticket, visible_to_client=False)
    client.force_login(emma.user)
    # session, user, contact + client; ticket with contract/site/contact/equipment; its public comments;
    # its interventions; its visible attachments with their uploader.
    with django_assert_num_queries(7):
        response = client.get(_url("ticket_detail", ticket_id=ticket.pk))
    assert response.status_code == 200
    assert response.content.decode().count("capture-") == rows


# --- Staff admin -----------------------------------------------------------------------------------


def test_staff_see_every_file_in_the_ticket_admin_and_download_it(client, staff_user, ticket):
    internal = TicketAttachmentFactory(ticket=ticket, original_name="notes-internes.txt", visible_to_client=False)
    client.force_login(staff_user)
    page = client.get(reverse("admin:interventions_ticket_change", args=[ticket.pk])).content.decode()
    url = reverse("admin:interventions_ticket_attachment", args=[internal.pk])
    assert "notes-internes.txt" in page and url in page
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Disposition"] == 'attachment; filename="notes-internes.txt"'


def test_staff_without_the_right_gets_403(client, ticket):
    attachment = TicketAttachmentFactory(ticket=ticket)
    accountant = StaffUserFactory()
    client.force_login(accountant)
    assert client.get(reverse("admin:interventions_ticket_attachment", args=[attachment.pk])).status_code == 403


def test_portal_user_gets_nothing_from_the_admin_download(client, emma, ticket):
    attachment = TicketAttachmentFactory(ticket=ticket)
    client.force_login(emma.user)
    response = client.get(reverse("admin:interventions_ticket_attachment", args=[attachment.pk]))
    assert response.status_code in (302, 403)
    assert not getattr(response, "streaming", False)


def _admin_form_data(response) -> dict:
    """The change form as the browser would post it back: main fields and every inline's management form."""
    data = {}
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        value = form[name].value()
        if value is not None and not field.disabled:
            data[name] = value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
        for i, f in enumerate(formset.initial_forms):
            data[f"{formset.prefix}-{i}-id"] = f.instance.pk
            data[f"{formset.prefix}-{i}-ticket"] = f.instance.ticket_id if hasattr(f.instance, "ticket_id") else ""
    return data


def test_staff_join_an_internal_file_from_the_admin(client, staff_user, ticket):
    client.force_login(staff_user)
    url = reverse("admin:interventions_ticket_change", args=[ticket.pk])
    data = _admin_form_data(client.get(url))
    data["attachments-0-upload"] = SimpleUploadedFile("config-routeur.txt", b"vlan 10\n")
    data["attachments-0-visible_to_client"] = ""
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    attachment = TicketAttachment.objects.get()
    assert attachment.original_name == "config-routeur.txt" and attachment.visible_to_client is False
    assert attachment.uploaded_by == staff_user and not OutboundEmail.objects.exists()


def test_admin_refuses_a_program_on_the_field(client, staff_user, ticket):
    client.force_login(staff_user)
    url = reverse("admin:interventions_ticket_change", args=[ticket.pk])
    data = _admin_form_data(client.get(url))
    data["attachments-0-upload"] = SimpleUploadedFile("pilote.pdf", EXE)
    response = client.post(url, data)
    assert response.status_code == 200
    assert "« pilote.pdf » est un programme déguisé en .pdf : refusé." in response.content.decode()
    assert not TicketAttachment.objects.exists() and _stored() == []


def test_ticket_admin_page_query_count_does_not_grow_with_attachments(client, staff_user, ticket):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(staff_user)
    url = reverse("admin:interventions_ticket_change", args=[ticket.pk])
    counts = []
    for n in (5, 45):
        TicketAttachmentFactory.create_batch(n, ticket=ticket, uploaded_by=StaffUserFactory())
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts  # attachments and their uploaders in one query
