"""Staff admin of billing (who: ``staff_user``, a superuser of MIS) and the C11 liability-cap selector.

Portal users never reach /admin/ (core middleware, tested in tests/portal).
"""
import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing import services
from billing.choices import InvoiceKind, InvoiceStatus
from billing.models import Invoice
from billing.selectors import contract_first_year_paid
from core.models import OutboundEmail
from tests.factories.billing import line
from tests.factories.contracts import ClientFactory, ContractFactory, ContractLineFactory

pytestmark = pytest.mark.django_db
D = datetime.date


def _issue(client, today, lines=None, **kwargs):
    draft = services.invoice_create_draft(actor=None, client=client, kind=kwargs.pop("kind", InvoiceKind.EXTRA),
                                          lines=lines or [line("Intervention", "1", "100.00")], **kwargs)
    return services.invoice_issue(actor=None, invoice=draft, today=today)


def _changelist_queries(staff, params=""):
    with CaptureQueriesContext(connection) as ctx:
        response = staff.get(reverse("admin:billing_invoice_changelist") + params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_invoice_list_query_count_is_pinned_and_filters_work(staff, provider):
    customer = ClientFactory()
    for _ in range(5):
        _issue(customer, D(2026, 3, 31))
    five = _changelist_queries(staff)
    for _ in range(45):
        _issue(customer, D(2026, 3, 31))
    assert _changelist_queries(staff) == five
    for params in ["?status=issued", "?kind=extra", "?amount=100-500", f"?client__id__exact={customer.pk}",
                   "?document_type=invoice", "?period_start__gte=2026-01-01", "?q=F-2026"]:
        assert staff.get(reverse("admin:billing_invoice_changelist") + params).status_code == 200


def test_issued_invoice_is_read_only_in_the_admin_l2(staff, provider):
    invoice = _issue(ClientFactory(), D(2026, 3, 31))
    url = reverse("admin:billing_invoice_change", args=[invoice.pk])
    response = staff.get(url)
    assert response.status_code == 200
    assert b'name="notes"' not in response.content
    staff.post(url, {"notes": "modifié", "lines-TOTAL_FORMS": "0", "lines-INITIAL_FORMS": "0"})
    invoice.refresh_from_db()
    assert invoice.notes == ""
    response = staff.post(reverse("admin:billing_invoice_delete", args=[invoice.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_admin_actions_issue_credit_resend_download(staff, provider, run_on_commit):
    customer = ClientFactory()
    draft = services.invoice_create_draft(actor=None, client=customer, kind=InvoiceKind.EXTRA, lines=[line()])
    changelist = reverse("admin:billing_invoice_changelist")
    with run_on_commit():
        staff.post(changelist, {"action": "issue_selected", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.ISSUED and draft.pdf
    pdf = staff.get(reverse("admin:billing_invoice_pdf", args=[draft.pk]))
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content)[:5] == b"%PDF-"
    response = staff.post(changelist, {"action": "download_selected", "_selected_action": [draft.pk]})
    assert response.status_code == 302 and response.url == reverse("admin:billing_invoice_pdf", args=[draft.pk])
    with run_on_commit():
        staff.post(changelist, {"action": "resend_selected", "_selected_action": [draft.pk]})
    assert OutboundEmail.objects.filter(subject=f"Facture {draft.number}").count() == 2  # first send + re-send
    staff.post(changelist, {"action": "credit_selected", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.CANCELLED
    assert draft.credit_notes.get().number == "AV-2026-000001"


def test_sales_journal_csv_for_the_accountant(staff, provider):
    lemoine = ClientFactory(name="Boulangerie Lemoine", siren="845123454")
    first = _issue(lemoine, D(2026, 3, 2), lines=[line("Intervention", "1", "100.00"),
                                                  line("Livre", "1", "20.00", Decimal("5.5"))])
    _issue(lemoine, D(2026, 4, 1))  # outside the period
    services.invoice_credit(actor=None, invoice=first, today=D(2026, 3, 31), reason="erreur")
    response = staff.get(reverse("admin:billing_invoice_sales_journal"), {"start": "2026-03-01", "end": "2026-03-31"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.content.decode().splitlines() == [
        "numéro;date;type;client;SIREN;HT 20 %;HT 5,5 %;TVA;TTC",
        "F-2026-000001;02/03/2026;facture;Boulangerie Lemoine;845123454;100,00;20,00;21,10;141,10",
        "AV-2026-000001;31/03/2026;avoir;Boulangerie Lemoine;845123454;-100,00;-20,00;-21,10;-141,10",
    ]
    assert staff.get(reverse("admin:billing_invoice_sales_journal")).status_code == 200  # the form


def test_contract_first_year_paid_is_the_liability_cap_cgv_c11(staff, provider):
    contract = ContractFactory(signature_date=D(2026, 3, 15))
    ContractLineFactory(contract=contract, unit_price=Decimal("100.00"))
    services.recurring_invoices_issue(actor=None, today=D(2026, 3, 15))
    services.recurring_invoices_issue(actor=None, today=D(2026, 4, 1))
    march, april = Invoice.objects.order_by("period_start")
    services.invoice_payment_status_refresh(actor=None, invoice=march, today=D(2026, 4, 15),
                                            amount_paid=march.total_ttc)  # 54.84 HT → 65.81 TTC
    services.invoice_payment_status_refresh(actor=None, invoice=april, today=D(2026, 4, 15),
                                            amount_paid=Decimal("50.00"))
    # A period of the second contract year (from 15 March 2027) does not count.
    services.recurring_invoices_issue(actor=None, today=D(2027, 4, 1))
    later = Invoice.objects.get(period_start=D(2027, 4, 1))
    services.invoice_payment_status_refresh(actor=None, invoice=later, today=D(2027, 4, 15),
                                            amount_paid=later.total_ttc)
    assert contract_first_year_paid(contract) == Decimal("65.81") + Decimal("50.00")
    response = staff.get(reverse("admin:contracts_contract_change", args=[contract.pk]))
    assert response.status_code == 200
    assert "115,81" in response.content.decode()


def test_quote_admin_documents_and_hand_signature_cgv_b5(staff, provider, run_on_commit):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from billing.choices import QuoteStatus

    quote = services.quote_create(actor=None, client=ClientFactory(), title="Restauration (K8)",
                                  lines=[line("Restauration de 2 sites", "1", "180.00")])
    with run_on_commit():
        quote = services.quote_send(actor=None, quote=quote, today=D(2026, 3, 2))
    change = staff.get(reverse("admin:billing_quote_change", args=[quote.pk]))
    assert change.status_code == 200
    assert reverse("admin:billing_quote_hand_signature", args=[quote.pk]) in change.content.decode()
    document = staff.get(reverse("admin:billing_quote_document", args=[quote.pk, "pdf"]))
    assert document.status_code == 200 and b"".join(document.streaming_content)[:5] == b"%PDF-"
    assert staff.get(reverse("admin:billing_quote_document", args=[quote.pk, "other"])).status_code == 404
    response = staff.post(reverse("admin:billing_quote_hand_signature", args=[quote.pk]), {
        "signer_name": "Hélène Durand", "signed_on": "2026-03-05",
        "scan": SimpleUploadedFile("signé.pdf", b"%PDF-1.4 scan", content_type="application/pdf"),
    })
    assert response.status_code == 302
    quote.refresh_from_db()
    assert (quote.status, quote.signer_name, quote.payment_due_date) == (QuoteStatus.ORDERED, "Hélène Durand",
                                                                         D(2026, 5, 5))
    invoice_page = staff.get(reverse("admin:billing_invoice_add"))
    assert invoice_page.status_code == 200
