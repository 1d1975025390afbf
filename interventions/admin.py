"""Staff admin of tickets and interventions. Thin: forms collect, services decide.

Extra staff pages (``get_urls``): the SLA board (tickets by SLA state), the
technician schedule and the intervention report PDF. « Mes tickets » is the
ticket list filtered on the signed-in technician.
"""
import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin import AuditedAdminMixin
from core.dates import PARIS
from interventions import selectors, services
from interventions.attachments import attachment_response
from interventions.choices import SlaState
from interventions.exceptions import InterventionError
from interventions.forms import RepairRequestAdminForm, TicketAdminForm
from interventions.models import (
    Intervention,
    Outage,
    OutOfHoursRate,
    PhoneCall,
    PreventivePlan,
    RepairRequest,
    Ticket,
    TicketAttachment,
    TicketComment,
    TicketPause,
    TimeEntry,
    VisitReport,
)
from interventions.pdf import intervention_report_pdf


def _run(request, func, **kwargs):
    """Call a service; a refused rule becomes an error message, not a server error."""
    try:
        return func(**kwargs)
    except InterventionError as exc:
        messages.error(request, exc.message)
        return None


class MyTicketsFilter(admin.SimpleListFilter):
    title = _("attribution")
    parameter_name = "mine"

    def lookups(self, request, model_admin):
        return [("1", _("Mes tickets"))]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.filter(assignee=request.user)
        return queryset


