"""Portal page of payments: the SEPA mandate, the payments received and a running formal notice."""
from django.shortcuts import render

from core.dates import business_today
from payments import selectors
from payments.choices import MandateStatus
from payments.models import Mandate, Payment
from portal.access import BILLING, portal_view


@portal_view(BILLING)
def payments_overview(request):
    """Scoped by ``request.client``: its active mandate, its 50 latest payments with allocations, its dunning."""
    client = request.client
    context = {
        "mandate": Mandate.objects.filter(client=client, status=MandateStatus.ACTIVE).first(),
        "payments": Payment.objects.filter(client=client).prefetch_related("allocations__invoice")[:50],
        "notice": selectors.client_in_dunning(client),
        "debt": selectors.client_due_debt(client=client, today=business_today()),
    }
    return render(request, "portal/payments/overview.html", context)
