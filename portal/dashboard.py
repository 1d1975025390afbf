"""What the dashboard shows, by role, gathered from the apps' client-scoped selectors.

Everyone: the running contracts (term, notice deadline) and the notices (services suspended under
CGV C10/B3 d, planned hosting maintenance H2). Billing: the invoices left to pay and the next direct
debit. Technical: the open tickets with their intervention deadline (CGV S2).
"""
import datetime

from contracts import selectors as contract_selectors
from hosting import selectors as hosting_selectors
from interventions import selectors as intervention_selectors
from payments import selectors as payment_selectors

LIST_LIMIT = 10


def dashboard_context(request, *, today: datetime.date, now: datetime.datetime) -> dict:
    client, can = request.client, request.portal_can
    context = {
        "today": today,
        "contracts": contract_selectors.active_contracts_for_client(client),
        "suspensions": contract_selectors.open_suspensions_for_client(client),
        "formal_notice": payment_selectors.client_in_dunning(client),
        "maintenance_windows": list(hosting_selectors.maintenance_for_client(client, now=now)[:LIST_LIMIT]),
        "billing_enabled": can.billing,
        "tickets_enabled": can.technical,
    }
    if can.billing:
        # open_balance = TTC + credit notes − paid: what staff see on the aged balance.
        unpaid = list(payment_selectors.open_invoices(client=client)[:LIST_LIMIT])
        context["unpaid_invoices"] = unpaid
        upcoming = [inv for inv in unpaid if inv.collection_date and inv.collection_date >= today]
        context["next_collection"] = min(upcoming, key=lambda inv: inv.collection_date) if upcoming else None
    if can.technical:
        context["open_tickets"] = list(intervention_selectors.open_tickets_for_client(client)[:LIST_LIMIT])
    return context
