"""Writes of the portal itself: the company's portal users (invite, disable, enable).

The contact and its login belong to ``contracts`` (``contact_create``,
``contact_enable_portal``); what the portal adds is who may manage them (the
company administrator, for its own company only) and the invitation e-mail
with a one-time link (Django's token generator: the token embeds the password
hash and the last login, so it dies as soon as the password is chosen).
"""
import datetime

from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from contracts import services as contract_services
from contracts.choices import ContactRole
from contracts.exceptions import ContractError
from contracts.models import Contact
from core.audit import audit_record
from core.mail import email_queue
from portal.exceptions import PortalError


def _require_company_admin(admin: Contact, contact: Contact | None = None) -> None:
    if admin.portal_role != ContactRole.ADMIN:
        raise PortalError(_("Seul l'administrateur de l'entreprise gère les accès au portail."))
    if contact is not None and contact.client_id != admin.client_id:
        # Views look contacts up through a client-scoped selector; this is the second lock.
        raise PortalError(_("Ce contact n'appartient pas à votre entreprise."))


def invitation_link(*, contact: Contact, base_url: str) -> str:
    """The one-time link that lets ``contact`` choose its password (valid PASSWORD_RESET_TIMEOUT)."""
    user = contact.user
    path = reverse(
        "portal:invitation_accept",
        kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user)},
    )
    return base_url.rstrip("/") + path


def _send_invitation(*, contact: Contact, invited_by: Contact, base_url: str) -> None:
    body = render_to_string(
        "portal/email/invitation.txt",
        {
            "contact": contact,
            "invited_by": invited_by,
            "client": contact.client,
            "link": invitation_link(contact=contact, base_url=base_url),
        },
    )
    email_queue(
        to=contact.email,
        subject=_("Votre accès à l'espace client MICRO INFO SERVICE"),
        body=body,
    )


@transaction.atomic
def portal_user_invite(
    *,
    actor,
    admin: Contact,
    first_name: str,
    last_name: str,
    email: str,
    role: str,
    job_title: str = "",
    base_url: str,
) -> Contact:
    """Create (or reuse) a contact of the admin's company, give it a login and e-mail the invitation.

    The login has no usable password until the invitee opens the one-time link.
    """
    _require_company_admin(admin)
    email = email.strip().lower()
    contact = admin.client.contacts.filter(email__iexact=email).select_related("user", "client").first()
    try:
        if contact is None:
            contact = contract_services.contact_create(
                actor=actor,
                client=admin.client,
                first_name=first_name,
                last_name=last_name,
                email=email,
                job_title=job_title,
                portal_role=role,
                is_billing_contact=role == ContactRole.BILLING,
                is_technical_contact=role == ContactRole.TECHNICAL,
            )
        elif contact.user_id:
            raise PortalError(_("%(email)s a déjà un accès au portail.") % {"email": email})
        else:
            contact.portal_role = role
            contact.save(update_fields=["portal_role", "updated_at"])
        contract_services.contact_enable_portal(actor=actor, contact=contact)
    except ContractError as exc:
        raise PortalError(exc.message) from exc
    contact.refresh_from_db()
    _send_invitation(contact=contact, invited_by=admin, base_url=base_url)
    audit_record(
        actor=actor, obj=contact, action="portal.user.invited", changes={"role": [None, role], "email": [None, email]}
    )
    return contact


@transaction.atomic
def portal_user_reinvite(*, actor, admin: Contact, contact: Contact, base_url: str) -> Contact:
    """Send a fresh invitation link to a user who has not chosen a password yet."""
    _require_company_admin(admin, contact)
    if contact.user_id is None or contact.user.has_usable_password():
        raise PortalError(_("Ce contact a déjà choisi son mot de passe : il peut utiliser « Mot de passe oublié »."))
    _send_invitation(contact=contact, invited_by=admin, base_url=base_url)
    audit_record(actor=actor, obj=contact, action="portal.user.reinvited")
    return contact


def _portal_user_set_active(*, actor, admin: Contact, contact: Contact, now: datetime.datetime, active: bool):
    _require_company_admin(admin, contact)
    if not active and contact.pk == admin.pk:
        raise PortalError(_("Vous ne pouvez pas désactiver votre propre accès."))
    user = contact.user
    if user is None or user.is_active == active:
        raise PortalError(_("Cet accès est déjà actif.") if active else _("Cet accès est déjà désactivé."))
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit_record(
        actor=actor, obj=contact, action="portal.user.enabled" if active else "portal.user.disabled",
        changes={"is_active": [not active, active], "at": [None, now]},
    )
    return contact


@transaction.atomic
def portal_user_disable(*, actor, admin: Contact, contact: Contact, now: datetime.datetime) -> Contact:
    """Block a user's portal login; its open sessions stop working at the next request."""
    return _portal_user_set_active(actor=actor, admin=admin, contact=contact, now=now, active=False)


@transaction.atomic
def portal_user_enable(*, actor, admin: Contact, contact: Contact, now: datetime.datetime) -> Contact:
    """Give a disabled user its portal login back."""
    return _portal_user_set_active(actor=actor, admin=admin, contact=contact, now=now, active=True)
