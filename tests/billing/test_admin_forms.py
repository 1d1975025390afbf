"""Staff forms of billing: partial credit note (L2), counter sale and shop return (CGV P1).

Who is who: ``staff`` is a MIS superuser; ``accountant`` is in the Accounting
group (may credit and sell); ``technician`` is in the Technicians group (no
right on invoices: every page below answers 403 and nothing is written).
Forms only check the input; the services do the work, so a refusal leaves no
row behind.
"""
import datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing import services
from billing.choices import DocumentType, InvoiceKind, InvoiceStatus, PaymentMethod
from billing.models import Invoice, ShopReturn
from core.models import AuditLogEntry
from core.roles import ACCOUNTING, TECHNICIANS, setup_roles
from tests.factories.billing import line
from tests.factories.contracts import ClientFactory
from tests.factories.core import StaffUserFactory

pytestmark = pytest.mark.django_db
D = datetime.date
# 10:00 in Paris on 4 May 2026: the business date of every form below.
NOW = datetime.datetime(2026, 5, 4, 8, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def _member_of(group):
    setup_roles()
    user = StaffUserFactory()
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def technician(client, db):
    client.force_login(_member_of(TECHNICIANS))
    return client


@pytest.fixture
def accountant(client, db):
    client.force_login(_member_of(ACCOUNTING))
    return client


@pytest.fixture
def mixed_invoice(provider):
    """F-2026-000001: 3 × 85.00 at 20 %, 2 × 19.99 at 5.5 %, 1 × 15.00 at 20 % (309.98 HT)."""
    draft = services.invoice_create_draft(
        actor=None, client=ClientFactory(name="Boulangerie Lemoine"), kind=InvoiceKind.EXTRA,
        lines=[line("Forfait intervention", "3", "85.00"), line("Guide utilisateur", "2", "19.99", Decimal("5.5")),
               line("Câble RJ45", "1", "15.00")],
    )
    return services.invoice_issue(actor=None, invoice=draft, today=D(2026, 4, 30))


@pytest.fixture
def shop_sale(provider):
    return services.shop_sale_record(
        actor=None, client=ClientFactory(), payment_method=PaymentMethod.CARD, today=D(2026, 5, 2),
        lines=[line("Souris sans fil", "2", "24.90"), line("Disque SSD 1 To", "1", "89.00")],
    )


def _credit_post(invoice, quantities, reason="geste commercial"):
    lines = list(invoice.lines.order_by("position"))
    return {"reason": reason, **{f"line_{ln.pk}": qty for ln, qty in zip(lines, quantities, strict=True)}}


def _credit_notes():
    return Invoice.objects.filter(document_type=DocumentType.CREDIT_NOTE)


# --- partial credit note -----------------------------------------------------------------------------------------


def test_partial_credit_note_totals_per_vat_rate_to_the_cent_l2(staff, staff_user, mixed_invoice):
    url = reverse("admin:billing_invoice_partial_credit", args=[mixed_invoice.pk])
    page = staff.get(url)
    assert page.status_code == 200
    assert "Forfait intervention" in page.content.decode() and "309,98" not in page.content.decode()
    # French decimal comma accepted: 1.5 of the 85.00 line, 1 of the 19.99 line, nothing of the cable.
    response = staff.post(url, _credit_post(mixed_invoice, ["1,5", "1", "0"]), follow=True)
    note = _credit_notes().get()
    assert response.redirect_chain == [(reverse("admin:billing_invoice_change", args=[note.pk]), 302)]
    assert "Avoir AV-2026-000001 émis : -174,09\xa0€ TTC." in response.content.decode()
    assert (note.number, note.issue_date, note.credited_invoice_id) == ("AV-2026-000001", D(2026, 5, 4),
                                                                      mixed_invoice.pk)
    # 20 %: -1.5 × 85.00 = -127.50, VAT -25.50; 5.5 %: -19.99, VAT -1.09945 → -1.10.
    assert note.vat_breakdown == [{"rate": "20.00", "base": "-127.50", "vat": "-25.50"},
                                  {"rate": "5.50", "base": "-19.99", "vat": "-1.10"}]
    assert (note.total_ht, note.total_vat, note.total_ttc) == (Decimal("-147.49"), Decimal("-26.60"),
                                                               Decimal("-174.09"))
    assert sorted((ln.description, ln.quantity) for ln in note.lines.all()) == [
        ("Forfait intervention", Decimal("-1.50")), ("Guide utilisateur", Decimal("-1.00"))]
    assert "geste commercial" in note.notes
    mixed_invoice.refresh_from_db()
    assert mixed_invoice.status == InvoiceStatus.ISSUED  # partly credited: not cancelled
    actions = set(AuditLogEntry.objects.filter(actor=staff_user).values_list("action", flat=True))
    assert {"billing.credit_note.issued", "billing.invoice.credited"} <= actions


def test_over_credit_is_refused_with_the_message_and_nothing_saved_l2(staff, mixed_invoice):
    url = reverse("admin:billing_invoice_partial_credit", args=[mixed_invoice.pk])
    assert staff.post(url, _credit_post(mixed_invoice, ["1,5", "0", "0"])).status_code == 302
    page = staff.get(url).content.decode()
    assert "1,5" in page and "127,50" in page  # 1.5 left of 3, i.e. 127.50 € HT still creditable
    response = staff.post(url, _credit_post(mixed_invoice, ["2", "1", "0"]))
    assert response.status_code == 200
    assert "Quantité à créditer trop élevée pour « Forfait intervention » : 1,5 restant." in response.content.decode()
    assert _credit_notes().count() == 1  # the guide line of the refused form was not credited either
    assert AuditLogEntry.objects.filter(action="billing.credit_note.issued").count() == 1


@pytest.mark.parametrize(("quantities", "reason", "message"), [
    (["0", "0", "0"], "erreur", "Indiquez la quantité à créditer sur au moins une ligne."),
    (["1", "0", "0"], "", "Ce champ est obligatoire."),
    (["-1", "0", "0"], "erreur", "Assurez-vous que cette valeur est supérieure ou égale à 0."),
    (["un", "0", "0"], "erreur", "Saisissez un nombre."),
])
def test_partial_credit_form_errors_are_in_french_and_save_nothing(staff, mixed_invoice, quantities, reason, message):
    url = reverse("admin:billing_invoice_partial_credit", args=[mixed_invoice.pk])
    response = staff.post(url, _credit_post(mixed_invoice, quantities, reason))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not _credit_notes().exists()


def test_fully_credited_invoice_is_cancelled_and_offers_no_more_credit(staff, mixed_invoice):
    url = reverse("admin:billing_invoice_partial_credit", args=[mixed_invoice.pk])
    assert staff.post(url, _credit_post(mixed_invoice, ["3", "2", "1"])).status_code == 302
    mixed_invoice.refresh_from_db()
    assert mixed_invoice.status == InvoiceStatus.CANCELLED
    assert _credit_notes().get().total_ttc == -mixed_invoice.total_ttc
    change = staff.get(reverse("admin:billing_invoice_change", args=[mixed_invoice.pk])).content.decode()
    assert url not in change
    response = staff.get(url)
    assert response.status_code == 302 and response.url == reverse("admin:billing_invoice_change",
                                                                   args=[mixed_invoice.pk])


def test_change_page_offers_the_partial_credit_on_issued_invoices_only(staff, mixed_invoice):
    page = staff.get(reverse("admin:billing_invoice_change", args=[mixed_invoice.pk])).content.decode()
    assert reverse("admin:billing_invoice_partial_credit", args=[mixed_invoice.pk]) in page
    assert "Retour / remboursement" not in page  # not a shop sale
    note = services.invoice_credit(actor=None, invoice=mixed_invoice, today=D(2026, 5, 4), reason="erreur",
                                   lines=[(mixed_invoice.lines.first(), Decimal("1"))])
    note_page = staff.get(reverse("admin:billing_invoice_change", args=[note.pk])).content.decode()
    assert "Avoir partiel" not in note_page


def test_partial_credit_page_query_count_does_not_grow_with_lines(staff, provider, django_assert_num_queries):
    def queries(count):
        draft = services.invoice_create_draft(actor=None, client=ClientFactory(), kind=InvoiceKind.EXTRA,
                                              lines=[line(f"Ligne {i}", "1", "10.00") for i in range(count)])
        invoice = services.invoice_issue(actor=None, invoice=draft, today=D(2026, 5, 4))
        url = reverse("admin:billing_invoice_partial_credit", args=[invoice.pk])
        with CaptureQueriesContext(connection) as ctx:
            assert staff.get(url).status_code == 200
        return len(ctx.captured_queries)

    assert queries(3) == queries(30)
    invoice = Invoice.objects.first()
    # session, user, invoice + client, its lines, its credit notes (their lines are prefetched only when some
    # exist), and the admin sidebar's "may add the provider profile" check.
    with django_assert_num_queries(6):
        staff.get(reverse("admin:billing_invoice_partial_credit", args=[invoice.pk]))


# --- counter sale ------------------------------------------------------------------------------------------------


def _sale_post(customer, rows, **fields):
    data = {"client": customer.pk, "payment_method": "card", "paid": "on", "lines-TOTAL_FORMS": "5",
            "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "1", "lines-MAX_NUM_FORMS": "50", **fields}
    for i in range(5):  # unused rows come back with their initial values, as a browser sends them
        description, quantity, price, rate = rows[i] if i < len(rows) else ("", "1", "", "20.00")
        data.update({f"lines-{i}-description": description, f"lines-{i}-quantity": quantity,
                     f"lines-{i}-unit_price": price, f"lines-{i}-vat_rate": rate})
    return data


def test_counter_sale_form_issues_a_paid_shop_invoice_cgv_p1(staff, staff_user, provider):
    customer = ClientFactory(name="Garage du Port")
    url = reverse("admin:billing_invoice_shop_sale")
    assert staff.get(url).status_code == 200
    assert url in staff.get(reverse("admin:billing_invoice_changelist")).content.decode()
    response = staff.post(url, _sale_post(customer, [("Souris sans fil", "2", "24,90", "20.00"),
                                                      ("Disque SSD 1 To", "1", "89", "20.00"),
                                                      ("Guide Windows 11", "1", "12,50", "5.50")]))
    assert response.status_code == 302
    sale = Invoice.objects.get()
    assert response.url == reverse("admin:billing_invoice_change", args=[sale.pk])
    # 20 %: 2 × 24.90 + 89.00 = 138.80, VAT 27.76; 5.5 %: 12.50, VAT 0.6875 → 0.69.
    assert (sale.kind, sale.number, sale.client, sale.issue_date, sale.due_date) == (
        InvoiceKind.SHOP, "F-2026-000001", customer, D(2026, 5, 4), D(2026, 5, 4))
    assert (sale.total_ht, sale.total_vat, sale.total_ttc) == (Decimal("151.30"), Decimal("28.45"),
                                                               Decimal("179.75"))
    assert (sale.status, sale.amount_paid, sale.payment_method) == (InvoiceStatus.PAID, Decimal("179.75"), "card")
    assert sale.lines.count() == 3
    assert AuditLogEntry.objects.filter(actor=staff_user, action="billing.invoice.issued").count() == 1


def test_counter_sale_unpaid_by_transfer_stays_issued(staff, provider):
    customer = ClientFactory()
    response = staff.post(reverse("admin:billing_invoice_shop_sale"),
                          _sale_post(customer, [("Clavier", "1", "30,00", "20.00")], payment_method="transfer",
                                     paid=""))
    assert response.status_code == 302
    sale = Invoice.objects.get()
    assert (sale.status, sale.amount_paid, sale.total_ttc) == (InvoiceStatus.ISSUED, Decimal("0.00"),
                                                               Decimal("36.00"))


@pytest.mark.parametrize(("rows", "fields", "message"), [
    ([], {}, "Saisissez au moins un article vendu."),
    ([("Clavier", "1", "", "20.00")], {}, "Ce champ est obligatoire."),
    ([("Clavier", "0", "30", "20.00")], {}, "Indiquez une quantité supérieure à zéro."),
    ([("Clavier", "1", "30", "20.00")], {"payment_method": "direct_debit"}, "Sélectionnez un choix valide."),
])
def test_counter_sale_form_errors_save_nothing(staff, provider, rows, fields, message):
    response = staff.post(reverse("admin:billing_invoice_shop_sale"), _sale_post(ClientFactory(), rows, **fields))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Invoice.objects.exists()


# --- shop return -------------------------------------------------------------------------------------------------


def _return_post(sale, description, **fields):
    return {"line": sale.lines.get(description=description).pk, "quantity": "1", **fields}


def test_non_defective_return_is_refused_and_creates_no_credit_note_cgv_p1(staff, shop_sale):
    url = reverse("admin:billing_invoice_shop_return", args=[shop_sale.pk])
    change = staff.get(reverse("admin:billing_invoice_change", args=[shop_sale.pk])).content.decode()
    assert url in change
    assert staff.get(url).status_code == 200
    for fields in [{"defect_description": "ne plaît plus"}, {"defective": "on", "defect_description": "  "}]:
        response = staff.post(url, _return_post(shop_sale, "Souris sans fil", **fields))
        assert response.status_code == 200
        assert "Les achats en boutique sont définitifs" in response.content.decode()
    assert not _credit_notes().exists()
    assert not ShopReturn.objects.exists()
    shop_sale.refresh_from_db()
    assert shop_sale.status == InvoiceStatus.PAID


def test_defective_return_produces_the_credit_note_cgv_p1(staff, staff_user, shop_sale):
    url = reverse("admin:billing_invoice_shop_return", args=[shop_sale.pk])
    response = staff.post(url, _return_post(shop_sale, "Souris sans fil", defective="on",
                                            defect_description="clic gauche inopérant"))
    assert response.status_code == 302
    record = ShopReturn.objects.get()
    note = record.credit_note
    assert response.url == reverse("admin:billing_invoice_change", args=[note.pk])
    assert (note.number, note.credited_invoice_id, note.issue_date) == ("AV-2026-000001", shop_sale.pk, D(2026, 5, 4))
    assert (note.total_ht, note.total_vat, note.total_ttc) == (Decimal("-24.90"), Decimal("-4.98"), Decimal("-29.88"))
    assert (record.quantity, record.defect_description, record.recorded_by) == (
        Decimal("1.00"), "clic gauche inopérant", staff_user)
    assert AuditLogEntry.objects.filter(actor=staff_user, action="billing.shop_return.recorded").count() == 1
    # Two mice were sold: a third one cannot come back.
    staff.post(url, _return_post(shop_sale, "Souris sans fil", defective="on", defect_description="idem"))
    response = staff.post(url, _return_post(shop_sale, "Souris sans fil", defective="on", defect_description="idem"))
    assert response.status_code == 200 and "trop élevée" in response.content.decode()
    assert ShopReturn.objects.count() == 2


def test_return_form_only_for_shop_sales(staff, mixed_invoice, shop_sale):
    response = staff.get(reverse("admin:billing_invoice_shop_return", args=[mixed_invoice.pk]))
    assert response.status_code == 302
    other_line = mixed_invoice.lines.first()
    response = staff.post(reverse("admin:billing_invoice_shop_return", args=[shop_sale.pk]),
                          {"line": other_line.pk, "quantity": "1", "defective": "on", "defect_description": "HS"})
    assert response.status_code == 200  # a line of another invoice is not a choice
    assert "Sélectionnez un choix valide" in response.content.decode()
    assert not ShopReturn.objects.exists()


# --- roles -------------------------------------------------------------------------------------------------------


def test_technician_gets_403_and_nothing_is_written(technician, mixed_invoice, shop_sale):
    partial = reverse("admin:billing_invoice_partial_credit", args=[mixed_invoice.pk])
    shop_return = reverse("admin:billing_invoice_shop_return", args=[shop_sale.pk])
    sale = reverse("admin:billing_invoice_shop_sale")
    for url in (partial, shop_return, sale):
        assert technician.get(url).status_code == 403
    assert technician.post(partial, _credit_post(mixed_invoice, ["1", "0", "0"])).status_code == 403
    assert technician.post(shop_return, _return_post(shop_sale, "Souris sans fil", defective="on",
                                                     defect_description="HS")).status_code == 403
    assert technician.post(sale, _sale_post(ClientFactory(), [("Clavier", "1", "30", "20.00")])).status_code == 403
    assert Invoice.objects.count() == 2 and not ShopReturn.objects.exists()


def test_accountant_may_credit_and_sell(accountant, mixed_invoice):
    url = reverse("admin:billing_invoice_partial_credit", args=[mixed_invoice.pk])
    assert accountant.get(url).status_code == 200
    assert accountant.post(url, _credit_post(mixed_invoice, ["1", "0", "0"])).status_code == 302
    assert _credit_notes().get().total_ttc == Decimal("-102.00")
    assert accountant.get(reverse("admin:billing_invoice_shop_sale")).status_code == 200
