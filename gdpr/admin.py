"""Staff admin of the gdpr app: thin, every change goes through gdpr.services."""
import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from core.admin import AuditedAdminMixin
from gdpr import selectors, services
from gdpr.choices import ControllerRequestKind, ControllerRequestStatus, DispositionStatus, RequestStatus
from gdpr.exceptions import GdprError
from gdpr.models import (
    Anonymisation,
    Breach,
    BreachNotification,
    Controller,
    ControllerRequest,
    DataDisposition,
    DataSubject,
    DataSubjectRequest,
    ProcessingActivity,
    ProcessingActivitySubProcessor,
    SubProcessor,
    SubProcessorAuthorisation,
)


class ReadOnlyAdminMixin:
    """Records written only by services (proofs, people seen by the DPO): no add, change or delete here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def action_with_form(form_class, *, title: str):
    """An admin action that first asks for a few values (reason, date…) on an intermediate page.

    The decorated function receives ``(modeladmin, request, queryset, data)``.
    """

    def decorator(func):
        def action(modeladmin, request, queryset):
            if "apply" in request.POST:
                form = form_class(request.POST)
                if form.is_valid():
                    func(modeladmin, request, queryset, form.cleaned_data)
                    return None
            else:
                form = form_class()
            context = {
                **modeladmin.admin_site.each_context(request),
                "title": title,
                "form": form,
                "queryset": queryset,
                "action": request.POST.get("action"),
                "opts": modeladmin.model._meta,
                "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            }
            return TemplateResponse(request, "gdpr/admin/action_form.html", context)

        action.__name__ = func.__name__
        return action

    return decorator


def _run(modeladmin, request, queryset, call, done: str):
    ok = 0
    for obj in queryset:
        try:
            call(obj)
            ok += 1
        except GdprError as exc:
            modeladmin.message_user(request, f"{obj} : {exc.message}", messages.ERROR)
    if ok:
        modeladmin.message_user(request, done % {"n": ok}, messages.SUCCESS)


# --- sub-processors ---------------------------------------------------------------------------

class SubProcessorAuthorisationInline(admin.TabularInline):
    model = SubProcessorAuthorisation
    extra = 0
    fields = ["client", "authorised_on", "given_by", "evidence", "recorded_by", "recorded_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SubProcessor)
class SubProcessorAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """D9: adding a sub-processor notifies every client and asks its authorisation (service)."""

    list_display = ["name", "rcs", "services", "listed_in_terms", "is_active"]
    list_filter = ["listed_in_terms", "is_active"]
    search_fields = ["name", "siren"]
    readonly_fields = ["listed_in_terms"]
    inlines = [SubProcessorAuthorisationInline]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        fields = {f: form.cleaned_data[f] for f in ["name", "address", "siren", "rcs", "services", "country"]}
        created = services.subprocessor_add(actor=request.user, now=timezone.now(), **fields)
        obj.pk = created.pk
        obj.refresh_from_db()
        self.message_user(request, _("Les clients ont été informés et leur autorisation demandée (D9)."))

    def has_delete_permission(self, request, obj=None):
        return False


class AuthorisationForm(forms.ModelForm):
    class Meta:
        model = SubProcessorAuthorisation
        fields = ["client", "sub_processor", "authorised_on", "given_by", "evidence"]


@admin.register(SubProcessorAuthorisation)
class SubProcessorAuthorisationAdmin(admin.ModelAdmin):
    form = AuthorisationForm
    list_display = ["sub_processor", "client", "authorised_on", "given_by", "recorded_by"]
    list_filter = ["sub_processor"]
    search_fields = ["client__name", "sub_processor__name"]
    list_select_related = ["client", "sub_processor", "recorded_by"]
    autocomplete_fields = ["client"]

    def get_readonly_fields(self, request, obj=None):
        return ["client", "sub_processor", "authorised_on", "given_by", "evidence"] if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            return
        try:
            created = services.subprocessor_authorisation_record(
                actor=request.user, **{k: form.cleaned_data[k] for k in AuthorisationForm.Meta.fields}
            )
        except GdprError as exc:
            raise PermissionDenied(exc.message) from exc
        obj.pk = created.pk

    def has_delete_permission(self, request, obj=None):
        return False


# --- register ----------------------------------------------------------------------------------

class ActivitySubProcessorInline(admin.TabularInline):
    """Adding a sub-processor here runs its model validation: refused without the client's authorisation (D9)."""

    model = ProcessingActivitySubProcessor
    extra = 0


