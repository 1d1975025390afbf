"""Staff admin of billing: thin, every action calls a service."""
import io
import zipfile

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from billing import rules, services
from billing.choices import InvoiceKind, InvoiceStatus, QuoteStatus
from billing.exceptions import BillingError
from billing.exports import sales_journal_csv
from billing.forms import PartialCreditForm, ShopReturnForm, ShopSaleForm, ShopSaleLines
from billing.models import Charge, Invoice, InvoiceLine, NumberSequence, Quote, QuoteLine, ShopReturn
from core.admin import AuditedAdminMixin
from core.dates import business_today
from core.money import format_eur


@admin.register(Charge)
class ChargeAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["service_date", "client", "description", "quantity", "unit_price", "vat_rate", "status", "source",
                    "invoice"]
    list_filter = ["status", "source"]
    search_fields = ["description", "client__name", "source_key"]
    list_select_related = ["client", "invoice"]
    raw_id_fields = ["client", "contract", "invoice"]
    actions = ["invoice_now"]

    @admin.action(description=_("Facturer maintenant les éléments sélectionnés (B2)"))
    def invoice_now(self, request, queryset):
        ids = list(queryset.filter(status=Charge.Status.PENDING).values_list("pk", flat=True))
        invoices = services.charges_invoice(actor=request.user, today=business_today(), charge_ids=ids)
        self.message_user(request, _("%(n)s facture(s) émise(s).") % {"n": len(invoices)})


class ClientFilter(admin.SimpleListFilter):
    """By client (``?client__id__exact=``), listing only the chosen one: the sidebar of every client made the
    change list 505 KiB and 1.2 s with 5,000 clients (issue #11, docs/benchmarks.md). Staff find a client's
    invoices with the search box (name, SIREN) or the link from the client."""

    title = _("client")
    parameter_name = "client__id__exact"

    def lookups(self, request, model_admin):
        from contracts.models import Client

        value = self.value()
        return [(str(c.pk), str(c)) for c in Client.objects.filter(pk=value)] if value and value.isdigit() else []

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(client_id=value) if value and value.isdigit() else queryset


class AmountFilter(admin.SimpleListFilter):
    title = _("montant TTC")
    parameter_name = "amount"
    BUCKETS = {
        "lt100": (None, 100), "100-500": (100, 500), "500-2000": (500, 2000), "gte2000": (2000, None),
    }

    def lookups(self, request, model_admin):
        return [("lt100", _("moins de 100 €")), ("100-500", _("100 à 500 €")), ("500-2000", _("500 à 2 000 €")),
                ("gte2000", _("2 000 € et plus"))]

    def queryset(self, request, queryset):
        if self.value() not in self.BUCKETS:
            return queryset
        low, high = self.BUCKETS[self.value()]
        q = Q()
        if low is not None:
            q &= Q(total_ttc__gte=low) | Q(total_ttc__lte=-low)
        if high is not None:
            q &= Q(total_ttc__lt=high, total_ttc__gt=-high)
        return queryset.filter(q)


class DraftOnlyLinesInline(admin.TabularInline):
    """Lines are edited while their invoice or quote is a draft, then frozen (L2)."""

    extra = 0
    fields = ["position", "description", "quantity", "unit_price", "vat_rate", "total_ht"]
    readonly_fields = ["total_ht"]

    def _frozen(self, obj):
        return obj is not None and obj.status != "draft"

    def has_add_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_delete_permission(request, obj)


class InvoiceLineInline(DraftOnlyLinesInline):
    model = InvoiceLine


