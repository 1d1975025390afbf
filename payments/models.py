"""SEPA mandates and direct-debit batches, payments and allocations, bank rejections, dunning.

Payments depends on billing and contracts (core ← contracts ← billing ← payments);
billing never imports payments. Invoice payment status is always recomputed by
``billing.services.invoice_payment_status_refresh`` from the allocations kept here.
"""
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from payments.choices import (
    BatchStatus,
    DebitItemStatus,
    FormalNoticeStatus,
    MandateScheme,
    MandateStatus,
    PaymentMethod,
    PaymentStatus,
    RejectionReason,
    SequenceType,
)

# SEPA identifiers use the restricted Latin character set (EPC guidelines); a RUM is at most 35 characters.
sepa_reference_validator = RegexValidator(
    r"^[A-Za-z0-9/?:().,'+\- ]{1,35}$",
    _("Référence SEPA : 35 caractères au plus, lettres sans accent, chiffres et / - ? : ( ) . , ' + espace."),
)


def normalize_iban(value: str) -> str:
    return (value or "").replace(" ", "").upper()


def validate_iban(value: str) -> None:
    """A real IBAN (country, length, checksum, national checks) — checked with ``schwifty``."""
    try:
        IBAN(value)
    except SchwiftyException as exc:
        raise ValidationError(
            _("IBAN invalide (%(iban)s) : vérifiez-le sur le RIB du client (%(detail)s).")
            % {"iban": value, "detail": exc},
            code="invalid_iban",
        ) from exc


def validate_bic(value: str) -> None:
    try:
        BIC(value)
    except SchwiftyException as exc:
        raise ValidationError(
            _("BIC invalide (%(bic)s) : 8 ou 11 caractères, voir le RIB du client (%(detail)s).")
            % {"bic": value, "detail": exc},
            code="invalid_bic",
        ) from exc