class TicketCommentInline(admin.TabularInline):
    model = TicketComment
    extra = 1
    fields = ["created_at", "author", "body", "is_internal"]
    readonly_fields = ["created_at", "author"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TicketPauseInline(admin.TabularInline):
    model = TicketPause
    extra = 0
    fields = ["reason", "started_at", "ended_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TicketAttachmentForm(forms.ModelForm):
    """A new attachment from staff: the file is checked here (error on the field), stored by the service."""

    upload = forms.FileField(label=_("fichier à joindre"), required=False)

    class Meta:
        model = TicketAttachment
        fields = ["visible_to_client"]

    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        if upload:
            try:
                services.ticket_attachment_check(file=upload)
            except InterventionError as exc:
                raise forms.ValidationError(exc.message) from exc
        return upload


class TicketAttachmentInline(admin.TabularInline):
    """Files of the ticket, with a download link; new ones go through ``ticket_attachments_add``."""

    model = TicketAttachment
    form = TicketAttachmentForm
    extra = 1
    fields = ["download", "size_display", "content_type", "uploaded_by", "created_at", "upload", "visible_to_client"]
    readonly_fields = ["download", "size_display", "content_type", "uploaded_by", "created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("uploaded_by")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("fichier"))
    def download(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        url = reverse("admin:interventions_ticket_attachment", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.original_name)

    @admin.display(description=_("taille"))
    def size_display(self, obj):
        return filesizeformat(obj.size) if obj and obj.pk else "—"


class InterventionInline(admin.TabularInline):
    model = Intervention
    extra = 0
    fields = ["kind", "status", "technician", "scheduled_start", "started_at", "ended_at"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = TicketAdminForm
    list_display = ["reference", "client", "title", "severity", "status", "sla_badge", "deadline_at", "assignee",
                    "contract_badge"]
    list_filter = [MyTicketsFilter, "sla_state", "status", "severity", "channel", "category"]
    search_fields = ["title", "client__name", "description"]
    list_select_related = ["client", "contract", "assignee"]
    date_hierarchy = "opened_at"
    show_full_result_count = False  # issue #11: one COUNT(*) of the whole table per page is enough
    raw_id_fields = ["client", "contract", "site", "equipment", "contact", "quote"]
    readonly_fields = ["contract_notice", "coverage", "opened_at", "sla_hours", "deadline_at", "risk_at", "sla_state",
                       "paused_since", "responded_at", "resolved_at", "created_by"]
    inlines = [TicketCommentInline, TicketAttachmentInline, TicketPauseInline, InterventionInline]
    actions = ["wait_on_client", "resume", "resolve"]
    fieldsets = [
        (None, {"fields": ["contract_notice", "client", "contract", "site", "equipment", "contact", "channel",
                           "category", "coverage", "quote", "severity", "title", "description", "status",
                           "assignee"]}),
        (_("Délai d'intervention (CGV S2)"), {"fields": ["opened_at", "sla_hours", "risk_at", "deadline_at",
                                                         "sla_state", "paused_since", "responded_at", "resolved_at",
                                                         "created_by"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += ["client", "contract", "channel", "status"]
        return fields

    @admin.display(description=_("délai"), ordering="sla_state")
    def sla_badge(self, obj):
        colours = {SlaState.AT_RISK: "#b36b00", SlaState.BREACHED: "#b00020", SlaState.MISSED: "#b00020"}
        label = obj.get_sla_state_display()
        if obj.paused_since:
            label = _("en pause (attente client)")
        return format_html('<span style="color:{}">{}</span>', colours.get(obj.sla_state, "inherit"), label)

    @admin.display(description=_("contrat"))
    def contract_badge(self, obj):
        if obj.contract_id and obj.contract.status == "suspended":
            return format_html('<strong style="color:#b00020">{}</strong>', _("SUSPENDU"))
        return obj.contract or "—"

    @admin.display(description=_("contrat"))
    def contract_notice(self, obj):
        """C10/B3: the suspension is shown on every ticket."""
        notice = services.suspension_notice(obj.contract) if obj and obj.contract_id else ""
        if notice:
            return format_html('<strong style="color:#b00020">{}</strong>', notice)
        return obj.contract if obj and obj.contract_id else "—"

    @admin.display(description=_("couverture (CGV S6)"))
    def coverage(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        if obj.is_covered:
            return _("couvert par le contrat")
        return _("hors contrat : devis signé requis avant tout travail facturable")

    def save_model(self, request, obj, form, change):
        now = timezone.now()
        if not change:
            ticket = services.ticket_open(
                client=obj.client, contract=obj.contract, site=obj.site, equipment=obj.equipment, contact=obj.contact,
                severity=obj.severity, category=obj.category, title=obj.title, description=obj.description,
                channel=obj.channel, assignee=obj.assignee, actor=request.user, now=now,
            )
            obj.pk = ticket.pk
            obj.refresh_from_db()
            return
        if "severity" in form.changed_data:
            services.ticket_change_severity(ticket=obj, severity=obj.severity, actor=request.user, now=now)
            obj.refresh_from_db()
            for name in form.changed_data:
                if name != "severity":
                    setattr(obj, name, form.cleaned_data[name])
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        if formset.model is TicketComment:
            for comment in formset.save(commit=False):
                services.ticket_comment_add(ticket=form.instance, author=request.user, body=comment.body,
                                            is_internal=comment.is_internal)
            return
        if formset.model is TicketAttachment:
            self._save_attachments(request, form.instance, formset)
            return
        super().save_formset(request, form, formset, change)

    def _save_attachments(self, request, ticket, formset):
        """New staff files, by visibility, through the service (checked, stored, audited, all or none)."""
        formset.save(commit=False)  # only sets what the change message reads; the service writes the rows
        batches = {True: [], False: []}
        for inline_form in formset.extra_forms:
            upload = inline_form.cleaned_data.get("upload") if inline_form.has_changed() else None
            if upload:
                batches[bool(inline_form.cleaned_data.get("visible_to_client"))].append(upload)
        for visible, files in batches.items():
            if files and _run(request, services.ticket_attachments_add, ticket=ticket, files=files,
                              author=request.user, visible_to_client=visible) is not None:
                self.message_user(request, _("%(count)s fichier(s) joint(s).") % {"count": len(files)})

    def _each(self, request, queryset, func, done):
        count = 0
        for ticket in queryset:
            if _run(request, func, ticket=ticket, actor=request.user, now=timezone.now()) is not None:
                count += 1
        if count:
            self.message_user(request, done % {"count": count})

    @admin.action(description=_("Mettre en attente du client (le délai s'arrête)"))
    def wait_on_client(self, request, queryset):
        self._each(request, queryset, services.ticket_wait_on_client, _("%(count)s ticket(s) en attente du client."))

    @admin.action(description=_("Reprendre (le client a répondu)"))
    def resume(self, request, queryset):
        self._each(request, queryset, services.ticket_resume, _("%(count)s ticket(s) repris."))

    @admin.action(description=_("Marquer résolu"))
    def resolve(self, request, queryset):
        self._each(request, queryset, services.ticket_resolve, _("%(count)s ticket(s) résolu(s)."))

    def get_urls(self):
        return [
            path("sla/", self.admin_site.admin_view(self.sla_board_view), name="interventions_ticket_sla"),
            path("attachment/<int:attachment_id>/", self.admin_site.admin_view(self.attachment_view),
                 name="interventions_ticket_attachment"),
        ] + super().get_urls()

    def attachment_view(self, request, attachment_id: int):
        """Staff download of an attachment (internal ones included), for who may view attachments."""
        if not request.user.has_perm("interventions.view_ticketattachment"):
            raise PermissionDenied
        return attachment_response(get_object_or_404(selectors.attachments_visible_to(request.user), pk=attachment_id))

    def sla_board_view(self, request):
        """Open tickets by SLA state, most urgent first (staff board)."""
        if not self.has_view_permission(request):  # permission matrix (tests/security)
            raise PermissionDenied
        states = [SlaState.BREACHED, SlaState.AT_RISK, SlaState.ON_TRACK]
        columns = [(SlaState(s).label, list(selectors.tickets_by_sla_state(s)[:200])) for s in states]
        mine = list(selectors.tickets_assigned_to(request.user)[:50])
        context = {**self.admin_site.each_context(request), "title": _("Tickets par état du délai"),
                   "columns": columns, "mine": mine, "counts": selectors.sla_counts(), "opts": self.model._meta}
        return TemplateResponse(request, "interventions/admin/sla_board.html", context)


class TimeEntryInline(admin.TabularInline):
    """New time entries go through ``time_entry_add`` (out-of-hours split and charge, S5); kept entries are read-only."""

    model = TimeEntry
    extra = 1
    fields = ["technician", "started_at", "ended_at", "description", "out_of_hours_requested", "covered_minutes",
              "out_of_hours_minutes"]
    readonly_fields = ["covered_minutes", "out_of_hours_minutes"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Intervention)
class InterventionAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["reference", "kind", "client", "technician", "scheduled_start", "status", "ticket", "pdf_link"]
    list_filter = ["kind", "status", "technician"]
    search_fields = ["client__name", "report"]
    list_select_related = ["client", "technician", "ticket"]
    date_hierarchy = "scheduled_start"
    raw_id_fields = ["ticket", "client", "contract", "site", "preventive_plan", "quote"]
    readonly_fields = ["started_at", "ended_at", "due_on"]
    inlines = [TimeEntryInline]
    actions = ["start"]

    @admin.display(description=_("rapport"))
    def pdf_link(self, obj):
        return format_html('<a href="{}">PDF</a>', reverse("admin:interventions_intervention_pdf", args=[obj.pk]))

    def save_model(self, request, obj, form, change):
        if not change:
            created = services.intervention_schedule(
                client=obj.client, ticket=obj.ticket, kind=obj.kind, technician=obj.technician,
                scheduled_start=obj.scheduled_start, scheduled_end=obj.scheduled_end, site=obj.site,
                exclusion=obj.exclusion, actor=request.user, now=timezone.now(),
            )
            obj.pk = created.pk
            obj.refresh_from_db()
            return
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        if formset.model is TimeEntry:
            for entry in formset.save(commit=False):
                _run(request, services.time_entry_add, intervention=form.instance, technician=entry.technician,
                     started_at=entry.started_at, ended_at=entry.ended_at, description=entry.description,
                     out_of_hours_requested=entry.out_of_hours_requested, actor=request.user, now=timezone.now())
            return
        super().save_formset(request, form, formset, change)

    @admin.action(description=_("Commencer l'intervention (arrête le délai du ticket)"))
    def start(self, request, queryset):
        for intervention in queryset:
            if _run(request, services.intervention_start, intervention=intervention, actor=request.user,
                    now=timezone.now()):
                self.message_user(request, _("%(ref)s commencée.") % {"ref": intervention.reference})

    def get_urls(self):
        return [
            path("schedule/", self.admin_site.admin_view(self.schedule_view), name="interventions_intervention_schedule"),
            path("<int:pk>/report.pdf", self.admin_site.admin_view(self.pdf_view), name="interventions_intervention_pdf"),
        ] + super().get_urls()

    def schedule_view(self, request):
        """The technicians' week: interventions by technician and day (?week=YYYY-MM-DD, ?technician=id)."""
        if not self.has_view_permission(request):  # permission matrix (tests/security)
            raise PermissionDenied
        try:
            day = datetime.date.fromisoformat(request.GET.get("week", ""))
        except ValueError:
            day = timezone.now().astimezone(PARIS).date()
        monday = day - datetime.timedelta(days=day.weekday())
        start = datetime.datetime.combine(monday, datetime.time(0), tzinfo=PARIS)
        end = start + datetime.timedelta(days=7)
        technician = request.GET.get("technician") or None
        rows = list(selectors.technician_schedule(start=start, end=end, technician=technician))
        by_tech: dict = {}
        for item in rows:
            by_tech.setdefault(item.technician, []).append(item)
        context = {
            **self.admin_site.each_context(request), "title": _("Planning des techniciens"), "opts": self.model._meta,
            "monday": monday, "by_tech": list(by_tech.items()),
            "previous": (monday - datetime.timedelta(days=7)).isoformat(),
            "next": (monday + datetime.timedelta(days=7)).isoformat(),
        }
        return TemplateResponse(request, "interventions/admin/schedule.html", context)

    def pdf_view(self, request, pk):
        get_object_or_404(Intervention, pk=pk)
        intervention = selectors.intervention_for_report(pk)
        response = HttpResponse(intervention_report_pdf(intervention), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="intervention-{intervention.reference}.pdf"'
        return response


@admin.register(PhoneCall)
class PhoneCallAdmin(admin.ModelAdmin):
    """Calls are logged through ``phone_call_log``: over 30 minutes it opens a ticket with a proposal (S1)."""

    list_display = ["started_at", "client", "contact", "subject", "duration_minutes", "is_covered", "ticket",
                    "callback_due_at", "callback_state"]
    list_filter = ["is_covered", "answered_immediately", "callback_state"]
    list_select_related = ["client", "contact", "ticket"]
    search_fields = ["subject", "client__name"]
    raw_id_fields = ["client", "contact", "ticket", "contract"]
    fields = ["client", "contact", "started_at", "ended_at", "subject", "notes", "answered_immediately", "ticket"]
    actions = ["called_back"]

    @admin.display(description=_("durée (min)"))
    def duration_minutes(self, obj):
        return int(obj.duration.total_seconds() // 60)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        call = services.phone_call_log(
            client=obj.client, contact=obj.contact, started_at=obj.started_at, ended_at=obj.ended_at,
            subject=obj.subject, notes=obj.notes, answered_immediately=obj.answered_immediately, ticket=obj.ticket,
            actor=request.user, now=timezone.now(),
        )
        obj.pk = call.pk

    @admin.action(description=_("Client rappelé (K4)"))
    def called_back(self, request, queryset):
        for call in queryset:
            _run(request, services.phone_call_called_back, call=call, actor=request.user, now=timezone.now())


@admin.register(PreventivePlan)
class PreventivePlanAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["contract", "site", "frequency_months", "next_visit_on", "technician", "is_active"]
    list_filter = ["frequency_months", "is_active"]
    list_select_related = ["contract", "site", "technician"]
    raw_id_fields = ["contract", "site"]


@admin.register(VisitReport)
class VisitReportAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["intervention", "submitted_at", "weakness_found"]
    list_filter = ["weakness_found"]
    list_select_related = ["intervention", "intervention__client"]
    raw_id_fields = ["intervention", "extra_coverage_quote"]


@admin.register(OutOfHoursRate)
class OutOfHoursRateAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["kind", "hourly_rate", "valid_from"]
    list_filter = ["kind"]


@admin.register(Outage)
class OutageAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["contract", "started_at", "ended_at", "scope", "is_planned_maintenance"]
    list_filter = ["scope", "is_planned_maintenance"]
    list_select_related = ["contract"]
    raw_id_fields = ["contract"]


@admin.register(RepairRequest)
class RepairRequestAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = RepairRequestAdminForm
    list_display = ["client", "requested_at", "due_at", "sla_state", "repaired_at"]
    list_filter = ["sla_state"]
    list_select_related = ["client"]
    raw_id_fields = ["client", "contract", "equipment", "ticket", "quote"]
    readonly_fields = ["due_at", "risk_at", "sla_state", "repaired_at"]
    actions = ["repaired"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        created = services.repair_request_open(contract=obj.contract, requested_at=obj.requested_at,
                                               description=obj.description, equipment=obj.equipment,
                                               ticket=obj.ticket, actor=request.user, now=timezone.now())
        obj.pk = created.pk

    @admin.action(description=_("Réparation faite (K5)"))
    def repaired(self, request, queryset):
        for item in queryset:
            _run(request, services.repair_request_done, request=item, actor=request.user, now=timezone.now())
