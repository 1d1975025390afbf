"""Parties (clients, contacts, sites) and maintenance contracts."""
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from contracts.choices import BillingFrequency, ContactRole, ContractStatus, HolidaySubdivision
from core.validators import (
    check_siren_matches,
    validate_siren,
    validate_siret,
    validate_vat_number,
)

postal_code_validator = RegexValidator(r"^\d{5}$", _("Code postal français : 5 chiffres."))


class Client(models.Model):
    """A client company (the controller of the data MIS hosts, the buyer on invoices)."""

    name = models.CharField(_("raison sociale"), max_length=200)
    legal_form = models.CharField(_("forme juridique"), max_length=50, blank=True)
    siren = models.CharField(_("SIREN"), max_length=9, unique=True, validators=[validate_siren])
    siret = models.CharField(
        _("SIRET du siège"), max_length=14, blank=True, validators=[validate_siret]
    )
    vat_number = models.CharField(
        _("n° de TVA intracommunautaire"), max_length=20, blank=True, validators=[validate_vat_number]
    )
    address_line1 = models.CharField(_("adresse de facturation"), max_length=200)
    address_line2 = models.CharField(_("complément d'adresse"), max_length=200, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=10, validators=[postal_code_validator])
    city = models.CharField(_("ville"), max_length=100)
    country = models.CharField(_("pays (code ISO)"), max_length=2, default="FR")
    billing_email = models.EmailField(_("e-mail de facturation"))
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    holiday_subdivision = models.CharField(
        _("calendrier des jours fériés"),
        max_length=5,
        choices=HolidaySubdivision.choices,
        default=HolidaySubdivision.NATIONAL,
        blank=True,
        help_text=_("La Moselle et l'Alsace ajoutent le Vendredi saint et le 26 décembre."),
    )
    is_active = models.BooleanField(_("actif"), default=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean_fields(self, exclude=None):
        # Normalise before the length and checksum validators: staff type "512 345 679".
        self.siren = (self.siren or "").replace(" ", "")
        self.siret = (self.siret or "").replace(" ", "")
        self.vat_number = (self.vat_number or "").replace(" ", "").upper()
        super().clean_fields(exclude=exclude)

    def clean(self):
        errors = check_siren_matches(siren=self.siren, siret=self.siret, vat_number=self.vat_number)
        if errors:
            raise ValidationError(errors)


class Contact(models.Model):
    """A person at a client (CGV D1: personal data). With ``user`` set, a portal login.

    A portal user belongs to exactly one client: the one of its contact.
    """

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("client"))
    last_name = models.CharField(_("nom"), max_length=100)
    first_name = models.CharField(_("prénom"), max_length=100)
    email = models.EmailField(_("e-mail"))
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    job_title = models.CharField(_("fonction"), max_length=100, blank=True)
    portal_role = models.CharField(
        _("rôle"), max_length=10, choices=ContactRole.choices, default=ContactRole.TECHNICAL
    )
    is_billing_contact = models.BooleanField(_("destinataire des factures"), default=False)
    is_technical_contact = models.BooleanField(_("contact technique"), default=False)
    is_dpo = models.BooleanField(_("DPO / contact données personnelles"), default=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contact",
        verbose_name=_("accès au portail"),
    )
    is_active = models.BooleanField(_("actif"), default=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(fields=["client", "email"], name="contact_unique_email_per_client"),
        ]

    def __str__(self):
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def full_name(self) -> str:
        return str(self)