class ServiceActionsMixin:
    """Admin actions call a service per selected row and turn a ``BillingError`` into a message."""

    def _run(self, request, queryset, func, done_message):
        done = 0
        for obj in queryset:
            try:
                func(obj)
                done += 1
            except BillingError as exc:
                self.message_user(request, f"{obj} : {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, done_message % {"n": done})


class SalesJournalForm(forms.Form):
    start = forms.DateField(label=_("du"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("au"), widget=forms.DateInput(attrs={"type": "date"}))


@admin.register(Invoice)
class InvoiceAdmin(ServiceActionsMixin, AuditedAdminMixin, admin.ModelAdmin):
    """Invoices and credit notes. Drafts are editable; issued ones are read-only (L2)."""

    list_display = ["display_number", "document_type", "kind", "client", "issue_date", "period_start", "total_ttc",
                    "amount_paid", "status", "due_date", "pdf_link"]
    list_filter = ["status", "kind", "document_type", AmountFilter, ClientFilter, "issue_date", "period_start",
                   "payment_method"]
    search_fields = ["number", "client__name", "client__siren", "contract__reference"]
    list_select_related = ["client"]
    # No date_hierarchy: its year/month drill-down ran a DISTINCT DATE_TRUNC over the whole table on every
    # page (74 ms of 203 at 200,000 invoices, issue #11); the issue-date and period filters remain.
    show_full_result_count = False  # issue #11: one COUNT(*) of the whole table per page is enough
    list_per_page = 50
    raw_id_fields = ["client", "contract", "quote", "credited_invoice"]
    inlines = [InvoiceLineInline]
    actions = ["issue_selected", "credit_selected", "download_selected", "resend_selected"]
    change_list_template = "billing/admin/invoice_change_list.html"
    DRAFT_EDITABLE = ["kind", "client", "contract", "period_start", "period_end", "payment_method",
                      "purchase_order_ref", "notes", "due_date", "collection_date", "mandate_reference"]

    @admin.display(description=_("numéro"), ordering="sequence")
    def display_number(self, obj):
        return str(obj)

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj):
        if not obj.pdf:
            return "—"
        return format_html('<a href="{}">PDF</a>', reverse("admin:billing_invoice_pdf", args=[obj.pk]))

    exclude = ["pdf"]  # private file: served through pdf_view, never from MEDIA_URL

    def get_readonly_fields(self, request, obj=None):
        every = [f.name for f in Invoice._meta.fields if f.name != "pdf"] + ["pdf_link"]
        if obj is not None and obj.status != InvoiceStatus.DRAFT:
            return every
        return [name for name in every if name not in self.DRAFT_EDITABLE]

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status != InvoiceStatus.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset.filter(status=InvoiceStatus.DRAFT))

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        invoice = form.instance
        if invoice.status == InvoiceStatus.DRAFT:
            lines = list(invoice.lines.all())
            for line in lines:
                line.total_ht = rules.line_total(line.quantity, line.unit_price)
            InvoiceLine.objects.bulk_update(lines, ["total_ht"])
            invoice.total_ht = sum((ln.total_ht for ln in lines), invoice.total_ht * 0)
            invoice.save(update_fields=["total_ht", "updated_at"])

    def get_urls(self):
        return [
            path("<int:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="billing_invoice_pdf"),
            path("journal-des-ventes/", self.admin_site.admin_view(self.sales_journal_view),
                 name="billing_invoice_sales_journal"),
            path("<int:pk>/avoir-partiel/", self.admin_site.admin_view(self.partial_credit_view),
                 name="billing_invoice_partial_credit"),
            path("vente-comptoir/", self.admin_site.admin_view(self.shop_sale_view), name="billing_invoice_shop_sale"),
            path("<int:pk>/retour-boutique/", self.admin_site.admin_view(self.shop_return_view),
                 name="billing_invoice_shop_return"),
            *super().get_urls(),
        ]

    # --- credit notes, counter sales and returns (forms check the input, services do the work) ------------------

    @staticmethod
    def _creditable(invoice) -> bool:
        return not invoice.is_credit_note and invoice.status not in (InvoiceStatus.DRAFT, InvoiceStatus.CANCELLED)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """Adds the buttons "Avoir partiel" and, on a shop sale, "Retour / remboursement" (billing.add_invoice)."""
        invoice = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if invoice is not None and self._creditable(invoice) and self.has_add_permission(request):
            extra_context["partial_credit_url"] = reverse("admin:billing_invoice_partial_credit", args=[invoice.pk])
            if invoice.kind == InvoiceKind.SHOP:
                extra_context["shop_return_url"] = reverse("admin:billing_invoice_shop_return", args=[invoice.pk])
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_record_shop_sale": self.has_add_permission(request)}
        return super().changelist_view(request, extra_context)

    def _credit_target(self, request, pk):
        """The issued invoice a credit form works on; creating a credit note needs ``billing.add_invoice``."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        return get_object_or_404(Invoice.objects.select_related("client"), pk=pk)

    def _form_page(self, request, template, title, **context):
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title, **context}
        return TemplateResponse(request, template, context)

    def _credit_note_done(self, request, note):
        self.message_user(request, _("Avoir %(number)s émis : %(ttc)s TTC.") % {
            "number": note.number, "ttc": format_eur(note.total_ttc)})
        return redirect("admin:billing_invoice_change", note.pk)

    def partial_credit_view(self, request, pk):
        """Avoir partiel: chosen lines and quantities of an issued invoice (L2), through ``invoice_credit``."""
        invoice = self._credit_target(request, pk)
        if not self._creditable(invoice):
            self.message_user(request, _("Seule une facture émise et non annulée peut faire l'objet d'un avoir."),
                              messages.ERROR)
            return redirect("admin:billing_invoice_change", invoice.pk)
        form = PartialCreditForm(request.POST or None, lines=list(invoice.lines.all()),
                                 credited=services._credited_so_far(invoice))
        if request.method == "POST" and form.is_valid():
            try:
                note = services.invoice_credit(actor=request.user, invoice=invoice, today=business_today(),
                                               reason=form.cleaned_data["reason"], lines=form.credit_lines())
            except BillingError as exc:
                form.add_error(None, exc.message)
            else:
                return self._credit_note_done(request, note)
        return self._form_page(request, "admin/billing/invoice/partial_credit.html",
                               _("Avoir partiel sur la facture %(n)s") % {"n": invoice}, form=form, original=invoice)

    def shop_sale_view(self, request):
        """Vente comptoir (CGV P1): the invoice is issued at once, and marked paid when settled at the counter."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ShopSaleForm(request.POST or None)
        lines = ShopSaleLines(request.POST or None, prefix="lines")
        if request.method == "POST" and form.is_valid() and lines.is_valid():
            try:
                invoice = services.shop_sale_record(
                    actor=request.user, client=form.cleaned_data["client"], lines=lines.line_specs(),
                    payment_method=form.cleaned_data["payment_method"], paid=form.cleaned_data["paid"],
                    today=business_today(),
                )
            except BillingError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, _("Vente enregistrée : facture %(number)s, %(ttc)s TTC.") % {
                    "number": invoice.number, "ttc": format_eur(invoice.total_ttc)})
                return redirect("admin:billing_invoice_change", invoice.pk)
        return self._form_page(request, "admin/billing/invoice/shop_sale.html", _("Vente comptoir"),
                               form=form, lines=lines)

    def shop_return_view(self, request, pk):
        """Retour / remboursement of a shop item: refused unless defective (CGV P1), then the credit note."""
        invoice = self._credit_target(request, pk)
        if invoice.kind != InvoiceKind.SHOP or not self._creditable(invoice):
            self.message_user(request, _("Seule une vente boutique émise et non annulée peut faire l'objet d'un "
                                         "retour."), messages.ERROR)
            return redirect("admin:billing_invoice_change", invoice.pk)
        form = ShopReturnForm(request.POST or None, invoice=invoice)
        if request.method == "POST" and form.is_valid():
            try:
                record = services.shop_return(
                    actor=request.user, invoice_line=form.cleaned_data["line"], quantity=form.cleaned_data["quantity"],
                    defective=form.cleaned_data["defective"],
                    defect_description=form.cleaned_data["defect_description"], today=business_today(),
                )
            except BillingError as exc:
                form.add_error(None, exc.message)
            else:
                return self._credit_note_done(request, record.credit_note)
        return self._form_page(request, "admin/billing/invoice/shop_return.html",
                               _("Retour / remboursement sur la vente %(n)s") % {"n": invoice}, form=form,
                               original=invoice)

    def pdf_view(self, request, pk):
        invoice = get_object_or_404(Invoice, pk=pk)
        if not self.has_view_permission(request, invoice):
            raise PermissionDenied
        if not invoice.pdf:
            raise Http404(_("Le PDF n'est pas encore produit."))
        return FileResponse(invoice.pdf.open("rb"), as_attachment=True, filename=f"{invoice.number}.pdf",
                            content_type="application/pdf")

    def sales_journal_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = SalesJournalForm(request.GET or None)
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
            response = HttpResponse(sales_journal_csv(start=start, end=end), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="journal-ventes-{start}-{end}.csv"'
            return response
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
                   "title": _("Journal des ventes")}
        return TemplateResponse(request, "billing/admin/sales_journal.html", context)

    @admin.action(description=_("Émettre les brouillons sélectionnés"))
    def issue_selected(self, request, queryset):
        today = business_today()
        self._run(request, queryset.filter(status=InvoiceStatus.DRAFT).order_by("pk"),
                  lambda inv: services.invoice_issue(actor=request.user, invoice=inv, today=today),
                  _("%(n)s facture(s) émise(s)."))

    @admin.action(description=_("Annuler par un avoir total"))
    def credit_selected(self, request, queryset):
        today = business_today()
        self._run(request, queryset.order_by("pk"),
                  lambda inv: services.invoice_credit(actor=request.user, invoice=inv, today=today,
                                                      reason=str(_("annulation demandée par le personnel"))),
                  _("%(n)s avoir(s) émis."))

    @admin.action(description=_("Télécharger les PDF"))
    def download_selected(self, request, queryset):
        invoices = [inv for inv in queryset if inv.pdf]
        if len(invoices) == 1:
            return redirect("admin:billing_invoice_pdf", invoices[0].pk)
        if not invoices:
            self.message_user(request, _("Aucun PDF disponible."), messages.WARNING)
            return None
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for inv in invoices:
                with inv.pdf.open("rb") as fh:
                    archive.writestr(f"{inv.number}.pdf", fh.read())
        response = HttpResponse(buffer.getvalue(), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="factures-{business_today():%Y%m%d}.zip"'
        return response

    @admin.action(description=_("Renvoyer par e-mail"))
    def resend_selected(self, request, queryset):
        now = timezone.now()
        self._run(request, queryset.select_related("client"),
                  lambda inv: services.invoice_send_email(actor=request.user, invoice=inv, now=now, resend=True),
                  _("%(n)s facture(s) renvoyée(s)."))


class QuoteLineInline(DraftOnlyLinesInline):
    model = QuoteLine


class HandSignatureForm(forms.Form):
    signer_name = forms.CharField(label=_("signataire"), max_length=200)
    signed_on = forms.DateField(label=_("signé le"), widget=forms.DateInput(attrs={"type": "date"}))
    scan = forms.FileField(label=_("scan du devis signé"))


@admin.register(Quote)
class QuoteAdmin(ServiceActionsMixin, AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "client", "title", "status", "issue_date", "valid_until", "total_ttc", "signed_at",
                    "payment_due_date"]
    list_filter = ["status", "signature_method"]
    search_fields = ["number", "title", "client__name"]
    list_select_related = ["client"]
    raw_id_fields = ["client", "contract", "signer_contact"]
    inlines = [QuoteLineInline]
    actions = ["send_selected", "invoice_selected", "refuse_selected"]
    DRAFT_EDITABLE = ["client", "contract", "title", "valid_until", "deposit_rate"]
    FILES = ["pdf", "signed_scan", "signed_copy"]
    exclude = FILES  # private files: served through document_view, never from MEDIA_URL

    def get_readonly_fields(self, request, obj=None):
        every = [f.name for f in Quote._meta.fields if f.name not in self.FILES] + ["documents"]
        if obj is not None and obj.status != QuoteStatus.DRAFT:
            return every
        return [name for name in every if name not in self.DRAFT_EDITABLE]

    @admin.display(description=_("documents"))
    def documents(self, obj):
        if obj is None or not obj.pk:
            return "—"
        links = [
            format_html('<a href="{}">{}</a>', reverse("admin:billing_quote_document", args=[obj.pk, name]), label)
            for name, label in [("pdf", _("devis (PDF)")), ("signed_copy", _("exemplaire signé")),
                                ("signed_scan", _("scan signé"))]
            if getattr(obj, name)
        ]
        if obj.status == QuoteStatus.SENT:
            links.append(format_html('<a href="{}">{}</a>', reverse("admin:billing_quote_hand_signature",
                                                                     args=[obj.pk]),
                                     _("enregistrer une signature manuscrite")))
        return format_html_join(" — ", "{}", ((link,) for link in links)) if links else "—"

    def document_view(self, request, pk, name):
        quote = get_object_or_404(Quote, pk=pk)
        if name not in self.FILES or not self.has_view_permission(request, quote) or not getattr(quote, name):
            raise Http404
        file = getattr(quote, name)
        extension = file.name.rsplit(".", 1)[-1]
        return FileResponse(file.open("rb"), as_attachment=True, filename=f"{quote.number}-{name}.{extension}")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        quote = form.instance
        if quote.status == QuoteStatus.DRAFT:
            lines = list(quote.lines.all())
            services._quote_totals(quote, lines)
            QuoteLine.objects.bulk_update(lines, ["total_ht"])
            quote.save()

    def get_urls(self):
        return [
            path("<int:pk>/signature-manuscrite/", self.admin_site.admin_view(self.hand_signature_view),
                 name="billing_quote_hand_signature"),
            path("<int:pk>/document/<str:name>/", self.admin_site.admin_view(self.document_view),
                 name="billing_quote_document"),
            *super().get_urls(),
        ]

    def hand_signature_view(self, request, pk):
        quote = get_object_or_404(Quote, pk=pk)
        if not self.has_change_permission(request, quote):
            raise PermissionDenied
        form = HandSignatureForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.quote_sign_by_hand(actor=request.user, quote=quote, scan=form.cleaned_data["scan"],
                                            signer_name=form.cleaned_data["signer_name"],
                                            signed_on=form.cleaned_data["signed_on"])
            except BillingError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, _("Devis signé : il vaut désormais commande (B5)."))
                return redirect("admin:billing_quote_change", quote.pk)
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
                   "original": quote, "title": _("Signature manuscrite du devis %(n)s") % {"n": quote}}
        return TemplateResponse(request, "billing/admin/hand_signature.html", context)

    @admin.action(description=_("Envoyer (numéroter et produire le PDF)"))
    def send_selected(self, request, queryset):
        today = business_today()
        self._run(request, queryset, lambda q: services.quote_send(actor=request.user, quote=q, today=today),
                  _("%(n)s devis envoyé(s)."))

    def has_invoice_permission(self, request):
        """Invoicing a signed quote issues an invoice: billing.add_invoice, not just the quote rights."""
        return request.user.has_perm("billing.add_invoice")

    @admin.action(description=_("Facturer la commande"), permissions=["invoice"])
    def invoice_selected(self, request, queryset):
        today = business_today()
        self._run(request, queryset, lambda q: services.quote_invoice_order(actor=request.user, quote=q, today=today),
                  _("%(n)s facture(s) de commande émise(s)."))

    @admin.action(description=_("Marquer refusé"))
    def refuse_selected(self, request, queryset):
        self._run(request, queryset, lambda q: services.quote_refuse(actor=request.user, quote=q),
                  _("%(n)s devis refusé(s)."))


@admin.register(ShopReturn)
class ShopReturnAdmin(admin.ModelAdmin):
    list_display = ["recorded_at", "invoice_line", "quantity", "credit_note", "recorded_by"]
    list_select_related = ["invoice_line", "credit_note", "recorded_by"]
    readonly_fields = [f.name for f in ShopReturn._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(NumberSequence)
class NumberSequenceAdmin(admin.ModelAdmin):
    """Read-only: the counters move only when a document is issued."""

    list_display = ["series", "year", "last_number", "last_issue_date"]
    readonly_fields = ["series", "year", "last_number", "last_issue_date"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
