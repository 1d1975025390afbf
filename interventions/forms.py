"""Admin forms: they collect input and show a refused rule as a form error (services decide)."""
from django import forms
from django.utils.translation import gettext_lazy as _

from interventions import services
from interventions.exceptions import InterventionError
from interventions.models import RepairRequest, Ticket


class TicketAdminForm(forms.ModelForm):
    class Meta:
        model = Ticket
        fields = ["client", "contract", "site", "equipment", "contact", "channel", "category", "quote", "severity",
                  "title", "description", "status", "assignee"]

    def clean(self):
        data = super().clean()
        if self.instance.pk is None and data.get("client") and data.get("severity"):
            try:
                services.ticket_check_allowed(client=data["client"], contract=data.get("contract"),
                                              severity=data["severity"])
            except InterventionError as exc:
                raise forms.ValidationError(exc.message) from exc
        return data


class RepairRequestAdminForm(forms.ModelForm):
    class Meta:
        model = RepairRequest
        fields = ["client", "contract", "equipment", "ticket", "requested_at", "description"]

    def clean(self):
        data = super().clean()
        contract = data.get("contract")
        if contract is not None and not contract.has_backup:
            raise forms.ValidationError(
                _("Le délai de 36 heures (K5) ne s'applique qu'aux contrats avec l'option sauvegarde."))
        return data
