"""Staff admin of clients and contracts. Views are thin: forms collect, services decide."""
import datetime

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from contracts import selectors, services, terms
from contracts.choices import ContractStatus, TerminationStatus
from contracts.exceptions import ContractError
from contracts.forms import (
    ResumptionForm,
    RevisionPreviewForm,
    SuspensionForm,
    SyntecImportForm,
    TerminationForm,
)
from contracts.models import (
    AvailabilityRecord,
    Client,
    Contact,
    Contract,
    ContractDocument,
    ContractLine,
    ContractRevision,
    ContractSuspension,
    Equipment,
    ForceMajeureEvent,
    Site,
    SyntecIndex,
    Termination,
)
from core.admin import AuditedAdminMixin
from core.dates import business_today
from core.money import format_eur


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["last_name", "first_name", "email", "phone", "job_title", "portal_role", "is_billing_contact", "user"]
    raw_id_fields = ["user"]


class SiteInline(admin.TabularInline):
    model = Site
    extra = 0


@admin.register(Client)
class ClientAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "siren", "city", "billing_email", "is_active"]
    list_filter = ["is_active", "holiday_subdivision"]
    search_fields = ["name", "siren", "siret", "vat_number", "city"]
    inlines = [ContactInline, SiteInline]


@admin.register(Contact)
class ContactAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "client", "email", "portal_role", "user"]
    list_filter = ["portal_role", "is_billing_contact", "is_dpo"]
    search_fields = ["last_name", "first_name", "email", "client__name"]
    list_select_related = ["client", "user"]
    raw_id_fields = ["user"]


@admin.register(Site)
class SiteAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "client", "city"]
    search_fields = ["name", "client__name", "city"]
    list_select_related = ["client"]


# --- Contract -----------------------------------------------------------------------------------


class ContractLineInline(admin.TabularInline):
    model = ContractLine
    extra = 0
    fields = ["position", "description", "quantity", "unit_price", "valid_from", "valid_until", "source"]


class ContractDocumentInline(admin.TabularInline):
    """CGV G1: every signed document of the contract."""

    model = ContractDocument
    extra = 0
    fields = ["kind", "title", "version", "signed_on", "file"]


class EquipmentInline(admin.TabularInline):
    model = Equipment
    extra = 0
    fields = ["site", "kind", "maker", "model", "serial_number", "ownership", "restitution_due_on", "returned_on"]
    readonly_fields = ["restitution_due_on", "returned_on"]


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TerminationInline(_ReadOnlyInline):
    model = Termination
    fields = ["kind", "status", "letter_sent_on", "effective_on", "amount_due", "explanation"]


class SuspensionInline(_ReadOnlyInline):
    model = ContractSuspension
    fields = ["reason", "scope", "letter_sent_on", "suspended_at", "resumed_at"]


class RevisionInline(_ReadOnlyInline):
    model = ContractRevision
    fields = ["year", "base_index", "new_index", "coefficient", "old_monthly_total", "new_monthly_total",
              "letter_sent"]


class AvailabilityInline(_ReadOnlyInline):
    model = AvailabilityRecord
    fields = ["month", "availability", "source", "notes"]
    show_change_link = False


class TermEndFilter(admin.SimpleListFilter):
    title = _("échéance")
    parameter_name = "term_end"

    def lookups(self, request, model_admin):
        return [("30", _("dans les 30 jours")), ("90", _("dans les 90 jours")), ("year", _("cette année")),
                ("next", _("l'an prochain")), ("past", _("dépassée"))]

    def queryset(self, request, queryset):
        today = business_today()
        value = self.value()
        if value in ("30", "90"):
            return queryset.filter(current_period_end__range=(today, today + datetime.timedelta(days=int(value))))
        if value == "year":
            return queryset.filter(current_period_end__year=today.year)
        if value == "next":
            return queryset.filter(current_period_end__year=today.year + 1)
        if value == "past":
            return queryset.filter(current_period_end__lt=today)
        return queryset


