"""Real-browser scenarios of the portal (Playwright + Debian's Chromium, against live_server).

Who is who: Paul is the company administrator of "Boulangerie Lemoine" (sees every page). Each
scenario saves full-page screenshots of the pages it visits under var/screenshots/.
"""
import datetime
import hashlib
from decimal import Decimal

import pytest

from billing.choices import QuoteStatus
from billing.models import Quote
from contracts.choices import ContactRole
from tests.factories.contracts import ClientFactory, ContactFactory, ContractFactory, ContractLineFactory
from tests.factories.core import TEST_PASSWORD, ProviderProfileFactory
from tests.portal.browser import log_in, shoot
from tests.portal.builders import issue_invoice, send_quote

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def paul():
    ProviderProfileFactory()
    client = ClientFactory(name="Boulangerie Lemoine")
    contact = ContactFactory(client=client, first_name="Paul", last_name="Lemoine", portal_role=ContactRole.ADMIN,
                             email="paul@boulangerie-lemoine.fr", with_login=True)
    contract = ContractFactory(client=client, reference="CT-2025-0001", signature_date=datetime.date(2025, 3, 15))
    ContractLineFactory(contract=contract, description="Maintenance poste de travail", quantity=Decimal("4"),
                        unit_price=Decimal("35.00"))
    return contact


def test_log_in_and_see_the_dashboard(page, live_server, paul):
    page.goto(f"{live_server.url}/portal/connexion/")
    shoot(page, "login")
    log_in(page, live_server.url, paul.user.username, TEST_PASSWORD)
    assert page.get_by_role("heading", level=1).inner_text() == "Bonjour, Boulangerie Lemoine"
    assert page.get_by_role("link", name="CT-2025-0001").is_visible()
    assert page.locator('nav a[aria-current="page"]').inner_text() == "Tableau de bord"
    shoot(page, "dashboard")
    page.get_by_role("link", name="CT-2025-0001").click()
    assert "31/12/2026" in page.content() and "30/09/2026" in page.content()  # C1 term, C3 deadline
    shoot(page, "contract_detail")


def test_download_an_invoice_pdf_byte_identical_to_the_stored_one(page, live_server, paul):
    invoice = issue_invoice(paul.client, unit_price="240.00")  # committed: the PDF is rendered and stored
    invoice.refresh_from_db()
    stored = invoice.pdf.read()
    assert stored.startswith(b"%PDF")
    log_in(page, live_server.url, paul.user.username, TEST_PASSWORD)
    page.get_by_role("link", name="Factures", exact=True).click()
    assert "288,00" in page.content()  # 240,00 HT + 20 % VAT
    shoot(page, "invoices")
    page.get_by_role("link", name=invoice.number, exact=True).click()
    shoot(page, "invoice_detail")
    with page.expect_download() as info:
        page.get_by_role("link", name="Télécharger le PDF (Factur-X)").click()
    download = info.value
    assert download.suggested_filename == f"{invoice.number}.pdf"
    with open(download.path(), "rb") as fh:
        downloaded = fh.read()
    assert hashlib.sha256(downloaded).hexdigest() == hashlib.sha256(stored).hexdigest() == invoice.pdf_sha256
    page.goto(f"{live_server.url}/portal/releve-de-compte/")
    shoot(page, "statement")


def test_sign_a_quote(page, live_server, paul):
    quote = send_quote(paul.client, valid_until=datetime.date(2099, 12, 31))  # PDF rendered at commit
    log_in(page, live_server.url, paul.user.username, TEST_PASSWORD)
    page.get_by_role("link", name="Devis", exact=True).click()
    shoot(page, "quotes")
    page.get_by_role("link", name=quote.number, exact=True).click()
    shoot(page, "quote_detail")
    page.get_by_role("link", name="Signer ce devis").click()
    shoot(page, "quote_sign")
    page.get_by_role("button", name="Signer le devis").click()  # without the box: refused
    assert page.get_by_text("Cochez la case pour confirmer votre accord.").is_visible()
    page.get_by_label("J'ai lu ce devis et je l'accepte", exact=False).check()
    page.get_by_role("button", name="Signer le devis").click()
    page.get_by_role("heading", name="Commande confirmée").wait_for()
    shoot(page, "quote_signed")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ORDERED and quote.signer_contact_id == paul.pk
    assert quote.signer_ip == "127.0.0.1" and "Chrome" in quote.signer_user_agent
    assert Quote.objects.get(pk=quote.pk).signed_copy  # rendered after commit, visible at once


