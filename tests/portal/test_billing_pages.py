"""Invoices, statement of account and quotes in the portal: the stored PDF byte for byte, the amounts
exactly as staff see them, and the electronic signature of a quote in two steps (CGV B5).

Who is who: ``marc`` is the billing contact of client A; ``emma`` a technical contact of client A
(no billing pages); client B's invoices never show (see test_isolation.py).
"""
import datetime
import hashlib
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from billing import pdf as billing_pdf
from billing import services as billing_services
from billing.choices import InvoiceStatus, QuoteStatus, SignatureMethod
from billing.models import Invoice, Quote
from contracts.choices import ContactRole
from tests.factories.contracts import ContactFactory
from tests.portal.builders import issue_invoice, send_quote

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 30, 10, 0, tzinfo=datetime.UTC)  # 11:00 in Paris


@pytest.fixture
def marc(client_a, provider):
    return ContactFactory(client=client_a, first_name="Marc", last_name="Roux", portal_role=ContactRole.BILLING,
                          with_login=True)


@pytest.fixture
def emma(client_a):
    return ContactFactory(client=client_a, portal_role=ContactRole.TECHNICAL, with_login=True)


def test_invoice_list_with_exact_amounts_and_filters(client, marc, client_a, client_b):
    old = issue_invoice(client_a, today=datetime.date(2025, 6, 10), unit_price="49.99")
    new = issue_invoice(client_a, today=datetime.date(2026, 11, 2), unit_price="1234.56", quantity="2")
    billing_services.invoice_payment_status_refresh(actor=None, invoice=old, today=datetime.date(2025, 7, 30),
                                                    amount_paid=old.total_ttc)
    issue_invoice(client_b, unit_price="777.77")
    client.force_login(marc.user)
    with time_machine.travel(NOW, tick=False):
        body = client.get(reverse("portal:invoices")).content.decode()
    # 2 × 1 234,56 = 2 469,12 HT; VAT 493,82; TTC 2 962,94 (narrow no-break space as thousands separator).
    assert new.total_ttc == Decimal("2962.94")
    assert "2\u202f962,94\u00a0€" in body and new.number in body and old.number in body
    assert "59,99\u00a0€" in body  # 49,99 HT + 10,00 VAT (rounded half-up from 9,998)
    assert "933,32" not in body  # client B's 777,77 HT → 933,32 TTC
    body = client.get(reverse("portal:invoices"), {"year": "2025"}).content.decode()
    assert old.number in body and new.number not in body
    body = client.get(reverse("portal:invoices"), {"status": InvoiceStatus.PAID}).content.decode()
    assert old.number in body and new.number not in body


def test_invoice_pdf_download_is_the_stored_file_byte_for_byte(client, marc, client_a, run_on_commit):
    with run_on_commit():
        invoice = issue_invoice(client_a, unit_price="350.00")
    invoice.refresh_from_db()
    stored = invoice.pdf.read()
    assert stored.startswith(b"%PDF") and hashlib.sha256(stored).hexdigest() == invoice.pdf_sha256
    client.force_login(marc.user)
    response = client.get(reverse("portal:invoice_pdf", kwargs={"invoice_id": invoice.pk}))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert b"".join(response.streaming_content) == stored


def test_invoice_pdf_is_rendered_once_if_the_worker_has_not_run_yet(client, marc, client_a):
    invoice = issue_invoice(client_a)  # on-commit rendering not run
    assert not invoice.pdf
    client.force_login(marc.user)
    first = b"".join(client.get(reverse("portal:invoice_pdf", kwargs={"invoice_id": invoice.pk})).streaming_content)
    second = b"".join(client.get(reverse("portal:invoice_pdf", kwargs={"invoice_id": invoice.pk})).streaming_content)
    invoice.refresh_from_db()
    assert first == second == invoice.pdf.read()