class Site(models.Model):
    """A client's premises, where equipment stands and technicians go."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="sites", verbose_name=_("client"))
    name = models.CharField(_("nom du site"), max_length=100)
    address_line1 = models.CharField(_("adresse"), max_length=200)
    address_line2 = models.CharField(_("complément d'adresse"), max_length=200, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=10, validators=[postal_code_validator])
    city = models.CharField(_("ville"), max_length=100)
    access_notes = models.TextField(_("consignes d'accès"), blank=True)

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        ordering = ["client__name", "name"]
        constraints = [models.UniqueConstraint(fields=["client", "name"], name="site_unique_name_per_client")]

    def __str__(self):
        return f"{self.client.name} — {self.name}" if self.client_id else self.name


class Contract(models.Model):
    """A maintenance contract (CGV art. 1, 3, 5): term, renewal, options and priced lines.

    The dates the terms define (initial term end C1, current period C2, notice
    deadline C3) are computed by ``contracts.terms`` and stored here when the
    contract is signed or renewed, so lists and the portal show them without
    recomputing.
    """

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("client"))
    reference = models.CharField(_("référence"), max_length=30, unique=True)
    signature_date = models.DateField(_("date de signature"))
    start_date = models.DateField(_("date de début"))
    status = models.CharField(
        _("état"), max_length=12, choices=ContractStatus.choices, default=ContractStatus.DRAFT, db_index=True
    )
    billing_frequency = models.CharField(
        _("périodicité de facturation"),
        max_length=10,
        choices=BillingFrequency.choices,
        default=BillingFrequency.MONTHLY,
    )
    has_maintenance = models.BooleanField(_("maintenance"), default=True)
    has_severity1_4h = models.BooleanField(
        _("option intervention 4 h ouvrables (sévérité 1)"), default=False
    )
    has_backup = models.BooleanField(_("option sauvegarde"), default=False)
    has_hosting = models.BooleanField(_("option messagerie et hébergement"), default=False)
    availability_guarantee = models.DecimalField(
        _("garantie de disponibilité (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("99.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    initial_term_end = models.DateField(_("fin de la période initiale"), null=True, blank=True)
    current_period_start = models.DateField(_("début de la période en cours"), null=True, blank=True)
    current_period_end = models.DateField(_("échéance de la période en cours"), null=True, blank=True, db_index=True)
    notice_deadline = models.DateField(
        _("date limite de dénonciation"), null=True, blank=True, db_index=True,
        help_text=_("Dernier jour pour envoyer la lettre recommandée de résiliation à l'échéance (CGV C3)."),
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("contrat")
        verbose_name_plural = _("contrats")
        ordering = ["-signature_date", "reference"]

    def __str__(self):
        return self.reference

    def clean(self):
        if self.signature_date and self.start_date and self.start_date < self.signature_date:
            raise ValidationError({"start_date": _("Le contrat ne peut pas commencer avant sa signature.")})


class ContractLine(models.Model):
    """A priced service of the contract, HT, for one billing month (P2; revised each year P3)."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="lines", verbose_name=_("contrat"))
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)
    description = models.CharField(_("prestation"), max_length=300)
    quantity = models.DecimalField(
        _("quantité"), max_digits=10, decimal_places=2, default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    unit_price = models.DecimalField(
        _("prix unitaire HT mensuel"), max_digits=13, decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    valid_from = models.DateField(
        _("en vigueur à partir du"), null=True, blank=True,
        help_text=_("Vide : depuis le début du contrat. Un avenant ajoute une ligne datée."),
    )
    valid_until = models.DateField(
        _("en vigueur jusqu'au"), null=True, blank=True, help_text=_("Vide : jusqu'à la fin du contrat.")
    )
    source = models.CharField(
        _("origine"), max_length=50, blank=True,
        help_text=_("Vide pour une ligne saisie ; ex. hosting.mailboxes, backups.tier pour une ligne d'avenant."),
    )

    class Meta:
        verbose_name = _("ligne de contrat")
        verbose_name_plural = _("lignes de contrat")
        ordering = ["contract", "position", "pk"]

    def __str__(self):
        return self.description

    def clean(self):
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": _("La fin de validité précède son début.")})

    def is_valid_on(self, day) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )


class ForceMajeureEvent(models.Model):
    """A force-majeure event (CGV art. 6, C8): obligations, and SLA clocks, are suspended meanwhile.

    It covers the listed clients, or every client when ``covers_all_clients`` is set.
    An open event has no ``ends_at`` yet.
    """

    description = models.CharField(_("description"), max_length=300)
    starts_at = models.DateTimeField(_("début"))
    ends_at = models.DateTimeField(_("fin"), null=True, blank=True)
    covers_all_clients = models.BooleanField(_("tous les clients"), default=False)
    clients = models.ManyToManyField(Client, blank=True, related_name="force_majeure_events", verbose_name=_("clients"))
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("événement de force majeure")
        verbose_name_plural = _("événements de force majeure")
        ordering = ["-starts_at"]

    def __str__(self):
        return f"{self.description} ({self.starts_at:%d/%m/%Y})"

    def clean(self):
        if self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("La fin doit suivre le début.")})