@admin.register(ProcessingActivity)
class ProcessingActivityAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "client", "code", "transfers", "is_active"]
    list_filter = ["code", "is_active"]
    search_fields = ["name", "client__name"]
    list_select_related = ["client"]
    autocomplete_fields = ["client"]
    inlines = [ActivitySubProcessorInline]


class ProcessingActivityInline(admin.StackedInline):
    model = ProcessingActivity
    extra = 0
    fields = ["name", "code", "purpose", "data_subjects", "data_categories", "transfers", "security_measures",
              "retention", "is_active"]
    show_change_link = True


@admin.register(Controller)
class ControllerAdmin(admin.ModelAdmin):
    """The processor's register per client (Art. 30(2)), exportable for an audit (D8)."""

    list_display = ["name", "siren", "city", "activity_count"]
    search_fields = ["name", "siren"]
    inlines = [ProcessingActivityInline]
    actions = ["export_pdf", "export_csv", "sync_register"]
    fields = ["name", "siren", "address_line1", "postal_code", "city"]
    readonly_fields = fields

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(n_activities=Count("processing_activities"))

    @admin.display(description=_("traitements"), ordering="n_activities")
    def activity_count(self, obj):
        return obj.n_activities

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _export(self, request, queryset, fmt):
        if queryset.count() != 1:
            self.message_user(request, _("Sélectionnez un seul client."), messages.WARNING)
            return None
        name, content, mimetype = services.register_export(
            actor=request.user, client=queryset.get(), fmt=fmt, now=timezone.now()
        )
        response = HttpResponse(content, content_type=mimetype)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @admin.action(description=_("Exporter le registre (PDF)"))
    def export_pdf(self, request, queryset):
        return self._export(request, queryset, "pdf")

    @admin.action(description=_("Exporter le registre (CSV)"))
    def export_csv(self, request, queryset):
        return self._export(request, queryset, "csv")

    @admin.action(description=_("Créer les traitements manquants d'après les contrats"))
    def sync_register(self, request, queryset):
        result = services.register_sync(actor=request.user)
        self.message_user(request, _("%(n)s traitement(s) créé(s).") % {"n": result["register_lines_created"]})


# --- data-subject requests ---------------------------------------------------------------------

class RequestForm(forms.ModelForm):
    class Meta:
        model = DataSubjectRequest
        fields = ["client", "contact", "kind", "requester_name", "requester_email", "requester_phone",
                  "description", "received_at"]


class ExtensionForm(forms.Form):
    reason = forms.CharField(label=_("Motif de la prolongation"), widget=forms.Textarea)


class AnsweredForm(forms.Form):
    notes = forms.CharField(label=_("Suite donnée"), widget=forms.Textarea, required=False)


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(admin.ModelAdmin):
    """D3, D5, L6: recorded here, forwarded at once; the controller's deadline is shown."""

    list_display = ["__str__", "client", "kind", "received_at", "forwarded_at", "current_due_date_display",
                    "status"]
    list_filter = ["status", "kind", "channel"]
    search_fields = ["requester_name", "requester_email", "client__name"]
    date_hierarchy = "received_at"
    autocomplete_fields = ["client"]
    raw_id_fields = ["contact"]
    actions = ["extend", "mark_answered"]

    def get_queryset(self, request):
        return selectors.requests_for_staff()

    def get_changeform_initial_data(self, request):
        return {"received_at": timezone.now()}

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = RequestForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return RequestForm.Meta.fields
        return [f.name for f in DataSubjectRequest._meta.fields if f.name != "id"]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj else []

    @admin.display(description=_("échéance"))
    def current_due_date_display(self, obj):
        return obj.current_due_date

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = {k: form.cleaned_data[k] for k in RequestForm.Meta.fields}
        try:
            created = services.request_record(actor=request.user, now=timezone.now(), **data)
        except GdprError as exc:
            raise PermissionDenied(exc.message) from exc
        obj.pk = created.pk
        self.message_user(request, _("Demande transmise au responsable de traitement : %(to)s.") % {
            "to": ", ".join(created.forwarded_to)
        })

    @admin.action(description=_("Prolonger le délai de deux mois (motif)"))
    @action_with_form(ExtensionForm, title=_("Prolonger le délai de réponse"))
    def extend(self, request, queryset, data):
        _run(self, request, queryset, lambda r: services.request_extend(
            actor=request.user, request=r, reason=data["reason"], now=timezone.now()
        ), _("%(n)s demande(s) prolongée(s)."))

    @admin.action(description=_("Marquer comme traitée"))
    @action_with_form(AnsweredForm, title=_("Demande traitée"))
    def mark_answered(self, request, queryset, data):
        _run(self, request, queryset.exclude(status=RequestStatus.ANSWERED), lambda r: services.request_mark_answered(
            actor=request.user, request=r, now=timezone.now(), notes=data["notes"]
        ), _("%(n)s demande(s) traitée(s)."))

    def has_delete_permission(self, request, obj=None):
        return False


