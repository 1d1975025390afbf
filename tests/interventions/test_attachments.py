"""Ticket attachments: what is accepted (size, format on the name and the bytes, count, open ticket),
what is stored (row, file under an unguessable private name, SHA-256), who is told, who may read.

Who is who: ``emma`` is a technical portal contact of client A (her files are always visible to
her company and staff are e-mailed); ``staff_user`` is MIS staff (may keep a file internal, no
e-mail); client B's contact never sees client A's files.
"""
import hashlib
import io
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError

from contracts.choices import ContactRole
from core.models import AuditLogEntry, OutboundEmail
from interventions import attachments, selectors, services
from interventions.choices import InterventionStatus, TicketStatus
from interventions.exceptions import InterventionError
from interventions.models import TicketAttachment
from tests.factories.contracts import ContactFactory
from tests.factories.core import StaffUserFactory
from tests.factories.interventions import (
    EXE_BYTES,
    PNG_BYTES,
    InterventionFactory,
    TicketAttachmentFactory,
    TicketFactory,
    stored_attachment_names,
)

pytestmark = pytest.mark.django_db

PNG = PNG_BYTES
PDF = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"
EXE = EXE_BYTES
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 60


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


stored_files = stored_attachment_names


@pytest.fixture
def emma(client_a):
    return ContactFactory(client=client_a, first_name="Emma", last_name="Petit", portal_role=ContactRole.TECHNICAL,
                          with_login=True)


@pytest.fixture
def ticket(client_a):
    return TicketFactory(client=client_a, title="Imprimante hors ligne")


def test_a_client_file_is_stored_with_its_fingerprint_and_staff_are_told(ticket, emma, settings, run_on_commit):
    technician = StaffUserFactory(email="julien@micro-info-service.fr")
    other = StaffUserFactory(email="sophie@micro-info-service.fr")
    ticket.assignee = technician
    ticket.save()
    InterventionFactory(client=ticket.client, ticket=ticket, technician=other, status=InterventionStatus.PLANNED)
    with run_on_commit():
        attachment = services.ticket_attachment_add(ticket=ticket, file=upload("écran bleu.png", PNG, "image/png"),
                                                    author=emma.user)
    row = TicketAttachment.objects.get()
    assert row == attachment and row.ticket == ticket and row.client == ticket.client
    assert row.original_name == "écran bleu.png" and row.content_type == "image/png" and row.size == len(PNG)
    assert row.sha256 == hashlib.sha256(PNG).hexdigest() and row.uploaded_by == emma.user and row.visible_to_client
    # Stored under the private prefix, under a random name (never the client's file name).
    assert row.file.name.startswith("private/ticket-attachments/") and "écran" not in row.file.name
    assert len(row.file.name.rsplit("/", 1)[1]) == 32
    with default_storage.open(row.file.name, "rb") as fh:
        assert fh.read() == PNG
    email = OutboundEmail.objects.get(key=f"interventions.ticket.{ticket.pk}.attachments.{row.pk}")
    assert email.to == [settings.STAFF_NOTIFICATION_EMAIL, "julien@micro-info-service.fr",
                        "sophie@micro-info-service.fr"]
    assert ticket.reference in email.subject and "Client A" in email.subject
    assert "- écran bleu.png (56\xa0octets)" in email.body
    audit = AuditLogEntry.objects.get(action="interventions.ticket.attachment_added")
    assert audit.changes["sha256"] == row.sha256 and audit.actor == emma.user


def test_staff_may_keep_a_file_internal_and_no_email_is_sent(ticket, staff_user):
    attachment = services.ticket_attachment_add(ticket=ticket, file=upload("config.txt", b"vlan 10\n"),
                                                author=staff_user, visible_to_client=False)
    assert attachment.visible_to_client is False and attachment.content_type == "text/plain"
    assert not OutboundEmail.objects.exists()
    assert list(selectors.attachments_for_client(ticket.client)) == []