def test_invoice_detail_shows_dates_and_lines(client, marc, client_a):
    invoice = issue_invoice(client_a, today=datetime.date(2026, 12, 5), unit_price="80.00",
                            description="Intervention du 04/12/2026")
    client.force_login(marc.user)
    body = client.get(reverse("portal:invoice_detail", kwargs={"invoice_id": invoice.pk})).content.decode()
    # CGV B2: extra work is collected on the 30th of the following month.
    assert invoice.collection_date == datetime.date(2027, 1, 30)
    assert "30/01/2027" in body and "05/12/2026" in body
    assert "Intervention du 04/12/2026" in body and "96,00\u00a0€" in body


def test_statement_of_account_is_the_one_staff_print(client, marc, client_a):
    """Invoices as debits, payments received and credit notes as credits, running balance, overdue (B1/B2)."""
    from payments import services as payment_services
    from payments.choices import PaymentMethod

    first = issue_invoice(client_a, today=datetime.date(2026, 9, 1), unit_price="100.00")  # 120,00 TTC
    issue_invoice(client_a, today=datetime.date(2026, 10, 1), unit_price="50.00")  # 60,00, collected 30/11
    issue_invoice(client_a, today=datetime.date(2026, 11, 20), unit_price="25.00")  # 30,00, collected 30/12
    payment_services.payment_record(
        actor=None, client=client_a, method=PaymentMethod.TRANSFER, amount=Decimal("120.00"),
        received_on=datetime.date(2026, 10, 20), today=datetime.date(2026, 10, 20), reference="VIR-001",
        allocations=[(first, Decimal("120.00"))],
    )
    client.force_login(marc.user)
    with time_machine.travel(datetime.datetime(2026, 12, 1, 9, tzinfo=datetime.UTC), tick=False):
        response = client.get(reverse("portal:statement"))
    statement = response.context["statement"]
    assert [r["balance"] for r in statement["rows"]] == [
        Decimal("120.00"), Decimal("180.00"), Decimal("60.00"), Decimal("90.00"),
    ]
    assert statement["total_debit"] == Decimal("210.00") and statement["total_credit"] == Decimal("120.00")
    assert statement["balance"] == Decimal("90.00") and statement["overdue"] == Decimal("60.00")
    body = response.content.decode()
    assert "90,00\u00a0€" in body and "Dont 60,00\u00a0€ échus" in body and "VIR-001" in body


def test_technical_contact_has_no_billing_pages(client, emma, client_a, provider):
    invoice = issue_invoice(client_a)
    client.force_login(emma.user)
    assert client.get(reverse("portal:invoices")).status_code == 403
    assert client.get(reverse("portal:invoice_pdf", kwargs={"invoice_id": invoice.pk})).status_code == 403
    assert "Factures" not in client.get(reverse("portal:dashboard")).content.decode()


# --- Quotes (CGV B5) ----------------------------------------------------------------------------------


@pytest.fixture
def sent_quote(client_a, provider, run_on_commit):
    with run_on_commit():
        quote = send_quote(client_a, valid_until=datetime.date(2026, 12, 30), deposit_rate=Decimal("30"))
    quote.refresh_from_db()
    assert quote.pdf
    return quote


