"""Tickets, SLA clocks, phone calls, interventions, preventive visits and availability (CGV S1–S7, C7, C8, K4, K5)."""
import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from interventions.choices import (
    EXCLUDED_CATEGORIES,
    OPEN_STATUSES,
    Category,
    Channel,
    InterventionKind,
    InterventionStatus,
    OutageScope,
    PauseReason,
    RateKind,
    Severity,
    SlaState,
    TicketStatus,
)

USER = settings.AUTH_USER_MODEL


class Ticket(models.Model):
    """A support request (ticket) and its intervention deadline (CGV S2).

    ``deadline_at`` is stored when the ticket is opened (24 business hours, or
    4 for severity 1 when the contract has the option) and recomputed when the
    severity changes or a pause ends: the SLA clock stops while the ticket waits
    on the client and during force-majeure events covering the client (C8).
    ``risk_at`` is the instant 75 % of the budget is used. The clock stops for
    good at ``responded_at``, when the first intervention starts.
    """

    client = models.ForeignKey(
        "contracts.Client", on_delete=models.PROTECT, related_name="tickets", verbose_name=_("client")
    )
    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="tickets", null=True, blank=True,
        verbose_name=_("contrat"),
    )
    site = models.ForeignKey(
        "contracts.Site", on_delete=models.PROTECT, related_name="tickets", null=True, blank=True,
        verbose_name=_("site"),
    )
    equipment = models.ForeignKey(
        "contracts.Equipment", on_delete=models.PROTECT, related_name="tickets", null=True, blank=True,
        verbose_name=_("équipement"),
    )
    contact = models.ForeignKey(
        "contracts.Contact", on_delete=models.SET_NULL, related_name="tickets", null=True, blank=True,
        verbose_name=_("demandeur"),
    )
    channel = models.CharField(_("canal"), max_length=10, choices=Channel.choices)
    category = models.CharField(_("catégorie"), max_length=20, choices=Category.choices)
    severity = models.PositiveSmallIntegerField(_("sévérité"), choices=Severity.choices, default=Severity.MINOR)
    title = models.CharField(_("objet"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("état"), max_length=15, choices=TicketStatus.choices, default=TicketStatus.NEW, db_index=True
    )
    assignee = models.ForeignKey(
        USER, on_delete=models.SET_NULL, related_name="assigned_tickets", null=True, blank=True,
        verbose_name=_("technicien"),
    )
    opened_at = models.DateTimeField(_("ouvert le"))
    sla_hours = models.PositiveSmallIntegerField(_("délai d'intervention (heures ouvrables)"))
    deadline_at = models.DateTimeField(_("intervention due avant le"))
    risk_at = models.DateTimeField(_("à risque à partir du"))
    sla_state = models.CharField(
        _("délai"), max_length=10, choices=SlaState.choices, default=SlaState.ON_TRACK
    )
    sla_claim = models.CharField(max_length=32, blank=True, editable=False)
    paused_since = models.DateTimeField(_("en attente du client depuis"), null=True, blank=True)
    responded_at = models.DateTimeField(_("intervention commencée le"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("résolu le"), null=True, blank=True)
    quote = models.ForeignKey(
        "billing.Quote", on_delete=models.PROTECT, related_name="tickets", null=True, blank=True,
        verbose_name=_("devis (hors contrat)"),
        help_text=_("Obligatoire, signé, avant tout travail facturable sur une demande hors contrat (CGV S6)."),
    )
    created_by = models.ForeignKey(
        USER, on_delete=models.SET_NULL, related_name="+", null=True, blank=True, verbose_name=_("saisi par")
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-opened_at", "-pk"]
        indexes = [
            # The staff list reads the latest tickets first (issue #11: a sort of every ticket without it).
            models.Index(fields=["-opened_at", "-id"], name="ticket_opened_desc"),
            # The 15-minute scan: only live clocks, by the instant they change state.
            models.Index(
                fields=["risk_at"], name="ticket_scan_risk",
                condition=Q(sla_state="on_track", responded_at__isnull=True, paused_since__isnull=True),
            ),
            models.Index(
                fields=["deadline_at"], name="ticket_scan_deadline",
                condition=Q(sla_state__in=["on_track", "at_risk"], responded_at__isnull=True,
                            paused_since__isnull=True),
            ),
            models.Index(fields=["sla_claim"], name="ticket_sla_claim"),  # the scan reads back what it claimed
            models.Index(fields=["client", "status"], name="ticket_client_status"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status"),
        ]

    def __str__(self):
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return f"T{self.pk:06d}" if self.pk else "T—"

    @property
    def is_covered(self) -> bool:
        """CGV S6: an excluded category (or a client without contract) is quoted and billed, not covered.

        S7: the client makes and checks its own backups *unless it has the backup option*: with the
        option, backup management is MIS's job and covered.
        """
        if self.contract_id is None:
            return False
        if self.category == Category.BACKUP_MANAGEMENT:
            return self.contract.has_backup
        return self.category not in EXCLUDED_CATEGORIES

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class TicketComment(models.Model):
    """A comment on a ticket, by staff (possibly internal) or by the client's contact in the portal."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments", verbose_name=_("ticket"))
    author = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                               verbose_name=_("auteur"))
    body = models.TextField(_("commentaire"))
    is_internal = models.BooleanField(_("interne (non visible du client)"), default=False)
    created_at = models.DateTimeField(_("date"), auto_now_add=True)

    class Meta:
        verbose_name = _("commentaire")
        verbose_name_plural = _("commentaires")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.ticket_id} {self.created_at:%d/%m/%Y %H:%M}"


ATTACHMENT_PREFIX = "private/ticket-attachments"


def _attachment_upload(instance, filename):
    # Under a non-public prefix (never served by a web server: downloads go through a view that checks
    # the reader) and unguessable: a random token, never the client's file name.
    return f"{ATTACHMENT_PREFIX}/{secrets.token_urlsafe(24)}"


class TicketAttachment(models.Model):
    """A file joined to a ticket (pièce jointe): a screenshot, a log, a PDF…, by the client or by staff.

    Written only by ``interventions.services.ticket_attachments_add``, which checks the size, the
    format on the name and on the bytes (``interventions.attachments``), the number per ticket and
    that the ticket is open. ``client`` repeats the ticket's client so that the GDPR return archive
    (D10, found by introspection of the client's relations) includes the files. Staff may keep a file
    internal (``visible_to_client=False``); what the client uploads is always visible to it.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments",
                               verbose_name=_("ticket"))
    client = models.ForeignKey("contracts.Client", on_delete=models.PROTECT, related_name="ticket_attachments",
                               verbose_name=_("client"))
    file = models.FileField(_("fichier"), upload_to=_attachment_upload, max_length=200)
    original_name = models.CharField(_("nom du fichier"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("taille (octets)"))
    sha256 = models.CharField(_("empreinte SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                    verbose_name=_("déposé par"))
    visible_to_client = models.BooleanField(_("visible du client"), default=True)
    created_at = models.DateTimeField(_("déposé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("pièce jointe")
        verbose_name_plural = _("pièces jointes")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.original_name


class TicketPause(models.Model):
    """A period when the SLA clock of a ticket stopped because it waited on the client (CGV S2)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="pauses", verbose_name=_("ticket"))
    reason = models.CharField(_("motif"), max_length=20, choices=PauseReason.choices,
                              default=PauseReason.WAITING_CLIENT)
    started_at = models.DateTimeField(_("début"))
    ended_at = models.DateTimeField(_("fin"), null=True, blank=True)

    class Meta:
        verbose_name = _("pause du délai")
        verbose_name_plural = _("pauses du délai")
        ordering = ["started_at"]
        constraints = [
            models.UniqueConstraint(fields=["ticket"], condition=Q(ended_at__isnull=True),
                                    name="ticket_one_open_pause"),
        ]

    def __str__(self):
        return f"{self.ticket_id} {self.started_at:%d/%m/%Y %H:%M}"


class ForceMajeureSync(models.Model):
    """Which end of a force-majeure event (C8) the ticket deadlines already account for."""

    event = models.OneToOneField("contracts.ForceMajeureEvent", on_delete=models.CASCADE, related_name="+")
    applied_ends_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("prise en compte d'une force majeure")
        verbose_name_plural = _("prises en compte des forces majeures")

    def __str__(self):
        return f"{self.event_id} {self.applied_ends_at}"


class PhoneCall(models.Model):
    """A support call (CGV S1): Mon–Fri 9:00–18:00, 30 minutes at most, then an on-site visit is planned.

    ``is_covered``: the call started within support hours. Without an immediate
    technical answer, a backup-option client is called back within 24 business
    hours (K4): ``callback_due_at``.
    """

    client = models.ForeignKey("contracts.Client", on_delete=models.PROTECT, related_name="phone_calls",
                               verbose_name=_("client"))
    contract = models.ForeignKey("contracts.Contract", on_delete=models.PROTECT, related_name="phone_calls",
                                 null=True, blank=True, verbose_name=_("contrat"))
    contact = models.ForeignKey("contracts.Contact", on_delete=models.SET_NULL, related_name="phone_calls",
                                null=True, blank=True, verbose_name=_("interlocuteur"))
    taken_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                 verbose_name=_("pris par"))
    started_at = models.DateTimeField(_("début"))
    ended_at = models.DateTimeField(_("fin"))
    subject = models.CharField(_("objet"), max_length=200)
    notes = models.TextField(_("notes"), blank=True)
    answered_immediately = models.BooleanField(_("réponse technique immédiate"), default=True)
    is_covered = models.BooleanField(_("dans les horaires d'assistance"), default=True)
    ticket = models.ForeignKey(Ticket, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="phone_calls", verbose_name=_("ticket"))
    callback_due_at = models.DateTimeField(_("rappel dû avant le"), null=True, blank=True)
    called_back_at = models.DateTimeField(_("rappelé le"), null=True, blank=True)
    callback_state = models.CharField(_("délai de rappel"), max_length=10, choices=SlaState.choices, blank=True)
    sla_claim = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("appel téléphonique")
        verbose_name_plural = _("appels téléphoniques")
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["callback_due_at"], name="call_scan_callback",
                         condition=Q(callback_state__in=["on_track", "at_risk"])),
        ]

    def __str__(self):
        return f"{self.client} {self.started_at:%d/%m/%Y %H:%M} {self.subject}"

    def clean(self):
        if self.started_at and self.ended_at and self.ended_at < self.started_at:
            raise ValidationError({"ended_at": _("La fin de l'appel précède son début.")})

    @property
    def duration(self):
        return self.ended_at - self.started_at


class PreventivePlan(models.Model):
    """Preventive visits of a contract (CGV S3), every ``frequency_months``; the nightly job plans them."""

    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="preventive_plans",
                                 verbose_name=_("contrat"))
    site = models.ForeignKey("contracts.Site", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                             verbose_name=_("site"))
    frequency_months = models.PositiveSmallIntegerField(
        _("fréquence (mois)"), choices=[(1, _("mensuelle")), (3, _("trimestrielle")), (6, _("semestrielle")),
                                        (12, _("annuelle"))], default=3,
    )
    next_visit_on = models.DateField(_("prochaine visite le"), db_index=True)
    technician = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                   verbose_name=_("technicien"))
    is_active = models.BooleanField(_("actif"), default=True)
    notes = models.CharField(_("remarques"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("plan de visites préventives")
        verbose_name_plural = _("plans de visites préventives")
        ordering = ["next_visit_on", "pk"]

    def __str__(self):
        return f"{self.contract} — {self.get_frequency_months_display()}"


class Intervention(models.Model):
    """Work by a technician, on site or remote (S2, S4), or a preventive visit (S3).

    Remote maintenance needs its prerequisites (S4). Work on an excluded item
    (S6) waits for a signed quote. Time entries carry the out-of-hours split (S5).
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="interventions", verbose_name=_("ticket"))
    client = models.ForeignKey("contracts.Client", on_delete=models.PROTECT, related_name="interventions",
                               verbose_name=_("client"))
    contract = models.ForeignKey("contracts.Contract", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="interventions", verbose_name=_("contrat"))
    site = models.ForeignKey("contracts.Site", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                             verbose_name=_("site"))
    kind = models.CharField(_("type"), max_length=12, choices=InterventionKind.choices)
    status = models.CharField(_("état"), max_length=12, choices=InterventionStatus.choices,
                              default=InterventionStatus.PLANNED, db_index=True)
    technician = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="interventions", verbose_name=_("technicien"))
    scheduled_start = models.DateTimeField(_("début prévu"), db_index=True)
    scheduled_end = models.DateTimeField(_("fin prévue"), null=True, blank=True)
    started_at = models.DateTimeField(_("commencée le"), null=True, blank=True)
    ended_at = models.DateTimeField(_("terminée le"), null=True, blank=True)
    report = models.TextField(_("compte rendu"), blank=True)
    exclusion = models.CharField(
        _("travail hors contrat"), max_length=20, choices=Category.choices, blank=True,
        help_text=_("Catégorie exclue (CGV S6) du travail réalisé, s'il n'est pas couvert."),
    )
    quote = models.ForeignKey(
        "billing.Quote", on_delete=models.PROTECT, null=True, blank=True, related_name="interventions",
        verbose_name=_("devis"),
    )
    # CGV S4: remote control only when these hold.
    remote_workstations_reachable = models.BooleanField(_("postes connectés et joignables"), default=False)
    remote_internet_access = models.BooleanField(_("accès Internet disponible"), default=False)
    remote_firewall_open = models.BooleanField(_("ouverture du pare-feu faite"), default=False)
    preventive_plan = models.ForeignKey(PreventivePlan, on_delete=models.SET_NULL, null=True, blank=True,
                                        related_name="visits", verbose_name=_("plan préventif"))
    due_on = models.DateField(_("visite due le"), null=True, blank=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("intervention")
        verbose_name_plural = _("interventions")
        ordering = ["-scheduled_start", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["preventive_plan", "due_on"], condition=Q(preventive_plan__isnull=False),
                                    name="intervention_one_visit_per_plan_date"),
        ]
        indexes = [models.Index(fields=["technician", "scheduled_start"], name="intervention_tech_schedule")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.client} {self.scheduled_start:%d/%m/%Y %H:%M}"

    @property
    def reference(self) -> str:
        return f"I{self.pk:06d}" if self.pk else "I—"

    @property
    def remote_prerequisites_met(self) -> bool:
        return self.remote_workstations_reachable and self.remote_internet_access and self.remote_firewall_open


class TimeEntry(models.Model):
    """Time a technician spent on an intervention, split into covered and out-of-hours time (CGV S5).

    Only out-of-hours time done at the client's request is billed (at the rate
    in force on that day); ``covered_minutes`` is the time within business hours.
    """

    intervention = models.ForeignKey(Intervention, on_delete=models.CASCADE, related_name="time_entries",
                                     verbose_name=_("intervention"))
    technician = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                   verbose_name=_("technicien"))
    started_at = models.DateTimeField(_("début"))
    ended_at = models.DateTimeField(_("fin"))
    description = models.CharField(_("travail réalisé"), max_length=300, blank=True)
    out_of_hours_requested = models.BooleanField(
        _("hors horaires à la demande du client"), default=False,
        help_text=_("Le temps hors horaires normaux est alors facturé en sus (CGV S5)."),
    )
    covered_minutes = models.PositiveIntegerField(_("minutes dans les horaires"), default=0)
    out_of_hours_minutes = models.PositiveIntegerField(_("minutes hors horaires"), default=0)

    class Meta:
        verbose_name = _("temps passé")
        verbose_name_plural = _("temps passés")
        ordering = ["started_at", "pk"]

    def __str__(self):
        return f"{self.intervention_id} {self.started_at:%d/%m/%Y %H:%M}"

    def clean(self):
        if self.started_at and self.ended_at and self.ended_at <= self.started_at:
            raise ValidationError({"ended_at": _("La fin doit suivre le début.")})


class OutOfHoursRate(models.Model):
    """The current out-of-hours hourly rates, HT (CGV S5 « suivant les tarifs en vigueur »)."""

    kind = models.CharField(_("plage"), max_length=15, choices=RateKind.choices)
    hourly_rate = models.DecimalField(_("taux horaire HT"), max_digits=9, decimal_places=2,
                                      validators=[MinValueValidator(Decimal("0"))])
    valid_from = models.DateField(_("en vigueur à partir du"))

    class Meta:
        verbose_name = _("tarif hors horaires")
        verbose_name_plural = _("tarifs hors horaires")
        ordering = ["kind", "-valid_from"]
        constraints = [models.UniqueConstraint(fields=["kind", "valid_from"], name="rate_once_per_kind_date")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.hourly_rate} € HT ({self.valid_from:%d/%m/%Y})"


class VisitReport(models.Model):
    """The report of a preventive visit, with the CGV S3 checklist and findings."""

    intervention = models.OneToOneField(Intervention, on_delete=models.CASCADE, related_name="visit_report",
                                        verbose_name=_("visite"))
    antivirus_event_logs_checked = models.BooleanField(_("protection antivirale vérifiée (journaux)"), default=False)
    os_updates_done = models.BooleanField(_("mises à jour du système"), default=False)
    workstation_health_checked = models.BooleanField(
        _("état des postes (résidents, programmes inutiles)"), default=False)
    user_advice = models.TextField(_("conseils aux utilisateurs"), blank=True)
    network_performance = models.TextField(_("performances du réseau"), blank=True)
    findings = models.TextField(_("constats"), blank=True)
    weakness_found = models.BooleanField(_("faiblesse particulière constatée"), default=False)
    extra_coverage_quote = models.ForeignKey(
        "billing.Quote", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("devis de prise en charge supplémentaire"),
    )
    submitted_at = models.DateTimeField(_("remis le"), null=True, blank=True)

    class Meta:
        verbose_name = _("rapport de visite préventive")
        verbose_name_plural = _("rapports de visite préventive")

    def __str__(self):
        return f"{self.intervention}"


class RepairRequest(models.Model):
    """A written request to repair the hardware running the backup software (K5): quote and repair in 36 h."""

    client = models.ForeignKey("contracts.Client", on_delete=models.PROTECT, related_name="repair_requests",
                               verbose_name=_("client"))
    contract = models.ForeignKey("contracts.Contract", on_delete=models.PROTECT, related_name="repair_requests",
                                 verbose_name=_("contrat"))
    equipment = models.ForeignKey("contracts.Equipment", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("matériel"))
    ticket = models.ForeignKey(Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                               verbose_name=_("ticket"))
    requested_at = models.DateTimeField(_("demande écrite reçue le"))
    description = models.TextField(_("panne"), blank=True)
    due_at = models.DateTimeField(_("devis et réparation dus avant le"))
    risk_at = models.DateTimeField(_("à risque à partir du"))
    quote = models.ForeignKey("billing.Quote", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("devis"))
    repaired_at = models.DateTimeField(_("réparé le"), null=True, blank=True)
    sla_state = models.CharField(_("délai"), max_length=10, choices=SlaState.choices, default=SlaState.ON_TRACK)
    sla_claim = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("demande de réparation (option sauvegarde)")
        verbose_name_plural = _("demandes de réparation (option sauvegarde)")
        ordering = ["-requested_at"]
        indexes = [
            models.Index(fields=["due_at"], name="repair_scan_due", condition=Q(sla_state__in=["on_track", "at_risk"])),
        ]

    def __str__(self):
        return f"{self.client} {self.requested_at:%d/%m/%Y %H:%M}"


class Outage(models.Model):
    """An interruption of a contract's services (CGV C7), the input of the monthly availability."""

    contract = models.ForeignKey("contracts.Contract", on_delete=models.CASCADE, related_name="outages",
                                 verbose_name=_("contrat"))
    started_at = models.DateTimeField(_("début"))
    ended_at = models.DateTimeField(_("fin"), null=True, blank=True, help_text=_("Vide : toujours en cours."))
    scope = models.CharField(_("périmètre"), max_length=10, choices=OutageScope.choices, default=OutageScope.ALL)
    description = models.CharField(_("description"), max_length=300, blank=True)
    is_planned_maintenance = models.BooleanField(
        _("maintenance planifiée annoncée"), default=False,
        help_text=_("Une interruption planifiée et annoncée ne compte pas dans la disponibilité (H2)."),
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("interruption de service")
        verbose_name_plural = _("interruptions de service")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["contract", "started_at"], name="outage_contract_start")]

    def __str__(self):
        return f"{self.contract} {self.started_at:%d/%m/%Y %H:%M}"

    def clean(self):
        if self.ended_at and self.started_at and self.ended_at <= self.started_at:
            raise ValidationError({"ended_at": _("La fin doit suivre le début.")})