# --- controller instructions and assistance requests (D4, D7, D8) --------------------------------

class ControllerRequestForm(forms.ModelForm):
    class Meta:
        model = ControllerRequest
        fields = ["client", "kind", "subject", "description", "requester_name", "requester_email", "received_at"]

    def clean_received_at(self):
        received_at = self.cleaned_data["received_at"]
        if received_at and received_at > timezone.now():
            raise forms.ValidationError(_("La date de réception ne peut pas être dans le futur."))
        return received_at


class ChallengeForm(forms.Form):
    reason = forms.CharField(
        label=_("En quoi l'instruction paraît contraire à la réglementation"), widget=forms.Textarea
    )


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("Réponse ou suite donnée (envoyée au client)"), widget=forms.Textarea)


@admin.register(ControllerRequest)
class ControllerRequestAdmin(admin.ModelAdmin):
    """D4, D7, D8: the controller's documented instructions and assistance requests, answered by the DPO."""

    list_display = ["reference", "subject", "client", "kind", "received_at", "due_date", "status"]
    list_filter = ["status", "kind", "channel"]
    search_fields = ["subject", "requester_name", "client__name"]
    date_hierarchy = "received_at"
    autocomplete_fields = ["client"]
    actions = ["challenge", "answer"]

    def get_queryset(self, request):
        return selectors.controller_requests_for_staff()

    def get_changeform_initial_data(self, request):
        return {"received_at": timezone.now()}

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ControllerRequestForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ControllerRequestForm.Meta.fields
        return ["reference"] + [f.name for f in ControllerRequest._meta.fields if f.name != "id"]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = {k: form.cleaned_data[k] for k in ControllerRequestForm.Meta.fields}
        try:
            created = services.controller_request_record(actor=request.user, now=timezone.now(), **data)
        except GdprError as exc:
            raise PermissionDenied(exc.message) from exc
        obj.pk = created.pk
        self.message_user(request, _("%(ref)s enregistrée ; accusé de réception envoyé au client.") % {
            "ref": created.reference
        })

    @admin.action(description=_("Signaler une instruction illicite au client (D4)"))
    @action_with_form(ChallengeForm, title=_("Signaler une instruction illicite"))
    def challenge(self, request, queryset, data):
        _run(self, request, queryset.filter(kind=ControllerRequestKind.INSTRUCTION),
             lambda r: services.controller_request_challenge(
                 actor=request.user, request=r, reason=data["reason"], now=timezone.now()),
             _("%(n)s instruction(s) signalée(s) au client."))

    @admin.action(description=_("Répondre et marquer traitée"))
    @action_with_form(AnswerForm, title=_("Réponse au responsable de traitement"))
    def answer(self, request, queryset, data):
        _run(self, request, queryset.exclude(status=ControllerRequestStatus.DONE),
             lambda r: services.controller_request_answer(
                 actor=request.user, request=r, answer=data["answer"], now=timezone.now()),
             _("%(n)s demande(s) traitée(s)."))

    def has_delete_permission(self, request, obj=None):
        return False


# --- breaches ----------------------------------------------------------------------------------

class BreachNotificationInline(admin.TabularInline):
    model = BreachNotification
    extra = 0
    fields = ["sequence", "stage", "sent_at", "recipients", "message", "pdf_link"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj):
        return format_html('<a href="{}">PDF</a>', obj.pdf.url) if obj.pdf else "—"


class ComplementForm(forms.Form):
    message = forms.CharField(label=_("Informations nouvelles"), widget=forms.Textarea)


class CnilAgreementForm(forms.Form):
    agreed_at = forms.DateTimeField(label=_("Accord reçu le"))
    note = forms.CharField(label=_("Accord donné par (nom, moyen)"))


