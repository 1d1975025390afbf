"""Parties (clients, contacts, sites) and maintenance contracts."""
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from contracts.choices import (
    AvailabilitySource,
    BillingFrequency,
    ContactRole,
    ContractDocumentKind,
    ContractStatus,
    EquipmentKind,
    EquipmentOwnership,
    HolidaySubdivision,
    Party,
    SuspensionReason,
    TerminationKind,
    TerminationStatus,
)
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
    end_date = models.DateField(
        _("fin du contrat"), null=True, blank=True, db_index=True,
        help_text=_("Dernier jour du contrat, quelle qu'en soit la cause (résiliation, dénonciation)."),
    )
    syntec_base_index = models.ForeignKey(
        "contracts.SyntecIndex",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("indice Syntec de référence"),
        help_text=_("Indice sur lequel reposent les prix en vigueur (CGV P3) : celui de la signature, "
                    "puis celui de la dernière révision."),
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


def _contract_upload(instance, filename):
    return f"contracts/{instance.contract_id}/{filename}"


class ContractDocument(models.Model):
    """A signed document of the contract (CGV G1): CGV version, order form, special conditions, option annex."""

    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="documents", verbose_name=_("contrat")
    )
    kind = models.CharField(_("type"), max_length=20, choices=ContractDocumentKind.choices)
    title = models.CharField(_("intitulé"), max_length=200)
    version = models.CharField(_("version"), max_length=50, blank=True, help_text=_("ex. CGV 2026-01"))
    signed_on = models.DateField(_("signé le"), null=True, blank=True)
    file = models.FileField(_("document signé"), upload_to=_contract_upload, blank=True)
    created_at = models.DateTimeField(_("ajouté le"), auto_now_add=True)

    class Meta:
        verbose_name = _("document contractuel")
        verbose_name_plural = _("documents contractuels")
        ordering = ["contract", "kind", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()} — {self.title}"


class SyntecIndex(models.Model):
    """A monthly value of the Syntec index with its publication date (CGV P3).

    The revision on 1 January uses the latest value *published* on or before
    that date, not the latest month: the index of month M is published at the
    end of month M+1.
    """

    month = models.DateField(_("mois"), unique=True, help_text=_("Premier jour du mois de l'indice."))
    value = models.DecimalField(_("valeur"), max_digits=8, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    published_on = models.DateField(_("publié le"), db_index=True)
    published_on_confirmed = models.BooleanField(
        _("date de publication vérifiée"), default=False,
        help_text=_("Décoché : date supposée (dernier jour ouvré du mois suivant)."),
    )

    class Meta:
        verbose_name = _("indice Syntec")
        verbose_name_plural = _("indices Syntec")
        ordering = ["-month"]

    def __str__(self):
        return f"Syntec {self.month:%m/%Y} = {self.value}"

    def clean(self):
        if self.month and self.month.day != 1:
            self.month = self.month.replace(day=1)
        if self.month and self.published_on and self.published_on < self.month:
            raise ValidationError({"published_on": _("Un indice ne peut pas être publié avant son mois.")})


class ContractRevision(models.Model):
    """One yearly Syntec revision of a contract's prices (CGV P3): at most one per contract and year.

    ``coefficient`` = I_N / I_{N-1}; new unit price = old × coefficient, rounded
    half-up to the cent. ``lines`` keeps each revised line:
    ``[{"line": id, "description", "quantity", "old_unit_price", "new_unit_price"}]``.
    """

    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="revisions", verbose_name=_("contrat")
    )
    year = models.PositiveSmallIntegerField(_("année"))
    revision_date = models.DateField(_("date de révision"))
    base_index = models.ForeignKey(
        SyntecIndex, on_delete=models.PROTECT, related_name="+", verbose_name=_("indice de référence (I N-1)")
    )
    new_index = models.ForeignKey(
        SyntecIndex, on_delete=models.PROTECT, related_name="+", verbose_name=_("nouvel indice (I N)")
    )
    coefficient = models.DecimalField(_("coefficient"), max_digits=18, decimal_places=12)
    old_monthly_total = models.DecimalField(_("redevance mensuelle HT avant"), max_digits=13, decimal_places=2)
    new_monthly_total = models.DecimalField(_("redevance mensuelle HT après"), max_digits=13, decimal_places=2)
    lines = models.JSONField(_("lignes révisées"), default=list)
    letter_sent = models.BooleanField(_("lettre de révision envoyée"), default=False)
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)

    class Meta:
        verbose_name = _("révision Syntec")
        verbose_name_plural = _("révisions Syntec")
        ordering = ["-year", "contract"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "year"], name="revision_once_per_contract_year"),
        ]

    def __str__(self):
        return f"{self.contract_id} — révision {self.year}"


