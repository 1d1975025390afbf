"""What the dashboard shows, by role, gathered from the apps' client-scoped selectors."""
import datetime

from contracts import selectors as contract_selectors


def dashboard_context(request, *, today: datetime.date, now: datetime.datetime) -> dict:
    client = request.client
    context = {
        "today": today,
        # Everyone sees the running contracts' term and notice deadline, and the notices.
        "contracts": contract_selectors.active_contracts_for_client(client),
        "suspensions": contract_selectors.open_suspensions_for_client(client),
    }
    return context
