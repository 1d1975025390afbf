"""Mail and web hosting option (CGV annex 2, H1–H5): domains, certificates, services,
mailboxes, prices, mailbox change requests and planned maintenance windows."""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from hosting.choices import (
    ChangeRequestOrigin,
    ChangeRequestStatus,
    PriceItem,
    PricingMode,
    ServiceKind,
    ServiceStatus,
)
from hosting.validators import normalize_domain_name, validate_domain_name

local_part_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?$",
    _("Partie avant @ : lettres minuscules, chiffres, points, tirets (ex. contact, jean.dupont)."),
)


class Domain(models.Model):
    """A client's domain name (nom de domaine). H3: the client must be its administrator
    before any hosted service is set up; staff record when that was confirmed."""

    client = models.ForeignKey(
        "contracts.Client", on_delete=models.PROTECT, related_name="domains", verbose_name=_("client")
    )
    name = models.CharField(_("nom de domaine"), max_length=253, unique=True, validators=[validate_domain_name])
    registrar = models.CharField(_("bureau d'enregistrement"), max_length=100, blank=True)
    expires_on = models.DateField(_("date d'expiration"), null=True, blank=True, db_index=True)
    client_is_administrator = models.BooleanField(
        _("le client est administrateur du domaine"),
        default=False,
        help_text=_("CGV H3 : condition de souscription, confirmée par l'équipe MIS."),
    )
    administrator_confirmed_on = models.DateField(_("administration confirmée le"), null=True, blank=True)
    administrator_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmée par"),
    )
    dns_notes = models.TextField(_("configuration DNS"), blank=True, help_text=_("MX, SPF, DKIM, autodiscover…"))
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("nom de domaine")
        verbose_name_plural = _("noms de domaine")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean_fields(self, exclude=None):
        self.name = normalize_domain_name(self.name)
        super().clean_fields(exclude=exclude)


class Certificate(models.Model):
    """An SSL/TLS certificate the client holds for its domain (H3), read from its PEM file.

    Only the public certificate is stored, never a private key.
    """

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="certificates", verbose_name=_("domaine"))
    pem = models.TextField(_("certificat (PEM)"))
    subject = models.CharField(_("sujet"), max_length=500)
    issuer = models.CharField(_("émetteur"), max_length=500)
    names = models.JSONField(_("noms couverts"), default=list)
    serial_number = models.CharField(_("numéro de série"), max_length=64)
    fingerprint_sha256 = models.CharField(_("empreinte SHA-256"), max_length=95)
    not_valid_before = models.DateTimeField(_("valide à partir du"))
    not_valid_after = models.DateTimeField(_("valide jusqu'au"), db_index=True)
    uploaded_at = models.DateTimeField(_("enregistré le"), auto_now_add=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("enregistré par"),
    )

    class Meta:
        verbose_name = _("certificat SSL")
        verbose_name_plural = _("certificats SSL")
        ordering = ["domain__name", "-not_valid_after"]
        constraints = [
            models.UniqueConstraint(fields=["domain", "fingerprint_sha256"], name="certificate_unique_per_domain"),
        ]

    def __str__(self):
        return f"{', '.join(self.names)} (→ {self.not_valid_after:%d/%m/%Y})"

    def is_valid_at(self, now) -> bool:
        return self.not_valid_before <= now <= self.not_valid_after


