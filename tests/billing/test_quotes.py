"""Quotes → orders (CGV P4, B5): electronic and handwritten signatures, deposit, payment due dates."""
import datetime
import hashlib
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billing import services
from billing.choices import InvoiceKind, QuoteStatus, SignatureMethod
from billing.exceptions import BillingError
from billing.models import Invoice
from core.dates import paris_datetime
from tests.factories.billing import line
from tests.factories.contracts import ClientFactory, ContactFactory

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def client(provider):
    return ClientFactory(name="Garage du Port")


MARCH_2 = D(2026, 3, 2)


def _sent_quote(client, run_on_commit, deposit_rate="0", today=MARCH_2):
    quote = services.quote_create(
        actor=None, client=client, title="Remplacement du serveur", deposit_rate=Decimal(deposit_rate),
        lines=[line("Serveur tour", "1", "1500.00"), line("Installation et migration", "6", "80.00")],
    )
    with run_on_commit():
        quote = services.quote_send(actor=None, quote=quote, today=today)
    quote.refresh_from_db()
    return quote


def test_sent_quote_is_numbered_and_has_a_pdf(client, run_on_commit):
    quote = _sent_quote(client, run_on_commit)
    assert quote.number == "DV-2026-000001"
    assert (quote.status, quote.valid_until) == (QuoteStatus.SENT, D(2026, 4, 1))
    # 1500 + 6 × 80 = 1980 HT, VAT 396, TTC 2376
    assert (quote.total_ht, quote.total_vat, quote.total_ttc) == (Decimal("1980.00"), Decimal("396.00"),
                                                                  Decimal("2376.00"))
    assert quote.pdf and quote.pdf.read()[:5] == b"%PDF-"
    assert quote.pdf_sha256 == hashlib.sha256(quote.pdf.open("rb").read()).hexdigest()


def test_electronic_signature_turns_the_quote_into_an_order_cgv_b5(client, run_on_commit):
    quote = _sent_quote(client, run_on_commit)
    signer = ContactFactory(client=client, first_name="Luis", last_name="Garcia", with_login=True)
    now = paris_datetime(D(2026, 3, 10), 14, 30)
    with run_on_commit():
        signed = services.quote_sign_electronically(
            quote=quote, signer_contact=signer, ip="203.0.113.7", user_agent="Mozilla/5.0 (X11; Linux)", now=now,
            expected_sha256=quote.pdf_sha256,
        )
    signed.refresh_from_db()
    assert signed.status == QuoteStatus.ORDERED and signed.ordered_on == D(2026, 3, 10)
    assert signed.signature_method == SignatureMethod.ELECTRONIC
    assert (signed.signer_contact, signed.signer_name, signed.signer_ip, signed.signer_user_agent) == (
        signer, "Luis Garcia", "203.0.113.7", "Mozilla/5.0 (X11; Linux)")
    assert signed.signed_at == now
    assert signed.signed_pdf_sha256 == hashlib.sha256(quote.pdf.open("rb").read()).hexdigest()
    # B5: no deposit → payment due 2 months after the signature.
    assert signed.payment_due_date == D(2026, 5, 10)
    assert not Invoice.objects.exists()
    # The signed copy shows the signature facts.
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(signed.signed_copy.open("rb")).pages)
    assert "Signé électroniquement" in text and "203.0.113.7" in text and signed.signed_pdf_sha256[:16] in text
    # The order is invoiced once, due on the B5 date.
    order = services.quote_invoice_order(actor=None, quote=signed, today=D(2026, 3, 20))
    assert (order.kind, order.total_ttc, order.due_date) == (InvoiceKind.ORDER, Decimal("2376.00"), D(2026, 5, 10))
    assert order.purchase_order_ref == "DV-2026-000001"
    assert services.quote_invoice_order(actor=None, quote=signed, today=D(2026, 3, 21)).pk == order.pk


def test_signature_refused_for_another_client_a_changed_pdf_or_an_expired_quote(client, run_on_commit):
    quote = _sent_quote(client, run_on_commit)
    stranger = ContactFactory(client=ClientFactory())
    own = ContactFactory(client=client)
    now = paris_datetime(D(2026, 3, 10), 9)
    with pytest.raises(BillingError, match="contact actif du client"):
        services.quote_sign_electronically(quote=quote, signer_contact=stranger, ip="198.51.100.1", user_agent="x",
                                           now=now)
    with pytest.raises(BillingError, match="a changé"):
        services.quote_sign_electronically(quote=quote, signer_contact=own, ip="198.51.100.1", user_agent="x",
                                           now=now, expected_sha256="0" * 64)
    with pytest.raises(BillingError, match="plus valable"):
        services.quote_sign_electronically(quote=quote, signer_contact=own, ip="198.51.100.1", user_agent="x",
                                           now=paris_datetime(D(2026, 4, 2), 9))
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT and not quote.signed_at


def test_hand_signature_with_deposit_invoices_the_deposit_cgv_b5(client, run_on_commit):
    quote = _sent_quote(client, run_on_commit, deposit_rate="30")
    scan = SimpleUploadedFile("scan.pdf", b"%PDF-1.4 scan", content_type="application/pdf")
    order = services.quote_sign_by_hand(actor=None, quote=quote, scan=scan, signer_name="Luis Garcia",
                                        signed_on=D(2026, 3, 12))
    assert order.status == QuoteStatus.ORDERED and order.signature_method == SignatureMethod.HAND
    assert order.signed_scan.name.endswith(".pdf") and "scan" not in order.signed_scan.name
    deposit = Invoice.objects.get(kind=InvoiceKind.DEPOSIT)
    # 30 % of 1980 HT = 594 HT, VAT 118.80, TTC 712.80, payable at order.
    assert (deposit.total_ht, deposit.total_vat, deposit.total_ttc) == (Decimal("594.00"), Decimal("118.80"),
                                                                        Decimal("712.80"))
    assert deposit.due_date == D(2026, 3, 12) and deposit.quote == order
    # B5: balance due 2 months after the deposit.
    assert order.payment_due_date == D(2026, 5, 12)
    final = services.quote_invoice_order(actor=None, quote=order, today=D(2026, 4, 15))
    # 1980 − 594 = 1386 HT, VAT 277.20, TTC 1663.20
    assert (final.total_ht, final.total_vat, final.total_ttc) == (Decimal("1386.00"), Decimal("277.20"),
                                                                  Decimal("1663.20"))
    assert final.due_date == D(2026, 5, 12)
    with pytest.raises(BillingError, match="ne peut pas être signé"):
        services.quote_sign_by_hand(actor=None, quote=order, scan=scan, signer_name="x", signed_on=D(2026, 3, 13))
