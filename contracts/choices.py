from django.db import models
from django.utils.translation import gettext_lazy as _


class HolidaySubdivision(models.TextChoices):
    """Public-holiday calendar of the client's sites (``holidays`` package subdivisions)."""

    NATIONAL = "", _("France métropolitaine")
    MOSELLE = "57", _("Moselle (57)")
    ALSACE = "6AE", _("Alsace (67, 68)")


class ContactRole(models.TextChoices):
    """What a client contact is for, and what it sees in the portal."""

    ADMIN = "admin", _("administrateur de l'entreprise")
    BILLING = "billing", _("facturation")
    TECHNICAL = "technical", _("technique")


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("brouillon")
    ACTIVE = "active", _("actif")
    SUSPENDED = "suspended", _("suspendu")
    TERMINATED = "terminated", _("résilié")
    ENDED = "ended", _("terminé")


class BillingFrequency(models.TextChoices):
    MONTHLY = "monthly", _("mensuelle")
    QUARTERLY = "quarterly", _("trimestrielle")
    YEARLY = "yearly", _("annuelle")

    @property
    def months(self) -> int:
        return {"monthly": 1, "quarterly": 3, "yearly": 12}[self.value]
