"""PDF rendering and Factur-X (L1, L4): PDF/A-3b with the EN 16931 CII XML, validated against the XSD."""
import datetime
import io
from decimal import Decimal

import facturx
import pytest
from lxml import etree
from pypdf import PdfReader

from billing import pdf as billing_pdf
from billing import selectors as billing_selectors
from billing import services
from billing.choices import InvoiceKind
from billing.models import Invoice
from core.models import OutboundEmail
from tests.factories.billing import ChargeFactory, line
from tests.factories.contracts import ClientFactory, ContractFactory, ContractLineFactory

pytestmark = pytest.mark.django_db
D = datetime.date
NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"}


def _xml_of(invoice):
    invoice.refresh_from_db()
    data = invoice.pdf.open("rb").read()
    filename, xml = facturx.get_facturx_xml_from_pdf(data, check_xsd=True)
    assert filename == "factur-x.xml"
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    tree = etree.fromstring(xml)
    assert facturx.get_level(tree) == "en16931"
    return data, tree


def _text(tree, path):
    return tree.xpath(path, namespaces=NS)[0].text


@pytest.fixture
def recurring_invoice(provider, run_on_commit, monkeypatch):
    monkeypatch.setattr(billing_selectors, "_MANDATE_REFERENCE_PROVIDERS",
                        [lambda ids: {i: f"MIS-RUM-{i:06d}" for i in ids}])
    client = ClientFactory(name="Cabinet Durand Avocats", siren="790123459", vat_number="FR13790123459")
    contract = ContractFactory(client=client, reference="CT-2024-0002", signature_date=D(2026, 1, 1))
    ContractLineFactory(contract=contract, description="Maintenance parc", quantity=Decimal("10"),
                        unit_price=Decimal("32.50"))
    with run_on_commit():
        services.recurring_invoices_issue(actor=None, today=D(2026, 2, 1), contract_ids=[contract.pk])
    return Invoice.objects.get(period_start=D(2026, 2, 1))


