"""Backup option (CGV annex 1): plans and tiers, subscriptions, devices, job reports,
daily supervision, usage and overage episodes, restores.

Volumes are stored in bytes; capacities are contracted in GB (10^9 bytes, as
storage is sold), see :data:`GB`.
"""
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from backups.choices import (
    DeviceKind,
    FlagKind,
    JobKind,
    JobStatus,
    OverageStatus,
    ReportSource,
    RestoreKind,
    RestoreStatus,
    Retention,
    StorageSite,
)

GB = 10**9


class BackupPlan(models.Model):
    """A price table of the backup option (K7: the fee depends on the contracted volume).

    Its tiers give the monthly price HT per contracted volume; it also holds
    the prices used to quote a restore done by MIS staff (K8: by number of
    sites and files).
    """

    name = models.CharField(_("nom"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    restore_price_per_site = models.DecimalField(
        _("restauration par MIS : prix HT par site"), max_digits=13, decimal_places=2,
        default=Decimal("60.00"), validators=[MinValueValidator(Decimal("0"))],
    )
    restore_price_per_thousand_files = models.DecimalField(
        _("restauration par MIS : prix HT par tranche de 1 000 fichiers"), max_digits=13, decimal_places=2,
        default=Decimal("15.00"), validators=[MinValueValidator(Decimal("0"))],
    )
    is_active = models.BooleanField(_("proposé aux nouveaux contrats"), default=True)

    class Meta:
        verbose_name = _("grille tarifaire de sauvegarde")
        verbose_name_plural = _("grilles tarifaires de sauvegarde")
        ordering = ["name"]

    def __str__(self):
        return self.name


class BackupTier(models.Model):
    """One row of a price table: a contracted volume (GB) and its monthly price HT (K7)."""

    plan = models.ForeignKey(BackupPlan, on_delete=models.CASCADE, related_name="tiers", verbose_name=_("grille"))
    capacity_gb = models.PositiveIntegerField(_("capacité (Go)"), validators=[MinValueValidator(1)])
    monthly_price = models.DecimalField(
        _("prix mensuel HT"), max_digits=13, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )

    class Meta:
        verbose_name = _("palier de sauvegarde")
        verbose_name_plural = _("paliers de sauvegarde")
        ordering = ["plan", "capacity_gb"]
        constraints = [models.UniqueConstraint(fields=["plan", "capacity_gb"], name="backup_tier_unique_capacity")]

    def __str__(self):
        return _("%(capacity)s Go") % {"capacity": self.capacity_gb}

    @property
    def capacity_bytes(self) -> int:
        return self.capacity_gb * GB


class BackupSubscription(models.Model):
    """The backup option of one contract: tier (capacity), retention (K3), storage sites (K1),
    encryption and compression (K2)."""

    contract = models.OneToOneField(
        "contracts.Contract", on_delete=models.PROTECT, related_name="backup_subscription", verbose_name=_("contrat")
    )
    plan = models.ForeignKey(BackupPlan, on_delete=models.PROTECT, related_name="+", verbose_name=_("grille"))
    tier = models.ForeignKey(BackupTier, on_delete=models.PROTECT, related_name="+", verbose_name=_("palier"))
    retention = models.CharField(_("rétention"), max_length=3, choices=Retention.choices, default=Retention.FIVE_WEEKS)
    primary_site = models.CharField(
        _("site de stockage principal"), max_length=10, choices=StorageSite.choices, default=StorageSite.MIS
    )
    replica_site = models.CharField(
        _("site répliqué"), max_length=10, choices=StorageSite.choices, default=StorageSite.OVH
    )
    encryption = models.BooleanField(_("chiffrement"), default=True)
    compression = models.BooleanField(_("compression"), default=True)
    started_on = models.DateField(_("début de l'option"))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)

    class Meta:
        verbose_name = _("abonnement sauvegarde")
        verbose_name_plural = _("abonnements sauvegarde")
        ordering = ["contract__reference"]

    def __str__(self):
        return _("Sauvegarde %(contract)s") % {"contract": self.contract}

    def clean(self):
        errors = {}
        if self.tier_id and self.plan_id and self.tier.plan_id != self.plan_id:
            errors["tier"] = _("Le palier doit appartenir à la grille choisie.")
        if self.primary_site == self.replica_site:
            # K1: two replicated sites, two copies.
            errors["replica_site"] = _("Les deux copies doivent être sur deux sites différents (CGV K1).")
        if errors:
            raise ValidationError(errors)

    @property
    def sites(self) -> tuple[str, str]:
        return (self.primary_site, self.replica_site)


class Device(models.Model):
    """A protected device (K1: workstation, NAS or server) of a subscription.

    ``client`` repeats the subscription's client so that the ingestion API
    finds a device by (client, hostname) with one indexed query.
    """

    subscription = models.ForeignKey(
        BackupSubscription, on_delete=models.CASCADE, related_name="devices", verbose_name=_("abonnement")
    )
    client = models.ForeignKey(
        "contracts.Client", on_delete=models.CASCADE, related_name="backup_devices", verbose_name=_("client")
    )
    hostname = models.CharField(_("nom d'hôte"), max_length=100)
    kind = models.CharField(_("type"), max_length=12, choices=DeviceKind.choices, default=DeviceKind.WORKSTATION)
    os = models.CharField(_("système d'exploitation"), max_length=100, blank=True)
    site = models.ForeignKey(
        "contracts.Site", on_delete=models.SET_NULL, null=True, blank=True, related_name="backup_devices",
        verbose_name=_("site du client"),
    )
    is_active = models.BooleanField(_("supervisé"), default=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("appareil sauvegardé")
        verbose_name_plural = _("appareils sauvegardés")
        ordering = ["client", "hostname"]
        constraints = [models.UniqueConstraint(fields=["client", "hostname"], name="backup_device_unique_hostname")]

    def __str__(self):
        return self.hostname

    def clean(self):
        if self.subscription_id:
            self.client_id = self.subscription.contract.client_id
        if self.site_id and self.client_id and self.site.client_id != self.client_id:
            raise ValidationError({"site": _("Le site doit appartenir au client de l'abonnement.")})
        # The constraint covers (client, hostname), but forms exclude the derived client: say it here.
        if self.client_id and Device.objects.filter(client_id=self.client_id, hostname=self.hostname).exclude(
            pk=self.pk
        ).exists():
            raise ValidationError({"hostname": _("Ce client a déjà un appareil de ce nom.")})

    @property
    def videos_excluded(self) -> bool:
        """CGV K6: video files are not backed up under the workstation option."""
        return self.kind == DeviceKind.WORKSTATION


class ApiToken(models.Model):
    """A secret the backup software sends to the ingestion API (``Authorization: Bearer …``).

    Only the SHA-256 of the token is stored; the token itself is shown once,
    when staff create it. A token belongs to a client and may be limited to
    one device; a revoked token is refused.
    """

    client = models.ForeignKey(
        "contracts.Client", on_delete=models.CASCADE, related_name="backup_api_tokens", verbose_name=_("client")
    )
    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, null=True, blank=True, related_name="api_tokens",
        verbose_name=_("limité à l'appareil"), help_text=_("Vide : tous les appareils du client."),
    )
    label = models.CharField(_("libellé"), max_length=100)
    prefix = models.CharField(_("début du jeton"), max_length=12, editable=False)
    token_hash = models.CharField(_("empreinte SHA-256"), max_length=64, unique=True, editable=False)
    rate_limit_per_minute = models.PositiveIntegerField(
        _("requêtes par minute"), default=120, validators=[MinValueValidator(1)]
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("créé par"),
    )
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)

    class Meta:
        verbose_name = _("jeton d'API de sauvegarde")
        verbose_name_plural = _("jetons d'API de sauvegarde")
        ordering = ["client", "label"]

    def __str__(self):
        return f"{self.label} ({self.prefix}…)"

    def clean(self):
        if self.device_id and self.client_id and self.device.client_id != self.client_id:
            raise ValidationError({"device": _("L'appareil doit appartenir au client du jeton.")})


