"""Portal page of payments: client A's contact sees A's mandate, payments and notice only (client B's are not)."""
import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.choices import InvoiceKind
from payments import services
from payments.choices import PaymentMethod
from tests.factories.payments import MandateFactory, issued_invoice

D = datetime.date


@pytest.fixture
def data(provider, client_a, client_b):
    MandateFactory(client=client_a, reference="RUM-A-PORTAIL")
    MandateFactory(client=client_b, reference="RUM-B-SECRET")
    for client, ref in ((client_a, "VIR-A"), (client_b, "VIR-B")):
        issued_invoice(client=client, today=D(2026, 3, 2), kind=InvoiceKind.ORDER, due_date=D(2026, 3, 15))
        services.payment_record(actor=None, client=client, method=PaymentMethod.TRANSFER, amount=Decimal("50"),
                                received_on=D(2026, 3, 10), today=D(2026, 3, 10), reference=ref)
    services.formal_notice_issue(actor=None, client=client_a, sent_on=D(2026, 4, 1), today=D(2026, 4, 1))


def test_portal_payments_page_is_scoped_to_the_contact_client(client, portal_user, data):
    client.force_login(portal_user)
    page = client.get(reverse("portal:payments")).content.decode()
    assert "RUM-A-PORTAIL" in page and "VIR-A" in page and "Mise en demeure" in page
    assert "RUM-B-SECRET" not in page and "VIR-B" not in page


def test_portal_payments_page_for_client_b_has_no_notice(client, other_portal_user, data):
    client.force_login(other_portal_user)
    page = client.get(reverse("portal:payments")).content.decode()
    assert "RUM-B-SECRET" in page and "Mise en demeure" not in page and "RUM-A-PORTAIL" not in page
