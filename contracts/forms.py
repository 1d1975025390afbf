"""Staff forms of the contracts admin views (they only collect input; services apply the rules)."""
from django import forms
from django.utils.translation import gettext_lazy as _

from contracts.choices import Party, SuspensionReason, TerminationKind


class DateInput(forms.DateInput):
    input_type = "date"


class TerminationForm(forms.Form):
    """A termination notice (registered letter) as received or sent (CGV C3–C7)."""

    kind = forms.ChoiceField(label=_("type de résiliation"), choices=TerminationKind.choices)
    requested_by = forms.ChoiceField(
        label=_("à l'initiative de"), choices=Party.choices, initial=Party.CLIENT,
        help_text=_("Pour C3 et C5 ; imposé pour C4, C7 (client) et C6 (prestataire)."),
    )
    letter_sent_on = forms.DateField(label=_("lettre recommandée envoyée le"), widget=DateInput)
    letter_tracking_number = forms.CharField(label=_("n° de recommandé"), max_length=50, required=False)
    letter_received_on = forms.DateField(label=_("accusé de réception du"), required=False, widget=DateInput)
    letter_scan = forms.FileField(label=_("scan de la lettre"), required=False)
    effective_on = forms.DateField(
        label=_("date d'effet"), required=False, widget=DateInput,
        help_text=_("C4, C5, C6 : vide = date de la lettre. Calculée pour C3 et C7."),
    )
    formal_notice_sent_on = forms.DateField(label=_("mise en demeure envoyée le (C6)"), required=False,
                                            widget=DateInput)
    formal_notice_received_on = forms.DateField(label=_("mise en demeure reçue le (C6)"), required=False,
                                                widget=DateInput)
    formal_notice_tracking_number = forms.CharField(label=_("n° de recommandé de la mise en demeure"),
                                                    max_length=50, required=False)
    reason = forms.CharField(label=_("motif / remarques"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data["letter_tracking_number"] = data.get("letter_tracking_number") or ""
        data["formal_notice_tracking_number"] = data.get("formal_notice_tracking_number") or ""
        return data

    def quote_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"], "letter_sent_on": data["letter_sent_on"], "requested_by": data["requested_by"],
            "effective_on": data.get("effective_on"),
            "formal_notice_received_on": data.get("formal_notice_received_on"),
        }


class SuspensionForm(forms.Form):
    """CGV C10: the registered-letter notification of a suspension."""

    reason = forms.ChoiceField(label=_("motif"), choices=SuspensionReason.choices)
    scope = forms.CharField(label=_("services suspendus"), max_length=200, required=False,
                            help_text=_("Vide : tous les services."))
    details = forms.CharField(label=_("détails"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    letter_sent_on = forms.DateField(label=_("notification envoyée le"), widget=DateInput)
    letter_tracking_number = forms.CharField(label=_("n° de recommandé"), max_length=50, required=False)
    letter_scan = forms.FileField(label=_("scan de la notification"), required=False)


class ResumptionForm(forms.Form):
    """CGV C10: the written resumption notice."""

    resumption_letter_sent_on = forms.DateField(label=_("notification de reprise envoyée le"), widget=DateInput)
    resumption_note = forms.CharField(label=_("texte de la notification de reprise"), required=False,
                                      widget=forms.Textarea(attrs={"rows": 3}))


class SyntecImportForm(forms.Form):
    file = forms.FileField(
        label=_("fichier CSV"),
        help_text=_("Colonnes : month (AAAA-MM), value (ex. 315.0), published_on (AAAA-MM-JJ), "
                    "published_on_confirmed (yes/no, facultatif)."),
    )


class RevisionPreviewForm(forms.Form):
    revision_date = forms.DateField(label=_("date de révision"), widget=DateInput)
