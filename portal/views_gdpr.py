"""Portal pages of personal data (CGV art. 14): sub-processors (D9), the company's processing register
(Art. 30(2), D8), data-subject requests (D3, D5) and the company's instructions and assistance requests to
MIS (D4, D7, D8). Scoped by ``request.client``."""
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from gdpr import selectors, services
from gdpr.choices import RequestChannel
from gdpr.exceptions import GdprError
from gdpr.forms import PortalControllerRequestForm, PortalRequestForm
from gdpr.models import ControllerRequest, DataSubjectRequest
from portal.access import ADMIN, portal_view


@portal_view()
def gdpr_overview(request):
    """D9: the sub-processors, with this client's authorisation for those not named in the terms."""
    return render(request, "portal/gdpr/overview.html", {"subprocessors": selectors.subprocessors_for_client(request.client)})


@portal_view()
def gdpr_register(request):
    """D8, Art. 30(2): the company's processing register; ``?format=pdf|csv`` downloads it (logged)."""
    fmt = request.GET.get("format")
    if fmt:
        if fmt not in ("pdf", "csv"):
            raise Http404
        name, content, mimetype = services.register_export(
            actor=request.user, client=request.client, fmt=fmt, now=timezone.now()
        )
        response = HttpResponse(content, content_type=mimetype)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    context = {
        "activities": selectors.register_for_client(request.client),
        "controller_contacts": selectors.controller_recipients(request.client),
    }
    return render(request, "portal/gdpr/register.html", context)


@portal_view(ADMIN)
def gdpr_request_list(request):
    """The company's requests, for its administrators (the requests carry third parties' data)."""
    requests = selectors.requests_for_client(request.client)
    return render(request, "portal/gdpr/request_list.html", {"requests": requests})


@portal_view()
def gdpr_request_create(request):
    contact = request.contact
    initial = {"requester_name": contact.full_name, "requester_email": contact.email, "requester_phone": contact.phone}
    form = PortalRequestForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        now = timezone.now()
        is_self = (data["requester_email"] or "").lower() == contact.email.lower()
        try:
            dsr = services.request_record(
                actor=request.user, client=request.client, channel=RequestChannel.PORTAL, received_at=now, now=now,
                filed_by=contact, contact=contact if is_self else None, **data,
            )
        except GdprError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("Demande %(ref)s enregistrée et transmise à votre référent données personnelles ; "
                  "réponse attendue au plus tard le %(due)s.")
                % {"ref": dsr.reference, "due": dsr.due_date.strftime("%d/%m/%Y")},
            )
            if request.portal_can.admin:
                return redirect("portal:gdpr_request_detail", request_id=dsr.pk)
            return redirect("portal:gdpr")
    return render(request, "portal/gdpr/request_create.html", {"form": form}, status=400 if form.errors else 200)


@portal_view(ADMIN)
def gdpr_request_detail(request, request_id: int):
    try:
        dsr = selectors.requests_for_client(request.client).get(pk=request_id)
    except DataSubjectRequest.DoesNotExist as exc:
        raise Http404 from exc
    return render(request, "portal/gdpr/request_detail.html", {"dsr": dsr})


@portal_view(ADMIN)
def gdpr_instruction_list(request):
    """D4, D7, D8: the company's documented instructions and assistance requests to MIS, with MIS's answers."""
    items = selectors.controller_requests_for_client(request.client)
    return render(request, "portal/gdpr/instruction_list.html", {"items": items})


@portal_view(ADMIN)
def gdpr_instruction_create(request):
    """Only the company's administrators speak for the controller."""
    form = PortalControllerRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        now = timezone.now()
        contact = request.contact
        try:
            item = services.controller_request_record(
                actor=request.user, client=request.client, channel=RequestChannel.PORTAL, received_at=now, now=now,
                requester_name=contact.full_name, requester_email=contact.email, filed_by=contact,
                **form.cleaned_data,
            )
        except GdprError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("%(ref)s enregistrée ; MIS vous répondra au plus tard le %(due)s.")
                % {"ref": item.reference, "due": item.due_date.strftime("%d/%m/%Y")},
            )
            return redirect("portal:gdpr_instruction_detail", instruction_id=item.pk)
    status = 400 if form.errors else 200
    return render(request, "portal/gdpr/instruction_create.html", {"form": form}, status=status)


@portal_view(ADMIN)
def gdpr_instruction_detail(request, instruction_id: int):
    try:
        item = selectors.controller_requests_for_client(request.client).get(pk=instruction_id)
    except ControllerRequest.DoesNotExist as exc:
        raise Http404 from exc
    return render(request, "portal/gdpr/instruction_detail.html", {"item": item})