def test_quote_is_signed_in_two_steps_and_becomes_an_order(client, marc, sent_quote, run_on_commit):
    """CGV B5: confirmation page, then signature; the order, the deposit invoice and the signed copy at once."""
    client.force_login(marc.user)
    sign_url = reverse("portal:quote_sign", kwargs={"quote_id": sent_quote.pk})
    with time_machine.travel(NOW, tick=False):
        page = client.get(sign_url)
        assert page.status_code == 200
        body = page.content.decode()
        assert "vaut bon de commande" in body and "2\u202f160,00\u00a0€" in body  # (1500 + 4 × 75) × 1,2
        # Without ticking the box nothing is signed.
        refused = client.post(sign_url, {"pdf_sha256": sent_quote.pdf_sha256})
        assert refused.status_code == 400
        assert Quote.objects.get(pk=sent_quote.pk).status == QuoteStatus.SENT
        with run_on_commit():
            response = client.post(sign_url, {"accept": "on", "pdf_sha256": sent_quote.pdf_sha256},
                                   HTTP_USER_AGENT="Mozilla/5.0 (test)", REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 302
    quote = Quote.objects.get(pk=sent_quote.pk)
    assert quote.status == QuoteStatus.ORDERED and quote.signature_method == SignatureMethod.ELECTRONIC
    assert quote.signer_contact == marc and quote.signer_ip == "203.0.113.7"
    assert quote.signer_user_agent == "Mozilla/5.0 (test)" and quote.signed_at == NOW
    assert quote.signed_pdf_sha256 == sent_quote.pdf_sha256
    assert quote.ordered_on == datetime.date(2026, 11, 30)
    deposit = Invoice.objects.get(quote=quote)
    assert deposit.total_ttc == Decimal("648.00")  # 30 % of 2 160,00
    assert quote.payment_due_date == datetime.date(2027, 1, 30)  # 2 months after the deposit invoice

    detail = client.get(response["Location"]).content.decode()
    assert "Commande confirmée" in detail and deposit.number in detail
    copy = client.get(reverse("portal:quote_signed_copy", kwargs={"quote_id": quote.pk}))
    assert copy.status_code == 200 and b"".join(copy.streaming_content).startswith(b"%PDF")
    # A second signature is refused: back to the detail page.
    again = client.get(sign_url)
    assert again.status_code == 302


def test_quote_changed_since_display_is_not_signed(client, marc, sent_quote):
    client.force_login(marc.user)
    url = reverse("portal:quote_sign", kwargs={"quote_id": sent_quote.pk})
    response = client.post(url, {"accept": "on", "pdf_sha256": "0" * 64})
    assert response.status_code == 400
    assert "a changé depuis son affichage" in response.content.decode()
    assert Quote.objects.get(pk=sent_quote.pk).status == QuoteStatus.SENT


def test_expired_quote_cannot_be_signed(client, marc, sent_quote):
    client.force_login(marc.user)
    with time_machine.travel(datetime.datetime(2027, 1, 5, 10, tzinfo=datetime.UTC), tick=False):
        response = client.get(reverse("portal:quote_sign", kwargs={"quote_id": sent_quote.pk}))
        assert response.status_code == 302
        response = client.post(reverse("portal:quote_sign", kwargs={"quote_id": sent_quote.pk}),
                               {"accept": "on"})
    assert Quote.objects.get(pk=sent_quote.pk).status == QuoteStatus.SENT


def test_quote_pdf_is_shown_inline(client, marc, sent_quote):
    client.force_login(marc.user)
    response = client.get(reverse("portal:quote_pdf", kwargs={"quote_id": sent_quote.pk}))
    assert response["Content-Disposition"].startswith("inline")
    assert b"".join(response.streaming_content) == sent_quote.pdf.read()


def test_quote_pdf_renders_on_demand(client, marc, client_a):
    quote = send_quote(client_a)  # the worker has not rendered it yet: the first view does, once
    client.force_login(marc.user)
    response = client.get(reverse("portal:quote_pdf", kwargs={"quote_id": quote.pk}))
    assert response.status_code == 200
    quote.refresh_from_db()
    assert b"".join(response.streaming_content) == quote.pdf.read()
    assert billing_pdf.quote_render_and_store(quote.pk) is False


def test_credit_note_cancels_the_invoice_and_nets_to_zero_on_the_statement(client, marc, client_a):
    """L2: an issued invoice is corrected by a credit note; the statement's balance comes back to 0."""
    invoice = issue_invoice(client_a, today=datetime.date(2026, 11, 2), unit_price="100.00")
    note = billing_services.invoice_credit(actor=None, invoice=invoice, today=datetime.date(2026, 11, 5),
                                           reason="Intervention couverte par le contrat")
    client.force_login(marc.user)
    body = client.get(reverse("portal:invoices")).content.decode()
    assert note.number in body and f"Avoir sur {invoice.number}" in body
    detail = client.get(reverse("portal:invoice_detail", kwargs={"invoice_id": invoice.pk})).content.decode()
    assert "annulée par avoir" in detail and note.number in detail
    statement = client.get(reverse("portal:statement")).context["statement"]
    assert [(r["debit"], r["credit"]) for r in statement["rows"]] == [
        (Decimal("120.00"), Decimal("0.00")), (Decimal("0.00"), Decimal("120.00")),
    ]
    assert statement["balance"] == Decimal("0.00")