class CnilNotificationForm(forms.Form):
    notified_at = forms.DateTimeField(label=_("Notifiée le"))
    reference = forms.CharField(label=_("Référence CNIL"))


BREACH_FIELDS = ["client", "title", "aware_at", "occurred_at", "circumstances", "nature", "subject_categories",
                 "subjects_approx", "record_categories", "records_approx", "contact_point", "likely_consequences",
                 "measures", "cnil_not_notified_reason"]


@admin.register(Breach)
class BreachAdmin(admin.ModelAdmin):
    """D6: the breach register. Never deleted; notifications are sent by the actions (Art. 33 content required)."""

    list_display = ["reference", "title", "client", "aware_at", "notification_deadline", "status",
                    "controller_notified_at", "cnil_notified_at"]
    list_filter = ["status"]
    search_fields = ["reference", "title", "client__name"]
    date_hierarchy = "aware_at"
    list_select_related = ["client"]
    autocomplete_fields = ["client"]
    inlines = [BreachNotificationInline]
    actions = ["notify_initial", "notify_complement", "record_cnil_agreement", "record_cnil_notification", "close"]
    readonly_fields = ["reference", "notification_deadline", "status", "controller_notified_at", "cnil_agreement_at",
                       "cnil_agreement_note", "cnil_notified_at", "cnil_reference", "closed_at", "missing"]

    def get_fields(self, request, obj=None):
        return BREACH_FIELDS + (self.readonly_fields if obj else [])

    @admin.display(description=_("informations de l'article 33 manquantes"))
    def missing(self, obj):
        labels = [str(Breach._meta.get_field(n).verbose_name) for n in obj.missing_art33_fields()]
        return ", ".join(labels) or _("aucune")

    def save_model(self, request, obj, form, change):
        data = {k: form.cleaned_data[k] for k in BREACH_FIELDS if k in form.cleaned_data}
        try:
            if change:
                services.breach_update(actor=request.user, breach=obj, **data)
            else:
                client, title, aware_at = data.pop("client"), data.pop("title"), data.pop("aware_at")
                if not data.get("contact_point"):
                    data.pop("contact_point", None)
                created = services.breach_record(
                    actor=request.user, client=client, title=title, aware_at=aware_at, now=timezone.now(), **data
                )
                obj.pk = created.pk
        except GdprError as exc:
            raise PermissionDenied(exc.message) from exc

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Notifier le responsable de traitement (notification initiale)"))
    def notify_initial(self, request, queryset):
        _run(self, request, queryset.filter(controller_notified_at__isnull=True),
             lambda b: services.breach_notify_controller(actor=request.user, breach=b, now=timezone.now()),
             _("%(n)s notification(s) envoyée(s)."))

    @admin.action(description=_("Envoyer un complément au responsable de traitement"))
    @action_with_form(ComplementForm, title=_("Complément de notification"))
    def notify_complement(self, request, queryset, data):
        _run(self, request, queryset.filter(controller_notified_at__isnull=False),
             lambda b: services.breach_notify_controller(
                 actor=request.user, breach=b, now=timezone.now(), message=data["message"]),
             _("%(n)s complément(s) envoyé(s)."))

    @admin.action(description=_("Enregistrer l'accord du responsable pour notifier la CNIL"))
    @action_with_form(CnilAgreementForm, title=_("Accord du responsable de traitement"))
    def record_cnil_agreement(self, request, queryset, data):
        _run(self, request, queryset, lambda b: services.breach_record_cnil_agreement(
            actor=request.user, breach=b, agreed_at=data["agreed_at"], note=data["note"]),
            _("%(n)s accord(s) enregistré(s)."))

    @admin.action(description=_("Enregistrer la notification à la CNIL"))
    @action_with_form(CnilNotificationForm, title=_("Notification à la CNIL"))
    def record_cnil_notification(self, request, queryset, data):
        _run(self, request, queryset, lambda b: services.breach_record_cnil_notification(
            actor=request.user, breach=b, notified_at=data["notified_at"], reference=data["reference"]),
            _("%(n)s notification(s) CNIL enregistrée(s)."))

    @admin.action(description=_("Clore"))
    def close(self, request, queryset):
        _run(self, request, queryset, lambda b: services.breach_close(actor=request.user, breach=b, now=timezone.now()),
             _("%(n)s violation(s) close(s)."))


# --- end of contract ----------------------------------------------------------------------------

