"""Cross-cutting records: MIS's own identity, the audit log and outgoing e-mail."""
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.validators import validate_siren, validate_siret, validate_vat_number


class ProviderProfile(models.Model):
    """The provider's legal identity (MICRO INFO SERVICE), printed on every invoice (L1).

    A single row; :meth:`get` returns it. Invoices copy it at issue, so editing
    it never changes an issued invoice.
    """

    legal_name = models.CharField(_("raison sociale"), max_length=200)
    trade_name = models.CharField(_("nom commercial"), max_length=200, blank=True)
    legal_form = models.CharField(_("forme juridique"), max_length=50, blank=True)
    share_capital = models.CharField(_("capital social"), max_length=50, blank=True)
    address_line1 = models.CharField(_("adresse"), max_length=200)
    address_line2 = models.CharField(_("complément d'adresse"), max_length=200, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=10)
    city = models.CharField(_("ville"), max_length=100)
    country = models.CharField(_("pays (code ISO)"), max_length=2, default="FR")
    siren = models.CharField(_("SIREN"), max_length=9, validators=[validate_siren])
    siret = models.CharField(_("SIRET"), max_length=14, blank=True, validators=[validate_siret])
    rcs = models.CharField(_("RCS"), max_length=100, blank=True, help_text=_("ex. RCS Fréjus 123 456 789"))
    vat_number = models.CharField(_("n° de TVA intracommunautaire"), max_length=20, validators=[validate_vat_number])
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    sepa_creditor_id = models.CharField(
        _("identifiant créancier SEPA (ICS)"), max_length=35, blank=True
    )
    email = models.EmailField(_("e-mail de contact"))
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    website = models.URLField(_("site web"), blank=True)
    logo = models.ImageField(_("logo"), upload_to="provider/", blank=True)
    vat_on_debits = models.BooleanField(
        _("option pour le paiement de la TVA d'après les débits"),
        default=False,
        help_text=_("Mentionnée sur les factures lorsque l'option est prise (L1)."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("profil du prestataire")
        verbose_name_plural = _("profil du prestataire")

    def __str__(self):
        return self.legal_name

    @classmethod
    def get(cls) -> "ProviderProfile":
        profile = cls.objects.order_by("pk").first()
        if profile is None:
            raise cls.DoesNotExist(
                "The provider profile is missing: create it in the admin or run `manage.py demo_data`."
            )
        return profile


class AuditLogEntry(models.Model):
    """One change to a business record: who, when, what, and which fields changed."""

    created_at = models.DateTimeField(_("date"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("auteur"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(
        _("auteur (libellé)"), max_length=200, help_text=_("Utilisateur, ou « système » pour les tâches planifiées.")
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, verbose_name=_("type d'objet"))
    object_id = models.CharField(_("identifiant"), max_length=64)
    object_repr = models.CharField(_("objet"), max_length=300)
    action = models.CharField(_("action"), max_length=100, help_text=_("Code pointé, ex. billing.invoice.issued"))
    changes = models.JSONField(_("modifications"), default=dict, blank=True)

    class Meta:
        verbose_name = _("entrée du journal d'audit")
        verbose_name_plural = _("journal d'audit")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["content_type", "object_id"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"


class OutboundEmail(models.Model):
    """An e-mail the product sends, kept so staff can see it and failures are retried.

    ``key`` makes a notification idempotent: a nightly job that runs twice asks
    for the same key and the second request creates nothing.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("en attente")
        SENDING = "sending", _("envoi en cours")
        SENT = "sent", _("envoyé")
        FAILED = "failed", _("échec (sera réessayé)")

    key = models.CharField(_("clé d'unicité"), max_length=200, unique=True, null=True, blank=True)
    to = models.JSONField(_("destinataires"), default=list)
    cc = models.JSONField(_("copie"), default=list, blank=True)
    subject = models.CharField(_("objet"), max_length=300)
    body = models.TextField(_("message"))
    attachments = models.JSONField(
        _("pièces jointes"), default=list, blank=True, help_text=_("[{name, path, mimetype}] dans le stockage")
    )
    status = models.CharField(_("état"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0)
    last_error = models.TextField(_("dernière erreur"), blank=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("e-mail envoyé")
        verbose_name_plural = _("e-mails envoyés")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.subject
