"""Client portal pages of the backup option: devices, last good backup, usage, restores (K1, K3, K6–K8)."""
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backups import selectors, services
from backups.exceptions import BackupError
from backups.forms import RestoreRequestForm
from portal.access import portal_view


@portal_view("technical")
def backups_overview(request):
    now = timezone.now()
    subscriptions = list(selectors.subscriptions_for_client(request.client))
    for sub in subscriptions:
        sub.usage_percent = selectors.usage_percent(used_bytes=sub.usage_bytes, capacity_gb=sub.tier.capacity_gb)
    devices = list(selectors.devices_for_client(request.client))
    for device in devices:
        device.health = selectors.device_health(device, now=now)
    context = {
        "subscriptions": subscriptions,
        "devices": devices,
        "has_workstations": any(d.videos_excluded for d in devices),
        "restores": list(selectors.restores_for_client(request.client)[:20]),
    }
    return render(request, "portal/backups/overview.html", context)


@portal_view("technical")
def backup_device(request, pk: int):
    device = selectors.device_for_client(request.client, pk)
    device.health = selectors.device_health(device, now=timezone.now())
    context = {
        "device": device,
        "reports": selectors.reports_for_device(device),
        "form": RestoreRequestForm(),
        "oldest_point": services.retention_start(retention=device.subscription.retention, now=timezone.now()),
    }
    return render(request, "portal/backups/device.html", context)


@require_POST
@portal_view("technical")
def backup_restore(request, pk: int):
    device = selectors.device_for_client(request.client, pk)
    form = RestoreRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Demande incomplète : indiquez une date et un type de restauration."))
        return redirect("portal:backup_device", pk=device.pk)
    try:
        restore = services.restore_request(
            actor=request.user, device=device, point=form.cleaned_data["point"], kind=form.cleaned_data["kind"],
            description=form.cleaned_data["description"], now=timezone.now(),
        )
    except BackupError as exc:
        messages.error(request, exc.message)
        return redirect("portal:backup_device", pk=device.pk)
    messages.success(request, _("%(kind)s enregistrée : point de restauration du %(point)s.") % {
        "kind": restore.get_kind_display().capitalize(),
        "point": timezone.localtime(restore.report.ended_at).strftime("%d/%m/%Y %H:%M"),
    })
    return redirect("portal:backups")
