"""Reads of the hosting option, with their joins done once."""
import datetime

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from billing.choices import DocumentType, InvoiceKind
from billing.models import Invoice
from contracts.choices import ContactRole
from contracts.models import Client, Contact, Contract
from hosting.choices import ChangeRequestStatus, PriceItem, ServiceStatus
from hosting.exceptions import HostingError
from hosting.models import (
    Certificate,
    ChangeRequest,
    Domain,
    HostingPrice,
    HostingService,
    Mailbox,
    MaintenanceWindow,
)


def price_on(*, item: str, day: datetime.date) -> HostingPrice:
    """The price-table row in force on ``day`` for ``item`` (latest ``valid_from`` not after it)."""
    price = HostingPrice.objects.filter(item=item, valid_from__lte=day).order_by("-valid_from").first()
    if price is None:
        raise HostingError(
            _("Aucun tarif « %(item)s » en vigueur au %(day)s : complétez la grille des tarifs d'hébergement.")
            % {"item": PriceItem(item).label, "day": f"{day:%d/%m/%Y}"}
        )
    return price


def invoiced_period_starts(*, contract: Contract, starts: list[datetime.date]) -> set[datetime.date]:
    """Which of ``starts`` already have the contract's recurring invoice (issued in advance, B1)."""
    return set(
        Invoice.objects.filter(
            contract=contract, kind=InvoiceKind.RECURRING, document_type=DocumentType.INVOICE, period_start__in=starts
        ).values_list("period_start", flat=True)
    )


def certificate_valid_for(*, domain: Domain, now: datetime.datetime) -> Certificate | None:
    """H3: the latest-expiring certificate of ``domain`` valid at ``now`` (coverage is checked at upload)."""
    return (
        domain.certificates.filter(not_valid_before__lte=now, not_valid_after__gte=now)
        .order_by("-not_valid_after")
        .first()
    )


def current_certificates() -> QuerySet[Certificate]:
    """Certificates not superseded by another of the same domain that expires later."""
    later = Certificate.objects.filter(domain=OuterRef("domain"), not_valid_after__gt=OuterRef("not_valid_after"))
    return Certificate.objects.annotate(superseded=Exists(later)).filter(superseded=False)


def certificates_expiring(*, start: datetime.datetime, end: datetime.datetime) -> QuerySet[Certificate]:
    """Current certificates of active clients expiring in [start, end]."""
    return (
        current_certificates()
        .filter(not_valid_after__gte=start, not_valid_after__lte=end, domain__client__is_active=True)
        .select_related("domain__client")
        .order_by("not_valid_after", "pk")
    )


def domains_expiring(*, start: datetime.date, end: datetime.date) -> QuerySet[Domain]:
    return (
        Domain.objects.filter(expires_on__gte=start, expires_on__lte=end, client__is_active=True)
        .select_related("client")
        .order_by("expires_on", "pk")
    )


def client_notification_emails(client_ids) -> dict[int, list[str]]:
    """Who to tell at each client about hosting: its administrators and technical contacts,
    or, failing those, every active contact. One query whatever the number of clients."""
    contacts = Contact.objects.filter(client_id__in=set(client_ids), is_active=True).order_by("client_id", "pk")
    preferred: dict[int, list[str]] = {}
    others: dict[int, list[str]] = {}
    for c in contacts.only("client_id", "email", "portal_role", "is_technical_contact"):
        target = preferred if (c.portal_role == ContactRole.ADMIN or c.is_technical_contact) else others
        target.setdefault(c.client_id, []).append(c.email)
    return {cid: preferred.get(cid) or others.get(cid, []) for cid in set(client_ids)}


def change_requests_newly_overdue(*, today: datetime.date) -> QuerySet[ChangeRequest]:
    return ChangeRequest.objects.filter(
        status=ChangeRequestStatus.OPEN, due_on__lt=today, overdue_flagged_at__isnull=True
    )


def change_requests_with_service() -> QuerySet[ChangeRequest]:
    return ChangeRequest.objects.select_related("service__domain__client", "service__contract")


# --- portal (always scoped by the signed-in contact's client) ---------------------------------------


def domains_for_client(client: Client) -> QuerySet[Domain]:
    return Domain.objects.filter(client=client).prefetch_related(
        Prefetch("certificates", queryset=Certificate.objects.order_by("-not_valid_after"))
    )


def services_for_client(client: Client) -> QuerySet[HostingService]:
    open_requests = ChangeRequest.objects.filter(status=ChangeRequestStatus.OPEN)
    return (
        HostingService.objects.filter(contract__client=client)
        .exclude(status=ServiceStatus.CLOSED)
        .select_related("domain")
        .prefetch_related(
            Prefetch("mailboxes", queryset=Mailbox.objects.filter(is_active=True)),
            Prefetch("change_requests", queryset=open_requests, to_attr="open_requests"),
        )
    )


def service_for_client(client: Client, pk: int) -> HostingService:
    """One of the client's services, or ``HostingService.DoesNotExist`` (a 404 for another client's)."""
    return HostingService.objects.select_related("domain", "contract").get(
        pk=pk, contract__client=client, status__in=[ServiceStatus.PENDING, ServiceStatus.ACTIVE]
    )


def maintenance_for_client(client: Client, *, now: datetime.datetime) -> QuerySet[MaintenanceWindow]:
    """Announced windows not over yet that touch one of the client's services."""
    touches = HostingService.objects.filter(maintenance_windows=OuterRef("pk"), contract__client=client)
    return (
        MaintenanceWindow.objects.filter(announced_at__isnull=False, ends_at__gte=now)
        .filter(Exists(touches))
        .order_by("starts_at")
    )


def change_requests_for_client(client: Client) -> QuerySet[ChangeRequest]:
    return (
        ChangeRequest.objects.filter(service__contract__client=client)
        .select_related("service__domain")
        .order_by("-received_at")
    )


def windows_to_announce(window: MaintenanceWindow) -> QuerySet[HostingService]:
    return window.services.select_related("contract__client", "domain").filter(~Q(status=ServiceStatus.CLOSED))
