from django.contrib import admin

from billing.models import Charge
from core.admin import AuditedAdminMixin


@admin.register(Charge)
class ChargeAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["service_date", "client", "description", "quantity", "unit_price", "vat_rate", "status", "source"]
    list_filter = ["status", "source"]
    search_fields = ["description", "client__name", "source_key"]
    list_select_related = ["client"]