def test_invoice_pdf_is_factur_x_en16931_valid_against_the_xsd_l4(recurring_invoice):
    invoice = recurring_invoice
    data, tree = _xml_of(invoice)
    assert _text(tree, "//rsm:ExchangedDocument/ram:ID") == "F-2026-000002"  # January first, then February
    assert _text(tree, "//rsm:ExchangedDocument/ram:TypeCode") == "380"
    assert _text(tree, "//ram:SellerTradeParty/ram:SpecifiedLegalOrganization/ram:ID") == "512345679"
    assert _text(tree, "//ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID") == "790123459"
    assert _text(tree, "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == "FR13790123459"
    assert _text(tree, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == "59"  # SEPA direct debit
    assert _text(tree, "//ram:CreditorReferenceID") == "FR12ZZZ123456"
    assert _text(tree, "//ram:DirectDebitMandateID") == f"MIS-RUM-{invoice.client_id:06d}"
    assert _text(tree, "//ram:DueDateDateTime/udt:DateTimeString") == "20260215"
    assert _text(tree, "//ram:GrandTotalAmount") == "390.00"
    assert _text(tree, "//ram:TaxTotalAmount") == "65.00"
    assert _text(tree, "//ram:ContractReferencedDocument/ram:IssuerAssignedID") == "CT-2024-0002"
    # PDF/A-3b with the XML as an "Alternative" representation (EN 16931 profile).
    reader = PdfReader(invoice.pdf.open("rb"))
    xmp = reader.xmp_metadata
    assert xmp is not None
    raw = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert "<pdfaid:part>3</pdfaid:part>" in raw and "<pdfaid:conformance>B</pdfaid:conformance>" in raw
    assert data.count(b"/AFRelationship /Alternative") + data.count(b"/AFRelationship/Alternative") >= 1
    assert len(reader.pages) == 1


def test_pdf_carries_the_legal_b2b_mentions_l1(recurring_invoice):
    invoice = recurring_invoice
    text = PdfReader(invoice.pdf.open("rb")).pages[0].extract_text()
    for mention in [
        "MICRO INFO SERVICE", "SIREN 512345679", "FR75512345679", "Cabinet Durand Avocats", "SIREN 790123459",
        "FR13790123459", "FACTURE N° F-2026-000002", "Date d'émission : 01/02/2026",
        "Période facturée : du 01/02/2026 au 28/02/2026", "Prestations de services", "Échéance : 15/02/2026",
        "1,5 % par mois", "40 €", "Pas d'escompte", f"MIS-RUM-{invoice.client_id:06d}", "FR12ZZZ123456",
        "325,00", "65,00", "390,00",
    ]:
        assert mention in text, mention


def test_pdf_is_rendered_once_stored_unguessably_and_e_mailed_once(recurring_invoice):
    invoice = recurring_invoice
    invoice.refresh_from_db()
    name = invoice.pdf.name
    assert name.startswith("billing/2026/") and invoice.number not in name and len(name) > 40
    assert invoice.pdf_sha256 and invoice.pdf_rendered_at
    assert billing_pdf.invoice_render_and_store(invoice.pk) is False
    invoice.refresh_from_db()
    assert invoice.pdf.name == name
    emails = OutboundEmail.objects.filter(key=f"billing.invoice.sent:{invoice.pk}")
    assert emails.count() == 1
    assert emails.get().attachments == [{"name": "F-2026-000002.pdf", "path": name, "mimetype": "application/pdf"}]


def test_credit_note_xml_is_type_381_with_positive_amounts_and_the_original_reference(provider, run_on_commit):
    client = ClientFactory()
    with run_on_commit():
        draft = services.invoice_create_draft(actor=None, client=client, kind=InvoiceKind.EXTRA,
                                              lines=[line("Intervention", "2", "95.00")])
        invoice = services.invoice_issue(actor=None, invoice=draft, today=D(2026, 3, 31))
    with run_on_commit():
        note = services.invoice_credit(actor=None, invoice=invoice, today=D(2026, 4, 2), reason="doublon")
    _data, tree = _xml_of(note)
    assert _text(tree, "//rsm:ExchangedDocument/ram:TypeCode") == "381"
    assert _text(tree, "//ram:GrandTotalAmount") == "228.00"
    assert _text(tree, "//ram:BilledQuantity") == "2.00"
    assert _text(tree, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == "F-2026-000001"
    text = PdfReader(note.pdf.open("rb")).pages[0].extract_text()
    assert "AVOIR N° AV-2026-000001" in text and "Avoir sur la facture N° F-2026-000001 du 31/03/2026" in text


def test_out_of_scope_penalty_invoice_is_valid_factur_x(provider, run_on_commit):
    charge = ChargeFactory(source="payments.indemnity", description="Indemnité forfaitaire pour frais de recouvrement",
                           unit_price=Decimal("40.00"), vat_rate=None, service_date=D(2026, 5, 2))
    with run_on_commit():
        [invoice] = services.charges_invoice(actor=None, today=D(2026, 5, 3), charge_ids=[charge.pk])
    _data, tree = _xml_of(invoice)
    assert _text(tree, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode") == "O"
    assert _text(tree, "//ram:GrandTotalAmount") == "40.00"
    assert not tree.xpath("//ram:SellerTradeParty/ram:SpecifiedTaxRegistration", namespaces=NS)
    assert "hors du champ" in PdfReader(invoice.pdf.open("rb")).pages[0].extract_text()


def test_nightly_requeues_invoices_whose_pdf_is_missing(provider, run_on_commit):
    draft = services.invoice_create_draft(actor=None, client=ClientFactory(), kind=InvoiceKind.EXTRA, lines=[line()])
    invoice = services.invoice_issue(actor=None, invoice=draft, today=D(2026, 3, 31))  # on-commit render never ran
    from core.nightly import run_nightly

    with run_on_commit():
        result = run_nightly(today=D(2026, 4, 1), only=["billing.missing_pdfs"])
    assert result[0]["result"] == {"queued": 1}
    invoice.refresh_from_db()
    assert invoice.pdf
    assert run_nightly(today=D(2026, 4, 2), only=["billing.missing_pdfs"])[0]["result"] == {"queued": 0}


def test_renders_reuse_the_thread_font_configuration_and_keep_the_per_document_footer(recurring_invoice):
    """Speed (docs/benchmarks.md): the fontconfig setup and the static CSS are built once per thread."""
    import threading

    font_config, stylesheet = billing_pdf._renderer()
    assert billing_pdf._renderer() == (font_config, stylesheet)
    other = []
    worker = threading.Thread(target=lambda: other.append(billing_pdf._renderer()))
    worker.start()
    worker.join()
    assert other[0][0] is not font_config  # Pango's font map is not shared between threads
    data = billing_pdf.invoice_pdf_bytes(recurring_invoice)
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    # The footer (seller identity) comes from the document, the rest of the style from billing/pdf.css.
    assert "MICRO INFO SERVICE — SARL au capital de 10 000 € — SIREN 512345679" in text
    assert billing_pdf._renderer()[0] is font_config