class NoticeDeadlineFilter(admin.SimpleListFilter):
    title = _("date limite de dénonciation")
    parameter_name = "notice"

    def lookups(self, request, model_admin):
        return [("15", _("dans les 15 jours")), ("60", _("dans les 60 jours")), ("120", _("dans les 120 jours")),
                ("past", _("passée"))]

    def queryset(self, request, queryset):
        today = business_today()
        if self.value() in ("15", "60", "120"):
            return queryset.filter(notice_deadline__range=(today, today + datetime.timedelta(days=int(self.value()))))
        if self.value() == "past":
            return queryset.filter(notice_deadline__lt=today)
        return queryset


@admin.register(Contract)
class ContractAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = [
        "reference", "client", "status", "billing_frequency", "monthly_amount", "signature_date",
        "current_period_end", "notice_deadline", "end_date",
    ]
    list_filter = [
        "status", "billing_frequency", "has_maintenance", "has_severity1_4h", "has_backup", "has_hosting",
        TermEndFilter, NoticeDeadlineFilter,
    ]
    search_fields = ["reference", "client__name"]
    list_select_related = ["client"]
    date_hierarchy = "signature_date"
    readonly_fields = [
        "status", "initial_term_end", "current_period_start", "current_period_end", "notice_deadline", "end_date",
        "syntec_base_index", "lifecycle",
    ]
    fieldsets = [
        (None, {"fields": ["client", "reference", "status", "signature_date", "start_date", "billing_frequency"]}),
        (_("Options et garanties"), {"fields": ["has_maintenance", "has_severity1_4h", "has_backup", "has_hosting",
                                                "availability_guarantee"]}),
        (_("Échéances (calculées)"), {"fields": ["initial_term_end", "current_period_start", "current_period_end",
                                                 "notice_deadline", "end_date", "syntec_base_index", "lifecycle"]}),
    ]
    inlines = [ContractLineInline, ContractDocumentInline, EquipmentInline, TerminationInline, SuspensionInline,
               RevisionInline, AvailabilityInline]
    actions = ["record_termination", "suspend", "resume", "preview_revision"]
    change_list_template = "contracts/admin/contract_change_list.html"
    change_form_template = "contracts/admin/contract_change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("lines")

    @admin.display(description=_("redevance mensuelle HT"))
    def monthly_amount(self, obj):
        return format_eur(selectors.contract_monthly_amount(obj, business_today()))

    @admin.display(description=_("situation du contrat"))
    def lifecycle(self, obj):
        """Everything the terms define for this contract, computed by the services and explained (C1–C12)."""
        if obj is None or obj.pk is None:
            return "—"
        today = business_today()
        rows = [(_("Redevance mensuelle HT en vigueur"), format_eur(selectors.contract_monthly_amount(obj, today)))]
        if obj.status in (ContractStatus.ACTIVE, ContractStatus.SUSPENDED) and obj.current_period_end:
            dates = {"deadline": obj.notice_deadline.strftime("%d/%m/%Y"),
                     "end": obj.current_period_end.strftime("%d/%m/%Y"),
                     "next": terms.next_period(obj.current_period_end)[1].strftime("%d/%m/%Y")}
            if today <= obj.notice_deadline:
                c3 = _("lettre recommandée au plus tard le %(deadline)s pour une fin au %(end)s ; "
                       "après, fin au %(next)s") % dates
            else:
                c3 = _("date limite du %(deadline)s passée : une lettre envoyée aujourd'hui met fin au contrat "
                       "le %(next)s (il sera reconduit après le %(end)s)") % dates
            rows.append((_("Dénonciation à l'échéance (C3)"), c3))
        pending = obj.terminations.filter(status=TerminationStatus.RECORDED).first()
        if pending:
            rows.append((_("Résiliation enregistrée"), pending.explanation))
        suspension = obj.suspensions.filter(resumed_at__isnull=True).first()
        if suspension:
            rows.append((_("Suspendu (C10)"), _("depuis le %(day)s : %(reason)s") % {
                "day": timezone.localtime(suspension.suspended_at).strftime("%d/%m/%Y"),
                "reason": suspension.get_reason_display()}))
        cap = selectors.contract_liability_cap(obj)
        year = terms.first_contract_year(obj.start_date)
        rows.append((_("Plafond de responsabilité (C11)"), format_eur(cap) if cap is not None else _(
            "sommes versées au titre de la première année (%(start)s – %(end)s) : fournies par la facturation, "
            "non disponibles") % {"start": year[0].strftime("%d/%m/%Y"), "end": year[1].strftime("%d/%m/%Y")}))
        if obj.end_date:
            rows.append((_("Non-sollicitation du personnel (C12)"), _("jusqu'au %(day)s") % {
                "day": terms.non_solicitation_end(obj.end_date).strftime("%d/%m/%Y")}))
        else:
            rows.append((_("Non-sollicitation du personnel (C12)"), _(
                "pendant le contrat et 2 ans après sa fin")))
        missed = selectors.availability_window_missed(contract=obj, until=today)
        if missed:
            rows.append((_("Garantie de disponibilité (C7)"), _(
                "manquée en %(months)s : le client peut résilier avec 3 mois de préavis") % {
                "months": ", ".join(m.strftime("%m/%Y") for m in missed)}))
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>", ((str(k), str(v)) for k, v in rows)))

    # --- actions: one contract at a time, they open the matching form ---------------------------

    def _single(self, request, queryset, url_name):
        if queryset.count() != 1:
            self.message_user(request, _("Sélectionnez un seul contrat."), messages.WARNING)
            return None
        return redirect(reverse(f"admin:{url_name}", args=[queryset.get().pk]))

    @admin.action(description=_("Enregistrer une résiliation / dénonciation"), permissions=["change"])
    def record_termination(self, request, queryset):
        return self._single(request, queryset, "contracts_contract_terminate")

    @admin.action(description=_("Suspendre les services (C10)"), permissions=["change"])
    def suspend(self, request, queryset):
        return self._single(request, queryset, "contracts_contract_suspend")

    @admin.action(description=_("Reprendre les services (C10)"), permissions=["change"])
    def resume(self, request, queryset):
        return self._single(request, queryset, "contracts_contract_resume")

    @admin.action(description=_("Prévisualiser la prochaine révision Syntec (P3)"), permissions=["view"])
    def preview_revision(self, request, queryset):
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True)[:200])
        return redirect(f"{reverse('admin:contracts_contract_revision_preview')}?ids={ids}")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("echeances/", view(self.deadlines_view), name="contracts_contract_deadlines"),
            path("revision/", view(self.revision_preview_view), name="contracts_contract_revision_preview"),
            path("<int:pk>/resiliation/", view(self.termination_view), name="contracts_contract_terminate"),
            path("<int:pk>/suspension/", view(self.suspension_view), name="contracts_contract_suspend"),
            path("<int:pk>/reprise/", view(self.resumption_view), name="contracts_contract_resume"),
            *super().get_urls(),
        ]

    def _context(self, request, title, **extra):
        return {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title, **extra}

    def _change_url(self, contract):
        return reverse("admin:contracts_contract_change", args=[contract.pk])

    def termination_view(self, request, pk):
        contract = get_object_or_404(Contract.objects.select_related("client").prefetch_related("lines"), pk=pk)
        if not self.has_change_permission(request, contract):
            raise PermissionDenied
        form = TerminationForm(request.POST or None, request.FILES or None)
        quote = None
        if request.method == "POST" and form.is_valid():
            try:
                if "save" in request.POST:
                    termination = services.termination_record(
                        actor=request.user, contract=contract, **form.service_kwargs())
                    self.message_user(request, termination.explanation, messages.SUCCESS)
                    return redirect(self._change_url(contract))
                quote = services.termination_compute(contract=contract, **form.quote_kwargs())
            except ContractError as exc:
                form.add_error(None, exc.message)
        return TemplateResponse(request, "contracts/admin/termination.html", self._context(
            request, _("Résiliation du contrat %(ref)s") % {"ref": contract.reference},
            contract=contract, form=form, quote=quote))

    def _contract_form_view(self, request, pk, *, form, apply, success, title, submit):
        """A form about one contract whose valid data ``apply(contract, data)`` hands to a service."""
        contract = get_object_or_404(Contract.objects.select_related("client"), pk=pk)
        if not self.has_change_permission(request, contract):
            raise PermissionDenied
        if request.method == "POST" and form.is_valid():
            try:
                apply(contract, form.cleaned_data)
                self.message_user(request, success, messages.SUCCESS)
                return redirect(self._change_url(contract))
            except ContractError as exc:
                form.add_error(None, exc.message)
        return TemplateResponse(request, "contracts/admin/simple_form.html", self._context(
            request, title % {"ref": contract.reference}, contract=contract, form=form, submit=submit))

    def suspension_view(self, request, pk):
        return self._contract_form_view(
            request, pk, form=SuspensionForm(request.POST or None, request.FILES or None),
            apply=lambda contract, data: services.contract_suspend(
                actor=request.user, contract=contract, now=timezone.now(), **data),
            success=_("Contrat suspendu."), submit=_("Suspendre"),
            title=_("Suspension des services du contrat %(ref)s (CGV art. 8, C10)"),
        )

    def resumption_view(self, request, pk):
        return self._contract_form_view(
            request, pk,
            form=ResumptionForm(request.POST or None, initial={"resumption_letter_sent_on": business_today()}),
            apply=lambda contract, data: services.contract_resume(
                actor=request.user, contract=contract, now=timezone.now(), **data),
            success=_("Services repris."), submit=_("Reprendre les services"),
            title=_("Reprise des services du contrat %(ref)s (C10)"),
        )

    def revision_preview_view(self, request):
        """P3: what the next 1 January revision would do, without saving anything."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = business_today()
        form = RevisionPreviewForm(request.GET or None, initial={"revision_date": datetime.date(today.year + 1, 1, 1)})
        revision_date = form.cleaned_data["revision_date"] if form.is_valid() else datetime.date(today.year + 1, 1, 1)
        ids = [int(x) for x in request.GET.get("ids", "").split(",") if x.isdigit()]
        contracts = (Contract.objects.filter(pk__in=ids).select_related("client", "syntec_base_index")
                     .prefetch_related("lines").order_by("reference"))
        indexes = list(SyntecIndex.objects.order_by("published_on", "month"))
        rows = []
        for contract in contracts:
            try:
                rows.append((contract, services.revision_compute(
                    contract=contract, revision_date=revision_date, indexes=indexes), None))
            except ContractError as exc:
                rows.append((contract, None, exc.message))
        return TemplateResponse(request, "contracts/admin/revision_preview.html", self._context(
            request, _("Prochaine révision Syntec (aperçu, rien n'est enregistré)"), form=form, rows=rows,
            revision_date=revision_date, ids=request.GET.get("ids", "")))

    def deadlines_view(self, request):
        """Staff page: upcoming notice deadlines and term ends, pending terminations, equipment to get back."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = business_today()
        return TemplateResponse(request, "contracts/admin/deadlines.html", self._context(
            request, _("Échéances, résiliations et restitutions"), today=today,
            upcoming=selectors.upcoming_notice_deadlines(today=today, days=120),
            terminations=selectors.pending_terminations().order_by("effective_on"),
            equipment=selectors.equipment_awaiting_restitution()))


