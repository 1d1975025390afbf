"""Shop sales at the counter (CGV P1, "GECO informatique"): final, except a defective item."""
import datetime
from decimal import Decimal

import pytest

from billing import services
from billing.choices import DocumentType, InvoiceKind, InvoiceStatus, PaymentMethod
from billing.exceptions import BillingError
from billing.models import Invoice, ShopReturn
from tests.factories.billing import line
from tests.factories.contracts import ClientFactory

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def sale(provider):
    return services.shop_sale_record(
        actor=None, client=ClientFactory(), payment_method=PaymentMethod.CARD, today=D(2026, 5, 4),
        lines=[line("Souris sans fil", "2", "24.90"), line("Disque SSD 1 To", "1", "89.00")],
    )


def test_counter_sale_is_issued_and_paid_at_once_cgv_p1(sale):
    assert (sale.kind, sale.number, sale.status) == (InvoiceKind.SHOP, "F-2026-000001", InvoiceStatus.PAID)
    # 2 × 24.90 + 89 = 138.80 HT, VAT 27.76, TTC 166.56
    assert (sale.total_ht, sale.total_vat, sale.total_ttc, sale.amount_paid) == (
        Decimal("138.80"), Decimal("27.76"), Decimal("166.56"), Decimal("166.56"))
    assert (sale.issue_date, sale.due_date, sale.collection_date) == (D(2026, 5, 4), D(2026, 5, 4), None)


def test_refund_refused_unless_the_item_is_defective_cgv_p1(sale):
    mouse = sale.lines.get(description="Souris sans fil")
    with pytest.raises(BillingError, match="définitifs"):
        services.shop_return(actor=None, invoice_line=mouse, quantity=Decimal("1"), defective=False,
                             defect_description="ne plaît plus", today=D(2026, 5, 6))
    with pytest.raises(BillingError, match="définitifs"):
        services.shop_return(actor=None, invoice_line=mouse, quantity=Decimal("1"), defective=True,
                             defect_description="  ", today=D(2026, 5, 6))
    assert not Invoice.objects.filter(document_type=DocumentType.CREDIT_NOTE).exists()
    assert not ShopReturn.objects.exists()


def test_defective_item_produces_the_credit_note_cgv_p1(sale):
    mouse = sale.lines.get(description="Souris sans fil")
    record = services.shop_return(actor=None, invoice_line=mouse, quantity=Decimal("1"), defective=True,
                                  defect_description="clic gauche inopérant", today=D(2026, 5, 6))
    note = record.credit_note
    assert (note.document_type, note.number, note.credited_invoice) == (DocumentType.CREDIT_NOTE, "AV-2026-000001",
                                                                        sale)
    assert (note.total_ht, note.total_vat, note.total_ttc) == (Decimal("-24.90"), Decimal("-4.98"),
                                                               Decimal("-29.88"))
    assert "clic gauche inopérant" in note.notes
    with pytest.raises(BillingError, match="trop élevée"):
        services.shop_return(actor=None, invoice_line=mouse, quantity=Decimal("2"), defective=True,
                             defect_description="l'autre aussi", today=D(2026, 5, 7))
