"""Forms of the billing staff admin: they check the input, the services (``billing.services``) do the work.

Business rules stay in the services: how much of a line is still creditable
(L2), a shop sale being final unless the item is defective (CGV P1). A refused
operation comes back as the service's ``BillingError`` message on the form,
and nothing is saved (each service runs in one transaction).
"""
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.choices import PaymentMethod
from billing.models import VAT_STANDARD
from core.money import money

QUANTITY = {"max_digits": 10, "decimal_places": 2, "localize": True}
QUANTITY_INPUT = forms.TextInput(attrs={"size": 6, "inputmode": "decimal"})
POSITIVE = {"min_value": _("Indiquez une quantité supérieure à zéro.")}

VAT_RATES = [
    (Decimal("20.00"), _("20 % (taux normal)")),
    (Decimal("10.00"), _("10 %")),
    (Decimal("5.50"), _("5,5 %")),
    (Decimal("2.10"), _("2,1 %")),
    (Decimal("0.00"), _("0 % (exonéré)")),
]

# A counter sale is settled at the counter or by transfer; never by direct debit (no mandate for a one-off sale).
SHOP_PAYMENT_METHODS = [
    (m.value, m.label) for m in (PaymentMethod.CARD, PaymentMethod.CASH, PaymentMethod.CHEQUE, PaymentMethod.TRANSFER)
]


class PartialCreditForm(forms.Form):
    """Partial credit note (avoir partiel): a quantity to credit per line of an issued invoice, and the reason.

    ``rows`` lists every line with what is still creditable (quantity and
    amount HT); a line fully credited already has no input.
    """

    reason = forms.CharField(label=_("motif de l'avoir"), max_length=300,
                             widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))

    def __init__(self, *args, lines, credited: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        self.rows = []
        for line in lines:
            left = line.quantity - credited.get(line.pk, Decimal("0"))
            name = f"line_{line.pk}"
            if left > 0:
                self.fields[name] = forms.DecimalField(
                    label=line.description, required=False, min_value=Decimal("0"), initial=Decimal("0"),
                    widget=QUANTITY_INPUT, **QUANTITY,
                )
            self.rows.append({
                "line": line, "left": left, "left_amount": money(left * line.unit_price),
                "field": self[name] if left > 0 else None,
            })

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not self.credit_lines():
            raise forms.ValidationError(_("Indiquez la quantité à créditer sur au moins une ligne."))
        return cleaned

    def credit_lines(self) -> list:
        """``[(line, quantity)]`` for ``billing.services.invoice_credit``: the lines with a quantity above zero."""
        return [
            (line, self.cleaned_data[f"line_{line.pk}"])
            for line in self.lines
            if self.cleaned_data.get(f"line_{line.pk}")
        ]


class ShopSaleForm(forms.Form):
    """A counter sale (vente comptoir, CGV P1): the buyer and how it is paid; the lines are a formset."""

    client = forms.ModelChoiceField(label=_("client"), queryset=None)
    payment_method = forms.ChoiceField(label=_("mode de règlement"), choices=SHOP_PAYMENT_METHODS,
                                       initial=PaymentMethod.CARD)
    paid = forms.BooleanField(label=_("réglée au comptoir"), required=False, initial=True,
                              help_text=_("Décochez si le client paiera plus tard (virement, chèque)."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from contracts.models import Client

        self.fields["client"].queryset = Client.objects.filter(is_active=True).order_by("name")


class ShopSaleLineForm(forms.Form):
    description = forms.CharField(label=_("désignation"), max_length=500,
                                  widget=forms.TextInput(attrs={"size": 40}))
    quantity = forms.DecimalField(label=_("quantité"), min_value=Decimal("0.01"), initial=Decimal("1"),
                                  error_messages=POSITIVE, widget=QUANTITY_INPUT, **QUANTITY)
    unit_price = forms.DecimalField(label=_("prix unitaire HT (€)"), min_value=Decimal("0"), max_digits=13,
                                    decimal_places=2, localize=True,
                                    widget=forms.TextInput(attrs={"size": 10, "inputmode": "decimal"}))
    vat_rate = forms.TypedChoiceField(label=_("TVA"), choices=VAT_RATES, coerce=Decimal, initial=VAT_STANDARD)

    def line_spec(self) -> dict:
        """A line as ``billing.services.shop_sale_record`` takes it."""
        return {key: self.cleaned_data[key] for key in ("description", "quantity", "unit_price", "vat_rate")}


class ShopSaleLineFormSet(forms.BaseFormSet):
    default_error_messages = {"too_few_forms": _("Saisissez au moins un article vendu.")}

    def line_specs(self) -> list[dict]:
        return [form.line_spec() for form in self.forms if form.has_changed() and form.cleaned_data]


ShopSaleLines = forms.formset_factory(ShopSaleLineForm, formset=ShopSaleLineFormSet, extra=4, min_num=1,
                                      validate_min=True, max_num=50, validate_max=True)


class ShopReturnForm(forms.Form):
    """Return or refund of a shop item (CGV P1): only a defective item, described, gives a credit note."""

    line = forms.ModelChoiceField(label=_("article rapporté"), queryset=None, empty_label=None)
    quantity = forms.DecimalField(label=_("quantité rapportée"), min_value=Decimal("0.01"), initial=Decimal("1"),
                                  error_messages=POSITIVE, widget=QUANTITY_INPUT, **QUANTITY)
    defective = forms.BooleanField(
        label=_("article défectueux"), required=False,
        help_text=_("Les ventes boutique sont définitives : seul un article défectueux est repris ou remboursé."),
    )
    defect_description = forms.CharField(label=_("défaut constaté"), required=False,
                                         widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))

    def __init__(self, *args, invoice, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["line"]
        field.queryset = invoice.lines.all()
        field.label_from_instance = lambda line: f"{line.description} — {line.quantity} × {line.unit_price} € HT"
