"""Client portal: the client's domains, certificates, hosted services and mailboxes,
maintenance notices (H2), and the mailbox change request form (H5).

Every query is scoped by ``request.client`` through ``hosting.selectors``:
another client's service is a 404.
"""
import datetime

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from core.dates import business_today
from hosting import selectors, services
from hosting.choices import ChangeRequestOrigin
from hosting.exceptions import HostingError
from hosting.forms import ChangeRequestForm
from hosting.models import HostingService
from portal.access import portal_view


@portal_view("technical")
def hosting_overview(request):
    now = timezone.now()
    soon = now + datetime.timedelta(days=max(services.EXPIRY_THRESHOLDS))  # as the expiry alerts (H3)
    context = {
        "domains": selectors.domains_for_client(request.client),
        "services": selectors.services_for_client(request.client),
        "maintenance_windows": selectors.maintenance_for_client(request.client, now=now),
        "change_requests": selectors.change_requests_for_client(request.client)[:20],
        "now": now,
        "soon": soon,
        "soon_date": business_today(soon),
    }
    return render(request, "portal/hosting/overview.html", context)


@portal_view("technical")
def hosting_change_request(request, pk: int):
    try:
        service = selectors.service_for_client(request.client, pk)
    except HostingService.DoesNotExist as exc:
        raise Http404 from exc
    if not service.is_mail:
        raise Http404
    form = ChangeRequestForm(request.POST or None, initial={"requested_mailboxes": service.mailbox_count})
    if request.method == "POST" and form.is_valid():
        try:
            change = services.change_request_create(
                actor=request.user,
                service=service,
                requested_mailboxes=form.cleaned_data["requested_mailboxes"],
                origin=ChangeRequestOrigin.PORTAL,
                contact=request.contact,
                comment=form.cleaned_data["comment"],
                now=timezone.now(),
            )
        except HostingError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("Demande enregistrée : elle sera traitée au plus tard le %(due)s.")
                % {"due": f"{change.due_on:%d/%m/%Y}"},
            )
            return redirect("portal:hosting")
    return render(request, "portal/hosting/change_request.html", {"service": service, "form": form})
