"""Staff admin of payments: thin, every write calls a service (mandates, batches, payments, rejections, dunning)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from contracts.models import Client, Contract
from contracts.services import RUNNING
from core.dates import business_today
from core.exceptions import DomainError
from payments import pdf, selectors, services
from payments.choices import BatchStatus, FormalNoticeStatus, MandateStatus
from payments.models import (
    Allocation,
    DebitBatch,
    DebitItem,
    FormalNotice,
    FormalNoticeInvoice,
    Mandate,
    Payment,
    Rejection,
)


class ServiceAdmin(admin.ModelAdmin):
    """Runs a service for each selected row, turning domain errors into messages."""

    def _run(self, request, rows, func, done_message):
        done = 0
        for row in rows:
            try:
                func(row)
                done += 1
            except (DomainError, ValidationError) as exc:
                self.message_user(request, f"{row} : {getattr(exc, 'message', exc)}", messages.ERROR)
        if done:
            self.message_user(request, done_message % {"n": done})


@admin.register(Mandate)
class MandateAdmin(ServiceAdmin):
    list_display = ["reference", "client", "debtor_name", "iban_masked", "scheme", "sequence", "signed_on",
                    "last_collected_on", "status"]
    list_filter = ["status", "scheme", "sequence"]
    search_fields = ["reference", "client__name", "debtor_name"]
    list_select_related = ["client"]
    raw_id_fields = ["client"]
    actions = ["revoke_selected"]
    fields = ["client", "reference", "debtor_name", "iban", "bic", "signed_on", "scheme", "sequence", "status",
              "last_collected_on", "ended_on"]

    def get_readonly_fields(self, request, obj=None):
        every = ["sequence", "status", "last_collected_on", "ended_on"]
        return every + ["client", "reference", "iban", "bic", "signed_on", "scheme", "debtor_name"] if obj else every

    def save_model(self, request, obj, form, change):
        if change:
            return
        form.instance = services.mandate_create(
            actor=request.user, client=obj.client, reference=obj.reference, debtor_name=obj.debtor_name,
            iban=obj.iban, bic=obj.bic, signed_on=obj.signed_on, scheme=obj.scheme)
        obj.pk = form.instance.pk

    @admin.action(description=_("Révoquer les mandats sélectionnés"))
    def revoke_selected(self, request, queryset):
        today = business_today()
        self._run(request, queryset.filter(status=MandateStatus.ACTIVE),
                  lambda m: services.mandate_revoke(actor=request.user, mandate=m, today=today),
                  _("%(n)s mandat(s) révoqué(s)."))


class DebitItemInline(admin.TabularInline):
    model = DebitItem
    extra = 0
    can_delete = False
    fields = ["invoice", "mandate", "amount", "sequence_type", "end_to_end_id", "status"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DebitBatch)
class DebitBatchAdmin(ServiceAdmin):
    """Batches built by the nightly job: staff review them, export the pain.008, and see them settled."""

    list_display = ["collection_date", "scheme", "status", "items_count", "total", "exported_at", "file_link"]
    list_filter = ["status", "scheme"]
    date_hierarchy = "collection_date"
    inlines = [DebitItemInline]
    readonly_fields = ["collection_date", "scheme", "status", "message_id", "exported_at", "settled_on"]
    exclude = ["file"]
    actions = ["export_selected", "settle_selected"]

    def get_queryset(self, request):
        from django.db.models import Count, Sum

        return super().get_queryset(request).annotate(n=Count("items"), sum_amount=Sum("items__amount"))

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("prélèvements"), ordering="n")
    def items_count(self, obj):
        return obj.n

    @admin.display(description=_("total"), ordering="sum_amount")
    def total(self, obj):
        return obj.sum_amount

    @admin.display(description=_("fichier"))
    def file_link(self, obj):
        if not obj.file:
            return "—"
        return format_html('<a href="{}">pain.008</a>', reverse("admin:payments_debitbatch_file", args=[obj.pk]))

    def get_urls(self):
        return [path("<int:pk>/pain008/", self.admin_site.admin_view(self.file_view),
                     name="payments_debitbatch_file"), *super().get_urls()]

    def file_view(self, request, pk):
        batch = get_object_or_404(DebitBatch, pk=pk)
        if not self.has_view_permission(request, batch):
            raise PermissionDenied
        if not batch.file:
            raise Http404
        return FileResponse(batch.file.open("rb"), as_attachment=True, content_type="application/xml",
                            filename=f"pain008-{batch.scheme}-{batch.collection_date:%Y%m%d}.xml")

    @admin.action(description=_("Exporter le fichier pain.008 (après vérification)"))
    def export_selected(self, request, queryset):
        self._run(request, queryset.filter(status=BatchStatus.OPEN),
                  lambda b: services.batch_export(actor=request.user, batch=b), _("%(n)s remise(s) exportée(s)."))

    @admin.action(description=_("Enregistrer l'encaissement"))
    def settle_selected(self, request, queryset):
        today = business_today()
        self._run(request, queryset.filter(status=BatchStatus.EXPORTED),
                  lambda b: services.batch_settle(actor=request.user, batch=b, today=today),
                  _("%(n)s remise(s) encaissée(s)."))


@admin.register(DebitItem)
class DebitItemAdmin(ServiceAdmin):
    list_display = ["end_to_end_id", "batch", "invoice", "mandate", "amount", "sequence_type", "status"]
    list_filter = ["status", "sequence_type", "batch__scheme"]
    search_fields = ["end_to_end_id", "invoice__number", "mandate__reference", "invoice__client__name"]
    list_select_related = ["batch", "invoice", "mandate"]
    readonly_fields = ["batch", "invoice", "mandate", "amount", "sequence_type", "end_to_end_id", "status"]
    actions = ["remove_selected"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Retirer de la remise (avant export)"))
    def remove_selected(self, request, queryset):
        self._run(request, list(queryset), lambda i: services.debit_item_remove(actor=request.user, item=i),
                  _("%(n)s prélèvement(s) retiré(s)."))


class AllocationInline(admin.TabularInline):
    model = Allocation
    extra = 0
    can_delete = False
    fields = ["invoice", "amount"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class PaymentForm(forms.ModelForm):
    class Meta:
        model = Payment
        fields = ["client", "method", "amount", "received_on", "reference", "notes"]


@admin.register(Payment)
class PaymentAdmin(ServiceAdmin):
    """Transfers and cheques entered by staff are allocated to the oldest open invoices (lettrage)."""

    form = PaymentForm
    list_display = ["received_on", "client", "method", "amount", "reference", "status"]
    list_filter = ["method", "status"]
    search_fields = ["reference", "client__name"]
    list_select_related = ["client"]
    raw_id_fields = ["client"]
    date_hierarchy = "received_on"
    inlines = [AllocationInline]
    change_list_template = "payments/admin/payment_change_list.html"

    def get_readonly_fields(self, request, obj=None):
        return ["client", "method", "amount", "received_on", "reference", "notes"] if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            return
        try:
            payment = services.payment_record(
                actor=request.user, client=obj.client, method=obj.method, amount=obj.amount,
                received_on=obj.received_on, reference=obj.reference, notes=obj.notes, today=business_today())
        except DomainError as exc:
            raise ValidationError(exc.message) from exc
        obj.pk = payment.pk
        form.instance = payment

    def get_inlines(self, request, obj=None):
        return self.inlines if obj else []

    def save_related(self, request, form, formsets, change):
        """Allocations are written by the service."""

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path("balance-agee/", self.admin_site.admin_view(self.aged_balance_view), name="payments_aged_balance"),
            path("releve/<int:client_id>/", self.admin_site.admin_view(self.statement_view),
                 name="payments_statement"),
            *super().get_urls(),
        ]

    def aged_balance_view(self, request):
        """Aged balance (balance âgée): what each client owes, by days past due. One query for all clients."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = business_today()
        rows = selectors.aged_balance(today=today)
        totals = {key: sum((r[key] for r in rows), 0) for key in
                  ("not_due", "d0_30", "d31_60", "d61_90", "d90_plus", "total")}
        context = {**self.admin_site.each_context(request), "rows": rows, "totals": totals, "today": today,
                   "opts": self.model._meta, "title": _("Balance âgée des clients")}
        return TemplateResponse(request, "payments/admin/aged_balance.html", context)

    def statement_view(self, request, client_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        client = get_object_or_404(Client, pk=client_id)
        today = business_today()
        response = HttpResponse(pdf.statement_pdf_bytes(client=client, today=today), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="releve-{client.siren}-{today:%Y%m%d}.pdf"'
        return response


class RejectionForm(forms.ModelForm):
    fee = forms.DecimalField(label=_("frais de rejet HT"), required=False, max_digits=13, decimal_places=2,
                             help_text=_("Vide : le montant par défaut (PAYMENTS_REJECTION_FEE)."))

    class Meta:
        model = Rejection
        fields = ["debit_item", "reason_code", "rejected_on", "fee"]


@admin.register(Rejection)
class RejectionAdmin(ServiceAdmin):
    """Bank rejections (R-transactions): entering one puts the invoice back to unpaid and charges the fee (B4)."""

    form = RejectionForm
    list_display = ["rejected_on", "debit_item", "reason_code", "fee", "charge"]
    list_filter = ["reason_code"]
    raw_id_fields = ["debit_item"]
    list_select_related = ["debit_item", "charge"]

    def get_readonly_fields(self, request, obj=None):
        return ["debit_item", "reason_code", "rejected_on", "fee", "charge"] if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            return
        try:
            rejection = services.debit_reject(
                actor=request.user, item=obj.debit_item, reason_code=obj.reason_code, rejected_on=obj.rejected_on,
                fee=form.cleaned_data.get("fee"), today=business_today())
        except DomainError as exc:
            raise ValidationError(exc.message) from exc
        obj.pk = rejection.pk
        form.instance = rejection

    def has_delete_permission(self, request, obj=None):
        return False


class FormalNoticeInvoiceInline(admin.TabularInline):
    model = FormalNoticeInvoice
    extra = 0
    can_delete = False
    fields = ["invoice", "balance"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class FormalNoticeForm(forms.ModelForm):
    class Meta:
        model = FormalNotice
        fields = ["client", "sent_on", "tracking_number", "received_on"]


@admin.register(FormalNotice)
class FormalNoticeAdmin(ServiceAdmin):
    """Formal notices (mises en demeure, CGV B3): issue, record the LRAR, and terminate for cause (C6)."""

    form = FormalNoticeForm
    list_display = ["client", "sent_on", "tracking_number", "received_on", "applies_on", "amount_due", "status",
                    "resumed_on", "pdf_link", "c6_available"]
    list_filter = ["status"]
    search_fields = ["client__name", "tracking_number"]
    list_select_related = ["client"]
    raw_id_fields = ["client"]
    inlines = [FormalNoticeInvoiceInline]
    actions = ["terminate_for_cause"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["received_on"]
        return ["client", "sent_on", "status", "applies_on", "amount_due", "applied_on", "settled_on", "resumed_on"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["client", "sent_on", "tracking_number"]
        return ["client", "sent_on", "tracking_number", "received_on", "status", "applies_on", "amount_due",
                "applied_on", "settled_on", "resumed_on"]

    def save_model(self, request, obj, form, change):
        try:
            if change:
                notice = services.formal_notice_update_letter(
                    actor=request.user, notice=obj, tracking_number=form.cleaned_data.get("tracking_number"),
                    received_on=form.cleaned_data.get("received_on"))
            else:
                notice = services.formal_notice_issue(actor=request.user, client=obj.client, sent_on=obj.sent_on,
                                                      tracking_number=obj.tracking_number, today=business_today())
        except DomainError as exc:
            raise ValidationError(exc.message) from exc
        obj.pk = notice.pk
        form.instance = notice

    def get_inlines(self, request, obj=None):
        return self.inlines if obj else []

    def save_related(self, request, form, formsets, change):
        """Lines are written by the service."""

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("lettre"))
    def pdf_link(self, obj):
        if not obj.pdf:
            return "—"
        return format_html('<a href="{}">PDF</a>', reverse("admin:payments_formalnotice_pdf", args=[obj.pk]))

    @admin.display(description=_("résiliation C6 possible"), boolean=True)
    def c6_available(self, obj):
        return (obj.status in (FormalNoticeStatus.SENT, FormalNoticeStatus.APPLIED) and obj.received_on is not None
                and obj.applies_on <= business_today())

    def get_urls(self):
        return [path("<int:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="payments_formalnotice_pdf"),
                *super().get_urls()]

    def pdf_view(self, request, pk):
        notice = get_object_or_404(FormalNotice, pk=pk)
        if not self.has_view_permission(request, notice):
            raise PermissionDenied
        if not notice.pdf:
            raise Http404(_("La lettre n'est pas encore produite."))
        return FileResponse(notice.pdf.open("rb"), as_attachment=True, content_type="application/pdf",
                            filename=f"mise-en-demeure-{notice.client.siren}-{notice.sent_on:%Y%m%d}.pdf")

    @admin.action(description=_("Résilier pour faute les contrats du client (C6, lettre datée d'aujourd'hui)"))
    def terminate_for_cause(self, request, queryset):
        today = business_today()
        for notice in queryset.select_related("client"):
            contracts = Contract.objects.filter(client=notice.client, status__in=RUNNING).order_by("pk")
            self._run(request, contracts,
                      lambda c, n=notice: services.formal_notice_terminate_for_cause(
                          actor=request.user, notice=n, contract=c, letter_sent_on=today, today=today),
                      _("%(n)s contrat(s) résilié(s) pour faute."))


