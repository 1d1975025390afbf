"""Reads of the interventions app, with their joins done once (no N+1 in lists or the portal)."""
import datetime

from django.db.models import Prefetch, QuerySet

from interventions.choices import OPEN_STATUSES, InterventionStatus, SlaState
from interventions.models import Intervention, Ticket, TicketAttachment, TicketComment

TICKET_LIST_RELATED = ("client", "contract", "site", "assignee", "contact", "equipment")


def tickets_for_client(client) -> QuerySet[Ticket]:
    """Every ticket of one client (the portal's only way in: another client's ticket is not there)."""
    return Ticket.objects.filter(client=client).select_related("contract", "site", "contact", "equipment")


def ticket_for_client(client, pk: int) -> Ticket:
    """One ticket of the client with its public comments and interventions; ``DoesNotExist`` otherwise (a 404)."""
    return (
        tickets_for_client(client)
        .prefetch_related(
            Prefetch("comments", queryset=TicketComment.objects.filter(is_internal=False).select_related("author")),
            Prefetch("interventions", queryset=Intervention.objects.select_related("technician")
                     .exclude(status=InterventionStatus.CANCELLED)),
            Prefetch("attachments", queryset=TicketAttachment.objects.filter(visible_to_client=True)
                     .select_related("uploaded_by"), to_attr="client_attachments"),
        )
        .get(pk=pk)
    )


def open_tickets() -> QuerySet[Ticket]:
    return Ticket.objects.filter(status__in=OPEN_STATUSES).select_related(*TICKET_LIST_RELATED)


def tickets_assigned_to(user) -> QuerySet[Ticket]:
    """« Mes tickets »: the open tickets of a technician, most urgent deadline first."""
    return open_tickets().filter(assignee=user).order_by("deadline_at")


def tickets_by_sla_state(state: str) -> QuerySet[Ticket]:
    """Open tickets in one SLA state (on track, at risk, breached), most urgent first."""
    return open_tickets().filter(sla_state=state).order_by("deadline_at")


def sla_counts() -> dict[str, int]:
    from django.db.models import Count

    rows = Ticket.objects.filter(status__in=OPEN_STATUSES).values("sla_state").annotate(n=Count("pk"))
    counts = {state: 0 for state in (SlaState.ON_TRACK, SlaState.AT_RISK, SlaState.BREACHED)}
    counts.update({r["sla_state"]: r["n"] for r in rows})
    return counts


def technician_schedule(*, start: datetime.datetime, end: datetime.datetime, technician=None) -> QuerySet[Intervention]:
    """Interventions planned between two instants, by technician then time (the schedule page)."""
    qs = (
        Intervention.objects.filter(scheduled_start__gte=start, scheduled_start__lt=end)
        .exclude(status=InterventionStatus.CANCELLED)
        .select_related("client", "site", "technician", "ticket")
        .order_by("technician__username", "scheduled_start")
    )
    if technician is not None:
        qs = qs.filter(technician=technician)
    return qs


def intervention_for_report(pk: int) -> Intervention:
    """An intervention with everything its PDF report prints."""
    return (
        Intervention.objects.select_related("client", "contract", "site", "technician", "ticket", "visit_report")
        .prefetch_related("time_entries__technician")
        .get(pk=pk)
    )


# --- Client portal (added for the portal): reads scoped by one client ------------------------------


def open_tickets_for_client(client) -> QuerySet[Ticket]:
    """The client's open tickets, the nearest intervention deadline first (the portal dashboard)."""
    return tickets_for_client(client).filter(status__in=OPEN_STATUSES).order_by("deadline_at", "pk")


def intervention_report_for_client(client, pk: int) -> Intervention:
    """A finished intervention of ``client`` with what its report prints; ``DoesNotExist`` otherwise (a 404)."""
    return (
        Intervention.objects.filter(client=client, status=InterventionStatus.DONE)
        .select_related("client", "contract", "site", "technician", "ticket", "visit_report")
        .prefetch_related("time_entries__technician")
        .get(pk=pk)
    )


def attachments_for_client(client) -> QuerySet[TicketAttachment]:
    """The attachments ``client`` may see: on its own tickets, and not kept internal by staff."""
    return TicketAttachment.objects.filter(ticket__client=client, visible_to_client=True)


def attachment_for_client(client, *, ticket_id: int, pk: int) -> TicketAttachment:
    """One visible attachment of one of the client's tickets; ``DoesNotExist`` otherwise (a 404)."""
    return attachments_for_client(client).get(ticket_id=ticket_id, pk=pk)


def attachments_visible_to(user) -> QuerySet[TicketAttachment]:
    """Every attachment ``user`` may open: all of them for staff allowed to view attachments, the visible
    ones of its client's tickets for a portal contact whose role opens the tickets, none otherwise."""
    from contracts.choices import ContactRole
    from contracts.selectors import contact_for_user

    if not getattr(user, "is_authenticated", False):
        return TicketAttachment.objects.none()
    if user.is_staff:
        if user.is_active and user.has_perm("interventions.view_ticketattachment"):
            return TicketAttachment.objects.all()
        return TicketAttachment.objects.none()
    contact = contact_for_user(user)
    if contact is None or contact.portal_role not in (ContactRole.ADMIN, ContactRole.TECHNICAL):
        return TicketAttachment.objects.none()
    return attachments_for_client(contact.client)
