"""System check (L3): the contractual late-interest rate may not be below three times the legal rate."""
from django.core.checks import Warning, register

from payments import conf, rules


@register()
def late_interest_rate_check(app_configs, **kwargs):
    rate = conf.get("PAYMENTS_LATE_INTEREST_ANNUAL_RATE")
    legal = conf.get("PAYMENTS_LEGAL_INTEREST_RATE")
    if rules.rate_below_legal_floor(rate, legal):
        return [Warning(
            f"Taux des pénalités de retard ({rate} % l'an) inférieur à trois fois le taux d'intérêt légal "
            f"({legal} % → plancher {legal * 3} %) : interdit par l'article L441-10 du Code de commerce (L3).",
            hint="Relevez PAYMENTS_LATE_INTEREST_ANNUAL_RATE ou mettez à jour PAYMENTS_LEGAL_INTEREST_RATE.",
            id="payments.W001",
        )]
    return []
