"""Choices of the interventions app (one set per field, upper-case constants)."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """How the client reported the problem."""

    PHONE = "phone", _("téléphone")
    PORTAL = "portal", _("portail client")
    EMAIL = "email", _("e-mail")
    ONSITE = "onsite", _("sur site")
    REMOTE = "remote", _("télémaintenance")


class Category(models.TextChoices):
    """What the problem is about. The ``EXCLUDED`` ones are outside the contract (CGV S6, art. 13)."""

    HARDWARE = "hardware", _("matériel (PC)")
    OPERATING_SYSTEM = "os", _("système d'exploitation Microsoft")
    OFFICE = "office", _("bureautique Microsoft")
    NETWORK = "network", _("réseau Ethernet / Internet")
    BACKUP_HARDWARE = "backup_hw", _("matériel de sauvegarde (option, K5)")
    OTHER_COVERED = "other", _("autre demande couverte")
    # CGV S6 — not covered, quoted and billed:
    MISUSE = "misuse", _("utilisation non conforme")
    THIRD_PARTY = "third_party", _("intervention d'un tiers")
    SOFTWARE_BY_OTHERS = "software_others", _("logiciel, jeu ou périphérique installé par un tiers")
    CONFIGURATION_CHANGE = "config_change", _("modification de configuration standard")
    POWER_FAILURE = "power", _("défaillance électrique")
    FORCE_MAJEURE = "force_majeure", _("conséquence d'un cas de force majeure")
    BACKUP_MANAGEMENT = "backup_mgmt", _("gestion des sauvegardes")
    CONSUMABLES = "consumables", _("pièce d'usure ou consommable")
    OTHER_EQUIPMENT = "other_equipment", _("autre matériel ou logiciel que ceux du contrat")


EXCLUDED_CATEGORIES = frozenset(
    {
        Category.MISUSE,
        Category.THIRD_PARTY,
        Category.SOFTWARE_BY_OTHERS,
        Category.CONFIGURATION_CHANGE,
        Category.POWER_FAILURE,
        Category.FORCE_MAJEURE,
        Category.BACKUP_MANAGEMENT,
        Category.CONSUMABLES,
        Category.OTHER_EQUIPMENT,
    }
)


class Severity(models.IntegerChoices):
    """CGV S2 severity levels."""

    BLOCKING = 1, _("sévérité 1 — bloquant")
    MINOR = 2, _("sévérité 2 — mineur")


class TicketStatus(models.TextChoices):
    NEW = "new", _("nouveau")
    ASSIGNED = "assigned", _("attribué")
    IN_PROGRESS = "in_progress", _("en cours")
    WAITING_CLIENT = "waiting_client", _("en attente du client")
    RESOLVED = "resolved", _("résolu")
    CLOSED = "closed", _("clos")
    CANCELLED = "cancelled", _("annulé")


OPEN_STATUSES = (
    TicketStatus.NEW,
    TicketStatus.ASSIGNED,
    TicketStatus.IN_PROGRESS,
    TicketStatus.WAITING_CLIENT,
)


class SlaState(models.TextChoices):
    """Where a deadline stands (S2 interventions, K4 call-backs, K5 repairs)."""

    ON_TRACK = "on_track", _("dans les délais")
    AT_RISK = "at_risk", _("à risque (75 % du délai consommé)")
    BREACHED = "breached", _("délai dépassé")
    MET = "met", _("délai tenu")
    MISSED = "missed", _("délai non tenu")


class InterventionKind(models.TextChoices):
    ONSITE = "onsite", _("sur site")
    REMOTE = "remote", _("télémaintenance")
    PREVENTIVE = "preventive", _("visite préventive")


class InterventionStatus(models.TextChoices):
    PROPOSED = "proposed", _("rendez-vous proposé")
    PLANNED = "planned", _("planifiée")
    IN_PROGRESS = "in_progress", _("en cours")
    DONE = "done", _("terminée")
    CANCELLED = "cancelled", _("annulée")


class RateKind(models.TextChoices):
    """Out-of-hours rate bands (CGV S5: work outside normal hours, billed at the current rates)."""

    WEEKDAY_EVENING = "weekday", _("jour ouvré, hors horaires (avant 9 h, après 18 h)")
    SATURDAY = "saturday", _("samedi")
    SUNDAY_HOLIDAY = "sunday_holiday", _("dimanche ou jour férié")


class OutageScope(models.TextChoices):
    """What was unavailable (CGV C7)."""

    ALL = "all", _("tous les services")
    INTERNET = "internet", _("accès Internet")
    SERVERS = "servers", _("serveurs")
    HOSTING = "hosting", _("messagerie et hébergement")
    BACKUP = "backup", _("sauvegarde")


class PauseReason(models.TextChoices):
    WAITING_CLIENT = "waiting_client", _("en attente du client")
