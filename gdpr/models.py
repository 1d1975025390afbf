"""Personal data (CGV art. 14, D1–D10; GDPR Art. 12, 28, 30, 33).

MIS is the *processor* of the data it handles for its clients (the
*controllers*): it keeps a register of that processing per client (Art. 30(2)),
uses only authorised sub-processors (D9), forwards data-subject requests at
once (D5), notifies breaches within 72 hours (D6) and returns or deletes the
data at the end of the contract (D10). For its own client file (the contacts,
D1–D3) it exports and anonymises a person on request.
"""
import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from contracts.models import Client, Contact, Contract
from gdpr.choices import (
    ActivityCode,
    BreachStatus,
    ControllerRequestKind,
    ControllerRequestStatus,
    DispositionChoice,
    DispositionStatus,
    NotificationStage,
    RequestChannel,
    RequestKind,
    RequestStatus,
)
from gdpr.exceptions import GdprError

DEFAULT_TRANSFERS = "Aucun transfert hors de l'Union européenne."


class SubProcessor(models.Model):
    """A company MIS relies on to process the clients' data (CGV D9, art. 14.8; Art. 28(2)).

    The two sub-processors named in the terms (COMIP, AMS SOLUTION) are authorised
    by the signed contract itself (``listed_in_terms``). Any other one needs each
    client's prior authorisation (:class:`SubProcessorAuthorisation`) before it is
    used for that client.
    """

    name = models.CharField(_("raison sociale"), max_length=200)
    address = models.CharField(_("adresse"), max_length=300)
    siren = models.CharField(_("SIREN"), max_length=9, unique=True)
    rcs = models.CharField(_("RCS"), max_length=100, blank=True)
    services = models.CharField(_("prestations sous-traitées"), max_length=300)
    country = models.CharField(_("pays (code ISO)"), max_length=2, default="FR")
    listed_in_terms = models.BooleanField(
        _("prévu aux CGV"),
        default=False,
        help_text=_("Sous-traitant nommé à l'article 14.8 des CGV : aucune autorisation supplémentaire n'est requise."),
    )
    is_active = models.BooleanField(_("actif"), default=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("sous-traitant ultérieur")
        verbose_name_plural = _("sous-traitants ultérieurs")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def requires_authorisation(self) -> bool:
        return not self.listed_in_terms


class SubProcessorAuthorisation(models.Model):
    """A client's prior written authorisation to use a sub-processor not named in the terms (D9)."""

    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, related_name="subprocessor_authorisations", verbose_name=_("client")
    )
    sub_processor = models.ForeignKey(
        SubProcessor, on_delete=models.PROTECT, related_name="authorisations", verbose_name=_("sous-traitant")
    )
    authorised_on = models.DateField(_("autorisé le"))
    given_by = models.CharField(_("autorisé par"), max_length=200, help_text=_("Nom et fonction du signataire."))
    evidence = models.CharField(
        _("preuve"), max_length=300, blank=True, help_text=_("ex. e-mail du 12/03/2026, avenant signé.")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("enregistré par"),
    )
    recorded_at = models.DateTimeField(_("enregistré le"), auto_now_add=True)

    class Meta:
        verbose_name = _("autorisation de sous-traitance")
        verbose_name_plural = _("autorisations de sous-traitance")
        ordering = ["client__name", "sub_processor__name"]
        constraints = [
            models.UniqueConstraint(fields=["client", "sub_processor"], name="gdpr_one_authorisation_per_client"),
        ]

    def __str__(self):
        return f"{self.sub_processor} — {self.client}"


