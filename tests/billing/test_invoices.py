"""Invoices and credit notes: issue, numbering, immutability (L1, L2), credit notes, payment status."""
import datetime
from decimal import Decimal

import pytest
from django.test import override_settings

from billing import services
from billing.choices import DocumentType, InvoiceKind, InvoiceStatus, PaymentMethod
from billing.exceptions import BillingError
from billing.models import Invoice, InvoiceLine, NumberSequence
from core.models import AuditLogEntry
from tests.factories.billing import line
from tests.factories.contracts import ClientFactory

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def client(provider):
    return ClientFactory(name="Boulangerie Test", siren="845123454", vat_number="FR88845123454")


MARCH_31 = D(2026, 3, 31)


def _issued(client, today=MARCH_31, lines=None, kind=InvoiceKind.EXTRA):
    draft = services.invoice_create_draft(actor=None, client=client, kind=kind,
                                          lines=lines or [line("Intervention", "2", "95.00")])
    return services.invoice_issue(actor=None, invoice=draft, today=today)


def test_issue_snapshots_parties_totals_and_numbers_l1(client, provider):
    draft = services.invoice_create_draft(
        actor=None, client=client, kind=InvoiceKind.EXTRA,
        lines=[line("Intervention hors heures (S5)", "1.5", "95.00"), line("Câble RJ45", "3", "4.99", Decimal("20")),
               line("Livre technique", "1", "30.00", Decimal("5.5"))],
    )
    assert draft.status == InvoiceStatus.DRAFT and draft.number is None
    invoice = services.invoice_issue(actor=None, invoice=draft, today=D(2026, 3, 31))
    assert invoice.number == "F-2026-000001"
    assert (invoice.series, invoice.fiscal_year, invoice.sequence) == ("F", 2026, 1)
    assert invoice.status == InvoiceStatus.ISSUED
    assert invoice.issue_date == D(2026, 3, 31)
    # 1.5 × 95 = 142.50; 3 × 4.99 = 14.97 → 20 % base 157.47, VAT 31.494 → 31.49; 5.5 % on 30.00 = 1.65
    assert invoice.vat_breakdown == [
        {"rate": "20.00", "base": "157.47", "vat": "31.49"}, {"rate": "5.50", "base": "30.00", "vat": "1.65"},
    ]
    assert (invoice.total_ht, invoice.total_vat, invoice.total_ttc) == (
        Decimal("187.47"), Decimal("33.14"), Decimal("220.61"))
    # CGV B2: extra work collected by direct debit on the 30th of the following month.
    assert invoice.payment_method == PaymentMethod.DIRECT_DEBIT
    assert invoice.collection_date == D(2026, 4, 30) == invoice.due_date
    assert invoice.seller["siren"] == "512345679" and invoice.seller["vat_number"] == "FR75512345679"
    assert invoice.buyer["name"] == "Boulangerie Test" and invoice.buyer["siren"] == "845123454"
    # The snapshot does not follow later edits of the client or the provider.
    client.name = "Nouveau nom"
    client.save()
    provider.legal_name = "AUTRE"
    provider.save()
    invoice.refresh_from_db()
    assert invoice.buyer["name"] == "Boulangerie Test" and invoice.seller["legal_name"] == "MICRO INFO SERVICE"
    assert AuditLogEntry.objects.filter(action="billing.invoice.issued", object_id=str(invoice.pk)).count() == 1


def test_numbers_are_consecutive_per_series_and_restart_each_year(client):
    first = _issued(client, D(2026, 12, 30))
    second = _issued(client, D(2026, 12, 31))
    note = services.invoice_credit(actor=None, invoice=first, today=D(2026, 12, 31), reason="erreur")
    next_year = _issued(client, D(2027, 1, 2))
    assert [first.number, second.number, next_year.number] == ["F-2026-000001", "F-2026-000002", "F-2027-000001"]
    assert note.number == "AV-2026-000001"
    assert NumberSequence.objects.get(series="F", year=2026).last_number == 2


@override_settings(BILLING_INVOICE_PREFIX="FA", BILLING_CREDIT_NOTE_PREFIX="AVO")
def test_prefixes_are_configurable(client):
    invoice = _issued(client)
    note = services.invoice_credit(actor=None, invoice=invoice, today=D(2026, 3, 31), reason="erreur")
    assert (invoice.number, note.number) == ("FA-2026-000001", "AVO-2026-000001")


def test_numbering_stays_chronological_l1(client):
    _issued(client, D(2026, 3, 31))
    with pytest.raises(BillingError, match="ordre chronologique"):
        _issued(client, D(2026, 3, 30))
    # The refused issue rolled back: the draft is still a draft and no number was used.
    assert Invoice.objects.filter(status=InvoiceStatus.DRAFT).count() == 1
    assert _issued(client, D(2026, 3, 31)).number == "F-2026-000002"