class JobReport(models.Model):
    """One backup job as reported by the backup software (API or CSV import).

    ``job_id`` is the software's identifier: a retried report with the same
    ``job_id`` is not stored twice. ``copies`` counts the copies per storage
    site (K1), ``replicated`` says whether both sites of the subscription
    hold one; ``skipped`` counts the files left out per reason (K6 videos).
    """

    # No index of its own: the unique (device, job_id) and the (device, ended_at) index both start with
    # device_id and serve every lookup by device; one index less to update on each ingested report.
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="reports", verbose_name=_("appareil"),
                               db_index=False)
    job_id = models.CharField(_("identifiant du job"), max_length=100)
    started_at = models.DateTimeField(_("début"))
    ended_at = models.DateTimeField(_("fin"))
    status = models.CharField(_("résultat"), max_length=10, choices=JobStatus.choices)
    kind = models.CharField(_("type"), max_length=12, choices=JobKind.choices)
    bytes_transferred = models.BigIntegerField(_("octets transférés"), validators=[MinValueValidator(0)])
    bytes_stored = models.BigIntegerField(
        _("volume stocké (octets)"), validators=[MinValueValidator(0)],
        help_text=_("Volume total conservé pour l'appareil après ce job (historique compris)."),
    )
    files_count = models.PositiveIntegerField(_("fichiers"))
    copies = models.JSONField(_("copies par site"), default=dict)
    replicated = models.BooleanField(_("copie sur les deux sites"), default=False)
    skipped = models.JSONField(_("fichiers ignorés par motif"), default=dict, blank=True)
    skipped_videos = models.PositiveIntegerField(_("vidéos exclues"), default=0)
    source = models.CharField(_("origine"), max_length=5, choices=ReportSource.choices, default=ReportSource.API)
    payload_hash = models.CharField(_("empreinte du contenu"), max_length=64)
    received_at = models.DateTimeField(_("reçu le"), auto_now_add=True)

    class Meta:
        verbose_name = _("rapport de sauvegarde")
        verbose_name_plural = _("rapports de sauvegarde")
        ordering = ["-ended_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["device", "job_id"], name="backup_report_unique_job")]
        indexes = [
            models.Index(fields=["device", "ended_at"], name="backup_report_device_end"),
            # The staff list reads the latest reports first (issue #11: a sort of every report without it).
            models.Index(fields=["-ended_at", "-id"], name="backup_report_ended_desc"),
        ]

    def __str__(self):
        return f"{self.device_id} {self.job_id}"

    @property
    def is_good(self) -> bool:
        return self.status in (JobStatus.SUCCESS, JobStatus.WARNING)


class UsageSnapshot(models.Model):
    """The volume stored for a subscription, measured by the nightly run of ``day`` (K7).

    Usage = for each device, ``bytes_stored`` of its latest report ended
    before ``day`` 00:00 Paris, summed over the subscription's devices.
    """

    subscription = models.ForeignKey(
        BackupSubscription, on_delete=models.CASCADE, related_name="usage", verbose_name=_("abonnement")
    )
    day = models.DateField(_("jour"))
    used_bytes = models.BigIntegerField(_("volume utilisé (octets)"))
    capacity_gb = models.PositiveIntegerField(_("capacité (Go)"))

    class Meta:
        verbose_name = _("relevé d'utilisation")
        verbose_name_plural = _("relevés d'utilisation")
        ordering = ["-day", "subscription"]
        constraints = [models.UniqueConstraint(fields=["subscription", "day"], name="backup_usage_unique_day")]

    def __str__(self):
        return f"{self.subscription_id} {self.day}"

    @property
    def percent(self) -> Decimal:
        if not self.capacity_gb:
            return Decimal("0")
        return (Decimal(self.used_bytes) * 100 / (self.capacity_gb * GB)).quantize(Decimal("0.1"))


class OverageEpisode(models.Model):
    """CGV K7: usage reached capacity + 10 %; the client was told by e-mail on ``notified_on``.

    If usage is still above capacity on ``check_on`` (one month after the
    e-mail), the matching tier applies from ``effective_from`` (1st of the
    following month) until the contract's term. Usage back within capacity
    before then closes the episode without change. One open episode per
    subscription at a time.
    """

    subscription = models.ForeignKey(
        BackupSubscription, on_delete=models.CASCADE, related_name="overages", verbose_name=_("abonnement")
    )
    status = models.CharField(
        _("état"), max_length=10, choices=OverageStatus.choices, default=OverageStatus.OPEN, db_index=True
    )
    notified_on = models.DateField(_("client prévenu le"))
    check_on = models.DateField(_("vérification le"))
    usage_bytes = models.BigIntegerField(_("volume constaté (octets)"))
    capacity_gb = models.PositiveIntegerField(_("capacité contractuelle (Go)"))
    closed_on = models.DateField(_("clos le"), null=True, blank=True)
    closing_usage_bytes = models.BigIntegerField(_("volume à la clôture (octets)"), null=True, blank=True)
    new_tier = models.ForeignKey(
        BackupTier, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("nouveau palier")
    )
    effective_from = models.DateField(_("nouveau palier facturé à partir du"), null=True, blank=True)

    class Meta:
        verbose_name = _("dépassement de capacité")
        verbose_name_plural = _("dépassements de capacité")
        ordering = ["-notified_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription"], condition=Q(status="open"), name="backup_overage_one_open"
            ),
            models.UniqueConstraint(fields=["subscription", "notified_on"], name="backup_overage_unique_day"),
        ]

    def __str__(self):
        return _("Dépassement %(sub)s du %(day)s") % {"sub": self.subscription_id, "day": self.notified_on}


