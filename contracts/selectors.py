"""Reads on parties and contracts, with their joins done once."""
import datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db.models import OuterRef, Q, QuerySet, Subquery

from contracts import terms
from contracts.choices import ContractStatus, EquipmentOwnership, TerminationStatus
from contracts.models import (
    AvailabilityRecord,
    Client,
    Contact,
    Contract,
    ContractLine,
    Equipment,
    ForceMajeureEvent,
    SyntecIndex,
    Termination,
)
from core.money import ZERO, money


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


# --- Amounts, indexes, availability -------------------------------------------------------------


def contract_monthly_amount(contract: Contract, day: datetime.date) -> Decimal:
    """The recurring monthly fee HT on ``day``: Σ quantity × unit price of the lines in force (P2)."""
    return money(sum((line.quantity * line.unit_price for line in contract_lines_valid_on(contract, day)), ZERO))


def syntec_index_on(day: datetime.date) -> SyntecIndex | None:
    """The latest Syntec value published on or before ``day`` (P3: "le dernier indice publié")."""
    return SyntecIndex.objects.filter(published_on__lte=day).order_by("-published_on", "-month").first()


def availability_window_missed(
    *, contract: Contract, until: datetime.date, records: list[AvailabilityRecord] | None = None
) -> list[datetime.date] | None:
    """CGV C7: the months in which the guarantee was missed, if 3 of 6 consecutive months were, else ``None``.

    Looks at every window of 6 consecutive calendar months ending with the month
    before ``until`` (a month counts once it is over). A month without a record
    counts as met. Returns the missed months of the first failing window.
    """
    last_month = terms.month_start(until) - relativedelta(months=1)
    if records is None:
        records = list(contract.availability_records.filter(month__lte=last_month))
    missed = sorted(
        r.month for r in records if r.month <= last_month and r.availability < contract.availability_guarantee
    )
    for i, first in enumerate(missed):
        window_end = first + relativedelta(months=5)
        in_window = [m for m in missed[i:] if m <= window_end]
        if len(in_window) >= 3:
            return in_window[:3]
    return None


def availability_guarantee_missed(*, contract: Contract, until: datetime.date) -> bool:
    """CGV C7: True when the availability guarantee was missed in 3 months out of 6 consecutive months."""
    return availability_window_missed(contract=contract, until=until) is not None


# --- Staff lists -----------------------------------------------------------------------------------


def contracts_running() -> QuerySet[Contract]:
    return Contract.objects.filter(status__in=[ContractStatus.ACTIVE, ContractStatus.SUSPENDED])


def upcoming_notice_deadlines(*, today: datetime.date, days: int = 120) -> QuerySet[Contract]:
    """Running contracts whose notice deadline (C3) or term end (C2) falls in the next ``days`` days."""
    horizon = today + datetime.timedelta(days=days)
    return (
        contracts_running()
        .filter(
            Q(notice_deadline__range=(today, horizon)) | Q(current_period_end__range=(today, horizon))
        )
        .select_related("client")
        .annotate(
            pending_termination_on=Subquery(
                Termination.objects.filter(contract=OuterRef("pk"), status=TerminationStatus.RECORDED).values(
                    "effective_on"
                )[:1]
            )
        )
        .order_by("notice_deadline", "current_period_end", "reference")
    )


def pending_terminations() -> QuerySet[Termination]:
    return Termination.objects.filter(status=TerminationStatus.RECORDED).select_related("contract__client")


def equipment_awaiting_restitution() -> QuerySet[Equipment]:
    """CGV C9: leased equipment of ended contracts not returned yet, the most overdue first."""
    return (
        Equipment.objects.filter(
            ownership=EquipmentOwnership.LEASED, restitution_due_on__isnull=False, returned_on__isnull=True
        )
        .select_related("contract__client", "site")
        .order_by("restitution_due_on", "pk")
    )


# --- C11 liability cap: the figure comes from billing (contracts never imports billing) ----------

_first_year_payments = None


def register_first_year_payments(func) -> None:
    """Billing registers ``func(contract) -> Decimal``: the sums paid for the first contract year (C11).

    Called from billing's ``AppConfig.ready()`` (contracts never imports billing);
    until then the liability cap is unknown and shown as such.
    """
    global _first_year_payments
    _first_year_payments = func


def contract_liability_cap(contract: Contract) -> Decimal | None:
    """CGV C11: the provider's liability is capped at the sums the client paid for the first contract year
    (``terms.first_contract_year``). ``None`` while billing has not registered how to compute it."""
    if _first_year_payments is None:
        return None
    return money(_first_year_payments(contract))


# --- Client portal: reads scoped by the signed-in contact's client (added for the portal) ---------


def contacts_for_client(client: Client) -> QuerySet[Contact]:
    """The client's contacts with their portal login (the company administrator's users page)."""
    return Contact.objects.filter(client=client).select_related("user").order_by("last_name", "first_name", "pk")


def contract_detail_for_client(client: Client, contract_id: int) -> Contract:
    """One contract of ``client`` with everything its portal page shows; ``Contract.DoesNotExist`` otherwise."""
    return (
        Contract.objects.filter(client=client)
        .select_related("syntec_base_index")
        .prefetch_related(
            "lines",
            "documents",
            "equipment__site",
            "revisions__base_index",
            "revisions__new_index",
            "suspensions",
            "terminations",
        )
        .get(pk=contract_id)
    )


def equipment_for_client(client: Client):
    """Every item of equipment under the client's contracts, with its site and contract."""
    from contracts.models import Equipment as _Equipment

    return (
        _Equipment.objects.filter(contract__client=client)
        .select_related("contract", "site")
        .order_by("site__name", "kind", "pk")
    )


def open_suspensions_for_client(client: Client):
    """CGV C10 / B3 d: the suspensions of the client's services still in force (no resumption yet)."""
    from contracts.models import ContractSuspension as _ContractSuspension

    return (
        _ContractSuspension.objects.filter(contract__client=client, resumed_at__isnull=True)
        .select_related("contract")
        .order_by("-suspended_at")
    )