class Termination(models.Model):
    """A termination of the contract and its effect (CGV C3–C7), registered letter included.

    Billing reads this model: ``amount_due`` (Decimal, HT, rounded to the cent)
    is what the client owes for the termination (C4 instalments left, C5 the
    same with 20 % off, C6 instalments left); ``billing_source_key`` is the
    key to record it once with ``billing.services.charge_record``. An at-term
    notice (C3) and a C7 termination owe nothing (``amount_due`` = 0).
    """

    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="terminations", verbose_name=_("contrat")
    )
    kind = models.CharField(_("type"), max_length=20, choices=TerminationKind.choices)
    requested_by = models.CharField(_("à l'initiative de"), max_length=10, choices=Party.choices)
    status = models.CharField(
        _("état"), max_length=10, choices=TerminationStatus.choices, default=TerminationStatus.RECORDED,
        db_index=True,
    )
    # The registered letter (LRAR) or, for C5, the written agreement.
    letter_sent_on = models.DateField(_("lettre envoyée le"))
    letter_tracking_number = models.CharField(_("n° de recommandé"), max_length=50, blank=True)
    letter_received_on = models.DateField(_("accusé de réception du"), null=True, blank=True)
    letter_scan = models.FileField(_("scan de la lettre"), upload_to=_contract_upload, blank=True)
    # C6: the formal notice (mise en demeure) that must have stayed without effect for 30 days.
    formal_notice_sent_on = models.DateField(_("mise en demeure envoyée le"), null=True, blank=True)
    formal_notice_received_on = models.DateField(_("mise en demeure reçue le"), null=True, blank=True)
    formal_notice_tracking_number = models.CharField(_("n° de recommandé de la mise en demeure"), max_length=50,
                                                     blank=True)
    effective_on = models.DateField(_("date d'effet"), help_text=_("Dernier jour du contrat."))
    term_end = models.DateField(
        _("échéance de référence"), help_text=_("Échéance jusqu'à laquelle les mensualités restantes sont comptées.")
    )
    monthly_amount = models.DecimalField(_("redevance mensuelle HT"), max_digits=13, decimal_places=2, default=0)
    months_left = models.PositiveSmallIntegerField(_("mensualités restant dues"), default=0)
    discount_rate = models.DecimalField(_("remise (%)"), max_digits=5, decimal_places=2, default=0)
    amount_due = models.DecimalField(
        _("montant dû HT"), max_digits=13, decimal_places=2, default=0,
        help_text=_("À facturer par la facturation (C4, C5, C6)."),
    )
    explanation = models.TextField(_("explication"), blank=True)
    reason = models.TextField(_("motif"), blank=True)
    recorded_at = models.DateTimeField(_("enregistrée le"), auto_now_add=True)

    class Meta:
        verbose_name = _("résiliation")
        verbose_name_plural = _("résiliations")
        ordering = ["-letter_sent_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract"],
                condition=models.Q(status="recorded"),
                name="termination_one_pending_per_contract",
            ),
        ]

    def __str__(self):
        return f"{self.contract} — {self.get_kind_display()} au {self.effective_on:%d/%m/%Y}"

    @property
    def billing_source_key(self) -> str:
        """The ``source_key`` billing uses so the termination amount is invoiced once."""
        return f"contracts.termination:{self.pk}"