class ChoiceForm(forms.Form):
    chosen_on = forms.DateField(label=_("Choix exprimé le"))
    requested_by = forms.CharField(label=_("Par (nom, fonction, moyen)"))


@admin.register(DataDisposition)
class DataDispositionAdmin(admin.ModelAdmin):
    """D10: record the client's choice, carry it out (the nightly job also does), download the documents."""

    list_display = ["client", "contract", "contract_ended_on", "choice", "status", "returned_at", "destroyed_at"]
    list_filter = ["status", "choice"]
    search_fields = ["client__name", "contract__reference"]
    list_select_related = ["client", "contract"]
    readonly_fields = [f.name for f in DataDisposition._meta.fields if f.name not in ("id",)] + ["report_display"]
    exclude = ["report"]
    actions = ["choose_return", "choose_delete", "execute"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("compte rendu"))
    def report_display(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.report, ensure_ascii=False, indent=2))

    def _choose(self, request, queryset, data, choice):
        _run(self, request, queryset, lambda d: services.disposition_record_choice(
            actor=request.user, disposition=d, choice=choice, chosen_on=data["chosen_on"],
            requested_by=data["requested_by"]), _("%(n)s choix enregistré(s)."))

    @admin.action(description=_("Le client choisit la restitution"))
    @action_with_form(ChoiceForm, title=_("Choix : restitution"))
    def choose_return(self, request, queryset, data):
        self._choose(request, queryset, data, "return")

    @admin.action(description=_("Le client choisit la suppression"))
    @action_with_form(ChoiceForm, title=_("Choix : suppression"))
    def choose_delete(self, request, queryset, data):
        self._choose(request, queryset, data, "delete")

    @admin.action(description=_("Exécuter maintenant (restitution ou suppression)"))
    def execute(self, request, queryset):
        _run(self, request, queryset.filter(status=DispositionStatus.CHOSEN),
             lambda d: services.disposition_execute(actor=request.user, disposition=d, now=timezone.now()),
             _("%(n)s exécution(s)."))


# --- people (D1–D3) ---------------------------------------------------------------------------

class AnonymiseForm(forms.Form):
    reason = forms.CharField(label=_("Motif (ex. demande d'effacement du 12/03/2026)"))
    confirm = forms.BooleanField(label=_("Je confirme : l'anonymisation est irréversible."))


@admin.register(DataSubject)
class DataSubjectAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Export (portability) and anonymisation of a person; every export is logged (D2)."""

    list_display = ["__str__", "client", "email", "is_active"]
    search_fields = ["last_name", "first_name", "email", "client__name"]
    list_select_related = ["client"]
    actions = ["export_json", "anonymise"]
    fields = ["client", "last_name", "first_name", "email", "phone", "job_title", "is_active", "where_found"]
    readonly_fields = fields

    @admin.display(description=_("données trouvées dans"))
    def where_found(self, obj):
        hits = services.contact_locate(contact=obj)
        return format_html_join(
            "", "<div>{} #{} ({}) {}</div>",
            ((h.model, h.pk, ", ".join(h.fields), _("— conservé : %s") % h.legal_hold if h.legal_hold else "")
             for h in hits),
        )

    @admin.action(description=_("Exporter les données de la personne (JSON)"), permissions=["export"])
    def export_json(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Sélectionnez une seule personne."), messages.WARNING)
            return None
        contact = queryset.select_related("client", "user").get()
        data = services.contact_export(actor=request.user, contact=contact, now=timezone.now())
        response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="donnees-personnelles-{contact.pk}.json"'
        return response

    @admin.action(description=_("Anonymiser (effacement)"), permissions=["anonymise"])
    @action_with_form(AnonymiseForm, title=_("Anonymiser"))
    def anonymise(self, request, queryset, data):
        _run(self, request, queryset, lambda c: services.contact_anonymise(
            actor=request.user, contact=c, now=timezone.now(), reason=data["reason"]),
            _("%(n)s personne(s) anonymisée(s)."))

    def has_export_permission(self, request):
        return request.user.has_perm("gdpr.export_personal_data")

    def has_anonymise_permission(self, request):
        return request.user.has_perm("gdpr.anonymise_personal_data")


@admin.register(Anonymisation)
class AnonymisationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["contact_id", "done_at", "actor", "reason"]
    readonly_fields = [f.name for f in Anonymisation._meta.fields]
    date_hierarchy = "done_at"
