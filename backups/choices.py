"""Choice sets of the backup option (CGV annex 1, K1–K8)."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class DeviceKind(models.TextChoices):
    """What is backed up (K1). Workstations fall under the workstation option (K6: no videos)."""

    WORKSTATION = "workstation", _("poste de travail")
    NAS = "nas", _("NAS")
    SERVER = "server", _("serveur")


class Retention(models.TextChoices):
    """How far back a restore may go (K3), as contracted."""

    FIVE_WEEKS = "5w", _("5 semaines")
    TWELVE_MONTHS = "12m", _("12 mois")


class StorageSite(models.TextChoices):
    """The replicated storage sites in France (K1: OVH and MIS data centres)."""

    OVH = "ovh", _("Data center OVH (France)")
    MIS = "mis", _("Data center MIS (France)")


class JobStatus(models.TextChoices):
    """Outcome of a backup job as the backup software reports it. SUCCESS and WARNING are good backups."""

    SUCCESS = "success", _("réussie")
    WARNING = "warning", _("réussie avec avertissements")
    FAILED = "failed", _("échouée")


GOOD_STATUSES = (JobStatus.SUCCESS, JobStatus.WARNING)


class JobKind(models.TextChoices):
    """K2: incremental backups with session history; a full one from time to time."""

    INCREMENTAL = "incremental", _("incrémentale")
    FULL = "full", _("complète")


class SkipReason(models.TextChoices):
    """Why files were left out of a job. VIDEO is the K6 exclusion of the workstation option."""

    VIDEO = "video", _("vidéo exclue (option poste de travail)")
    LOCKED = "locked", _("fichier verrouillé")
    PERMISSION = "permission", _("accès refusé")
    TOO_LARGE = "too_large", _("fichier trop volumineux")
    OTHER = "other", _("autre")


class ReportSource(models.TextChoices):
    API = "api", _("API")
    CSV = "csv", _("import CSV")


class FlagKind(models.TextChoices):
    """What the daily supervision (K1) found wrong with a device."""

    NO_SUCCESS = "no_success", _("aucune sauvegarde réussie depuis 24 h")
    FAILED_JOB = "failed_job", _("sauvegarde échouée")
    MISSING_REPLICA = "missing_replica", _("copie absente sur le second site")


class OverageStatus(models.TextChoices):
    """K7 episode: opened (e-mail sent), then closed back under capacity, or upgraded to the matching tier."""

    OPEN = "open", _("en cours (client prévenu)")
    RESOLVED = "resolved", _("revenu dans la capacité")
    UPGRADED = "upgraded", _("palier supérieur appliqué")


class RestoreKind(models.TextChoices):
    """K8: self-service restores are free and unlimited; a restore done by MIS is quoted and billed."""

    SELF_SERVICE = "self", _("restauration en ligne par le client")
    STAFF = "staff", _("restauration par MIS (sur devis)")


class RestoreStatus(models.TextChoices):
    LOGGED = "logged", _("enregistrée (gratuite)")
    REQUESTED = "requested", _("demandée, devis à établir")
    QUOTED = "quoted", _("devis envoyé")
    ACCEPTED = "accepted", _("devis accepté")
    DONE = "done", _("réalisée")
    CANCELLED = "cancelled", _("annulée")