class ContractSuspension(models.Model):
    """A suspension of the services by the provider (CGV C10, art. 8), until a written resumption.

    Open while ``resumed_on`` is empty; the contract's status is then ``suspended``.
    """

    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="suspensions", verbose_name=_("contrat")
    )
    reason = models.CharField(_("motif"), max_length=20, choices=SuspensionReason.choices)
    details = models.TextField(_("détails"), blank=True)
    scope = models.CharField(
        _("services suspendus"), max_length=200, blank=True, help_text=_("Vide : tous les services.")
    )
    letter_sent_on = models.DateField(_("notification envoyée le"))
    letter_tracking_number = models.CharField(_("n° de recommandé"), max_length=50, blank=True)
    letter_scan = models.FileField(_("scan de la notification"), upload_to=_contract_upload, blank=True)
    suspended_at = models.DateTimeField(_("suspendu le"))
    resumed_at = models.DateTimeField(_("repris le"), null=True, blank=True)
    resumption_letter_sent_on = models.DateField(_("notification de reprise envoyée le"), null=True, blank=True)
    resumption_note = models.TextField(_("notification écrite de reprise"), blank=True)

    class Meta:
        verbose_name = _("suspension")
        verbose_name_plural = _("suspensions")
        ordering = ["-suspended_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract"], condition=models.Q(resumed_at__isnull=True),
                name="suspension_one_open_per_contract",
            ),
        ]

    def __str__(self):
        return f"{self.contract} — {self.get_reason_display()}"


class AvailabilityRecord(models.Model):
    """The measured availability of a contract's services over one month (CGV C7).

    Entered by staff for now; the interventions app feeds it through
    ``contracts.services.availability_record``.
    """

    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="availability_records", verbose_name=_("contrat")
    )
    month = models.DateField(_("mois"), help_text=_("Premier jour du mois."))
    availability = models.DecimalField(
        _("disponibilité mesurée (%)"), max_digits=6, decimal_places=3,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    source = models.CharField(
        _("origine"), max_length=15, choices=AvailabilitySource.choices, default=AvailabilitySource.STAFF
    )
    notes = models.CharField(_("remarques"), max_length=300, blank=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("disponibilité mensuelle")
        verbose_name_plural = _("disponibilités mensuelles")
        ordering = ["contract", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "month"], name="availability_once_per_contract_month"),
        ]

    def __str__(self):
        return f"{self.contract_id} {self.month:%m/%Y}: {self.availability} %"


class Equipment(models.Model):
    """An item of equipment covered by a contract, at a site (CGV S1, C9).

    Leased items are returned at the end of the contract, whatever the cause
    (art. 7): they get ``restitution_due_on`` then, and stay on the staff list
    until ``returned_on`` is set.
    """

    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="equipment", verbose_name=_("contrat")
    )
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="equipment", verbose_name=_("site")
    )
    kind = models.CharField(_("type"), max_length=15, choices=EquipmentKind.choices)
    maker = models.CharField(_("marque"), max_length=100, blank=True)
    model = models.CharField(_("modèle"), max_length=100, blank=True)
    serial_number = models.CharField(_("n° de série"), max_length=100, blank=True)
    ownership = models.CharField(
        _("propriété"), max_length=10, choices=EquipmentOwnership.choices, default=EquipmentOwnership.OWNED
    )
    restitution_due_on = models.DateField(_("à restituer avant le"), null=True, blank=True, db_index=True)
    returned_on = models.DateField(_("restitué le"), null=True, blank=True)
    notes = models.CharField(_("remarques"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("équipement")
        verbose_name_plural = _("équipements")
        ordering = ["contract", "site", "kind", "pk"]

    def __str__(self):
        label = " ".join(x for x in [self.get_kind_display(), self.maker, self.model] if x)
        return f"{label} ({self.serial_number})" if self.serial_number else label

    def clean(self):
        if self.site_id and self.contract_id and self.site.client_id != self.contract.client_id:
            raise ValidationError({"site": _("Le site doit appartenir au client du contrat.")})
