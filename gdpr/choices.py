"""Choice sets of the gdpr app (one per field)."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class RequestKind(models.TextChoices):
    """The rights a data subject may exercise (CGV D3; GDPR Art. 15–22)."""

    ACCESS = "access", _("accès")
    RECTIFICATION = "rectification", _("rectification")
    ERASURE = "erasure", _("effacement")
    RESTRICTION = "restriction", _("limitation du traitement")
    PORTABILITY = "portability", _("portabilité")
    OBJECTION = "objection", _("opposition")
    AUTOMATED = "automated", _("ne pas faire l'objet d'une décision automatisée")


class RequestChannel(models.TextChoices):
    STAFF = "staff", _("reçue par MIS (e-mail, courrier, téléphone)")
    PORTAL = "portal", _("déposée sur l'espace client")


class RequestStatus(models.TextChoices):
    FORWARDED = "forwarded", _("transmise au responsable de traitement")
    ANSWERED = "answered", _("traitée")


class BreachStatus(models.TextChoices):
    OPEN = "open", _("à notifier")
    NOTIFIED = "notified", _("notifiée au responsable de traitement")
    CLOSED = "closed", _("close")


class NotificationStage(models.TextChoices):
    INITIAL = "initial", _("notification initiale")
    COMPLEMENT = "complement", _("complément")


class DispositionChoice(models.TextChoices):
    """CGV D10 / art. 14.9: at the end of the contract, return or delete, at the client's choice."""

    RETURN = "return", _("restitution des données")
    DELETE = "delete", _("suppression des données")


class DispositionStatus(models.TextChoices):
    AWAITING_CHOICE = "awaiting", _("choix du client attendu")
    CHOSEN = "chosen", _("choix enregistré, à exécuter")
    RETURNED = "returned", _("données restituées, copies à détruire")
    DONE = "done", _("copies détruites (certificat établi)")


class ActivityCode(models.TextChoices):
    """Processing MIS does for a client, derived from the contract's options (register, Art. 30(2))."""

    MAINTENANCE = "maintenance", _("maintenance et assistance informatique")
    BACKUP = "backup", _("sauvegarde de données")
    HOSTING = "hosting", _("hébergement de messagerie et de sites web")


class ControllerRequestKind(models.TextChoices):
    """What a controller (the client) asks of its processor (CGV D4, D7, D8; GDPR Art. 28(3))."""

    INSTRUCTION = "instruction", _("instruction documentée sur un traitement (D4)")
    DPIA = "dpia", _("aide à une analyse d'impact (AIPD, D7)")
    PRIOR_CONSULTATION = "consultation", _("aide à une consultation préalable de la CNIL (D7)")
    SECURITY = "security", _("description des mesures de sécurité (D7)")
    AUDIT = "audit", _("documentation de conformité ou audit (D8)")


class ControllerRequestStatus(models.TextChoices):
    RECEIVED = "received", _("reçue, à traiter")
    CHALLENGED = "challenged", _("instruction signalée comme illicite au client")
    DONE = "done", _("traitée")
