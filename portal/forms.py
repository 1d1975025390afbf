"""Portal forms: input only; the rules live in the services they feed."""
from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from contracts.choices import ContactRole
from contracts.selectors import contact_for_user
from core.mail import email_queue


class PortalAuthenticationForm(AuthenticationForm):
    """The login form, refusing accounts that are not portal contacts (staff use /admin/)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Adresse e-mail ou mot de passe incorrect."),
        "inactive": _("Cet accès a été désactivé par l'administrateur de votre entreprise."),
        "not_portal": _("Ce compte n'a pas accès à l'espace client."),
    }

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if contact_for_user(user) is None:
            raise forms.ValidationError(self.error_messages["not_portal"], code="not_portal")


class InviteForm(forms.Form):
    first_name = forms.CharField(label=_("Prénom"), max_length=100)
    last_name = forms.CharField(label=_("Nom"), max_length=100)
    email = forms.EmailField(label=_("Adresse e-mail"), help_text=_("Elle servira d'identifiant."))
    job_title = forms.CharField(label=_("Fonction"), max_length=100, required=False)
    role = forms.ChoiceField(
        label=_("Rôle"),
        choices=ContactRole.choices,
        initial=ContactRole.TECHNICAL,
        help_text=_(
            "Administrateur : tout l'espace et la gestion des utilisateurs. Facturation : contrats, factures, "
            "devis. Technique : tickets, équipements, sauvegardes, hébergement."
        ),
    )


class PortalPasswordResetForm(PasswordResetForm):
    """Password reset whose e-mail goes through ``core.mail.email_queue`` like every other e-mail."""

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email,
                  html_email_template_name=None):
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        body = render_to_string(email_template_name, context)
        email_queue(to=to_email, subject=subject, body=body)


class InvoiceFilterForm(forms.Form):
    """The invoice list's filters (GET)."""

    year = forms.TypedChoiceField(label=_("Année"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(label=_("État"), required=False)

    def __init__(self, *args, years: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        from billing.choices import InvoiceStatus

        self.fields["year"].choices = [("", _("Toutes"))] + [(y, str(y)) for y in years]
        self.fields["status"].choices = [("", _("Tous"))] + [
            (value, label) for value, label in InvoiceStatus.choices if value != InvoiceStatus.DRAFT
        ]


class QuoteSignForm(forms.Form):
    """The confirmation step of the electronic signature (CGV B5)."""

    accept = forms.BooleanField(
        label=_("J'ai lu ce devis et je l'accepte. Je sais qu'une fois signé, il vaut bon de commande (CGV B5)."),
        required=True,
        error_messages={"required": _("Cochez la case pour confirmer votre accord.")},
    )
    pdf_sha256 = forms.CharField(widget=forms.HiddenInput, required=False)


class MultipleFileInput(forms.FileInput):
    """A file input that lets the browser pick several files (``<input type=file multiple>``)."""

    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Several files in one field; each is checked by ``interventions.services.ticket_attachment_check``
    so a refused file is shown on the field, with its reason, before anything is stored."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        from interventions import services
        from interventions.exceptions import InterventionError

        uploads = [d for d in (data if isinstance(data, list | tuple) else [data]) if d]
        if not uploads:
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return []
        files, errors = [super(AttachmentsField, self).clean(d, initial) for d in uploads], []
        for file in files:
            try:
                services.ticket_attachment_check(file=file)
            except InterventionError as exc:
                errors.append(forms.ValidationError(exc.message, code=exc.code))
        if errors:
            raise forms.ValidationError(errors)
        return files


def _attachments_help() -> str:
    from django.template.defaultfilters import filesizeformat

    from interventions.attachments import ALLOWED_HELP
    from interventions.services import attachment_limits

    max_bytes, max_count = attachment_limits()
    return _("%(size)s au plus par fichier, %(count)s fichiers au plus par demande. Formats : %(allowed)s.") % {
        "size": filesizeformat(max_bytes), "count": max_count, "allowed": ALLOWED_HELP}


class TicketAttachmentForm(forms.Form):
    """Join files to a ticket from the portal (multipart)."""

    attachments = AttachmentsField(label=_("Fichiers à joindre"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attachments"].help_text = _attachments_help()


class TicketForm(forms.Form):
    """Open a ticket from the portal; the sites and equipment offered are the client's own."""

    title = forms.CharField(label=_("Objet"), max_length=200,
                            help_text=_("En quelques mots : « Le poste de l'accueil ne démarre plus »."))
    severity = forms.TypedChoiceField(label=_("Sévérité"), coerce=int, widget=forms.RadioSelect)
    category = forms.ChoiceField(label=_("Nature du problème"))
    site = forms.ModelChoiceField(label=_("Site"), queryset=None, required=False, empty_label=_("— non précisé —"))
    equipment = forms.ModelChoiceField(label=_("Équipement concerné"), queryset=None, required=False,
                                       empty_label=_("— non précisé —"))
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 6}), required=False,
                                  help_text=_("Ce qui se passe, depuis quand, les messages d'erreur affichés."))
    attachments = AttachmentsField(label=_("Pièces jointes (facultatif)"), required=False)

    def __init__(self, *args, sites, equipment, severity1_hours: int, severity2_hours: int, **kwargs):
        super().__init__(*args, **kwargs)
        from interventions.choices import EXCLUDED_CATEGORIES, Category, Severity

        self.fields["site"].queryset = sites
        self.fields["equipment"].queryset = equipment
        self.fields["severity"].choices = [
            (Severity.BLOCKING, _("Sévérité 1 — bloquant : intervention sous %(h)s heures ouvrables")
             % {"h": severity1_hours}),
            (Severity.MINOR, _("Sévérité 2 — mineur : intervention sous %(h)s heures ouvrables")
             % {"h": severity2_hours}),
        ]
        self.fields["severity"].initial = Severity.MINOR
        self.fields["severity"].help_text = _(
            "Sévérité 1 : vous ne pouvez plus travailler (serveur, accès Internet ou poste indispensable hors "
            "service). Sévérité 2 : une gêne qui ne bloque pas le travail. Le délai court en heures ouvrables, du "
            "lundi au vendredi de 9 h à 18 h hors jours fériés (CGV S2)."
        )
        covered = [(c.value, c.label) for c in Category if c not in EXCLUDED_CATEGORIES]
        excluded = [(c.value, c.label) for c in Category if c in EXCLUDED_CATEGORIES]
        self.fields["category"].choices = [
            (_("Couvert par votre contrat"), covered),
            (_("Hors contrat : devis préalable (CGV S6)"), excluded),
        ]
        self.fields["category"].help_text = _(
            "Les demandes hors contrat ne sont traitées qu'après signature d'un devis."
        )
        self.fields["attachments"].help_text = _("Une capture d'écran, un journal… ") + _attachments_help()


class TicketCommentForm(forms.Form):
    body = forms.CharField(label=_("Votre message"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)
