"""Forms of the gdpr app (portal: filing a data-subject request)."""
from django import forms
from django.utils.translation import gettext_lazy as _

from gdpr.choices import ControllerRequestKind, RequestKind


class PortalRequestForm(forms.Form):
    """A contact files a data-subject request for itself or for someone whose data MIS processes (D3, D5)."""

    kind = forms.ChoiceField(label=_("Droit exercé"), choices=RequestKind.choices)
    requester_name = forms.CharField(label=_("Nom de la personne concernée"), max_length=200)
    requester_email = forms.EmailField(label=_("E-mail de la personne concernée"), required=False)
    requester_phone = forms.CharField(label=_("Téléphone de la personne concernée"), max_length=30, required=False)
    description = forms.CharField(
        label=_("Demande"), widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Précisez les données ou traitements concernés."),
    )


class PortalControllerRequestForm(forms.Form):
    """The company's documented instruction to MIS (D4) or a request for assistance (D7, D8)."""

    kind = forms.ChoiceField(label=_("Nature"), choices=ControllerRequestKind.choices)
    subject = forms.CharField(label=_("Objet"), max_length=200)
    description = forms.CharField(
        label=_("Demande ou instruction"), widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Pour une instruction : le traitement concerné, ce qui doit être fait, et à partir de quand."),
    )