def test_a_client_cannot_hide_its_own_file(ticket, emma):
    attachment = services.ticket_attachment_add(ticket=ticket, file=upload("log.txt", b"erreur 0x80070005\n"),
                                                author=emma.user, visible_to_client=False)
    assert attachment.visible_to_client is True


def _refused(ticket, author, *files) -> InterventionError:
    with pytest.raises(InterventionError) as info:
        services.ticket_attachments_add(ticket=ticket, files=list(files), author=author)
    assert not TicketAttachment.objects.exists()
    assert stored_files() == []
    assert not OutboundEmail.objects.exists()
    return info.value


def test_too_big_is_refused_with_the_limit(ticket, emma, settings):
    settings.TICKET_ATTACHMENT_MAX_BYTES = 1024
    error = _refused(ticket, emma.user, upload("journal.log", b"x" * 1025))
    assert error.code == "attachment_too_big"
    assert error.message == "« journal.log » pèse 1,0\xa0Kio : 1,0\xa0Kio au plus par fichier."


def test_the_default_limit_is_10_mb(ticket, emma):
    assert services.attachment_limits() == (10 * 1024 * 1024, 20)
    error = _refused(ticket, emma.user, upload("scan.pdf", PDF + b"0" * (10 * 1024 * 1024)))
    assert error.code == "attachment_too_big" and "10,0\xa0Mio au plus" in error.message


