"""The hosting lines feed the contract's recurring invoice (CGV H5, B1), and an amendment never
touches a period whose invoice was already issued in advance (L2)."""
import datetime
from decimal import Decimal

import pytest

from billing import services as billing_services
from billing.models import Invoice
from contracts.choices import BillingFrequency
from core.dates import paris_datetime
from hosting import services
from hosting.choices import ChangeRequestOrigin, PricingMode
from tests.factories.hosting import HostingServiceFactory, certificate_for, price_table

pytestmark = pytest.mark.django_db


def _hosting_invoice_lines(period_start):
    invoice = Invoice.objects.get(kind="recurring", period_start=period_start)
    return [(ln.quantity, ln.unit_price) for ln in invoice.lines.all() if "Exchange" in ln.description]


def test_h5_b1_hosting_lines_are_billed_and_a_change_skips_an_already_invoiced_period(provider, settings):
    """Monthly contract, invoices issued 20 days ahead. Exchange in packs: 4 mailboxes (1 pack) billed
    in May; a change to 6 mailboxes completed on 20 April (May already invoiced) starts in June."""
    settings.BILLING_RECURRING_LEAD_DAYS = 20
    price_table()
    service = HostingServiceFactory(pricing_mode=PricingMode.PACK, mailbox_count=4,
                                    contract__billing_frequency=BillingFrequency.MONTHLY,
                                    contract__signature_date=datetime.date(2025, 1, 10))
    certificate_for(service.domain, not_after=datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC))
    services.service_activate(actor=None, service=service, now=paris_datetime(datetime.date(2026, 3, 2), 10))

    billing_services.recurring_invoices_issue(actor=None, today=datetime.date(2026, 4, 11), render_pdf=False,
                                              catch_up_days=0)
    assert _hosting_invoice_lines(datetime.date(2026, 5, 1)) == [(Decimal("1.00"), Decimal("40.00"))]

    request = services.change_request_create(actor=None, service=service, requested_mailboxes=6,
                                             origin=ChangeRequestOrigin.STAFF,
                                             now=paris_datetime(datetime.date(2026, 4, 18), 9))
    services.change_request_complete(actor=None, change_request=request,
                                     now=paris_datetime(datetime.date(2026, 4, 20), 16))
    request.refresh_from_db()
    assert request.effective_from == datetime.date(2026, 6, 1)
    lines = service.contract.lines.filter(source=service.contract_line_source).order_by("valid_from")
    assert [(ln.valid_from, ln.valid_until, ln.quantity) for ln in lines] == [
        (datetime.date(2026, 4, 1), datetime.date(2026, 5, 31), Decimal("1.00")),
        (datetime.date(2026, 6, 1), None, Decimal("2.00")),
    ]

    billing_services.recurring_invoices_issue(actor=None, today=datetime.date(2026, 5, 12), render_pdf=False,
                                              catch_up_days=0)
    assert _hosting_invoice_lines(datetime.date(2026, 6, 1)) == [(Decimal("2.00"), Decimal("40.00"))]
