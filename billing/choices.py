"""Choice sets of billing (one per field)."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class DocumentType(models.TextChoices):
    """An invoice or a credit note (avoir): two numbering series (L1 allows separate series)."""

    INVOICE = "invoice", _("facture")
    CREDIT_NOTE = "credit_note", _("avoir")


class InvoiceKind(models.TextChoices):
    """What the invoice bills; it decides the due/collection date and the payment method."""

    RECURRING = "recurring", _("redevance périodique")  # CGV B1
    EXTRA = "extra", _("prestations en sus")  # CGV B2, P4, S5
    SHOP = "shop", _("vente boutique")  # CGV P1
    DEPOSIT = "deposit", _("acompte sur commande")  # CGV B5
    ORDER = "order", _("commande (devis signé)")  # CGV B5
    TERMINATION = "termination", _("résiliation anticipée")  # CGV C4–C6
    PENALTY = "penalty", _("pénalités et indemnités")  # CGV B3, B4; L3


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("brouillon")
    ISSUED = "issued", _("émise")
    PARTLY_PAID = "partly_paid", _("partiellement payée")
    PAID = "paid", _("payée")
    CANCELLED = "cancelled", _("annulée par avoir")


ISSUED_STATUSES = (
    InvoiceStatus.ISSUED,
    InvoiceStatus.PARTLY_PAID,
    InvoiceStatus.PAID,
    InvoiceStatus.CANCELLED,
)


class PaymentMethod(models.TextChoices):
    """How the invoice is settled; the code is the UNTDID 4461 code used in Factur-X."""

    DIRECT_DEBIT = "direct_debit", _("prélèvement SEPA")
    TRANSFER = "transfer", _("virement")
    CHEQUE = "cheque", _("chèque")
    CARD = "card", _("carte bancaire")
    CASH = "cash", _("espèces")

    @property
    def untdid_4461(self) -> str:
        return {"direct_debit": "59", "transfer": "58", "cheque": "20", "card": "48", "cash": "10"}[self.value]


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("brouillon")
    SENT = "sent", _("envoyé")
    ORDERED = "ordered", _("signé — commande")  # CGV B5: a signed quote is an order
    REFUSED = "refused", _("refusé")
    EXPIRED = "expired", _("expiré")


class SignatureMethod(models.TextChoices):
    HAND = "hand", _("signature manuscrite (scan)")
    ELECTRONIC = "electronic", _("signature électronique (portail)")