class ProcessingActivity(models.Model):
    """One line of the processor's register for a client (GDPR Art. 30(2), CGV D8).

    Art. 30(2) asks for: the controller, the categories of processing carried
    out on its behalf, transfers outside the EU, and a general description of
    the security measures. Lines with a ``code`` are derived from the contract's
    options by the nightly register sync; staff may add free lines (no code).
    """

    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, related_name="processing_activities", verbose_name=_("client")
    )
    code = models.CharField(_("code"), max_length=20, choices=ActivityCode.choices, blank=True)
    name = models.CharField(_("traitement"), max_length=200)
    purpose = models.TextField(_("catégories de traitements et finalités"))
    data_subjects = models.TextField(_("personnes concernées"))
    data_categories = models.TextField(_("catégories de données"))
    sub_processors = models.ManyToManyField(
        SubProcessor, through="ProcessingActivitySubProcessor", blank=True, related_name="activities",
        verbose_name=_("sous-traitants ultérieurs"),
    )
    transfers = models.CharField(_("transferts hors UE"), max_length=300, default=DEFAULT_TRANSFERS)
    security_measures = models.TextField(_("mesures de sécurité"))
    retention = models.TextField(_("durée de conservation"))
    is_active = models.BooleanField(_("en cours"), default=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("traitement (registre)")
        verbose_name_plural = _("registre des traitements")
        ordering = ["client__name", "code", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "code"], condition=~Q(code=""), name="gdpr_one_derived_activity_per_code"
            ),
        ]

    def __str__(self):
        return f"{self.client} — {self.name}"


class ProcessingActivitySubProcessor(models.Model):
    """A sub-processor used for one processing of a client: refused without authorisation (D9)."""

    activity = models.ForeignKey(ProcessingActivity, on_delete=models.CASCADE, verbose_name=_("traitement"))
    sub_processor = models.ForeignKey(SubProcessor, on_delete=models.PROTECT, verbose_name=_("sous-traitant"))

    class Meta:
        verbose_name = _("sous-traitant du traitement")
        verbose_name_plural = _("sous-traitants du traitement")
        constraints = [
            models.UniqueConstraint(fields=["activity", "sub_processor"], name="gdpr_activity_subprocessor_once"),
        ]

    def __str__(self):
        return str(self.sub_processor)

    def clean(self):
        from gdpr.selectors import subprocessor_is_authorised

        if self.activity_id and self.sub_processor_id and not subprocessor_is_authorised(
            client=self.activity.client, sub_processor=self.sub_processor
        ):
            raise ValidationError(
                _("%(sp)s n'est pas autorisé par %(client)s : enregistrez d'abord son autorisation préalable (D9).")
                % {"sp": self.sub_processor, "client": self.activity.client}
            )


