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
