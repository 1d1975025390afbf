"""Extra-work invoices from pending charges (CGV B2, P4, S5) and termination amounts (C4–C6)."""
import datetime
from decimal import Decimal

import pytest

from billing import services
from billing.choices import InvoiceKind, PaymentMethod
from billing.models import Charge, Invoice
from contracts.choices import Party, TerminationKind, TerminationStatus
from contracts.models import Termination
from core.nightly import run_nightly
from tests.factories.billing import ChargeFactory
from tests.factories.contracts import ClientFactory, ContractFactory

pytestmark = pytest.mark.django_db
D = datetime.date


def test_pending_charges_become_one_invoice_per_client_collected_on_the_30th_cgv_b2(provider):
    lemoine, durand = ClientFactory(name="Lemoine"), ClientFactory(name="Durand")
    ChargeFactory(client=lemoine, description="Intervention hors heures", quantity=Decimal("1.5"),
                  unit_price=Decimal("95.00"), service_date=D(2026, 1, 12))
    ChargeFactory(client=lemoine, description="Restauration sur devis (K8)", unit_price=Decimal("150.00"),
                  service_date=D(2026, 1, 20))
    ChargeFactory(client=durand, description="Intervention hors heures", unit_price=Decimal("95.00"),
                  service_date=D(2026, 1, 28))
    ChargeFactory(client=durand, description="Février, facturé le mois prochain", service_date=D(2026, 2, 2))

    result = run_nightly(today=D(2026, 2, 1), only=["billing.extra_work"])
    assert result[0]["result"] == {"invoiced": 2}
    first = Invoice.objects.get(client=lemoine)
    assert first.kind == InvoiceKind.EXTRA and first.payment_method == PaymentMethod.DIRECT_DEBIT
    # 1.5 × 95 = 142.50 + 150.00 = 292.50 HT, VAT 58.50, TTC 351.00
    assert (first.total_ht, first.total_vat, first.total_ttc) == (Decimal("292.50"), Decimal("58.50"),
                                                                  Decimal("351.00"))
    # Issued 1 February → collected on 30 March, the 30th of the month after the invoice (B2).
    assert (first.issue_date, first.collection_date, first.due_date) == (D(2026, 2, 1), D(2026, 3, 30),
                                                                         D(2026, 3, 30))
    assert set(first.charges.values_list("status", flat=True)) == {Charge.Status.INVOICED}
    assert [ln.service_start for ln in first.lines.order_by("position")] == [D(2026, 1, 12), D(2026, 1, 20)]
    # February's charge waits for March; a second run the same night invoices nothing.
    assert Charge.objects.filter(status=Charge.Status.PENDING).count() == 1
    assert run_nightly(today=D(2026, 2, 1), only=["billing.extra_work"])[0]["result"] == {"invoiced": 0}


def test_invoice_issued_in_january_is_collected_on_the_last_day_of_february_cgv_b2(provider):
    charge = ChargeFactory(service_date=D(2026, 1, 20))
    [invoice] = services.charges_invoice(actor=None, today=D(2026, 1, 31), charge_ids=[charge.pk])  # staff action
    assert (invoice.issue_date, invoice.collection_date) == (D(2026, 1, 31), D(2026, 2, 28))


def test_december_and_january_invoices_cross_the_year_cgv_b2(provider):
    ChargeFactory(service_date=D(2026, 12, 10))
    run_nightly(today=D(2027, 1, 1), only=["billing.extra_work"])
    assert Invoice.objects.get().collection_date == D(2027, 2, 28)
    ChargeFactory(service_date=D(2026, 11, 20))
    [invoice] = services.charges_invoice(actor=None, today=D(2026, 12, 5))
    assert invoice.collection_date == D(2027, 1, 30)


def test_out_of_scope_charges_get_their_own_penalty_invoice_l3(provider):
    client = ClientFactory()
    ChargeFactory(client=client, unit_price=Decimal("100.00"), service_date=D(2026, 3, 3))
    ChargeFactory(client=client, source="payments.indemnity", description="Indemnité forfaitaire (B3 c)",
                  unit_price=Decimal("40.00"), vat_rate=None, service_date=D(2026, 3, 4))
    invoices = services.charges_invoice(actor=None, today=D(2026, 4, 1), client=client)
    assert sorted((i.kind, i.total_ht, i.total_vat, i.total_ttc) for i in invoices) == [
        (InvoiceKind.EXTRA, Decimal("100.00"), Decimal("20.00"), Decimal("120.00")),
        (InvoiceKind.PENALTY, Decimal("40.00"), Decimal("0.00"), Decimal("40.00")),
    ]
    penalty = next(i for i in invoices if i.kind == InvoiceKind.PENALTY)
    assert penalty.vat_breakdown == [{"rate": None, "base": "40.00", "vat": "0.00"}]
    assert penalty.due_date == D(2026, 4, 1)  # payable on receipt


def _termination(contract, *, amount="2400.00", kind=TerminationKind.EARLY_CLIENT, status=TerminationStatus.RECORDED):
    return Termination.objects.create(
        contract=contract, kind=kind, requested_by=Party.CLIENT, status=status, letter_sent_on=D(2026, 6, 1),
        effective_on=D(2026, 6, 30), term_end=D(2027, 12, 31), monthly_amount=Decimal("100.00"), months_left=18,
        discount_rate=Decimal("0"), amount_due=Decimal(amount),
    )


def test_termination_amount_is_invoiced_once_cgv_c4(provider):
    contract = ContractFactory(reference="CT-2026-0099")
    termination = _termination(contract, amount="1800.00")
    invoice = services.invoice_for_termination(actor=None, termination=termination, today=D(2026, 6, 2))
    assert invoice.kind == InvoiceKind.TERMINATION and invoice.contract == contract
    assert (invoice.total_ht, invoice.total_ttc) == (Decimal("1800.00"), Decimal("2160.00"))
    assert invoice.payment_method == PaymentMethod.TRANSFER and invoice.due_date == D(2026, 6, 2)
    assert "CT-2026-0099" in invoice.lines.get().description
    again = services.invoice_for_termination(actor=None, termination=termination, today=D(2026, 6, 3))
    assert again.pk == invoice.pk
    assert run_nightly(today=D(2026, 6, 3), only=["billing.terminations"])[0]["result"] == {"invoiced": 0}
    assert Invoice.objects.count() == 1


def test_nightly_invoices_terminations_with_an_amount_cgv_c5_c6(provider):
    amicable = _termination(ContractFactory(), amount="1440.00", kind=TerminationKind.AMICABLE)  # 20 % off (C5)
    _termination(ContractFactory(), amount="0", kind=TerminationKind.AT_TERM)  # C3: nothing owed
    _termination(ContractFactory(), amount="500.00", status=TerminationStatus.WITHDRAWN)
    for_cause = _termination(ContractFactory(), amount="2400.00", kind=TerminationKind.FOR_CAUSE)
    assert run_nightly(today=D(2026, 7, 1), only=["billing.terminations"])[0]["result"] == {"invoiced": 2}
    assert sorted(Invoice.objects.values_list("contract_id", "total_ht")) == sorted([
        (amicable.contract_id, Decimal("1440.00")), (for_cause.contract_id, Decimal("2400.00")),
    ])
    assert run_nightly(today=D(2026, 7, 2), only=["billing.terminations"])[0]["result"] == {"invoiced": 0}
