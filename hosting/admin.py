"""Staff admin of the hosting option: thin, every business action calls ``hosting.services``."""
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.admin import AuditedAdminMixin
from core.dates import business_today
from hosting import services
from hosting.choices import ChangeRequestOrigin, ChangeRequestStatus, ServiceStatus
from hosting.exceptions import HostingError
from hosting.forms import CertificateUploadForm, MailboxForm, StaffChangeRequestForm
from hosting.models import (
    Certificate,
    ChangeRequest,
    Domain,
    HostingPrice,
    HostingService,
    Mailbox,
    MaintenanceWindow,
)


def _run_each(modeladmin, request, queryset, action, done_message):
    """Run a service on each selected row; a refusal is shown as an error, the others go on."""
    done = 0
    for obj in queryset:
        try:
            action(obj)
            done += 1
        except (HostingError, ValidationError) as exc:
            modeladmin.message_user(request, f"{obj} : {getattr(exc, 'message', exc)}", messages.ERROR)
    if done:
        modeladmin.message_user(request, done_message % {"n": done}, messages.SUCCESS)


class _ReadOnlyInline(admin.TabularInline):
    """Shown for information; rows are added and edited in their own admin, through the services."""

    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


class CertificateInline(_ReadOnlyInline):
    model = Certificate
    fields = ["names", "issuer", "not_valid_before", "not_valid_after"]


@admin.register(Domain)
class DomainAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "client", "registrar", "expires_on", "client_is_administrator"]
    list_filter = ["client_is_administrator", "registrar"]
    search_fields = ["name", "client__name"]
    list_select_related = ["client"]
    date_hierarchy = "expires_on"
    readonly_fields = ["client_is_administrator", "administrator_confirmed_on", "administrator_confirmed_by"]
    autocomplete_fields = ["client"]
    inlines = [CertificateInline]
    actions = ["confirm_administrator"]

    @admin.action(description=_("Confirmer que le client administre le domaine (CGV H3)"))
    def confirm_administrator(self, request, queryset):
        today = business_today()
        _run_each(
            self, request, queryset,
            lambda d: services.domain_confirm_administrator(actor=request.user, domain=d, today=today),
            _("%(n)s domaine(s) confirmé(s)."),
        )


