"""The isolation matrix: every portal URL, found by walking the URL resolver, against another client.

Who is who: ``alice`` is the company administrator of client A (admins see
every portal page, so roles never hide a leak); client B owns the objects put
in the URLs. Alice must get a 404 for every one of them, on GET and on POST
(a POST-only view may answer 405 to GET, never 200, 302 or 403). The same URLs
built with client A's own objects must work, so a 404 is never an accident of
a broken URL. Pages added later by other engineers are picked up automatically;
if their URL arguments are unknown, ``test_every_portal_url_has_a_builder``
fails and says what to add to ``tests/portal/isolation.py``.
"""
import pytest
from django.contrib import admin
from django.urls import reverse

from contracts.choices import ContactRole
from tests.factories.contracts import ContactFactory, ContractFactory
from tests.portal import isolation
from tests.portal.urlwalk import non_portal_routes, portal_patterns

pytestmark = pytest.mark.django_db

PATTERNS = portal_patterns()
PRIVATE = [p for p in PATTERNS if p.name not in isolation.PUBLIC_URLS]
WITH_OBJECTS = [p for p in PRIVATE if p.kwargs]
WITHOUT_OBJECTS = [p for p in PRIVATE if not p.kwargs]


def _ids(patterns):
    return [p.name for p in patterns]


@pytest.fixture
def alice(client_a):
    return ContactFactory(client=client_a, portal_role=ContactRole.ADMIN, with_login=True)


def test_the_walk_finds_the_portal_pages():
    names = set(_ids(PATTERNS))
    assert {"dashboard", "contracts", "contract_detail", "users", "login"} <= names
    assert len(WITH_OBJECTS) >= 5


def test_every_portal_url_has_a_builder():
    assert isolation.missing_builders(PRIVATE) == [], "add a builder in tests/portal/isolation.py"


def test_every_private_portal_url_goes_through_portal_view():
    """Every non-public portal page is wrapped by portal.access.portal_view (it sets the client scope)."""
    assert [p.name for p in PRIVATE if p.roles is None] == []


@pytest.mark.parametrize("pattern", WITH_OBJECTS, ids=_ids(WITH_OBJECTS))
def test_other_clients_objects_are_404(client, alice, client_b, pattern):
    url = reverse(f"portal:{pattern.name}", kwargs=isolation.build_kwargs(pattern.name, pattern.kwargs, client_b))
    client.force_login(alice.user)
    statuses = {"GET": client.get(url).status_code, "POST": client.post(url, {}).status_code}
    assert set(statuses.values()) <= {404, 405}, (url, statuses)
    assert 404 in statuses.values(), (url, statuses)


@pytest.mark.parametrize("pattern", WITH_OBJECTS, ids=_ids(WITH_OBJECTS))
def test_own_objects_are_reachable(client, alice, client_a, pattern):
    """The control of the test above: the same URL with client A's objects is not a 404."""
    url = reverse(f"portal:{pattern.name}", kwargs=isolation.build_kwargs(pattern.name, pattern.kwargs, client_a))
    client.force_login(alice.user)
    status = client.get(url).status_code
    if status == 405:  # POST-only: an empty POST may be refused (400) or redirect, but finds the object
        status = client.post(url, {}).status_code
        assert status not in (403, 404, 500), (url, status)
    else:
        assert status == 200, (url, status)


@pytest.mark.parametrize("pattern", WITHOUT_OBJECTS, ids=_ids(WITHOUT_OBJECTS))
def test_pages_without_objects_show_nothing_of_another_client(client, alice, client_b, provider, pattern):
    """Lists and dashboards: client B's canary never shows in client A's pages."""
    ContractFactory(client=client_b, reference="CT-CANARY-B")
    ContactFactory(client=client_b, last_name="Canari", email="canari@client-b.example.fr", with_login=True)
    _canaries_of_other_apps(client_b)
    client.force_login(alice.user)
    response = client.get(reverse(f"portal:{pattern.name}"))
    assert response.status_code == 200
    if not response["Content-Type"].startswith("text/"):
        return  # a PDF or CSV download: reaching it without error is what is checked here
    body = response.content.decode()
    for canary in ("CT-CANARY-B", "Canari", "canari@client-b", "Client B", "CANARY"):
        assert canary not in body, (pattern.name, canary)


def _canaries_of_other_apps(client_b):
    """Objects of the other apps for client B, named with CANARY where they have a visible label."""
    for build in isolation.CANARY_BUILDERS:
        build(client_b)


@pytest.mark.parametrize("pattern", PRIVATE, ids=_ids(PRIVATE))
def test_anonymous_is_sent_to_the_login(client, client_a, pattern):
    url = reverse(f"portal:{pattern.name}", kwargs=isolation.build_kwargs(pattern.name, pattern.kwargs, client_a))
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url, {})
    assert response.status_code == 302, (url, response.status_code)
    assert response["Location"].startswith(reverse("portal:login")), url


@pytest.mark.parametrize("pattern", PRIVATE, ids=_ids(PRIVATE))
def test_staff_without_contact_gets_no_portal_page(client, staff_user, client_a, pattern):
    url = reverse(f"portal:{pattern.name}", kwargs=isolation.build_kwargs(pattern.name, pattern.kwargs, client_a))
    client.force_login(staff_user)
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url, {})
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:login")), url


@pytest.mark.parametrize("role", [ContactRole.BILLING, ContactRole.TECHNICAL])
def test_roles_matrix(client, client_a, role):
    """A billing contact gets 403 on the technical pages and vice versa; pages for every role open to both."""
    contact = ContactFactory(client=client_a, portal_role=role, with_login=True)
    client.force_login(contact.user)
    checked = 0
    for pattern in PRIVATE:
        url = reverse(f"portal:{pattern.name}", kwargs=isolation.build_kwargs(pattern.name, pattern.kwargs, client_a))
        response = client.get(url)
        if response.status_code == 405:
            response = client.post(url, {})
        allowed = not pattern.roles or role in pattern.roles
        if allowed:
            assert response.status_code not in (403, 404), (pattern.name, role, response.status_code)
        else:
            assert response.status_code == 403, (pattern.name, role, response.status_code)
        checked += 1
    assert checked == len(PRIVATE)


# --- A portal user gets nothing from /admin/ or any staff route --------------------------------

# Routes outside the portal that a portal user may reach: the language switch and the root redirect
# (no data), and machine APIs authenticated by their own device tokens (never by a portal session).
NON_STAFF_PREFIXES = ("i18n/", "api/")


def _admin_urls():
    urls = ["/admin/", "/admin/login/", "/admin/password_change/"]
    for model in admin.site._registry:
        opts = model._meta
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    return urls


def test_portal_user_gets_403_on_every_admin_page(client, alice):
    client.force_login(alice.user)
    urls = _admin_urls()
    assert len(urls) > 20
    statuses = {url: client.get(url).status_code for url in urls}
    assert {url: s for url, s in statuses.items() if s != 403} == {}


def test_every_non_portal_route_is_staff_only_or_declared(client, alice):
    """Any new staff page outside /admin/ must refuse a portal user (or be declared non-staff above)."""
    client.force_login(alice.user)
    leaks = {}
    for route in non_portal_routes():
        if route == "" or route.startswith(NON_STAFF_PREFIXES) or "<" in route or "(?P" in route or "^" in route:
            continue
        status = client.get("/" + route).status_code
        if status not in (302, 403, 404, 405):
            leaks[route] = status
    assert leaks == {}
