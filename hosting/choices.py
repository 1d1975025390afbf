"""Choice sets of the hosting option (CGV annex 2, H1–H5)."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class ServiceKind(models.TextChoices):
    """The three hosted services the annex sells (H1)."""

    IMAP = "imap", _("messagerie IMAP")
    EXCHANGE = "exchange", _("messagerie Exchange mutualisée")
    WEB = "web", _("hébergement de site web")

    @classmethod
    def mail_kinds(cls) -> list[str]:
        return [cls.IMAP, cls.EXCHANGE]


class ServiceStatus(models.TextChoices):
    PENDING = "pending", _("en attente d'activation")
    ACTIVE = "active", _("actif")
    CLOSED = "closed", _("résilié")


class PricingMode(models.TextChoices):
    """H5: mailboxes are sold per unit, or in packs of 5 for shared Exchange."""

    UNIT = "unit", _("à l'unité")
    PACK = "pack5", _("par pack de 5 boîtes")


class PriceItem(models.TextChoices):
    """What a row of the hosting price table prices (monthly, HT)."""

    IMAP_MAILBOX = "imap_mailbox", _("boîte aux lettres IMAP")
    EXCHANGE_MAILBOX = "exchange_mailbox", _("boîte aux lettres Exchange (à l'unité)")
    EXCHANGE_PACK = "exchange_pack5", _("pack de 5 boîtes aux lettres Exchange")
    WEB_SITE = "web_site", _("hébergement d'un site web")


class ChangeRequestStatus(models.TextChoices):
    OPEN = "open", _("reçue, à traiter")
    DONE = "done", _("traitée")
    CANCELLED = "cancelled", _("annulée")


class ChangeRequestOrigin(models.TextChoices):
    PORTAL = "portal", _("espace client")
    STAFF = "staff", _("équipe MIS")
