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


class ContractDocumentKind(models.TextChoices):
    """The signed documents that make up the contract (CGV G1)."""

    CGV = "cgv", _("conditions générales de vente")
    ORDER_FORM = "order_form", _("bon de commande")
    SPECIAL_CONDITIONS = "special_conditions", _("conditions particulières")
    OPTION = "option", _("annexe d'option")
    AMENDMENT = "amendment", _("avenant")
    OTHER = "other", _("autre")


class TerminationKind(models.TextChoices):
    """How a contract ends before or at its term (CGV art. 5: C3–C7)."""

    AT_TERM = "at_term", _("dénonciation à l'échéance (C3)")
    EARLY_CLIENT = "early_client", _("résiliation anticipée par le client (C4)")
    AMICABLE = "amicable", _("résiliation anticipée amiable (C5)")
    FOR_CAUSE = "for_cause", _("résiliation pour faute du client (C6)")
    AVAILABILITY = "availability", _("résiliation pour garantie de disponibilité non tenue (C7)")


class Party(models.TextChoices):
    CLIENT = "client", _("le client")
    PROVIDER = "provider", _("le prestataire")


class TerminationStatus(models.TextChoices):
    RECORDED = "recorded", _("enregistrée")
    EFFECTIVE = "effective", _("effective (contrat clos)")
    WITHDRAWN = "withdrawn", _("retirée")


class SuspensionReason(models.TextChoices):
    """Why the provider suspends the services (CGV C10, art. 8; B3 d for unpaid invoices)."""

    BREACH = "breach", _("manquement du client à ses obligations")
    ILLICIT_USE = "illicit_use", _("utilisation illicite des services")
    OBSTRUCTION = "obstruction", _("le client empêche le prestataire d'exécuter ses obligations")
    UNPAID = "unpaid", _("impayé après mise en demeure (B3 d)")


class EquipmentKind(models.TextChoices):
    WORKSTATION = "workstation", _("poste de travail")
    LAPTOP = "laptop", _("ordinateur portable")
    SERVER = "server", _("serveur")
    NAS = "nas", _("NAS")
    PRINTER = "printer", _("imprimante")
    NETWORK = "network", _("matériel réseau")
    FIREWALL = "firewall", _("pare-feu")
    OTHER = "other", _("autre")


class EquipmentOwnership(models.TextChoices):
    LEASED = "leased", _("loué (à restituer, C9)")
    OWNED = "owned", _("propriété du client")


class AvailabilitySource(models.TextChoices):
    STAFF = "staff", _("saisie par l'équipe")
    INTERVENTIONS = "interventions", _("calculée par les interventions")
