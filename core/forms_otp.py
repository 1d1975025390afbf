"""The one field of the second-factor steps (the checks live in core.security)."""
from django import forms
from django.utils.translation import gettext_lazy as _


class OTPCodeForm(forms.Form):
    token = forms.CharField(
        label=_("Code à 6 chiffres (ou code de secours)"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
        error_messages={"required": _("Saisissez le code affiché par votre application.")},
    )
    next = forms.CharField(widget=forms.HiddenInput, required=False)


class OTPDisableForm(OTPCodeForm):
    token = forms.CharField(
        label=_("Code actuel de votre application (ou code de secours)"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        error_messages={"required": _("Saisissez un code pour confirmer.")},
    )


INVALID_CODE = _("Code incorrect ou expiré. Vérifiez l'heure de votre téléphone et réessayez.")
