from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Facturation")

    def ready(self):
        # CGV C11: contracts shows the liability cap from the sums paid (contracts never imports billing).
        from billing.selectors import contract_first_year_paid
        from contracts.selectors import register_first_year_payments

        register_first_year_payments(contract_first_year_paid)
