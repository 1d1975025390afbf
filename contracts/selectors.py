"""Reads on parties and contracts, with their joins done once."""
import datetime

from django.db.models import Q, QuerySet

from contracts.choices import ContractStatus
from contracts.models import Client, Contact, Contract, ContractLine, ForceMajeureEvent


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


def force_majeure_periods(
    *, client: Client, start: datetime.datetime, end: datetime.datetime
) -> list[tuple[datetime.datetime, datetime.datetime | None]]:
    """CGV C8: the force-majeure periods covering ``client`` that overlap [start, end] (``None`` = still open)."""
    events = (
        ForceMajeureEvent.objects.filter(Q(covers_all_clients=True) | Q(clients=client))
        .filter(starts_at__lt=end)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=start))
        .distinct()
        .order_by("starts_at")
    )
    return [(e.starts_at, e.ends_at) for e in events]


def contract_lines_valid_on(contract: Contract, day: datetime.date) -> list[ContractLine]:
    """The priced lines in force on ``day`` (amendments are dated lines)."""
    return [line for line in contract.lines.all() if line.is_valid_on(day)]
