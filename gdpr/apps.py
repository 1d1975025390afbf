from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GdprConfig(AppConfig):
    name = "gdpr"
    verbose_name = _("Données personnelles (RGPD)")
