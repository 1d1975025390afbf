"""Every portal page in the real browser: a full-page screenshot of each, and accessibility checks.

The walk takes every page of the ``portal`` URL namespace (the URL resolver again, so pages added by
other apps are included), signed in as the company administrator (who sees them all), with the first
object of the client for detail pages. On each page: ``<html lang>``, one ``<h1>``, every visible form
control has an accessible name (label), the navigation marks where we are with ``aria-current``, and
no horizontal scrolling on a 390 px phone screen for the dashboard.

``make screenshots`` runs this walk against the demo data (``PORTAL_SCREENSHOTS=demo``: the
``demo_data`` command is loaded into the test database and Paul of "Boulangerie Lemoine" signs in);
otherwise it runs on a small data set of its own. Screenshots go to var/screenshots/<page>.png.
"""
import datetime
import os

import pytest
from django.core.management import call_command
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import Error as PlaywrightError

from contracts.choices import ContactRole
from contracts.models import Contact
from tests.factories.contracts import ClientFactory, ContactFactory, ContractFactory, ContractLineFactory
from tests.factories.core import TEST_PASSWORD, ProviderProfileFactory
from tests.portal import isolation
from tests.portal.browser import log_in, shoot
from tests.portal.urlwalk import portal_patterns

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO = os.environ.get("PORTAL_SCREENSHOTS") == "demo"
DEMO_LOGIN = ("paul@boulangerie-lemoine.fr", "demo-client-2026")


def _first_objects(client) -> dict[str, dict]:
    """The URL arguments of one object of ``client`` per detail page, through the apps' selectors."""
    from backups import selectors as backups_selectors
    from billing import selectors as billing_selectors
    from contracts import selectors as contract_selectors
    from hosting import selectors as hosting_selectors
    from interventions import selectors as intervention_selectors
    from interventions.choices import InterventionStatus
    from interventions.models import Intervention

    found = {}
    contract = contract_selectors.contracts_for_client(client).first()
    invoice = billing_selectors.invoices_for_client(client).first()
    quote = billing_selectors.quotes_for_client(client).filter(status="sent").first() or (
        billing_selectors.quotes_for_client(client).first()
    )
    ticket = intervention_selectors.tickets_for_client(client).order_by("-opened_at").first()
    done = Intervention.objects.filter(client=client, status=InterventionStatus.DONE).first()
    device = backups_selectors.devices_for_client(client).first()
    mail = next((s for s in hosting_selectors.services_for_client(client) if s.is_mail), None)
    if contract:
        found["contract_detail"] = {"contract_id": contract.pk}
    if invoice:
        found["invoice_detail"] = {"invoice_id": invoice.pk}
    if quote:
        found["quote_detail"] = {"quote_id": quote.pk}
        if quote.status == "sent":
            found["quote_sign"] = {"quote_id": quote.pk}
    if ticket:
        found["ticket_detail"] = {"ticket_id": ticket.pk}
    if done:
        found["intervention_report"] = {"intervention_id": done.pk}
    if device:
        found["backup_device"] = {"pk": device.pk}
    if mail:
        found["hosting_change_request"] = {"pk": mail.pk}
    for name, build in (("gdpr_request_detail", _first_gdpr_request),):
        kwargs = build(client)
        if kwargs:
            found[name] = kwargs
    return found


def _first_gdpr_request(client):
    try:
        from gdpr.models import DataSubjectRequest
    except ImportError:
        return None
    first = DataSubjectRequest.objects.filter(client=client).first() if hasattr(DataSubjectRequest, "client") else None
    return {"request_id": first.pk} if first else None


