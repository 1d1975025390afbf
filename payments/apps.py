from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Paiements et relances")

    def ready(self):
        from billing.selectors import mandate_reference_provider_register
        from payments import checks  # noqa: F401  (registers the L3 rate check)
        from payments.selectors import mandate_reference_map

        # L5: billing prints the RUM of the client's active mandate on direct-debit invoices.
        mandate_reference_provider_register(mandate_reference_map)
