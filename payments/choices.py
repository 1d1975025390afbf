"""Choice sets of payments (one per field)."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class MandateScheme(models.TextChoices):
    """SEPA direct-debit scheme (L5): CORE debtors may claim a refund for 8 weeks, B2B debtors may not."""

    CORE = "CORE", _("SEPA CORE")
    B2B = "B2B", _("SEPA B2B (interentreprises)")


class SequenceType(models.TextChoices):
    """Sequence type of a collection under a mandate (pain.008 ``SeqTp``)."""

    FIRST = "FRST", _("premier prélèvement")
    RECURRING = "RCUR", _("prélèvement récurrent")


class MandateStatus(models.TextChoices):
    ACTIVE = "active", _("actif")
    REVOKED = "revoked", _("révoqué")
    EXPIRED = "expired", _("caduc (36 mois sans prélèvement)")  # L5


class BatchStatus(models.TextChoices):
    OPEN = "open", _("à vérifier")
    EXPORTED = "exported", _("exporté (pain.008)")
    SETTLED = "settled", _("encaissé")


class DebitItemStatus(models.TextChoices):
    PENDING = "pending", _("en attente")
    SETTLED = "settled", _("encaissé")
    REJECTED = "rejected", _("rejeté")


class PaymentMethod(models.TextChoices):
    DIRECT_DEBIT = "direct_debit", _("prélèvement SEPA")
    TRANSFER = "transfer", _("virement")
    CHEQUE = "cheque", _("chèque")


class PaymentStatus(models.TextChoices):
    SETTLED = "settled", _("encaissé")
    REJECTED = "rejected", _("rejeté par la banque")


class RejectionReason(models.TextChoices):
    """ISO 20022 reason codes of SEPA R-transactions (the common ones)."""

    AC01 = "AC01", _("AC01 — IBAN incorrect")
    AC04 = "AC04", _("AC04 — compte clôturé")
    AC06 = "AC06", _("AC06 — compte bloqué")
    AG01 = "AG01", _("AG01 — prélèvement interdit sur ce compte")
    AM04 = "AM04", _("AM04 — provision insuffisante")
    MD01 = "MD01", _("MD01 — pas de mandat")
    MD06 = "MD06", _("MD06 — remboursement demandé par le débiteur")
    MD07 = "MD07", _("MD07 — débiteur décédé")
    MS02 = "MS02", _("MS02 — refus du débiteur")
    MS03 = "MS03", _("MS03 — raison non communiquée")
    SL01 = "SL01", _("SL01 — service spécifique de la banque du débiteur")
    OTHER = "OTHER", _("autre motif")


class FormalNoticeStatus(models.TextChoices):
    """A formal notice (mise en demeure, CGV B3) from its sending to its outcome."""

    SENT = "sent", _("envoyée, délai de 30 jours en cours")
    SETTLED = "settled", _("soldée (suivie d'effet)")
    APPLIED = "applied", _("restée sans effet : déchéance du terme, pénalités, suspension appliquées")
    CANCELLED = "cancelled", _("annulée")
