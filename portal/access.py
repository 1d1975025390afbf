"""Portal access: every portal view runs for one contact of one client.

:func:`portal_view` turns a view into one that requires a signed-in portal
contact and passes it as ``request.contact`` / ``request.client``. Staff users
have no contact and get the portal login page; portal users never get staff
pages (see ``core.middleware``). Objects of another client are looked up
through selectors scoped by ``request.client`` and so answer 404.
"""
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from contracts.choices import ContactRole
from contracts.selectors import contact_for_user


def portal_view(*roles: str):
    """Require a portal contact; with ``roles``, one of them (company administrators see everything)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            contact = contact_for_user(request.user)
            if contact is None:
                return redirect_to_login(request.get_full_path())
            if roles and contact.portal_role != ContactRole.ADMIN and contact.portal_role not in roles:
                raise PermissionDenied("Votre rôle ne donne pas accès à cette page.")
            request.contact = contact
            request.client = contact.client
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
