"""Billing: charges waiting to be invoiced (invoices, quotes… are added by the billing issue)."""
from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

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
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("élément à facturer")
        verbose_name_plural = _("éléments à facturer")
        ordering = ["service_date", "pk"]

    def __str__(self):
        return f"{self.description} ({self.client_id})"