class Mandate(models.Model):
    """A SEPA direct-debit mandate signed by a client (L5): the RUM, the debtor's account, the scheme.

    ``sequence`` is the type of the next collection: ``FRST`` until a first
    collection is exported, then ``RCUR`` (back to ``FRST`` when that first one
    is rejected). A mandate unused for 36 months lapses (``expired``, nightly job).
    One active mandate per client: it is the one printed on its invoices.
    """

    client = models.ForeignKey(
        "contracts.Client", on_delete=models.PROTECT, related_name="sepa_mandates", verbose_name=_("client")
    )
    reference = models.CharField(
        _("référence unique de mandat (RUM)"), max_length=35, unique=True, validators=[sepa_reference_validator]
    )
    debtor_name = models.CharField(_("titulaire du compte"), max_length=70)
    iban = models.CharField(_("IBAN"), max_length=34, validators=[validate_iban])
    bic = models.CharField(_("BIC"), max_length=11, blank=True, validators=[validate_bic])
    signed_on = models.DateField(_("signé le"))
    scheme = models.CharField(_("type de prélèvement"), max_length=4, choices=MandateScheme.choices,
                              default=MandateScheme.CORE)
    sequence = models.CharField(_("prochaine séquence"), max_length=4, choices=SequenceType.choices,
                                default=SequenceType.FIRST)
    status = models.CharField(_("état"), max_length=10, choices=MandateStatus.choices, default=MandateStatus.ACTIVE,
                              db_index=True)
    last_collected_on = models.DateField(_("dernier prélèvement le"), null=True, blank=True)
    ended_on = models.DateField(_("révoqué / caduc le"), null=True, blank=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("mandat SEPA")
        verbose_name_plural = _("mandats SEPA")
        ordering = ["client__name", "-signed_on"]
        constraints = [
            models.UniqueConstraint(fields=["client"], condition=models.Q(status="active"),
                                    name="mandate_one_active_per_client"),
        ]

    def __str__(self):
        return f"{self.reference} ({self.debtor_name})"

    def clean_fields(self, exclude=None):
        self.iban = normalize_iban(self.iban)
        self.bic = (self.bic or "").replace(" ", "").upper()
        super().clean_fields(exclude=exclude)

    @property
    def iban_masked(self) -> str:
        return f"{self.iban[:4]} **** **** {self.iban[-4:]}" if self.iban else ""


def _batch_upload(instance, filename):
    return f"payments/batches/{instance.collection_date:%Y}/{secrets.token_urlsafe(16)}.xml"


class DebitBatch(models.Model):
    """The direct debits of one collection date and scheme, exported as one pain.008 file (CGV B1, B2).

    Built by the nightly job (one open batch per date and scheme), reviewed by
    staff, exported, then settled on its collection date.
    """

    collection_date = models.DateField(_("date de prélèvement"), db_index=True)
    scheme = models.CharField(_("type de prélèvement"), max_length=4, choices=MandateScheme.choices)
    status = models.CharField(_("état"), max_length=10, choices=BatchStatus.choices, default=BatchStatus.OPEN,
                              db_index=True)
    message_id = models.CharField(_("identifiant du message"), max_length=35, blank=True)
    file = models.FileField(_("fichier pain.008"), upload_to=_batch_upload, blank=True, max_length=200)
    exported_at = models.DateTimeField(_("exporté le"), null=True, blank=True)
    settled_on = models.DateField(_("encaissé le"), null=True, blank=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("remise de prélèvements")
        verbose_name_plural = _("remises de prélèvements")
        ordering = ["-collection_date", "scheme"]
        constraints = [
            models.UniqueConstraint(fields=["collection_date", "scheme"], condition=models.Q(status="open"),
                                    name="batch_one_open_per_date_scheme"),
        ]

    def __str__(self):
        return f"{self.scheme} {self.collection_date:%d/%m/%Y}"


class DebitItem(models.Model):
    """One invoice collected in a batch, under a mandate, with its sequence type and end-to-end id."""

    batch = models.ForeignKey(DebitBatch, on_delete=models.PROTECT, related_name="items", verbose_name=_("remise"))
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="debit_items",
                                verbose_name=_("facture"))
    mandate = models.ForeignKey(Mandate, on_delete=models.PROTECT, related_name="debit_items",
                                verbose_name=_("mandat"))
    amount = models.DecimalField(_("montant"), max_digits=13, decimal_places=2,
                                 validators=[MinValueValidator(0)])
    sequence_type = models.CharField(_("séquence"), max_length=4, choices=SequenceType.choices)
    end_to_end_id = models.CharField(_("référence de bout en bout"), max_length=35, unique=True)
    status = models.CharField(_("état"), max_length=10, choices=DebitItemStatus.choices,
                              default=DebitItemStatus.PENDING, db_index=True)

    class Meta:
        verbose_name = _("prélèvement")
        verbose_name_plural = _("prélèvements")
        ordering = ["batch", "pk"]
        constraints = [
            # An invoice is collected once; a rejected collection may be presented again by staff.
            models.UniqueConstraint(fields=["invoice"], condition=~models.Q(status="rejected"),
                                    name="debit_item_one_live_per_invoice"),
        ]

    def __str__(self):
        return self.end_to_end_id


class PreNotification(models.Model):
    """An e-mail pre-notifying a collection (L5) when the invoice itself could not count as one.

    The invoice counts when it was issued (with its collection date and amount)
    at least ``PAYMENTS_PRENOTIFICATION_DAYS`` before collection; otherwise the
    collection moves to ``collection_date`` announced here.
    """

    invoice = models.OneToOneField("billing.Invoice", on_delete=models.PROTECT, related_name="prenotification",
                                   verbose_name=_("facture"))
    sent_on = models.DateField(_("envoyée le"))
    collection_date = models.DateField(_("date de prélèvement annoncée"))
    amount = models.DecimalField(_("montant annoncé"), max_digits=13, decimal_places=2)

    class Meta:
        verbose_name = _("pré-notification de prélèvement")
        verbose_name_plural = _("pré-notifications de prélèvement")

    def __str__(self):
        return f"{self.invoice_id} → {self.collection_date:%d/%m/%Y}"


class Payment(models.Model):
    """Money received from a client: a direct-debit settlement, a transfer or a cheque.

    Its allocations say which invoices it pays; what is not allocated stays
    ``unallocated`` (a credit of the client). A rejected payment counts for nothing.
    """

    client = models.ForeignKey("contracts.Client", on_delete=models.PROTECT, related_name="payments",
                               verbose_name=_("client"))
    method = models.CharField(_("mode"), max_length=15, choices=PaymentMethod.choices)
    amount = models.DecimalField(_("montant"), max_digits=13, decimal_places=2,
                                 validators=[MinValueValidator(0)])
    received_on = models.DateField(_("reçu le"), db_index=True)
    reference = models.CharField(_("référence"), max_length=100, blank=True,
                                 help_text=_("N° de chèque, libellé du virement, référence de bout en bout."))
    status = models.CharField(_("état"), max_length=10, choices=PaymentStatus.choices,
                              default=PaymentStatus.SETTLED, db_index=True)
    debit_item = models.OneToOneField(DebitItem, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="payment", verbose_name=_("prélèvement"))
    notes = models.CharField(_("remarques"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+", verbose_name=_("saisi par"))
    created_at = models.DateTimeField(_("saisi le"), auto_now_add=True)

    class Meta:
        verbose_name = _("règlement")
        verbose_name_plural = _("règlements")
        ordering = ["-received_on", "-pk"]

    def __str__(self):
        return f"{self.get_method_display()} {self.amount} € ({self.received_on:%d/%m/%Y})"


class Allocation(models.Model):
    """The part of a payment applied to one invoice (lettrage)."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations",
                                verbose_name=_("règlement"))
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="allocations",
                                verbose_name=_("facture"))
    amount = models.DecimalField(_("montant imputé"), max_digits=13, decimal_places=2,
                                 validators=[MinValueValidator(0)])

    class Meta:
        verbose_name = _("imputation")
        verbose_name_plural = _("imputations")
        constraints = [
            models.UniqueConstraint(fields=["payment", "invoice"], name="allocation_once_per_payment_invoice"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="allocation_amount_positive"),
        ]

    def __str__(self):
        return f"{self.payment_id} → {self.invoice_id}: {self.amount}"


class Rejection(models.Model):
    """A bank rejection or return of a direct debit (R-transaction) with its ISO reason code (CGV B4).

    The invoice goes back to unpaid; the rejection fee becomes a charge of the client.
    """

    debit_item = models.OneToOneField(DebitItem, on_delete=models.PROTECT, related_name="rejection",
                                      verbose_name=_("prélèvement"))
    reason_code = models.CharField(_("motif (code ISO)"), max_length=5, choices=RejectionReason.choices)
    rejected_on = models.DateField(_("rejeté le"))
    fee = models.DecimalField(_("frais de rejet HT"), max_digits=13, decimal_places=2,
                              validators=[MinValueValidator(0)])
    charge = models.ForeignKey("billing.Charge", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", verbose_name=_("frais refacturés"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+", verbose_name=_("saisi par"))
    created_at = models.DateTimeField(_("saisi le"), auto_now_add=True)

    class Meta:
        verbose_name = _("rejet de prélèvement")
        verbose_name_plural = _("rejets de prélèvement")
        ordering = ["-rejected_on", "-pk"]

    def __str__(self):
        return f"{self.reason_code} — {self.debit_item}"


class OverdueReminder(models.Model):
    """The reminder sent once when an invoice became overdue (CGV B3); one row per invoice."""

    invoice = models.OneToOneField("billing.Invoice", on_delete=models.CASCADE, related_name="overdue_reminder",
                                   verbose_name=_("facture"))
    sent_on = models.DateField(_("relance envoyée le"))

    class Meta:
        verbose_name = _("relance d'impayé")
        verbose_name_plural = _("relances d'impayé")

    def __str__(self):
        return f"{self.invoice_id} ({self.sent_on:%d/%m/%Y})"


def _notice_upload(instance, filename):
    return f"payments/notices/{secrets.token_urlsafe(24)}.pdf"


class FormalNotice(models.Model):
    """A formal notice (mise en demeure) sent by registered letter for unpaid invoices (CGV B3, C6).

    ``applies_on`` is the first day after the 30 days without effect, counted
    from receipt (or from sending while the receipt is unknown). From that day,
    if the listed invoices are not fully paid, the nightly job applies B3 once
    (acceleration, late interest, €40 per late invoice, suspension) and staff
    may terminate the contracts for cause (C6). Services resume automatically
    once the client's whole due debt is settled.
    """

    client = models.ForeignKey("contracts.Client", on_delete=models.PROTECT, related_name="formal_notices",
                               verbose_name=_("client"))
    status = models.CharField(_("état"), max_length=10, choices=FormalNoticeStatus.choices,
                              default=FormalNoticeStatus.SENT, db_index=True)
    sent_on = models.DateField(_("envoyée le"))
    tracking_number = models.CharField(_("n° de lettre recommandée (LRAR)"), max_length=50, blank=True)
    received_on = models.DateField(_("reçue le (accusé de réception)"), null=True, blank=True)
    applies_on = models.DateField(_("sanctions applicables le"), db_index=True)
    amount_due = models.DecimalField(_("montant réclamé TTC"), max_digits=13, decimal_places=2)
    pdf = models.FileField(_("lettre (PDF)"), upload_to=_notice_upload, blank=True, max_length=200)
    applied_on = models.DateField(_("sanctions appliquées le"), null=True, blank=True)
    settled_on = models.DateField(_("soldée le"), null=True, blank=True)
    resumed_on = models.DateField(_("services repris le"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("émise par"))
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)

    class Meta:
        verbose_name = _("mise en demeure")
        verbose_name_plural = _("mises en demeure")
        ordering = ["-sent_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["client"], condition=models.Q(status="sent"),
                                    name="formal_notice_one_pending_per_client"),
        ]

    def __str__(self):
        return _("Mise en demeure %(client)s du %(date)s") % {"client": self.client, "date": f"{self.sent_on:%d/%m/%Y}"}


class FormalNoticeInvoice(models.Model):
    """An unpaid invoice listed in a formal notice, with what was left to pay when it was sent."""

    notice = models.ForeignKey(FormalNotice, on_delete=models.CASCADE, related_name="lines",
                               verbose_name=_("mise en demeure"))
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="formal_notice_lines",
                                verbose_name=_("facture"))
    balance = models.DecimalField(_("restant dû à l'envoi"), max_digits=13, decimal_places=2)

    class Meta:
        verbose_name = _("facture mise en demeure")
        verbose_name_plural = _("factures mises en demeure")
        ordering = ["notice", "invoice__due_date", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["notice", "invoice"], name="formal_notice_invoice_once"),
        ]

    def __str__(self):
        return f"{self.notice_id}: {self.invoice_id}"
