"""Staff screens of the backup option. Thin: every write goes through ``backups.services``."""
import datetime
import io

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backups import selectors, services
from backups.exceptions import BackupError
from backups.models import (
    ApiToken,
    BackupPlan,
    BackupSubscription,
    BackupTier,
    Device,
    JobReport,
    OverageEpisode,
    RestoreRequest,
    SupervisionFlag,
    SupervisionRun,
    UsageSnapshot,
)
from core.admin import AuditedAdminMixin
from core.dates import business_today


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the API and the nightly jobs: staff read them, never edit them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class BackupTierInline(admin.TabularInline):
    model = BackupTier
    extra = 0


@admin.register(BackupPlan)
class BackupPlanAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "is_active", "restore_price_per_site", "restore_price_per_thousand_files"]
    inlines = [BackupTierInline]


class DeviceInline(admin.TabularInline):
    model = Device
    extra = 0
    fields = ["hostname", "kind", "os", "site", "is_active"]
    show_change_link = True


class CsvImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Fichier CSV (UTF-8)"))


@admin.register(BackupSubscription)
class BackupSubscriptionAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["contract", "client_name", "tier", "retention", "primary_site", "replica_site", "is_active"]
    list_filter = ["retention", "is_active", "plan"]
    search_fields = ["contract__reference", "contract__client__name"]
    list_select_related = ["contract__client", "tier"]
    raw_id_fields = ["contract"]
    inlines = [DeviceInline]
    actions = ["import_csv"]

    def get_readonly_fields(self, request, obj=None):
        # The tier changes through the K7 workflow (dated contract lines), not by hand.
        return ["contract", "plan", "tier", "started_on"] if obj else []

    @admin.display(description=gettext_lazy("client"), ordering="contract__client__name")
    def client_name(self, obj):
        return obj.contract.client.name

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        data = form.cleaned_data
        created = services.subscription_create(
            actor=request.user, contract=data["contract"], plan=data["plan"], tier=data["tier"],
            started_on=data["started_on"], retention=data["retention"], primary_site=data["primary_site"],
            replica_site=data["replica_site"], encryption=data["encryption"], compression=data["compression"],
        )
        obj.pk = created.pk
        obj.created_at = created.created_at
        obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        for instance in formset.save(commit=False):
            instance.client_id = form.instance.contract.client_id
            instance.save()
        for instance in formset.deleted_objects:
            instance.delete()

    @admin.action(description=gettext_lazy("Importer des rapports de sauvegarde (CSV)"))
    def import_csv(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Choisissez un seul abonnement."), messages.ERROR)
            return None
        subscription = queryset.select_related("contract__client").get()
        form = CsvImportForm(request.POST or None, request.FILES or None) if "apply" in request.POST else CsvImportForm()
        if "apply" in request.POST and form.is_valid():
            stream = io.TextIOWrapper(form.cleaned_data["file"].file, encoding="utf-8-sig")
            try:
                result = services.reports_import_csv(
                    actor=request.user, client=subscription.contract.client, stream=stream, now=timezone.now()
                )
            except services.ReportImportError as exc:
                self.message_user(request, exc.message + " " + " ; ".join(exc.errors[:20]), messages.ERROR)
                return None
            self.message_user(
                request, _("%(created)s rapport(s) importé(s), %(dup)s déjà reçu(s).")
                % {"created": result.created, "dup": result.duplicates}, messages.SUCCESS,
            )
            return None
        return TemplateResponse(request, "backups/admin/import_csv.html", {
            **self.admin_site.each_context(request), "title": _("Importer des rapports de sauvegarde"),
            "subscription": subscription, "form": form, "columns": ",".join(services.CSV_COLUMNS),
            "opts": self.model._meta, "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        })


@admin.register(Device)
class DeviceAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["hostname", "client", "kind", "os", "site", "subscription", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["hostname", "client__name", "os"]
    list_select_related = ["client", "site", "subscription__contract"]
    raw_id_fields = ["subscription", "site"]
    exclude = ["client"]


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["client", "device", "label", "rate_limit_per_minute"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Staff create a token (shown once, only its hash is kept) and revoke it."""

    form = ApiTokenForm
    list_display = ["label", "client", "device", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["label", "client__name", "prefix"]
    list_select_related = ["client", "device"]
    raw_id_fields = ["client", "device"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        base = ["prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
        return ["client", "device", *base] if obj else base

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the token's history stays

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        data = form.cleaned_data
        token, raw = services.api_token_create(
            actor=request.user, client=data["client"], device=data["device"], label=data["label"],
            rate_limit_per_minute=data["rate_limit_per_minute"],
        )
        obj.pk, obj.prefix, obj.token_hash, obj._state.adding = token.pk, token.prefix, token.token_hash, False
        self.message_user(
            request,
            format_html(_("Jeton créé. Copiez-le maintenant, il ne sera plus affiché : <code>{}</code>"), raw),
            messages.WARNING,
        )

    @admin.action(description=gettext_lazy("Révoquer les jetons sélectionnés"))
    def revoke(self, request, queryset):
        now = timezone.now()
        count = sum(services.api_token_revoke(actor=request.user, token=t, now=now) for t in queryset)
        self.message_user(request, _("%(n)s jeton(s) révoqué(s).") % {"n": count})


@admin.register(JobReport)
class JobReportAdmin(ReadOnlyAdmin):
    list_display = ["ended_at", "device", "client", "job_id", "status", "kind", "bytes_stored", "replicated",
                    "skipped_videos", "source"]
    list_filter = ["status", "kind", "replicated", "source"]
    search_fields = ["device__hostname", "job_id", "device__client__name"]
    list_select_related = ["device__client"]
    date_hierarchy = "ended_at"
    show_full_result_count = False  # issue #11: one COUNT(*) of the whole table per page is enough

    @admin.display(description=gettext_lazy("client"))
    def client(self, obj):
        return obj.device.client


@admin.register(UsageSnapshot)
class UsageSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["day", "subscription", "used_bytes", "capacity_gb", "percent"]
    list_select_related = ["subscription__contract"]
    date_hierarchy = "day"


@admin.register(OverageEpisode)
class OverageEpisodeAdmin(ReadOnlyAdmin):
    list_display = ["subscription", "status", "notified_on", "check_on", "capacity_gb", "usage_bytes", "closed_on",
                    "new_tier", "effective_from"]
    list_filter = ["status"]
    list_select_related = ["subscription__contract", "new_tier"]


@admin.register(SupervisionFlag)
class SupervisionFlagAdmin(ReadOnlyAdmin):
    list_display = ["day", "device", "client", "kind", "detail"]
    list_filter = ["kind", "day"]
    search_fields = ["device__hostname", "device__client__name"]
    list_select_related = ["device__client"]

    @admin.display(description=gettext_lazy("client"))
    def client(self, obj):
        return obj.device.client


@admin.register(SupervisionRun)
class SupervisionRunAdmin(ReadOnlyAdmin):
    """Daily supervision (K1): one row per day, and the supervision board of all devices."""

    list_display = ["day", "devices_checked", "flagged_devices", "finished_at", "board_link"]
    date_hierarchy = "day"

    @admin.display(description=gettext_lazy("détail"))
    def board_link(self, obj):
        url = reverse("admin:backups_supervision_board") + f"?day={obj.day.isoformat()}"
        return format_html('<a href="{}">{}</a>', url, _("voir"))

    def get_urls(self):
        return [
            path("board/", self.admin_site.admin_view(self.board_view), name="backups_supervision_board"),
            *super().get_urls(),
        ]

    def board_view(self, request):
        """Flags of a day (default: the latest run) and every supervised device's last good backup."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        latest = SupervisionRun.objects.order_by("-day").first()
        day = latest.day if latest else business_today()
        if request.GET.get("day"):
            try:
                day = datetime.date.fromisoformat(request.GET["day"])
            except ValueError:
                pass
        flags = list(selectors.flags_for_day(day))
        devices = Paginator(selectors.with_backup_status(
            Device.objects.filter(is_active=True).select_related("client")
        ).order_by("client__name", "hostname"), 200).get_page(request.GET.get("page"))
        return TemplateResponse(request, "backups/admin/supervision_board.html", {
            **self.admin_site.each_context(request), "title": _("Supervision des sauvegardes"),
            "day": day, "run": SupervisionRun.objects.filter(day=day).first(), "flags": flags,
            "devices": devices, "opts": self.model._meta,
        })


class RestoreAdminForm(forms.ModelForm):
    class Meta:
        model = RestoreRequest
        fields = ["sites_count", "files_count", "description"]


@admin.register(RestoreRequest)
class RestoreRequestAdmin(admin.ModelAdmin):
    """K8 restores. Staff fill sites and files, then: quote → accepted → done (billed)."""

    form = RestoreAdminForm
    list_display = ["requested_at", "device", "kind", "status", "report", "sites_count", "files_count",
                    "quote_amount", "done_on"]
    list_filter = ["kind", "status"]
    list_select_related = ["device", "report"]
    readonly_fields = ["subscription", "device", "report", "kind", "status", "requested_point", "requested_at",
                       "requested_by", "quote_amount", "quoted_on", "accepted_on", "done_on", "charge"]
    actions = ["quote", "accept", "complete"]

    def has_add_permission(self, request):
        return False  # requested from the portal, or by staff through the service

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # Counts and amount are saved by the "quote" action through the service; only notes are edited here.
        RestoreRequest.objects.filter(pk=obj.pk).update(
            sites_count=obj.sites_count, files_count=obj.files_count, description=obj.description
        )

    def _each(self, request, queryset, func, done_message):
        today = business_today()
        done = 0
        for restore in queryset.select_related("subscription__plan", "subscription__contract__client", "device"):
            try:
                func(restore, today)
                done += 1
            except BackupError as exc:
                self.message_user(request, f"{restore}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, done_message % {"n": done}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Établir le devis (nombre de sites et de fichiers)"))
    def quote(self, request, queryset):
        def run(restore, today):
            if restore.sites_count is None or restore.files_count is None:
                raise BackupError(_("Renseignez le nombre de sites et de fichiers."))
            services.restore_quote(actor=request.user, restore=restore, sites_count=restore.sites_count,
                                   files_count=restore.files_count, today=today)

        self._each(request, queryset, run, _("%(n)s devis établi(s)."))

    @admin.action(description=gettext_lazy("Devis accepté par le client"))
    def accept(self, request, queryset):
        self._each(request, queryset, lambda r, today: services.restore_accept(actor=request.user, restore=r, today=today),
                   _("%(n)s devis accepté(s)."))

    @admin.action(description=gettext_lazy("Restauration réalisée (à facturer)"))
    def complete(self, request, queryset):
        self._each(request, queryset,
                   lambda r, today: services.restore_complete(actor=request.user, restore=r, today=today),
                   _("%(n)s restauration(s) réalisée(s) et mise(s) en facturation."))
