"""Portal access: every portal view runs for one contact of one client.

:func:`portal_view` turns a view into one that requires a signed-in portal
contact and passes it as ``request.contact`` / ``request.client``. Staff users
have no contact and get the portal login page; portal users never get staff
pages (see ``core.middleware``). Objects of another client are looked up
through selectors scoped by ``request.client`` and so answer 404.

Roles (``Contact.portal_role``):

- ``admin``: the company administrator, sees every page and manages the
  company's portal users;
- ``billing``: contracts, invoices, quotes, statement of account;
- ``technical``: tickets, equipment, backups, hosting.
"""
from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from contracts.choices import ContactRole
from contracts.selectors import contact_for_user

ADMIN = ContactRole.ADMIN.value
BILLING = ContactRole.BILLING.value
TECHNICAL = ContactRole.TECHNICAL.value


@dataclass(frozen=True)
class PortalPermissions:
    """What the contact's role opens, for templates (``request.portal_can.billing``)."""

    admin: bool
    billing: bool
    technical: bool

    @classmethod
    def for_role(cls, role: str) -> "PortalPermissions":
        is_admin = role == ADMIN
        return cls(admin=is_admin, billing=is_admin or role == BILLING, technical=is_admin or role == TECHNICAL)


def portal_view(*roles: str):
    """Require a portal contact; with ``roles``, one of them (company administrators see everything)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            contact = contact_for_user(request.user)
            if contact is None:
                return redirect_to_login(request.get_full_path())
            if roles and contact.portal_role != ADMIN and contact.portal_role not in roles:
                raise PermissionDenied(_("Votre rôle ne donne pas accès à cette page."))
            request.contact = contact
            request.client = contact.client
            request.portal_can = PortalPermissions.for_role(contact.portal_role)
            return view(request, *args, **kwargs)

        wrapper.portal_roles = roles
        return wrapper

    return decorator