def test_issued_invoice_cannot_be_changed_or_deleted_l2(client):
    invoice = _issued(client)
    invoice.total_ttc = Decimal("1.00")
    with pytest.raises(BillingError, match="ne peut plus être modifiée"):
        invoice.save()
    invoice.refresh_from_db()
    invoice.buyer = {"name": "autre"}
    with pytest.raises(BillingError):
        invoice.save()
    invoice.refresh_from_db()
    invoice.status = InvoiceStatus.DRAFT
    with pytest.raises(BillingError):
        invoice.save()
    invoice.refresh_from_db()
    with pytest.raises(BillingError):
        invoice.delete()
    with pytest.raises(BillingError):
        Invoice.objects.filter(pk=invoice.pk).update(total_ht=Decimal("0"))
    with pytest.raises(BillingError):
        Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.DRAFT)
    with pytest.raises(BillingError):
        Invoice.objects.filter(pk=invoice.pk).delete()
    with pytest.raises(BillingError):
        Invoice.objects.all().delete()
    # Its lines are frozen too.
    first_line = invoice.lines.first()
    first_line.unit_price = Decimal("1.00")
    with pytest.raises(BillingError):
        first_line.save()
    with pytest.raises(BillingError):
        first_line.delete()
    with pytest.raises(BillingError):
        InvoiceLine.objects.filter(invoice=invoice).update(unit_price=Decimal("1"))
    with pytest.raises(BillingError):
        InvoiceLine.objects.filter(invoice=invoice).delete()
    # And at the service level.
    with pytest.raises(BillingError, match="déjà émise"):
        services.invoice_issue(actor=None, invoice=invoice, today=D(2026, 4, 1))
    with pytest.raises(BillingError, match="ne peut pas être supprimée"):
        services.invoice_delete_draft(actor=None, invoice=invoice)
    stored = Invoice.objects.get(pk=invoice.pk)
    assert (stored.total_ttc, stored.lines.get().unit_price) == (Decimal("228.00"), Decimal("95.00"))


def test_payment_fields_stay_updatable_after_issue(client):
    invoice = _issued(client)  # 2 × 95 = 190 HT, 228.00 TTC
    Invoice.objects.filter(pk=invoice.pk).update(amount_paid=Decimal("10.00"))
    paid = services.invoice_payment_status_refresh(actor=None, invoice=invoice, today=D(2026, 4, 30),
                                                   amount_paid=Decimal("100.00"))
    assert (paid.status, paid.balance) == (InvoiceStatus.PARTLY_PAID, Decimal("128.00"))
    paid = services.invoice_payment_status_refresh(actor=None, invoice=invoice, today=D(2026, 4, 30),
                                                   amount_paid=Decimal("228.00"))
    assert (paid.status, paid.paid_at, paid.balance) == (InvoiceStatus.PAID, D(2026, 4, 30), Decimal("0.00"))


def test_draft_can_be_edited_and_deleted(client):
    draft = services.invoice_create_draft(actor=None, client=client, kind=InvoiceKind.EXTRA, lines=[line()])
    draft.notes = "modifiable"
    draft.save()
    draft.lines.update(unit_price=Decimal("50.00"))
    services.invoice_delete_draft(actor=None, invoice=draft)
    assert not Invoice.objects.exists()


def test_full_credit_note_cancels_the_invoice_l2(client):
    invoice = _issued(client, lines=[line("Intervention", "2", "95.00"), line("Forfait déplacement", "1", "30.00")])
    note = services.invoice_credit(actor=None, invoice=invoice, today=D(2026, 4, 2), reason="facturé à tort")
    assert note.document_type == DocumentType.CREDIT_NOTE
    assert note.credited_invoice_id == invoice.pk
    assert [(ln.description, ln.quantity, ln.unit_price, ln.total_ht) for ln in note.lines.order_by("position")] == [
        ("Intervention", Decimal("-2.00"), Decimal("95.00"), Decimal("-190.00")),
        ("Forfait déplacement", Decimal("-1.00"), Decimal("30.00"), Decimal("-30.00")),
    ]
    assert (note.total_ht, note.total_vat, note.total_ttc) == (Decimal("-220.00"), Decimal("-44.00"),
                                                               Decimal("-264.00"))
    assert "F-2026-000001" in note.notes and "facturé à tort" in note.notes
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CANCELLED
    with pytest.raises(BillingError):
        services.invoice_credit(actor=None, invoice=invoice, today=D(2026, 4, 2), reason="encore")


def test_partial_credit_notes_up_to_the_invoiced_quantity(client):
    invoice = _issued(client, lines=[line("Heures d'intervention", "4", "80.00")])  # 320 HT, 384 TTC
    the_line = invoice.lines.get()
    note = services.invoice_credit(actor=None, invoice=invoice, today=D(2026, 4, 2), reason="1 h de trop",
                                   lines=[(the_line, Decimal("1"))])
    assert (note.total_ht, note.total_ttc) == (Decimal("-80.00"), Decimal("-96.00"))
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.ISSUED
    with pytest.raises(BillingError, match="trop élevée"):
        services.invoice_credit(actor=None, invoice=invoice, today=D(2026, 4, 2), reason="x",
                                lines=[(the_line, Decimal("3.5"))])
    # Paying what is left after the credit note settles the invoice: 384 − 96 = 288.
    paid = services.invoice_payment_status_refresh(actor=None, invoice=invoice, today=D(2026, 4, 30),
                                                   amount_paid=Decimal("288.00"))
    assert paid.status == InvoiceStatus.PAID
    # Crediting the rest cancels it.
    rest = services.invoice_credit(actor=None, invoice=invoice, today=D(2026, 5, 2), reason="geste commercial")
    assert rest.total_ttc == Decimal("-288.00")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CANCELLED


def test_draft_cannot_be_credited_nor_empty_issued(client):
    draft = services.invoice_create_draft(actor=None, client=client, kind=InvoiceKind.EXTRA, lines=[])
    with pytest.raises(BillingError, match="sans ligne"):
        services.invoice_issue(actor=None, invoice=draft, today=D(2026, 3, 31))
    with pytest.raises(BillingError):
        services.invoice_credit(actor=None, invoice=draft, today=D(2026, 3, 31), reason="x")


def test_vat_and_out_of_scope_lines_never_share_an_invoice(client):
    with pytest.raises(BillingError, match="hors champ"):
        _issued(client, lines=[line("Intervention"), line("Indemnité forfaitaire", "1", "40.00", None)])