def test_open_a_ticket_and_see_its_deadline(page, live_server, paul):
    from django.utils import formats, timezone, translation

    from interventions.models import Ticket

    log_in(page, live_server.url, paul.user.username, TEST_PASSWORD)
    page.get_by_role("link", name="Demandes d'intervention", exact=True).click()
    shoot(page, "tickets")
    page.get_by_role("link", name="Signaler un problème").first.click()
    page.get_by_label("Objet").fill("Le poste de l'accueil ne démarre plus")
    page.get_by_label("Sévérité 1 — bloquant", exact=False).check()
    page.get_by_label("Nature du problème").select_option(label="matériel (PC)")
    page.get_by_label("Description").fill("Écran noir depuis ce matin.")
    shoot(page, "ticket_create")
    page.get_by_role("button", name="Envoyer la demande").click()
    page.get_by_role("heading", name="Délai d'intervention").wait_for()
    ticket = Ticket.objects.get(client=paul.client)
    assert ticket.severity == 1 and ticket.contact_id == paul.pk
    with timezone.override("Europe/Paris"), translation.override("fr"):
        shown = formats.date_format(timezone.localtime(ticket.deadline_at), "l j F Y à H:i")
    assert page.get_by_text(f"Au plus tard le {shown}").is_visible()
    shoot(page, "ticket_detail")


def test_join_a_file_to_a_ticket_and_download_it(page, live_server, paul, tmp_path):
    """Issue #10 attachments: a real multipart upload from Chromium, listed, then downloaded byte for byte."""
    from interventions.models import TicketAttachment
    from tests.factories.interventions import TicketFactory

    ticket = TicketFactory(client=paul.client, title="Imprimante hors ligne", contact=paul)
    screenshot = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    path = tmp_path / "écran imprimante.png"
    path.write_bytes(screenshot)
    log_in(page, live_server.url, paul.user.username, TEST_PASSWORD)
    page.goto(f"{live_server.url}/portal/tickets/{ticket.pk}/")
    page.get_by_label("Fichiers à joindre").set_input_files(str(path))
    page.get_by_role("button", name="Joindre les fichiers", exact=True).click()
    page.get_by_text("1 fichier(s) joint(s) à la demande.").wait_for()
    attachment = TicketAttachment.objects.get(ticket=ticket)
    assert attachment.original_name == "écran imprimante.png" and attachment.content_type == "image/png"
    assert attachment.sha256 == hashlib.sha256(screenshot).hexdigest() and attachment.uploaded_by == paul.user
    assert page.get_by_role("link", name="écran imprimante.png").is_visible()
    shoot(page, "ticket_attachments")
    with page.expect_download() as info:
        page.get_by_role("link", name="écran imprimante.png").click()
    download = info.value
    assert download.suggested_filename == "écran imprimante.png"
    with open(download.path(), "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == attachment.sha256
    # A program disguised as a picture is refused with the reason, nothing stored.
    fake = tmp_path / "photo.png"
    fake.write_bytes(b"MZ\x90\x00" + b"\x00" * 200)
    page.get_by_label("Fichiers à joindre").set_input_files(str(fake))
    page.get_by_role("button", name="Joindre les fichiers", exact=True).click()
    assert page.get_by_text("« photo.png » est un programme déguisé en .png : refusé.").is_visible()
    assert TicketAttachment.objects.filter(ticket=ticket).count() == 1