# --- Terminations, suspensions, revisions, indexes, equipment, availability --------------------


@admin.register(Termination)
class TerminationAdmin(admin.ModelAdmin):
    """Recorded through the contract's "résiliation" form; here to list them and withdraw one."""

    list_display = ["contract", "kind", "requested_by", "status", "letter_sent_on", "effective_on", "amount_due"]
    list_filter = ["kind", "status", "requested_by"]
    search_fields = ["contract__reference", "contract__client__name", "letter_tracking_number"]
    list_select_related = ["contract"]
    date_hierarchy = "effective_on"
    readonly_fields = [f.name for f in Termination._meta.fields if f.name not in ("letter_scan",
                                                                                  "letter_received_on")]
    actions = ["withdraw"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Retirer la résiliation (avant sa prise d'effet)"), permissions=["change"])
    def withdraw(self, request, queryset):
        for termination in queryset:
            try:
                services.termination_withdraw(actor=request.user, termination=termination)
            except ContractError as exc:
                self.message_user(request, f"{termination}: {exc.message}", messages.ERROR)


@admin.register(ContractSuspension)
class ContractSuspensionAdmin(admin.ModelAdmin):
    list_display = ["contract", "reason", "letter_sent_on", "suspended_at", "resumed_at"]
    list_filter = ["reason", ("resumed_at", admin.EmptyFieldListFilter)]
    search_fields = ["contract__reference", "contract__client__name"]
    list_select_related = ["contract"]
    readonly_fields = ["contract", "reason", "suspended_at", "resumed_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ContractRevision)
class ContractRevisionAdmin(admin.ModelAdmin):
    list_display = ["contract", "year", "base_index", "new_index", "coefficient", "old_monthly_total",
                    "new_monthly_total", "letter_sent"]
    list_filter = ["year", "letter_sent"]
    search_fields = ["contract__reference", "contract__client__name"]
    list_select_related = ["contract", "base_index", "new_index"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in ContractRevision._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SyntecIndex)
class SyntecIndexAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["month", "value", "published_on", "published_on_confirmed"]
    list_filter = ["published_on_confirmed"]
    date_hierarchy = "month"
    change_list_template = "contracts/admin/syntecindex_change_list.html"

    def get_urls(self):
        return [
            path("importer/", self.admin_site.admin_view(self.import_view), name="contracts_syntecindex_import"),
            *super().get_urls(),
        ]

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = SyntecImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                text = form.cleaned_data["file"].read().decode("utf-8-sig")
                counts = services.syntec_index_import(actor=request.user, text=text)
            except (ContractError, UnicodeDecodeError) as exc:
                form.add_error("file", getattr(exc, "message", str(exc)))
            else:
                self.message_user(request, _("%(created)s indice(s) ajouté(s), %(updated)s modifié(s), "
                                             "%(unchanged)s inchangé(s).") % counts, messages.SUCCESS)
                return redirect("admin:contracts_syntecindex_changelist")
        return TemplateResponse(request, "contracts/admin/simple_form.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
            "title": _("Importer des indices Syntec (CSV)"), "submit": _("Importer"), "multipart": True})


class AwaitingRestitutionFilter(admin.SimpleListFilter):
    title = _("restitution (C9)")
    parameter_name = "restitution"

    def lookups(self, request, model_admin):
        return [("pending", _("à restituer")), ("overdue", _("en retard")), ("returned", _("restitué"))]

    def queryset(self, request, queryset):
        pending = queryset.filter(restitution_due_on__isnull=False, returned_on__isnull=True)
        if self.value() == "pending":
            return pending
        if self.value() == "overdue":
            return pending.filter(restitution_due_on__lt=business_today())
        if self.value() == "returned":
            return queryset.filter(returned_on__isnull=False)
        return queryset


@admin.register(Equipment)
class EquipmentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "contract", "site", "ownership", "restitution_due_on", "returned_on"]
    list_filter = ["ownership", "kind", AwaitingRestitutionFilter]
    search_fields = ["serial_number", "maker", "model", "contract__reference", "contract__client__name"]
    list_select_related = ["contract", "site__client"]
    raw_id_fields = ["contract", "site"]
    actions = ["mark_returned_today"]

    @admin.action(description=_("Marquer restitué aujourd'hui (C9)"), permissions=["change"])
    def mark_returned_today(self, request, queryset):
        today = business_today()
        for item in queryset.filter(returned_on__isnull=True):
            services.equipment_mark_returned(actor=request.user, equipment=item, returned_on=today)


@admin.register(AvailabilityRecord)
class AvailabilityRecordAdmin(admin.ModelAdmin):
    """Staff enter each month's measured availability (C7); saving goes through the service."""

    list_display = ["contract", "month", "availability", "source"]
    list_filter = ["source", "month"]
    search_fields = ["contract__reference", "contract__client__name"]
    list_select_related = ["contract"]
    raw_id_fields = ["contract"]
    fields = ["contract", "month", "availability", "notes"]

    def save_model(self, request, obj, form, change):
        record = services.availability_record(
            actor=request.user, contract=obj.contract, month=obj.month, availability=obj.availability,
            notes=obj.notes)
        obj.pk = record.pk


@admin.register(ForceMajeureEvent)
class ForceMajeureEventAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["description", "starts_at", "ends_at", "covers_all_clients"]
    list_filter = ["covers_all_clients"]
    filter_horizontal = ["clients"]

