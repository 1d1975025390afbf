"""Portal pages of the tickets: list, open (CGV S2 severity explained), follow (status, SLA deadline,
comments, attachments, interventions and their reports)."""
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contracts import selectors as contract_selectors
from interventions import selectors, services, sla
from interventions.attachments import attachment_response
from interventions.choices import Channel, Severity
from interventions.exceptions import InterventionError
from interventions.models import Intervention, Ticket, TicketAttachment
from interventions.pdf import intervention_report_pdf
from portal.access import TECHNICAL, portal_view
from portal.forms import TicketAttachmentForm, TicketCommentForm, TicketForm
from portal.pagination import paginate


def _ticket(request, ticket_id: int) -> Ticket:
    try:
        return selectors.ticket_for_client(request.client, ticket_id)
    except Ticket.DoesNotExist as exc:
        raise Http404 from exc


@portal_view(TECHNICAL)
def ticket_list(request):
    tickets = selectors.tickets_for_client(request.client).order_by("-opened_at", "-pk")
    page = paginate(request, tickets)  # issue #11: thousands of tickets
    return render(request, "portal/tickets/list.html", {"tickets": page.object_list, "page": page})


@portal_view(TECHNICAL)
def ticket_create(request):
    client = request.client
    contract = services.current_contract(client)
    form = TicketForm(
        request.POST or None,
        request.FILES or None,
        sites=client.sites.order_by("name"),
        equipment=contract_selectors.equipment_for_client(client).filter(returned_on__isnull=True),
        severity1_hours=sla.sla_hours(contract=contract, severity=Severity.BLOCKING),
        severity2_hours=sla.sla_hours(contract=contract, severity=Severity.MINOR),
    )
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.ticket_open(
                client=client,
                contact=request.contact,
                channel=Channel.PORTAL,
                actor=request.user,
                now=timezone.now(),
                **form.cleaned_data,
            )
        except InterventionError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("Demande %(ref)s enregistrée : intervention prévue au plus tard le %(deadline)s.")
                % {"ref": ticket.reference, "deadline": timezone.localtime(ticket.deadline_at).strftime("%d/%m/%Y à %H:%M")},
            )
            return redirect("portal:ticket_detail", ticket_id=ticket.pk)
    return render(request, "portal/tickets/create.html", {"form": form, "contract": contract},
                  status=400 if form.errors else 200)


def _detail(request, ticket, *, comment_form=None, attachment_form=None, status=200):
    context = {"ticket": ticket, "comment_form": comment_form or TicketCommentForm(),
               "attachment_form": attachment_form or TicketAttachmentForm()}
    return render(request, "portal/tickets/detail.html", context, status=status)


@portal_view(TECHNICAL)
def ticket_detail(request, ticket_id: int):
    return _detail(request, _ticket(request, ticket_id))


@require_POST
@portal_view(TECHNICAL)
def ticket_comment(request, ticket_id: int):
    ticket = _ticket(request, ticket_id)
    form = TicketCommentForm(request.POST)
    if form.is_valid():
        services.ticket_comment_add(ticket=ticket, author=request.user, body=form.cleaned_data["body"])
        messages.success(request, _("Message ajouté."))
        return redirect("portal:ticket_detail", ticket_id=ticket.pk)
    return _detail(request, ticket, comment_form=form, status=400)


@require_POST
@portal_view(TECHNICAL)
def ticket_attachment_add(request, ticket_id: int):
    ticket = _ticket(request, ticket_id)
    form = TicketAttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            added = services.ticket_attachments_add(ticket=ticket, files=form.cleaned_data["attachments"],
                                                    author=request.user)
        except InterventionError as exc:
            form.add_error("attachments", exc.message)
        else:
            messages.success(request, _("%(count)s fichier(s) joint(s) à la demande.") % {"count": len(added)})
            return redirect("portal:ticket_detail", ticket_id=ticket.pk)
    return _detail(request, ticket, attachment_form=form, status=400)


@portal_view(TECHNICAL)
def ticket_attachment(request, ticket_id: int, attachment_id: int):
    """Download one attachment of one of the client's tickets (another client's, or an internal one: 404)."""
    try:
        attachment = selectors.attachment_for_client(request.client, ticket_id=ticket_id, pk=attachment_id)
    except TicketAttachment.DoesNotExist as exc:
        raise Http404 from exc
    return attachment_response(attachment)


@portal_view(TECHNICAL)
def intervention_report(request, intervention_id: int):
    try:
        intervention = selectors.intervention_report_for_client(request.client, intervention_id)
    except Intervention.DoesNotExist as exc:
        raise Http404 from exc
    response = HttpResponse(intervention_report_pdf(intervention), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="Rapport {intervention.reference}.pdf"'
    return response
