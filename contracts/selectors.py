"""Reads on parties and contracts, with their joins done once."""
from django.db.models import QuerySet

from contracts.choices import ContractStatus
from contracts.models import Client, Contact, Contract


def contact_for_user(user) -> Contact | None:
    """The portal contact of a signed-in user (``None`` for staff or anonymous)."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return Contact.objects.select_related("client").get(user=user, is_active=True, client__is_active=True)
    except Contact.DoesNotExist:
        return None


def contracts_for_client(client: Client) -> QuerySet[Contract]:
    return Contract.objects.filter(client=client).prefetch_related("lines").order_by("-signature_date")


def active_contracts_for_client(client: Client) -> QuerySet[Contract]:
    return contracts_for_client(client).filter(status__in=[ContractStatus.ACTIVE, ContractStatus.SUSPENDED])