class HostingService(models.Model):
    """A hosted service of a contract on one domain (H1): IMAP mail, shared Exchange mail or a web site.

    ``mailbox_count`` is the number of mailboxes the contract pays for; it
    changes only through a completed change request (H5).
    """

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="hosting_services", verbose_name=_("contrat")
    )
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="services", verbose_name=_("domaine"))
    kind = models.CharField(_("service"), max_length=10, choices=ServiceKind.choices)
    pricing_mode = models.CharField(
        _("tarification"),
        max_length=10,
        choices=PricingMode.choices,
        default=PricingMode.UNIT,
        help_text=_("Par pack de 5 : Exchange mutualisé seulement, si le contrat le prévoit (H5)."),
    )
    mailbox_count = models.PositiveIntegerField(_("boîtes aux lettres souscrites"), default=0)
    site_url = models.CharField(_("site web"), max_length=253, blank=True, help_text=_("ex. www.exemple.fr"))
    storage_gb = models.PositiveIntegerField(_("espace de stockage (Go)"), null=True, blank=True)
    status = models.CharField(
        _("état"), max_length=10, choices=ServiceStatus.choices, default=ServiceStatus.PENDING, db_index=True
    )
    activated_on = models.DateField(_("activé le"), null=True, blank=True)
    closed_on = models.DateField(_("résilié le"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("service hébergé")
        verbose_name_plural = _("services hébergés")
        ordering = ["domain__name", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["domain", "kind"],
                condition=~Q(status="closed"),
                name="hosting_service_one_open_per_domain_and_kind",
            ),
        ]

    def __str__(self):
        label = capfirst(self.get_kind_display())
        return f"{label} — {self.domain.name}" if self.domain_id else label

    @property
    def contract_line_source(self) -> str:
        """``ContractLine.source`` of the lines this service adds to its contract."""
        return f"hosting.service.{self.pk}"

    @property
    def is_mail(self) -> bool:
        return self.kind in ServiceKind.mail_kinds()

    def clean(self):
        errors = {}
        if self.pricing_mode == PricingMode.PACK and self.kind != ServiceKind.EXCHANGE:
            errors["pricing_mode"] = _("Les packs de 5 boîtes ne concernent que la messagerie Exchange mutualisée.")
        if self.kind == ServiceKind.WEB and self.mailbox_count:
            errors["mailbox_count"] = _("Un hébergement de site web n'a pas de boîtes aux lettres facturées.")
        if self.kind == ServiceKind.WEB and not self.site_url:
            errors["site_url"] = _("Indiquez l'adresse du site hébergé.")
        if self.contract_id and not self.contract.has_hosting:
            errors["contract"] = _("Le contrat %(ref)s n'a pas l'option « messagerie et hébergement ».") % {
                "ref": self.contract.reference
            }
        if self.contract_id and self.domain_id and self.contract.client_id != self.domain.client_id:
            errors["domain"] = _("Le domaine doit appartenir au client du contrat.")
        if errors:
            raise ValidationError(errors)


class Mailbox(models.Model):
    """A mailbox of a mail service; IMAP mailboxes may carry aliases ("multi-alias", annex art. 3)."""

    service = models.ForeignKey(
        HostingService, on_delete=models.CASCADE, related_name="mailboxes", verbose_name=_("service")
    )
    local_part = models.CharField(_("adresse (avant @)"), max_length=64, validators=[local_part_validator])
    display_name = models.CharField(_("nom affiché"), max_length=200, blank=True)
    aliases = models.TextField(_("alias (un par ligne, avant @)"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)

    class Meta:
        verbose_name = _("boîte aux lettres")
        verbose_name_plural = _("boîtes aux lettres")
        ordering = ["service", "local_part"]
        constraints = [
            models.UniqueConstraint(fields=["service", "local_part"], name="mailbox_unique_address_per_service"),
        ]

    def __str__(self):
        return self.local_part

    @property
    def alias_list(self) -> list[str]:
        return [a.strip().lower() for a in self.aliases.splitlines() if a.strip()]

    def clean_fields(self, exclude=None):
        self.local_part = (self.local_part or "").strip().lower()
        self.aliases = "\n".join(self.alias_list)
        super().clean_fields(exclude=exclude)

    def clean(self):
        aliases = self.alias_list
        if not aliases:
            return
        if self.service_id and self.service.kind != ServiceKind.IMAP:
            raise ValidationError({"aliases": _("Les alias sont proposés avec la messagerie IMAP seulement.")})
        for alias in aliases:
            try:
                local_part_validator(alias)
            except ValidationError as exc:
                raise ValidationError({"aliases": exc.messages}) from exc
        if self.local_part in aliases or len(set(aliases)) != len(aliases):
            raise ValidationError({"aliases": _("Un alias est répété ou reprend l'adresse de la boîte.")})


class HostingPrice(models.Model):
    """The hosting price table, monthly HT, editable by staff (H5). A new row with a later
    ``valid_from`` changes the price from that date; older rows keep the history."""

    item = models.CharField(_("élément"), max_length=20, choices=PriceItem.choices)
    unit_price = models.DecimalField(
        _("prix unitaire HT mensuel"), max_digits=13, decimal_places=2, validators=[MinValueValidator(0)]
    )
    valid_from = models.DateField(_("en vigueur à partir du"))

    class Meta:
        verbose_name = _("tarif d'hébergement")
        verbose_name_plural = _("tarifs d'hébergement")
        ordering = ["item", "-valid_from"]
        constraints = [models.UniqueConstraint(fields=["item", "valid_from"], name="hosting_price_unique_item_date")]

    def __str__(self):
        return f"{self.get_item_display()} : {self.unit_price} € HT/mois (dès le {self.valid_from:%d/%m/%Y})"


class ChangeRequest(models.Model):
    """A request to change the number of mailboxes of a mail service (H5: done within 8 days).

    ``due_on`` = date of receipt (Paris) + 8 days, stored at receipt. Completion
    amends the contract from ``effective_from``, the start of the next billing
    period. ``overdue_flagged_at`` records the one alert sent to staff.
    """

    service = models.ForeignKey(
        HostingService, on_delete=models.PROTECT, related_name="change_requests", verbose_name=_("service")
    )
    mailboxes_before = models.PositiveIntegerField(_("boîtes avant la demande"))
    requested_mailboxes = models.PositiveIntegerField(_("nombre de boîtes souhaité"))
    origin = models.CharField(_("origine"), max_length=10, choices=ChangeRequestOrigin.choices)
    requested_by_contact = models.ForeignKey(
        "contracts.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("demandée par (contact)"),
    )
    requested_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("saisie par"),
    )
    comment = models.TextField(_("commentaire"), blank=True)
    received_at = models.DateTimeField(_("reçue le"))
    due_on = models.DateField(_("à traiter au plus tard le"), db_index=True)
    status = models.CharField(
        _("état"), max_length=10, choices=ChangeRequestStatus.choices, default=ChangeRequestStatus.OPEN, db_index=True
    )
    completed_at = models.DateTimeField(_("traitée le"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("traitée par"),
    )
    effective_from = models.DateField(_("facturée à partir du"), null=True, blank=True)
    overdue_flagged_at = models.DateTimeField(_("retard signalé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("demande de modification des boîtes")
        verbose_name_plural = _("demandes de modification des boîtes")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["service"], condition=Q(status="open"), name="change_request_one_open_per_service"
            ),
        ]

    def __str__(self):
        return f"{self.service} : {self.mailboxes_before} → {self.requested_mailboxes}"

    def is_overdue(self, today) -> bool:
        return self.status == ChangeRequestStatus.OPEN and today > self.due_on


class MaintenanceWindow(models.Model):
    """A planned interruption of hosted services (H2), announced to the affected clients."""

    title = models.CharField(_("objet"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    starts_at = models.DateTimeField(_("début"))
    ends_at = models.DateTimeField(_("fin"))
    services = models.ManyToManyField(
        HostingService, related_name="maintenance_windows", verbose_name=_("services concernés")
    )
    announced_at = models.DateTimeField(_("annoncée le"), null=True, blank=True)
    announced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("annoncée par"),
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)

    class Meta:
        verbose_name = _("maintenance planifiée")
        verbose_name_plural = _("maintenances planifiées")
        ordering = ["-starts_at"]

    def __str__(self):
        return f"{self.title} ({self.starts_at:%d/%m/%Y})"

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("La fin doit suivre le début.")})