class DataSubjectRequest(models.Model):
    """A data subject's request to exercise a right (CGV D3, D5; GDPR Art. 12, 15–22).

    MIS, as processor, forwards it by e-mail to the controller as soon as it is
    received (``forwarded_at``). The controller must answer within one month of
    receipt (``due_date``), extendable by two months with a reason given within
    the first month (``extended_due_date``; L6, Art. 12(3)).
    """

    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, related_name="data_subject_requests",
        verbose_name=_("responsable de traitement (client)"),
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="data_subject_requests",
        verbose_name=_("personne concernée (contact du client)"),
    )
    kind = models.CharField(_("droit exercé"), max_length=20, choices=RequestKind.choices)
    channel = models.CharField(_("canal"), max_length=10, choices=RequestChannel.choices, default=RequestChannel.STAFF)
    requester_name = models.CharField(_("nom de la personne concernée"), max_length=200)
    requester_email = models.EmailField(_("e-mail de la personne concernée"), blank=True)
    requester_phone = models.CharField(_("téléphone de la personne concernée"), max_length=30, blank=True)
    description = models.TextField(_("demande"))
    filed_by = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="filed_data_subject_requests",
        verbose_name=_("déposée par (espace client)"),
    )
    received_at = models.DateTimeField(_("reçue le"))
    forwarded_at = models.DateTimeField(_("transmise le"), null=True, blank=True)
    forwarded_to = models.JSONField(_("transmise à"), default=list, blank=True)
    forward_email = models.ForeignKey(
        "core.OutboundEmail", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("e-mail de transmission"),
    )
    due_date = models.DateField(_("échéance de réponse"), help_text=_("Un mois après réception (Art. 12(3))."))
    extended_due_date = models.DateField(_("échéance prolongée"), null=True, blank=True)
    extension_reason = models.TextField(_("motif de la prolongation"), blank=True)
    extended_at = models.DateTimeField(_("prolongée le"), null=True, blank=True)
    status = models.CharField(
        _("état"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.FORWARDED, db_index=True
    )
    answered_at = models.DateTimeField(_("traitée le"), null=True, blank=True)
    answer_notes = models.TextField(_("suite donnée"), blank=True)
    anonymised_at = models.DateTimeField(
        _("anonymisée le"), null=True, blank=True, help_text=_("Après la durée de conservation (voir docs/gdpr.md).")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("saisie par"),
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    class Meta:
        verbose_name = _("demande d'exercice de droits")
        verbose_name_plural = _("demandes d'exercice de droits")
        ordering = ["-received_at", "-pk"]

    def __str__(self):
        return f"{self.reference} — {self.get_kind_display()} ({self.requester_name})"

    @property
    def reference(self) -> str:
        return f"DDP-{self.pk or 0:05d}"

    @property
    def current_due_date(self) -> datetime.date:
        return self.extended_due_date or self.due_date


class ControllerRequest(models.Model):
    """An instruction or an assistance request from the controller (the client) to MIS (CGV D4, D7, D8).

    D4: MIS processes hosted data only on the controller's documented
    instructions — this is where they are documented — and informs the
    controller at once when an instruction appears unlawful (``challenged``,
    Art. 28(3) last subparagraph). D7/D8: MIS helps with impact assessments,
    prior consultations of the CNIL, and documents its security measures. MIS
    commits to answer by ``due_date`` (30 days, docs/gdpr.md).
    """

    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, related_name="controller_requests",
        verbose_name=_("responsable de traitement (client)"),
    )
    kind = models.CharField(_("nature"), max_length=20, choices=ControllerRequestKind.choices)
    channel = models.CharField(_("canal"), max_length=10, choices=RequestChannel.choices, default=RequestChannel.STAFF)
    subject = models.CharField(_("objet"), max_length=200)
    description = models.TextField(_("demande ou instruction"))
    requester_name = models.CharField(_("donnée par"), max_length=200)
    requester_email = models.EmailField(_("e-mail de l'auteur"), blank=True)
    filed_by = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="filed_controller_requests",
        verbose_name=_("déposée par (espace client)"),
    )
    received_at = models.DateTimeField(_("reçue le"))
    due_date = models.DateField(_("réponse promise avant le"))
    status = models.CharField(
        _("état"), max_length=12, choices=ControllerRequestStatus.choices, default=ControllerRequestStatus.RECEIVED,
        db_index=True,
    )
    challenged_at = models.DateTimeField(_("signalée illicite le"), null=True, blank=True)
    challenge_reason = models.TextField(_("motif du signalement"), blank=True)
    answered_at = models.DateTimeField(_("traitée le"), null=True, blank=True)
    answer = models.TextField(_("réponse / suite donnée"), blank=True)
    overdue_alerted_at = models.DateTimeField(_("alerte de retard envoyée le"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("saisie par"),
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    class Meta:
        verbose_name = _("demande du responsable de traitement")
        verbose_name_plural = _("demandes du responsable de traitement")
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["status", "due_date"], name="gdpr_ctrlreq_status_due")]

    def __str__(self):
        return f"{self.reference} — {self.subject}"

    @property
    def reference(self) -> str:
        return f"DRT-{self.pk or 0:05d}"

    @property
    def is_instruction(self) -> bool:
        return self.kind == ControllerRequestKind.INSTRUCTION


class BreachQuerySet(models.QuerySet):
    def delete(self):
        raise GdprError("Une violation de données n'est jamais supprimée du registre (Art. 33(5)).")


