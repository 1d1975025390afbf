from django.contrib import admin

from contracts.models import Client, Contact, Contract, ContractLine, ForceMajeureEvent, Site
from core.admin import AuditedAdminMixin


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["last_name", "first_name", "email", "phone", "job_title", "portal_role", "is_billing_contact", "user"]
    raw_id_fields = ["user"]


class SiteInline(admin.TabularInline):
    model = Site
    extra = 0


@admin.register(Client)
class ClientAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "siren", "city", "billing_email", "is_active"]
    list_filter = ["is_active", "holiday_subdivision"]
    search_fields = ["name", "siren", "siret", "vat_number", "city"]
    inlines = [ContactInline, SiteInline]


@admin.register(Contact)
class ContactAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "client", "email", "portal_role", "user"]
    list_filter = ["portal_role", "is_billing_contact", "is_dpo"]
    search_fields = ["last_name", "first_name", "email", "client__name"]
    list_select_related = ["client", "user"]
    raw_id_fields = ["user"]


@admin.register(Site)
class SiteAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "client", "city"]
    search_fields = ["name", "client__name", "city"]
    list_select_related = ["client"]


class ContractLineInline(admin.TabularInline):
    model = ContractLine
    extra = 0


@admin.register(Contract)
class ContractAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = [
        "reference", "client", "status", "billing_frequency", "signature_date",
        "current_period_end", "notice_deadline",
    ]
    list_filter = ["status", "billing_frequency", "has_severity1_4h", "has_backup", "has_hosting"]
    search_fields = ["reference", "client__name"]
    list_select_related = ["client"]
    date_hierarchy = "signature_date"
    readonly_fields = ["initial_term_end", "current_period_start", "current_period_end", "notice_deadline"]
    inlines = [ContractLineInline]


@admin.register(ForceMajeureEvent)
class ForceMajeureEventAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["description", "starts_at", "ends_at", "covers_all_clients"]
    list_filter = ["covers_all_clients"]
    filter_horizontal = ["clients"]