@admin.register(Certificate)
class CertificateAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Added by uploading the PEM file (parsed by the service); never edited afterwards."""

    list_display = ["domain", "names", "issuer", "not_valid_before", "not_valid_after"]
    list_select_related = ["domain"]
    search_fields = ["domain__name", "issuer", "fingerprint_sha256"]
    date_hierarchy = "not_valid_after"
    readonly_fields = [
        "domain", "names", "subject", "issuer", "serial_number", "fingerprint_sha256",
        "not_valid_before", "not_valid_after", "uploaded_at", "uploaded_by", "pem",
    ]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = CertificateUploadForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj else ["domain", "pem_file"]

    def has_change_permission(self, request, obj=None):
        return False if obj else super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        # The form already ran certificate_check; the service parses and records the file.
        cert = services.certificate_record(
            actor=request.user, domain=form.cleaned_data["domain"], pem=form.cleaned_data["pem_file"],
            now=timezone.now(),
        )
        obj.pk = cert.pk
        obj.__dict__.update({k: v for k, v in cert.__dict__.items() if k != "_state"})


class MailboxInline(_ReadOnlyInline):
    model = Mailbox
    fields = ["local_part", "display_name", "aliases", "is_active"]


@admin.register(HostingService)
class HostingServiceAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "client_name", "contract", "status", "pricing_mode", "mailbox_count", "activated_on"]
    list_filter = ["status", "kind", "pricing_mode"]
    search_fields = ["domain__name", "contract__reference", "contract__client__name"]
    list_select_related = ["domain", "contract__client"]
    autocomplete_fields = ["contract", "domain"]
    readonly_fields = ["status", "activated_on", "closed_on"]
    inlines = [MailboxInline]
    actions = ["activate", "close"]

    def get_readonly_fields(self, request, obj=None):
        # Once created, the number of mailboxes changes only through a change request (H5).
        if obj is not None:
            return [*self.readonly_fields, "contract", "domain", "kind", "pricing_mode", "mailbox_count"]
        return self.readonly_fields

    @admin.display(description=_("client"), ordering="contract__client__name")
    def client_name(self, obj):
        return obj.contract.client.name

    @admin.action(description=_("Activer (vérifie le domaine et le certificat, CGV H3)"))
    def activate(self, request, queryset):
        now = timezone.now()
        _run_each(
            self, request, queryset.filter(status=ServiceStatus.PENDING),
            lambda s: services.service_activate(actor=request.user, service=s, now=now),
            _("%(n)s service(s) activé(s) ; le contrat est modifié à partir de la prochaine période."),
        )

    @admin.action(description=_("Résilier (fin à la fin de la période de facturation)"))
    def close(self, request, queryset):
        today = business_today()
        _run_each(
            self, request, queryset,
            lambda s: services.service_close(actor=request.user, service=s, today=today),
            _("%(n)s service(s) résilié(s)."),
        )


@admin.register(Mailbox)
class MailboxAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = MailboxForm
    list_display = ["local_part", "service", "display_name", "is_active"]
    list_filter = ["is_active", "service__kind"]
    search_fields = ["local_part", "aliases", "service__domain__name"]
    list_select_related = ["service__domain"]
    autocomplete_fields = ["service"]

    def get_readonly_fields(self, request, obj=None):
        return ["service"] if obj else []

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in ["local_part", "display_name", "aliases"]}
        if change:
            services.mailbox_update(actor=request.user, mailbox=obj, is_active=form.cleaned_data["is_active"], **data)
        else:
            created = services.mailbox_create(actor=request.user, service=form.cleaned_data["service"], **data)
            obj.pk = created.pk


@admin.register(HostingPrice)
class HostingPriceAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """The price table (H5), monthly HT: add a row with a later date to change a price."""

    list_display = ["item", "unit_price", "valid_from"]
    list_filter = ["item"]


@admin.register(ChangeRequest)
class ChangeRequestAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = [
        "service", "client_name", "mailboxes_before", "requested_mailboxes", "origin",
        "received_at", "due_on", "status", "overdue", "effective_from",
    ]
    list_filter = ["status", "origin", ("overdue_flagged_at", admin.EmptyFieldListFilter)]
    search_fields = ["service__domain__name", "service__contract__client__name"]
    list_select_related = ["service__domain", "service__contract__client"]
    date_hierarchy = "received_at"
    autocomplete_fields = ["service"]
    actions = ["complete", "cancel"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = StaffChangeRequestForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["service", "requested_mailboxes", "comment"]
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [f.name for f in ChangeRequest._meta.fields if f.name != "comment"]

    @admin.display(description=_("client"), ordering="service__contract__client__name")
    def client_name(self, obj):
        return obj.service.contract.client.name

    @admin.display(description=_("en retard"), boolean=True)
    def overdue(self, obj):
        return obj.is_overdue(business_today())

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        created = services.change_request_create(
            actor=request.user,
            service=obj.service,
            requested_mailboxes=obj.requested_mailboxes,
            origin=ChangeRequestOrigin.STAFF,
            comment=obj.comment,
            now=timezone.now(),
        )
        obj.pk = created.pk
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if k != "_state"})

    @admin.action(description=_("Marquer traitée (modifie le contrat à la prochaine période, CGV H5)"))
    def complete(self, request, queryset):
        now = timezone.now()
        _run_each(
            self, request, queryset.filter(status=ChangeRequestStatus.OPEN),
            lambda r: services.change_request_complete(actor=request.user, change_request=r, now=now),
            _("%(n)s demande(s) traitée(s)."),
        )

    @admin.action(description=_("Annuler la demande"))
    def cancel(self, request, queryset):
        now = timezone.now()
        _run_each(
            self, request, queryset.filter(status=ChangeRequestStatus.OPEN),
            lambda r: services.change_request_cancel(actor=request.user, change_request=r, now=now),
            _("%(n)s demande(s) annulée(s)."),
        )


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["title", "starts_at", "ends_at", "announced_at"]
    readonly_fields = ["announced_at", "announced_by"]
    filter_horizontal = ["services"]
    date_hierarchy = "starts_at"
    actions = ["announce"]

    @admin.action(description=_("Annoncer aux clients concernés (e-mail + espace client, CGV H2)"))
    def announce(self, request, queryset):
        now = timezone.now()
        _run_each(
            self, request, queryset,
            lambda w: services.maintenance_announce(actor=request.user, window=w, now=now),
            _("%(n)s maintenance(s) annoncée(s)."),
        )