@pytest.mark.parametrize(
    ("name", "content", "code", "message"),
    [
        ("setup.exe", EXE, "attachment_executable", "« setup.exe » est un programme : ce type de fichier est refusé."),
        ("photo.png", EXE, "attachment_executable", "« photo.png » est un programme déguisé en .png : refusé."),
        ("facture.pdf", ELF, "attachment_executable", "« facture.pdf » est un programme déguisé en .pdf : refusé."),
        ("notes.txt", b"#!/bin/sh\nrm -rf /\n", "attachment_executable",
         "« notes.txt » est un programme déguisé en .txt : refusé."),
        ("facture.pdf", PNG, "attachment_disguised", "« facture.pdf » : le contenu ne correspond pas à un fichier .pdf."),
        ("journal.log", b"abc\x00\x01\x02binaire", "attachment_disguised",
         "« journal.log » : le contenu ne correspond pas à un fichier .log."),
        ("page.html", b"<html><script>alert(1)</script>", "attachment_type", None),
        ("image.svg", b"<svg onload=alert(1)>", "attachment_type", None),
        ("sans-extension", b"hello", "attachment_type", None),
        ("vide.txt", b"", "attachment_empty", "« vide.txt » est vide."),
        ("outils.zip", zipped({"lisezmoi.txt": b"ok", "outil.exe": EXE}), "attachment_executable",
         "« outils.zip » contient un programme (outil.exe) : refusé."),
        ("outils.zip", zipped({"lisezmoi.txt": b"ok", "photo.jpg": EXE}), "attachment_executable",
         "« outils.zip » contient un programme (photo.jpg) : refusé."),
        ("rapport.docx", zipped({"[Content_Types].xml": b"<Types/>", "word/vbaProject.bin": b"x"}),
         "attachment_executable", "« rapport.docx » contient des macros : enregistrez-le sans macro ou en PDF."),
        ("rapport.docx", zipped({"word/document.xml": b"<w/>"}), "attachment_disguised",
         "« rapport.docx » n'est pas une archive ou un document valide."),
        ("archive.zip", b"PK\x03\x04 truncated", "attachment_disguised",
         "« archive.zip » n'est pas une archive ou un document valide."),
    ],
)
def test_refused_formats_store_nothing(ticket, emma, name, content, code, message):
    error = _refused(ticket, emma.user, upload(name, content))
    assert error.code == code
    if message:
        assert error.message == message
    else:
        assert "type de fichier non accepté" in error.message and "PDF" in error.message


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("capture.png", PNG, "image/png"),
        ("photo.JPG", b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        ("scan.pdf", PDF, "application/pdf"),
        ("journal.log", "2026-12-01 erreur d'accès réseau\n".encode("cp1252"), "text/plain"),
        ("export.txt", "\ufeffjournal".encode("utf-16"), "text/plain"),
        ("tableau.xlsx", zipped({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"}),
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("courrier.odt", zipped({"mimetype": b"application/vnd.oasis.opendocument.text"}),
         "application/vnd.oasis.opendocument.text"),
        ("ancien.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "application/msword"),
        ("journaux.zip", zipped({"logs/app.log": b"ok", "capture.png": PNG}), "application/zip"),
    ],
)
def test_accepted_formats_get_the_type_found_not_the_one_sent(ticket, emma, name, content, content_type):
    attachment = services.ticket_attachment_add(ticket=ticket, file=upload(name, content, "text/html"),
                                                author=emma.user)
    assert attachment.content_type == content_type


def test_one_refused_file_refuses_the_batch_and_removes_the_files_already_stored(ticket, emma, monkeypatch):
    """Nothing half saved: the database write of the second file fails after the first file was stored."""
    calls = []
    real_save = TicketAttachment.save

    def failing_save(self, *args, **kwargs):
        calls.append(self.original_name)
        if len(calls) == 2:
            raise IntegrityError("disk full")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(TicketAttachment, "save", failing_save)
    with pytest.raises(IntegrityError):
        services.ticket_attachments_add(ticket=ticket, files=[upload("a.png", PNG), upload("b.pdf", PDF)],
                                        author=emma.user)
    assert calls == ["a.png", "b.pdf"]
    assert not TicketAttachment.objects.exists() and stored_files() == []
    assert not OutboundEmail.objects.exists()


@pytest.mark.parametrize("status", [TicketStatus.CLOSED, TicketStatus.CANCELLED, TicketStatus.RESOLVED])
def test_a_closed_ticket_takes_no_file(client_a, emma, status):
    ticket = TicketFactory(client=client_a, status=status)
    error = _refused(ticket, emma.user, upload("capture.png", PNG))
    assert error.code == "ticket_closed"
    assert error.message == "Ce ticket est clos : on ne peut plus y joindre de fichier."


def test_count_limit_per_ticket(ticket, emma, settings):
    settings.TICKET_ATTACHMENT_MAX_PER_TICKET = 3
    TicketAttachmentFactory.create_batch(2, ticket=ticket)
    services.ticket_attachment_add(ticket=ticket, file=upload("c.pdf", PDF), author=emma.user)
    before = set(stored_files())
    with pytest.raises(InterventionError) as info:
        services.ticket_attachment_add(ticket=ticket, file=upload("d.pdf", PDF), author=emma.user)
    assert info.value.code == "attachment_count"
    assert info.value.message == "Ce ticket a déjà 3 pièce(s) jointe(s) : 3 au plus par ticket."
    assert TicketAttachment.objects.count() == 3 and set(stored_files()) == before


def test_opening_a_ticket_with_a_refused_file_opens_nothing(client_a, emma):
    from django.utils import timezone

    from interventions.models import Ticket

    with pytest.raises(InterventionError):
        services.ticket_open(client=client_a, contact=emma, severity=2, category="hardware", title="Poste",
                             channel="portal", actor=emma.user, now=timezone.now(),
                             attachments=[upload("ok.png", PNG), upload("virus.pdf", EXE)])
    assert not Ticket.objects.exists() and not TicketAttachment.objects.exists() and stored_files() == []
    assert not OutboundEmail.objects.exists()


def test_who_may_see_which_attachment(client_a, client_b, emma, staff_user):
    mine = TicketAttachmentFactory(ticket=TicketFactory(client=client_a))
    internal = TicketAttachmentFactory(ticket=mine.ticket, visible_to_client=False)
    theirs = TicketAttachmentFactory(ticket=TicketFactory(client=client_b))
    billing = ContactFactory(client=client_a, portal_role=ContactRole.BILLING, with_login=True)
    bob = ContactFactory(client=client_b, portal_role=ContactRole.ADMIN, with_login=True)
    accountant = StaffUserFactory()
    assert list(selectors.attachments_visible_to(emma.user)) == [mine]
    assert list(selectors.attachments_visible_to(bob.user)) == [theirs]
    assert list(selectors.attachments_visible_to(billing.user)) == []
    assert set(selectors.attachments_visible_to(staff_user)) == {mine, internal, theirs}
    assert list(selectors.attachments_visible_to(accountant)) == []  # staff without the permission
    with pytest.raises(TicketAttachment.DoesNotExist):
        selectors.attachment_for_client(client_a, ticket_id=theirs.ticket_id, pk=theirs.pk)
    with pytest.raises(TicketAttachment.DoesNotExist):
        selectors.attachment_for_client(client_a, ticket_id=mine.ticket_id, pk=internal.pk)
    with pytest.raises(TicketAttachment.DoesNotExist):  # right attachment, wrong ticket in the URL
        selectors.attachment_for_client(client_a, ticket_id=TicketFactory(client=client_a).pk, pk=mine.pk)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("C:\\Users\\emma\\Desktop\\capture.png", "capture.png"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("rapport\x00\n.pdf", "rapport.pdf"),
        ("", "fichier"),
        ("a" * 300 + ".pdf", "a" * 251 + ".pdf"),
    ],
)
def test_the_original_name_is_cleaned(sent, kept):
    assert attachments.clean_filename(sent) == kept


def test_a_missing_stored_file_is_a_404(ticket):
    from django.http import Http404

    attachment = TicketAttachmentFactory(ticket=ticket)
    default_storage.delete(attachment.file.name)
    with pytest.raises(Http404):
        attachments.attachment_response(attachment)


def test_plain_django_files_are_accepted_too(ticket, staff_user):
    """Services may be called from a command or the shell with a ContentFile."""
    attachment = services.ticket_attachment_add(ticket=ticket, file=ContentFile(PDF, name="note.pdf"),
                                                author=staff_user)
    assert attachment.size == len(PDF) and attachment.sha256 == hashlib.sha256(PDF).hexdigest()


def test_orphan_files_older_than_a_day_are_removed_once(ticket, django_assert_num_queries):
    """A file without a row (a killed process, a rolled-back caller) is deleted by the nightly job."""
    import datetime
    import os

    from django.utils import timezone

    from interventions.jobs import attachment_orphans

    kept = TicketAttachmentFactory(ticket=ticket)
    old_orphan = default_storage.save("private/ticket-attachments/orphelin-ancien", ContentFile(b"x"))
    default_storage.save("private/ticket-attachments/orphelin-recent", ContentFile(b"x"))
    two_days_ago = (timezone.now() - datetime.timedelta(days=2)).timestamp()
    for name in (old_orphan, kept.file.name):
        os.utime(default_storage.path(name), (two_days_ago, two_days_ago))
    with django_assert_num_queries(1):  # the names of the stored rows, whatever the number of files
        assert attachment_orphans(today=datetime.date(2026, 12, 2)) == {"checked": 3, "removed": 1}
    assert sorted(stored_files()) == sorted([kept.file.name.rsplit("/", 1)[1], "orphelin-recent"])
    assert services.attachment_orphans_remove(now=timezone.now()) == {"checked": 2, "removed": 0}
    assert services.attachment_orphans_remove(now=timezone.now() + datetime.timedelta(days=2)) == {
        "checked": 2, "removed": 1}  # the recent orphan, once its day of grace is over
    assert stored_files() == [kept.file.name.rsplit("/", 1)[1]]