class Breach(models.Model):
    """A personal-data breach (violation de données), kept in the register for ever (CGV D6; Art. 33(5)).

    ``notification_deadline`` = ``aware_at`` + 72 hours, stored when the breach is
    recorded. The Art. 33(3) content must be complete before any notification is
    sent; information may then come in stages (:class:`BreachNotification`).
    A breach is never deleted, notified or not.
    """

    ART33_FIELDS = (
        "nature",
        "subject_categories",
        "subjects_approx",
        "record_categories",
        "records_approx",
        "contact_point",
        "likely_consequences",
        "measures",
    )

    reference = models.CharField(_("référence"), max_length=20, unique=True, null=True, blank=True)
    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, related_name="breaches", verbose_name=_("responsable de traitement (client)")
    )
    title = models.CharField(_("intitulé"), max_length=200)
    aware_at = models.DateTimeField(_("prise de connaissance"), help_text=_("Point de départ du délai de 72 heures."))
    occurred_at = models.DateTimeField(_("survenue le (estimation)"), null=True, blank=True)
    circumstances = models.TextField(_("circonstances de la découverte"), blank=True)
    nature = models.TextField(_("nature de la violation"), blank=True)
    subject_categories = models.TextField(_("catégories de personnes concernées"), blank=True)
    subjects_approx = models.PositiveIntegerField(_("nombre approximatif de personnes"), null=True, blank=True)
    record_categories = models.TextField(_("catégories d'enregistrements"), blank=True)
    records_approx = models.PositiveIntegerField(_("nombre approximatif d'enregistrements"), null=True, blank=True)
    contact_point = models.TextField(_("DPO ou point de contact (nom et coordonnées)"), blank=True)
    likely_consequences = models.TextField(_("conséquences probables"), blank=True)
    measures = models.TextField(_("mesures prises ou proposées"), blank=True)
    notification_deadline = models.DateTimeField(_("notification au responsable avant le"), editable=False)
    status = models.CharField(
        _("état"), max_length=10, choices=BreachStatus.choices, default=BreachStatus.OPEN, db_index=True
    )
    controller_notified_at = models.DateTimeField(_("responsable notifié le"), null=True, blank=True)
    cnil_agreement_at = models.DateTimeField(_("accord du responsable pour notifier la CNIL"), null=True, blank=True)
    cnil_agreement_note = models.CharField(_("accord donné par"), max_length=300, blank=True)
    cnil_notified_at = models.DateTimeField(_("CNIL notifiée le"), null=True, blank=True)
    cnil_reference = models.CharField(_("référence CNIL"), max_length=100, blank=True)
    cnil_not_notified_reason = models.TextField(
        _("motif de non-notification à la CNIL"), blank=True,
        help_text=_("ex. violation non susceptible d'engendrer un risque (décision du responsable)."),
    )
    closed_at = models.DateTimeField(_("close le"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("saisie par"),
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    objects = BreachQuerySet.as_manager()

    class Meta:
        verbose_name = _("violation de données")
        verbose_name_plural = _("registre des violations de données")
        ordering = ["-aware_at", "-pk"]

    def __str__(self):
        return f"{self.reference or '—'} {self.title}"

    def delete(self, *args, **kwargs):
        raise GdprError("Une violation de données n'est jamais supprimée du registre (Art. 33(5)).")

    def missing_art33_fields(self) -> list[str]:
        """The Art. 33(3) items still empty: a notification is refused while any is missing (D6)."""
        return [name for name in self.ART33_FIELDS if getattr(self, name) in (None, "")]


class BreachNotification(models.Model):
    """One stage of a breach's notification to the controller (initial, then complements), with its PDF."""

    breach = models.ForeignKey(Breach, on_delete=models.PROTECT, related_name="notifications", verbose_name=_("violation"))
    sequence = models.PositiveSmallIntegerField(_("n°"))
    stage = models.CharField(_("étape"), max_length=10, choices=NotificationStage.choices)
    sent_at = models.DateTimeField(_("envoyée le"))
    recipients = models.JSONField(_("destinataires"), default=list)
    content = models.JSONField(_("contenu (Art. 33)"), default=dict)
    message = models.TextField(_("informations nouvelles"), blank=True)
    pdf = models.FileField(_("PDF"), upload_to="gdpr/breaches/", blank=True)
    email = models.ForeignKey(
        "core.OutboundEmail", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("e-mail"),
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("envoyée par"),
    )

    class Meta:
        verbose_name = _("notification de violation")
        verbose_name_plural = _("notifications de violation")
        ordering = ["breach", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["breach", "sequence"], name="gdpr_notification_sequence"),
            models.UniqueConstraint(
                fields=["breach"], condition=Q(stage="initial"), name="gdpr_one_initial_notification"
            ),
        ]

    def __str__(self):
        return f"{self.breach.reference} #{self.sequence} ({self.get_stage_display()})"


class DataDisposition(models.Model):
    """End of contract (CGV D10, art. 14.9): return or delete the client's personal data, at its choice.

    Opened by the nightly retention job when a client's last contract has ended.
    ``return`` produces a ZIP archive, then the copies are destroyed after a grace
    period; ``delete`` destroys them at once. Either way a deletion certificate
    (PDF) lists what was destroyed and what the law keeps (L2).
    """

    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, related_name="data_dispositions", verbose_name=_("client")
    )
    contract = models.OneToOneField(
        Contract, on_delete=models.PROTECT, related_name="data_disposition", verbose_name=_("dernier contrat")
    )
    contract_ended_on = models.DateField(_("fin du contrat"))
    opened_at = models.DateTimeField(_("ouvert le"))
    choice = models.CharField(_("choix du client"), max_length=10, choices=DispositionChoice.choices, blank=True)
    chosen_on = models.DateField(_("choix exprimé le"), null=True, blank=True)
    requested_by = models.CharField(_("choix exprimé par"), max_length=200, blank=True)
    default_applied = models.BooleanField(
        _("suppression par défaut"), default=False,
        help_text=_("Aucun choix reçu dans le délai : la suppression s'applique (protection par défaut, D4)."),
    )
    status = models.CharField(
        _("état"), max_length=10, choices=DispositionStatus.choices, default=DispositionStatus.AWAITING_CHOICE,
        db_index=True,
    )
    archive = models.FileField(_("archive de restitution (ZIP)"), upload_to="gdpr/returns/", blank=True)
    returned_at = models.DateTimeField(_("restituées le"), null=True, blank=True)
    destroyed_at = models.DateTimeField(_("copies détruites le"), null=True, blank=True)
    certificate = models.FileField(_("certificat de suppression (PDF)"), upload_to="gdpr/certificates/", blank=True)
    report = models.JSONField(_("compte rendu"), default=dict, blank=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("fin de contrat : restitution ou suppression")
        verbose_name_plural = _("fins de contrat : restitution ou suppression")
        ordering = ["-contract_ended_on", "-pk"]

    def __str__(self):
        return f"{self.client} — {self.contract}"


class Anonymisation(models.Model):
    """Proof that a person was anonymised (erasure, D3; end of contract, D10), and what was kept (L2)."""

    contact = models.OneToOneField(
        Contact, on_delete=models.PROTECT, related_name="anonymisation", verbose_name=_("contact (anonymisé)")
    )
    done_at = models.DateTimeField(_("anonymisé le"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("par"),
    )
    reason = models.CharField(_("motif"), max_length=300)
    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("demande d'effacement"),
    )
    disposition = models.ForeignKey(
        DataDisposition, on_delete=models.SET_NULL, null=True, blank=True, related_name="anonymisations",
        verbose_name=_("fin de contrat"),
    )
    summary = models.JSONField(_("lignes modifiées par modèle"), default=dict, blank=True)
    kept = models.JSONField(_("conservé (obligation légale)"), default=dict, blank=True)

    class Meta:
        verbose_name = _("anonymisation")
        verbose_name_plural = _("anonymisations")
        ordering = ["-done_at"]

    def __str__(self):
        return f"contact #{self.contact_id} ({self.done_at:%d/%m/%Y})"


class DataSubject(Contact):
    """A contact seen from the DPO's side: export (portability) and anonymisation (D1–D3)."""

    class Meta:
        proxy = True
        verbose_name = _("personne concernée (contact)")
        verbose_name_plural = _("personnes concernées (contacts)")
        permissions = [
            ("export_personal_data", _("Peut exporter les données d'une personne")),
            ("anonymise_personal_data", _("Peut anonymiser une personne")),
        ]


class Controller(Client):
    """A client seen as a controller: its processing register (Art. 30(2)) and sub-processor consents."""

    class Meta:
        proxy = True
        verbose_name = _("responsable de traitement (registre)")
        verbose_name_plural = _("registres par responsable de traitement")