def _own_data_set():
    """A small client with one of everything, when the walk does not run on the demo data."""
    from tests.factories.interventions import TicketFactory
    from tests.portal.builders import issue_invoice, send_quote

    ProviderProfileFactory()
    client = ClientFactory(name="Boulangerie Lemoine")
    paul = ContactFactory(client=client, first_name="Paul", last_name="Lemoine", portal_role=ContactRole.ADMIN,
                          email="paul@boulangerie-lemoine.fr", with_login=True)
    ContactFactory(client=client, first_name="Emma", last_name="Petit", portal_role=ContactRole.TECHNICAL,
                   email="emma@boulangerie-lemoine.fr", with_login=True)
    contract = ContractFactory(client=client, reference="CT-2025-0001", signature_date=datetime.date(2025, 3, 15))
    ContractLineFactory(contract=contract, description="Maintenance poste de travail", unit_price="35.00")
    issue_invoice(client, unit_price="140.00", description="Redevance de maintenance — décembre 2026")
    send_quote(client, valid_until=datetime.date(2099, 12, 31))
    TicketFactory(client=client, contract=contract, title="Imprimante hors ligne", contact=paul)
    return paul.user.username, TEST_PASSWORD, client


def _demo_data_set():
    call_command("demo_data", verbosity=0)
    contact = Contact.objects.select_related("client").get(email=DEMO_LOGIN[0])
    return DEMO_LOGIN[0], DEMO_LOGIN[1], contact.client


A11Y_CHECK = """() => {
  const problems = [];
  if (!document.documentElement.lang) problems.push('html without lang');
  const h1 = document.querySelectorAll('h1').length;
  if (h1 !== 1) problems.push(h1 + ' h1');
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || el.offsetParent === null) continue;
    const labelled = (el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
    if (!labelled) problems.push('no label: ' + (el.name || el.id || el.outerHTML.slice(0, 60)));
  }
  for (const b of document.querySelectorAll('button, a')) {
    if (!(b.innerText || '').trim() && !b.getAttribute('aria-label')) problems.push('empty control: ' + b.outerHTML.slice(0, 60));
  }
  return problems;
}"""


def test_every_portal_page_screenshot_and_accessibility(page, live_server):
    username, password, client = _demo_data_set() if DEMO else _own_data_set()
    page.goto(f"{live_server.url}/portal/connexion/")
    shoot(page, "login")
    log_in(page, live_server.url, username, password)
    objects = _first_objects(client)
    visited, problems = [], {}
    for pattern in portal_patterns():
        if pattern.name in isolation.PUBLIC_URLS:
            continue
        kwargs = objects.get(pattern.name, {}) if pattern.kwargs else {}
        if pattern.kwargs and not kwargs:
            continue  # no such object for this client (or a POST-only action)
        try:
            url = reverse(f"portal:{pattern.name}", kwargs=kwargs)
        except NoReverseMatch:
            continue
        try:
            response = page.goto(live_server.url + url)
        except PlaywrightError as exc:  # Chromium shows no page for an empty 405 (POST-only actions)
            if "ERR_HTTP_RESPONSE_CODE_FAILURE" in str(exc):
                continue
            raise
        content_type = response.headers.get("content-type", "")
        if response.status == 405 or not content_type.startswith("text/html"):
            continue  # POST-only actions, PDF and CSV downloads
        assert response.status == 200, (pattern.name, response.status)
        found = page.evaluate(A11Y_CHECK)
        if page.locator("nav[aria-label] a[aria-current]").count() == 0 and pattern.name not in ("users", "account_security"):
            found.append("no aria-current in the navigation")
        if found:
            problems[pattern.name] = found
        shoot(page, pattern.name)
        visited.append(pattern.name)
    required = {"dashboard", "contracts", "invoices", "statement", "quotes", "tickets", "ticket_create", "users",
                "equipment"}
    if not DEMO:  # the demo data may lack some objects for this client; our own data set has them all
        required |= {"contract_detail", "invoice_detail", "quote_detail", "ticket_detail"}
    assert required <= set(visited)
    assert problems == {}

    # Keyboard: the first Tab lands on the skip link, which is visible when focused.
    page.goto(f"{live_server.url}/portal/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    # Phone width: the dashboard does not scroll sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/portal/")
    shoot(page, "dashboard_mobile")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap'))
        .map(e => e.tagName + '.' + e.className).slice(0, 5)""")
    assert wide == []
