from django import forms
from django.utils.translation import gettext_lazy as _

from backups.choices import RestoreKind


class RestoreRequestForm(forms.Form):
    """Portal form: restore a device to a point in time (K3), by the client or by MIS (K8)."""

    point = forms.DateTimeField(
        label=_("Restaurer l'état du"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("La dernière sauvegarde réussie à cette date sera restaurée."),
    )
    kind = forms.ChoiceField(label=_("Qui restaure ?"), choices=RestoreKind.choices, initial=RestoreKind.SELF_SERVICE)
    description = forms.CharField(
        label=_("Quoi restaurer (dossiers, fichiers)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