class SupervisionRun(models.Model):
    """One daily supervision (K1): the 24 hours checked and what was found."""

    day = models.DateField(_("jour"), unique=True)
    window_start = models.DateTimeField(_("début de la fenêtre"))
    window_end = models.DateTimeField(_("fin de la fenêtre"))
    devices_checked = models.PositiveIntegerField(_("appareils contrôlés"), default=0)
    flagged_devices = models.PositiveIntegerField(_("appareils en anomalie"), default=0)
    finished_at = models.DateTimeField(_("terminée le"), auto_now=True)

    class Meta:
        verbose_name = _("supervision quotidienne")
        verbose_name_plural = _("supervisions quotidiennes")
        ordering = ["-day"]

    def __str__(self):
        return str(self.day)


class SupervisionFlag(models.Model):
    """A problem the daily supervision found on a device (K1); one per device, day and kind."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="flags", verbose_name=_("appareil"))
    day = models.DateField(_("jour"))
    kind = models.CharField(_("anomalie"), max_length=20, choices=FlagKind.choices)
    detail = models.CharField(_("détail"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("anomalie de sauvegarde")
        verbose_name_plural = _("anomalies de sauvegarde")
        ordering = ["-day", "device"]
        constraints = [
            models.UniqueConstraint(fields=["device", "day", "kind"], name="backup_flag_unique_per_day"),
        ]
        indexes = [models.Index(fields=["day", "kind"], name="backup_flag_day_kind")]

    def __str__(self):
        return f"{self.day} {self.device_id} {self.kind}"


class RestoreRequest(models.Model):
    """A restore (K8) of a device to a backup point inside the retention (K3).

    Self-service restores are logged and free. A restore by MIS staff is
    quoted (by number of sites and files), accepted, then billed when done
    through ``billing.services.charge_record``.
    """

    subscription = models.ForeignKey(
        BackupSubscription, on_delete=models.PROTECT, related_name="restores", verbose_name=_("abonnement")
    )
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="restores", verbose_name=_("appareil"))
    report = models.ForeignKey(
        JobReport, on_delete=models.PROTECT, related_name="+", verbose_name=_("point de restauration")
    )
    kind = models.CharField(_("type"), max_length=5, choices=RestoreKind.choices)
    status = models.CharField(_("état"), max_length=10, choices=RestoreStatus.choices, db_index=True)
    requested_point = models.DateTimeField(_("date demandée"))
    description = models.TextField(_("quoi restaurer"), blank=True)
    requested_at = models.DateTimeField(_("demandée le"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("demandée par"),
    )
    sites_count = models.PositiveIntegerField(_("nombre de sites"), null=True, blank=True)
    files_count = models.PositiveIntegerField(_("nombre de fichiers"), null=True, blank=True)
    quote_amount = models.DecimalField(
        _("montant du devis HT"), max_digits=13, decimal_places=2, null=True, blank=True
    )
    quoted_on = models.DateField(_("devis du"), null=True, blank=True)
    accepted_on = models.DateField(_("devis accepté le"), null=True, blank=True)
    done_on = models.DateField(_("réalisée le"), null=True, blank=True)
    charge = models.ForeignKey(
        "billing.Charge", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("élément à facturer"),
    )

    class Meta:
        verbose_name = _("restauration")
        verbose_name_plural = _("restaurations")
        ordering = ["-requested_at", "-pk"]

    def __str__(self):
        return _("Restauration %(device)s au %(point)s") % {
            "device": self.device, "point": self.report.ended_at if self.report_id else "?"
        }
