"""Billing: charges waiting to be invoiced, invoices and credit notes, numbering, quotes, shop returns."""
import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.choices import (
    DocumentType,
    InvoiceKind,
    InvoiceStatus,
    PaymentMethod,
    QuoteStatus,
    SignatureMethod,
)

VAT_STANDARD = Decimal("20.00")


class Charge(models.Model):
    """Something billable waiting for an invoice (CGV P4, S5, K7, K8, H5, B4, C4–C6).

    Other apps record charges through ``billing.services.charge_record``; billing
    never imports them. ``source_key`` makes recording idempotent: the same
    event (a termination, an intervention, a tier upgrade) never yields two charges.
    A ``vat_rate`` of ``None`` means outside the scope of VAT (late interest, the
    €40 recovery indemnity: L3).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("à facturer")
        INVOICED = "invoiced", _("facturé")
        CANCELLED = "cancelled", _("annulé")

    client = models.ForeignKey(
        "contracts.Client", on_delete=models.PROTECT, related_name="charges", verbose_name=_("client")
    )
    contract = models.ForeignKey(
        "contracts.Contract",
        on_delete=models.PROTECT,
        related_name="charges",
        null=True,
        blank=True,
        verbose_name=_("contrat"),
    )
    source = models.CharField(
        _("origine"), max_length=50, help_text=_("ex. interventions.out_of_hours, backups.tier_upgrade")
    )
    source_key = models.CharField(_("clé d'origine"), max_length=200, unique=True)
    description = models.CharField(_("désignation"), max_length=300)
    quantity = models.DecimalField(
        _("quantité"), max_digits=10, decimal_places=2, default=Decimal("1"), validators=[MinValueValidator(0)]
    )
    unit_price = models.DecimalField(_("prix unitaire HT"), max_digits=13, decimal_places=2)
    vat_rate = models.DecimalField(
        _("taux de TVA (%)"), max_digits=5, decimal_places=2, null=True, blank=True, default=VAT_STANDARD,
        help_text=_("Vide : hors champ de la TVA (intérêts de retard, indemnité forfaitaire de 40 €)."),
    )
    service_date = models.DateField(_("date de la prestation"))
    status = models.CharField(_("état"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="charges", null=True, blank=True,
        verbose_name=_("facture"),
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("élément à facturer")
        verbose_name_plural = _("éléments à facturer")
        ordering = ["service_date", "pk"]

    def __str__(self):
        return f"{self.description} ({self.client_id})"


# --- Invoices and credit notes -------------------------------------------------------------------

# Fields that may still change once an invoice is issued (payment follow-up and the stored PDF).
# Everything else is frozen (L2): corrections go through a credit note.
MUTABLE_AFTER_ISSUE = frozenset(
    {"status", "amount_paid", "paid_at", "pdf", "pdf_sha256", "pdf_rendered_at", "sent_at", "updated_at"}
)


def _frozen_change_error(number, fields):
    from billing.exceptions import BillingError

    return BillingError(
        _("La facture %(number)s est émise : elle ne peut plus être modifiée ni supprimée (%(fields)s). "
          "Corrigez-la par un avoir.") % {"number": number or "?", "fields": ", ".join(sorted(fields))},
        code="invoice_immutable",
    )


class InvoiceQuerySet(models.QuerySet):
    """Refuses bulk changes and deletes that would touch an issued invoice (L2)."""

    def update(self, **kwargs):
        frozen = set(kwargs) - MUTABLE_AFTER_ISSUE
        back_to_draft = kwargs.get("status") == InvoiceStatus.DRAFT
        if (frozen or back_to_draft) and self.exclude(status=InvoiceStatus.DRAFT).exists():
            raise _frozen_change_error(None, frozen or {"status"})
        return super().update(**kwargs)

    def delete(self):
        if self.exclude(status=InvoiceStatus.DRAFT).exists():
            raise _frozen_change_error(None, {"delete"})
        return super().delete()

    def issued(self):
        return self.exclude(status=InvoiceStatus.DRAFT)


def _pdf_upload(instance, filename):
    # Unguessable: a random token, never the number alone (invoices are personal/business data).
    return f"billing/{instance.issue_date:%Y}/{secrets.token_urlsafe(24)}.pdf"


class Invoice(models.Model):
    """An invoice or a credit note (avoir), a legal snapshot once issued (L1, L2).

    A draft is editable. Issuing it (``billing.services.invoice_issue``) copies
    the seller and buyer identities into ``seller``/``buyer``, computes the
    totals, and assigns the next number of its series and year inside the
    transaction. From then on nothing but the payment follow-up changes:
    ``save()``, ``delete()`` and the queryset's ``update()``/``delete()`` refuse,
    and corrections are credit notes (``document_type=credit_note``) pointing
    at the original through ``credited_invoice``, with negated lines.

    ``vat_breakdown`` holds the totals per VAT rate,
    ``[{"rate": "20.00" | null, "base": "100.00", "vat": "20.00"}]``
    (``null`` = outside the scope of VAT). Rounding: each line total is rounded
    to the cent, then the VAT of each rate is computed on the sum of its lines
    and rounded (EN 16931 BR-CO-17).
    """

    document_type = models.CharField(
        _("type de document"), max_length=12, choices=DocumentType.choices, default=DocumentType.INVOICE
    )
    kind = models.CharField(_("nature"), max_length=12, choices=InvoiceKind.choices, db_index=True)
    status = models.CharField(
        _("état"), max_length=12, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT, db_index=True
    )
    series = models.CharField(_("série"), max_length=10, blank=True)
    fiscal_year = models.PositiveSmallIntegerField(_("année de numérotation"), null=True, blank=True)
    sequence = models.PositiveIntegerField(_("rang dans la série"), null=True, blank=True)
    number = models.CharField(_("numéro"), max_length=30, unique=True, null=True, blank=True)
    client = models.ForeignKey(
        "contracts.Client", on_delete=models.PROTECT, related_name="invoices", verbose_name=_("client")
    )
    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="invoices", null=True, blank=True,
        verbose_name=_("contrat"),
    )
    period_start = models.DateField(_("début de période"), null=True, blank=True, db_index=True)
    period_end = models.DateField(_("fin de période"), null=True, blank=True)
    issue_date = models.DateField(_("date d'émission"), null=True, blank=True, db_index=True)
    due_date = models.DateField(_("échéance"), null=True, blank=True, db_index=True)
    collection_date = models.DateField(
        _("date de prélèvement"), null=True, blank=True, db_index=True,
        help_text=_("Prélèvement SEPA : le 15 du mois (B1) ou le 30 du mois suivant (B2)."),
    )
    payment_method = models.CharField(
        _("mode de règlement"), max_length=15, choices=PaymentMethod.choices, default=PaymentMethod.DIRECT_DEBIT
    )
    mandate_reference = models.CharField(
        _("référence unique de mandat (RUM)"), max_length=35, blank=True,
        help_text=_("Imprimée sur la facture en cas de prélèvement (L5)."),
    )
    purchase_order_ref = models.CharField(_("n° de bon de commande du client"), max_length=60, blank=True)
    seller = models.JSONField(_("vendeur (copie à l'émission)"), default=dict, blank=True)
    buyer = models.JSONField(_("acheteur (copie à l'émission)"), default=dict, blank=True)
    total_ht = models.DecimalField(_("total HT"), max_digits=13, decimal_places=2, default=Decimal("0.00"))
    total_vat = models.DecimalField(_("total TVA"), max_digits=13, decimal_places=2, default=Decimal("0.00"))
    total_ttc = models.DecimalField(_("total TTC"), max_digits=13, decimal_places=2, default=Decimal("0.00"))
    vat_breakdown = models.JSONField(_("totaux par taux de TVA"), default=list, blank=True)
    amount_paid = models.DecimalField(_("montant réglé"), max_digits=13, decimal_places=2, default=Decimal("0.00"))
    paid_at = models.DateField(_("soldée le"), null=True, blank=True)
    credited_invoice = models.ForeignKey(
        "self", on_delete=models.PROTECT, related_name="credit_notes", null=True, blank=True,
        verbose_name=_("facture corrigée"),
    )
    quote = models.ForeignKey(
        "billing.Quote", on_delete=models.PROTECT, related_name="invoices", null=True, blank=True,
        verbose_name=_("devis"),
    )
    source_key = models.CharField(
        _("clé d'origine"), max_length=200, unique=True, null=True, blank=True,
        help_text=_("Rend la création idempotente (résiliation, acompte de devis…)."),
    )
    notes = models.TextField(_("mentions complémentaires"), blank=True)
    pdf = models.FileField(_("PDF (Factur-X)"), upload_to=_pdf_upload, blank=True, max_length=200)
    pdf_sha256 = models.CharField(_("empreinte SHA-256 du PDF"), max_length=64, blank=True)
    pdf_rendered_at = models.DateTimeField(_("PDF produit le"), null=True, blank=True)
    issued_at = models.DateTimeField(_("émise le"), null=True, blank=True)
    sent_at = models.DateTimeField(_("envoyée le"), null=True, blank=True)
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        verbose_name = _("facture")
        verbose_name_plural = _("factures")
        ordering = ["-issue_date", "-sequence", "-pk"]
        constraints = [
            # CGV B1: exactly one recurring invoice per contract and billing period.
            models.UniqueConstraint(
                fields=["contract", "period_start"],
                condition=models.Q(kind="recurring", document_type="invoice"),
                name="invoice_one_recurring_per_contract_period",
            ),
            models.UniqueConstraint(
                fields=["series", "fiscal_year", "sequence"], name="invoice_unique_sequence_per_series_year"
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(number__isnull=False, issue_date__isnull=False),
                name="invoice_issued_has_number_and_date",
            ),
        ]
        indexes = [models.Index(fields=["client", "status"])]

    def __str__(self):
        return self.number or _("%(type)s brouillon n°%(pk)s") % {
            "type": self.get_document_type_display(), "pk": self.pk or "—"
        }

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if not self._state.adding and self.pk and not (update_fields and set(update_fields) <= MUTABLE_AFTER_ISSUE):
            frozen = [f.attname for f in self._meta.concrete_fields if f.name not in MUTABLE_AFTER_ISSUE]
            stored = type(self).objects.filter(pk=self.pk).values("status", *frozen).first()
            if stored and stored["status"] != InvoiceStatus.DRAFT:
                changed = {name for name in frozen if stored[name] != getattr(self, name)}
                if changed or self.status == InvoiceStatus.DRAFT:
                    raise _frozen_change_error(stored["number"], changed or {"status"})
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        stored = type(self).objects.filter(pk=self.pk).values_list("status", "number").first()
        if stored and stored[0] != InvoiceStatus.DRAFT:
            raise _frozen_change_error(stored[1], {"delete"})
        return super().delete(*args, **kwargs)

    @property
    def is_credit_note(self) -> bool:
        return self.document_type == DocumentType.CREDIT_NOTE

    @property
    def is_issued(self) -> bool:
        return self.status != InvoiceStatus.DRAFT

    @property
    def balance(self) -> Decimal:
        """What is left to pay (negative for a credit note not yet refunded)."""
        return self.total_ttc - self.amount_paid


class InvoiceLineQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if self.exclude(invoice__status=InvoiceStatus.DRAFT).exists():
            raise _frozen_change_error(None, set(kwargs))
        return super().update(**kwargs)

    def delete(self):
        if self.exclude(invoice__status=InvoiceStatus.DRAFT).exists():
            raise _frozen_change_error(None, {"delete"})
        return super().delete()


class InvoiceLine(models.Model):
    """A line of an invoice: precise description, quantity, unit price HT and VAT rate (L1).

    ``vat_rate`` ``None`` = outside the scope of VAT (late interest, the €40
    indemnity: L3). ``total_ht`` = quantity × unit price, rounded to the cent.
    Frozen with its invoice once issued.
    """

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines", verbose_name=_("facture"))
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)
    description = models.CharField(_("désignation"), max_length=500)
    quantity = models.DecimalField(_("quantité"), max_digits=10, decimal_places=2, default=Decimal("1"))
    unit_price = models.DecimalField(_("prix unitaire HT"), max_digits=13, decimal_places=2)
    vat_rate = models.DecimalField(
        _("taux de TVA (%)"), max_digits=5, decimal_places=2, null=True, blank=True, default=VAT_STANDARD,
        help_text=_("Vide : hors champ de la TVA."),
    )
    total_ht = models.DecimalField(_("montant HT"), max_digits=13, decimal_places=2, default=Decimal("0.00"))
    service_start = models.DateField(_("début de prestation"), null=True, blank=True)
    service_end = models.DateField(_("fin de prestation"), null=True, blank=True)
    credited_line = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_lines",
        verbose_name=_("ligne créditée"), help_text=_("Sur un avoir : la ligne de la facture d'origine."),
    )

    objects = InvoiceLineQuerySet.as_manager()

    class Meta:
        verbose_name = _("ligne de facture")
        verbose_name_plural = _("lignes de facture")
        ordering = ["invoice", "position", "pk"]

    def __str__(self):
        return self.description

    def save(self, *args, **kwargs):
        frozen = self._invoice_is_frozen()
        if frozen:
            raise _frozen_change_error(frozen[1], {"lines"})
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        frozen = self._invoice_is_frozen()
        if frozen:
            raise _frozen_change_error(frozen[1], {"lines"})
        return super().delete(*args, **kwargs)

    def _invoice_is_frozen(self):
        stored = Invoice.objects.filter(pk=self.invoice_id).values_list("status", "number").first()
        return stored if stored and stored[0] != InvoiceStatus.DRAFT else None


class NumberSequence(models.Model):
    """The counter of one numbering series and year (L1: unique, gapless, chronological).

    ``billing.numbering`` locks the row (``select_for_update``) inside the
    issuing transaction, so two concurrent issues wait for each other and a
    rolled-back issue gives its number back. ``last_issue_date`` keeps the
    series chronological.
    """

    series = models.CharField(_("série"), max_length=10)
    year = models.PositiveSmallIntegerField(_("année"))
    last_number = models.PositiveIntegerField(_("dernier numéro"), default=0)
    last_issue_date = models.DateField(_("dernière date d'émission"), null=True, blank=True)

    class Meta:
        verbose_name = _("compteur de numérotation")
        verbose_name_plural = _("compteurs de numérotation")
        constraints = [models.UniqueConstraint(fields=["series", "year"], name="number_sequence_unique")]

    def __str__(self):
        return f"{self.series}-{self.year}: {self.last_number}"


# --- Quotes (devis) → orders ---------------------------------------------------------------------


def _quote_upload(instance, filename):
    return f"billing/quotes/{secrets.token_urlsafe(24)}.pdf"


def _quote_scan_upload(instance, filename):
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "pdf"
    return f"billing/quotes/signed/{secrets.token_urlsafe(24)}.{extension[:5]}"


class Quote(models.Model):
    """A quote (devis) for anything outside the contract (CGV P4, K5, K8, S6).

    Signed by hand (staff upload the scan) or electronically from the portal
    (signer, instant, IP address, user agent and the SHA-256 of the exact PDF
    signed), it becomes an order at once (CGV B5). Payment is due 2 months after
    the signature or, when a deposit is invoiced, 2 months after the deposit.
    """

    number = models.CharField(_("numéro"), max_length=30, unique=True, null=True, blank=True)
    client = models.ForeignKey(
        "contracts.Client", on_delete=models.PROTECT, related_name="quotes", verbose_name=_("client")
    )
    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="quotes", null=True, blank=True,
        verbose_name=_("contrat"),
    )
    title = models.CharField(_("objet"), max_length=200)
    status = models.CharField(
        _("état"), max_length=10, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT, db_index=True
    )
    issue_date = models.DateField(_("date du devis"), null=True, blank=True)
    valid_until = models.DateField(_("valable jusqu'au"), null=True, blank=True)
    deposit_rate = models.DecimalField(
        _("acompte (%)"), max_digits=5, decimal_places=2, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text=_("0 : pas d'acompte."),
    )
    seller = models.JSONField(_("vendeur"), default=dict, blank=True)
    buyer = models.JSONField(_("client"), default=dict, blank=True)
    total_ht = models.DecimalField(_("total HT"), max_digits=13, decimal_places=2, default=Decimal("0.00"))
    total_vat = models.DecimalField(_("total TVA"), max_digits=13, decimal_places=2, default=Decimal("0.00"))
    total_ttc = models.DecimalField(_("total TTC"), max_digits=13, decimal_places=2, default=Decimal("0.00"))
    vat_breakdown = models.JSONField(_("totaux par taux de TVA"), default=list, blank=True)
    pdf = models.FileField(_("PDF du devis"), upload_to=_quote_upload, blank=True, max_length=200)
    pdf_sha256 = models.CharField(_("empreinte SHA-256 du PDF"), max_length=64, blank=True)
    # Signature (B5).
    signature_method = models.CharField(
        _("mode de signature"), max_length=10, choices=SignatureMethod.choices, blank=True
    )
    signed_at = models.DateTimeField(_("signé le"), null=True, blank=True)
    signer_contact = models.ForeignKey(
        "contracts.Contact", on_delete=models.PROTECT, related_name="+", null=True, blank=True,
        verbose_name=_("signataire (contact)"),
    )
    signer_name = models.CharField(_("signataire"), max_length=200, blank=True)
    signer_ip = models.GenericIPAddressField(_("adresse IP du signataire"), null=True, blank=True)
    signer_user_agent = models.CharField(_("navigateur du signataire"), max_length=500, blank=True)
    signed_pdf_sha256 = models.CharField(_("SHA-256 du PDF signé"), max_length=64, blank=True)
    signed_scan = models.FileField(_("scan du devis signé"), upload_to=_quote_scan_upload, blank=True, max_length=200)
    signed_copy = models.FileField(
        _("exemplaire signé"), upload_to=_quote_upload, blank=True, max_length=200,
        help_text=_("PDF du devis avec le cartouche de signature électronique."),
    )
    ordered_on = models.DateField(_("commande le"), null=True, blank=True)
    payment_due_date = models.DateField(_("paiement dû le"), null=True, blank=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("devis")
        verbose_name_plural = _("devis")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.number or _("devis brouillon n°%(pk)s") % {"pk": self.pk or "—"}

    @property
    def deposit_amount_ttc(self) -> Decimal:
        from core.money import money

        return money(self.total_ttc * self.deposit_rate / 100)


class QuoteLine(models.Model):
    """A line of a quote (same shape as an invoice line)."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines", verbose_name=_("devis"))
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)
    description = models.CharField(_("désignation"), max_length=500)
    quantity = models.DecimalField(_("quantité"), max_digits=10, decimal_places=2, default=Decimal("1"))
    unit_price = models.DecimalField(_("prix unitaire HT"), max_digits=13, decimal_places=2)
    vat_rate = models.DecimalField(
        _("taux de TVA (%)"), max_digits=5, decimal_places=2, null=True, blank=True, default=VAT_STANDARD
    )
    total_ht = models.DecimalField(_("montant HT"), max_digits=13, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        verbose_name = _("ligne de devis")
        verbose_name_plural = _("lignes de devis")
        ordering = ["quote", "position", "pk"]

    def __str__(self):
        return self.description


# --- Shop (GECO informatique) returns ------------------------------------------------------------


class ShopReturn(models.Model):
    """A returned shop item recorded as defective (CGV P1), and the credit note it produced.

    Shop sales are final: a return is only accepted for a defective item, so a
    row exists only with its defect description and credit note.
    """

    invoice_line = models.ForeignKey(
        InvoiceLine, on_delete=models.PROTECT, related_name="shop_returns", verbose_name=_("ligne vendue")
    )
    quantity = models.DecimalField(_("quantité reprise"), max_digits=10, decimal_places=2)
    defect_description = models.TextField(_("défaut constaté"))
    recorded_at = models.DateTimeField(_("enregistré le"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("enregistré par"),
    )
    credit_note = models.OneToOneField(
        Invoice, on_delete=models.PROTECT, related_name="shop_return", verbose_name=_("avoir")
    )

    class Meta:
        verbose_name = _("retour boutique (défaut)")
        verbose_name_plural = _("retours boutique (défaut)")
        ordering = ["-recorded_at"]

    def __str__(self):
        return f"{self.invoice_line} × {self.quantity}"
