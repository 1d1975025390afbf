from axes.models import AccessAttempt
from django.contrib import admin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.audit import audit_record, diff, snapshot
from core.models import AuditLogEntry, OutboundEmail, ProviderProfile


class AuditedAdminMixin:
    """Admin edits go to the audit log like service writes do (create/update/delete with fields)."""

    def save_model(self, request, obj, form, change):
        before = {}
        if change and obj.pk:
            old = type(obj).objects.filter(pk=obj.pk).first()
            before = snapshot(old) if old else {}
        super().save_model(request, obj, form, change)
        label = obj._meta.label_lower
        audit_record(
            actor=request.user,
            obj=obj,
            action=f"{label}.{'updated' if change else 'created'}",
            changes=diff(before, snapshot(obj)),
        )

    def delete_model(self, request, obj):
        audit_record(actor=request.user, obj=obj, action=f"{obj._meta.label_lower}.deleted", changes=snapshot(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit_record(
                actor=request.user, obj=obj, action=f"{obj._meta.label_lower}.deleted", changes=snapshot(obj)
            )
        super().delete_queryset(request, queryset)


@admin.register(ProviderProfile)
class ProviderProfileAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["legal_name", "siren", "vat_number", "sepa_creditor_id"]

    def has_add_permission(self, request):
        return not ProviderProfile.objects.exists() and super().has_add_permission(request)


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(admin.ModelAdmin):
    """Read-only: nobody edits the audit trail."""

    list_display = ["created_at", "actor_label", "action", "content_type", "object_repr"]
    list_filter = ["content_type", "action", "actor_label"]
    search_fields = ["object_id", "object_repr", "action", "actor_label"]
    date_hierarchy = "created_at"
    list_select_related = ["content_type"]
    readonly_fields = [f.name for f in AuditLogEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "subject", "status", "attempts", "sent_at", "error_short"]
    list_filter = ["status"]
    search_fields = ["subject", "to", "key"]
    readonly_fields = [f.name for f in OutboundEmail._meta.fields]
    actions = ["resend"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Dernière erreur")
    def error_short(self, obj):
        return obj.last_error[:120]

    @admin.action(description="Renvoyer maintenant", permissions=["change"])
    def resend(self, request, queryset):
        from core.mail import email_claim_and_send

        queryset.filter(status=OutboundEmail.Status.SENT).update(status=OutboundEmail.Status.FAILED)
        sent = sum(1 for pk in queryset.values_list("pk", flat=True) if email_claim_and_send(pk))
        self.message_user(request, f"{sent} e-mail(s) envoyé(s).")


@admin.register(AccessAttempt)
class AccessAttemptAdmin(admin.ModelAdmin):
    """Failed logins recorded by django-axes; "Débloquer" ends a lockout (audited)."""

    list_display = ["attempt_time", "username", "ip_address", "failures_since_start", "path_info"]
    list_filter = ["attempt_time"]
    search_fields = ["username", "ip_address"]
    readonly_fields = ["attempt_time", "username", "ip_address", "user_agent", "path_info", "failures_since_start"]
    exclude = ["get_data", "post_data", "http_accept"]
    actions = ["unlock"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Débloquer les connexions sélectionnées", permissions=["delete"])
    def unlock(self, request, queryset):
        count = 0
        for attempt in queryset:
            audit_record(actor=request.user, obj=attempt, action="core.login.unlocked",
                         changes={"username": [attempt.username, None], "ip_address": [attempt.ip_address, None],
                                  "failures": [attempt.failures_since_start, 0]})
            attempt.delete()
            count += 1
        self.message_user(request, f"{count} connexion(s) débloquée(s).")


# django-otp's own device admins show the secret (QR code) to whoever may view devices; ours never
# does. A superuser deletes a lost phone's device (audited); the user enrolls again at next login.
admin.site.unregister(TOTPDevice)
admin.site.unregister(StaticDevice)


class _DeviceAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["user", "name", "confirmed", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    fields = ["user", "name", "confirmed", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(_DeviceAdmin):
    pass


@admin.register(StaticDevice)
class StaticDeviceAdmin(_DeviceAdmin):
    pass
