"""Staff permission matrix: every admin model, action and staff page, for each group of core.roles.

The intended rights are written here, independently of ``core.roles`` (whose patterns could drift):
a group's rights per app with per-model exceptions, what the admin forbids to everyone (NO_ADD,
NO_DELETE), every admin action and every custom staff view. The admin registry is walked, so a new
model, action or view without an entry here fails ``test_every_*_has_an_entry``. Issue #12.
"""
import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse

from core.roles import ACCOUNTING, DPO, MANAGEMENT, TECHNICIANS, setup_roles
from tests.factories.core import ProviderProfileFactory, StaffUserFactory
from tests.security.conftest import verified_login

pytestmark = pytest.mark.django_db
M, A, T, D = MANAGEMENT, ACCOUNTING, TECHNICIANS, DPO
GROUPS = [M, A, T, D]
ALL = {M, A, T, D}

# v = changelist, a = add page, d = delete. Per app, then per model (a model entry replaces its app's).
RIGHTS: dict[str, dict[str, str]] = {
    M: {
        "core": "vad", "contracts": "vad", "billing": "vad", "payments": "vad", "interventions": "vad",
        "backups": "vad", "hosting": "vad", "gdpr": "vad", "django_celery_beat": "vad",
        "auth": "v", "axes": "vd",  # sees staff accounts, unlocks logins; never edits users
        "billing.invoice": "va",  # an invoice is never deleted (credit note instead)
        "core.auditlogentry": "v",
    },
    A: {
        "core": "v", "contracts": "v", "billing": "vad", "payments": "vad",
        "billing.invoice": "va", "contracts.syntecindex": "va",
    },
    T: {
        "contracts": "v", "contracts.equipment": "vad", "interventions": "vad", "backups": "vad", "hosting": "vad",
        "billing.quote": "va",  # technicians write quotes; no invoice, no payment
    },
    D: {
        "gdpr": "va",  # registers, requests, breaches; nothing of GDPR is ever deleted
        "contracts.client": "v", "contracts.contact": "v", "contracts.contract": "v",
        "core.auditlogentry": "v", "core.outboundemail": "v",
    },
}

# Forbidden by the admin itself, whatever the permissions (computed rows, service-only writes).
NO_ADD = {
    "backups.jobreport", "backups.overageepisode", "backups.restorerequest", "backups.supervisionflag",
    "backups.supervisionrun", "backups.usagesnapshot", "billing.numbersequence", "billing.shopreturn",
    "contracts.contractrevision", "contracts.contractsuspension", "contracts.termination",
    "core.auditlogentry", "core.outboundemail", "core.providerprofile",  # the profile exists once
    "gdpr.anonymisation", "gdpr.controller", "gdpr.datadisposition", "gdpr.datasubject",
    "payments.debitbatch", "payments.debititem", "axes.accessattempt",
}
NO_DELETE = {
    "backups.apitoken", "backups.jobreport", "backups.overageepisode", "backups.restorerequest",
    "backups.supervisionflag", "backups.supervisionrun", "backups.usagesnapshot", "billing.numbersequence",
    "billing.shopreturn", "contracts.contractrevision", "contracts.contractsuspension", "contracts.termination",
    "core.auditlogentry", "gdpr.anonymisation", "gdpr.breach", "gdpr.controller", "gdpr.controllerrequest",
    "gdpr.datadisposition", "gdpr.datasubject", "gdpr.datasubjectrequest", "gdpr.subprocessor",
    "gdpr.subprocessorauthorisation", "payments.debititem", "payments.formalnotice", "payments.payment",
    "payments.rejection",
}
# Superuser only: second-factor devices (a lost phone is reset by a superuser).
SUPERUSER_ONLY = {"otp_static.staticdevice", "otp_totp.totpdevice", "auth.user", "auth.group"}

ACTIONS: dict[tuple[str, str], set[str]] = {
    ("axes.accessattempt", "unlock"): {M},
    ("backups.apitoken", "revoke"): {M, T},
    ("backups.backupsubscription", "import_csv"): {M, T},
    ("backups.restorerequest", "quote"): {M, T},
    ("backups.restorerequest", "accept"): {M, T},
    ("backups.restorerequest", "complete"): {M, T},
    ("billing.charge", "invoice_now"): {M, A},
    ("billing.invoice", "issue_selected"): {M, A},
    ("billing.invoice", "credit_selected"): {M, A},
    ("billing.invoice", "download_selected"): {M, A},
    ("billing.invoice", "resend_selected"): {M, A},
    ("billing.quote", "send_selected"): {M, A, T},
    ("billing.quote", "invoice_selected"): {M, A},  # issuing an invoice: never technicians
    ("billing.quote", "refuse_selected"): {M, A, T},
    ("contracts.contract", "preview_revision"): ALL,
    ("contracts.contract", "record_termination"): {M},
    ("contracts.contract", "suspend"): {M},
    ("contracts.contract", "resume"): {M},
    ("contracts.equipment", "mark_returned_today"): {M, T},
    ("contracts.termination", "withdraw"): {M},
    ("core.outboundemail", "resend"): {M},  # viewing the outbox does not allow sending from it
    ("django_celery_beat.periodictask", "enable_tasks"): {M},
    ("django_celery_beat.periodictask", "disable_tasks"): {M},
    ("django_celery_beat.periodictask", "toggle_tasks"): {M},
    ("django_celery_beat.periodictask", "run_tasks"): {M},
    ("gdpr.breach", "notify_initial"): {M, D},
    ("gdpr.breach", "notify_complement"): {M, D},
    ("gdpr.breach", "record_cnil_agreement"): {M, D},
    ("gdpr.breach", "record_cnil_notification"): {M, D},
    ("gdpr.breach", "close"): {M, D},  # accounting cannot close a breach
    ("gdpr.controller", "export_pdf"): {M, D},
    ("gdpr.controller", "export_csv"): {M, D},
    ("gdpr.controller", "sync_register"): {M, D},
    ("gdpr.controllerrequest", "challenge"): {M, D},
    ("gdpr.controllerrequest", "answer"): {M, D},
    ("gdpr.datadisposition", "choose_return"): {M, D},
    ("gdpr.datadisposition", "choose_delete"): {M, D},
    ("gdpr.datadisposition", "execute"): {M, D},
    ("gdpr.datasubject", "export_json"): {M, D},  # exporting personal data: never technicians
    ("gdpr.datasubject", "anonymise"): {M, D},
    ("gdpr.datasubjectrequest", "extend"): {M, D},
    ("gdpr.datasubjectrequest", "mark_answered"): {M, D},
    ("hosting.changerequest", "complete"): {M, T},
    ("hosting.changerequest", "cancel"): {M, T},
    ("hosting.domain", "confirm_administrator"): {M, T},
    ("hosting.hostingservice", "activate"): {M, T},
    ("hosting.hostingservice", "close"): {M, T},
    ("hosting.maintenancewindow", "announce"): {M, T},
    ("interventions.intervention", "start"): {M, T},
    ("interventions.phonecall", "called_back"): {M, T},
    ("interventions.repairrequest", "repaired"): {M, T},
    ("interventions.ticket", "wait_on_client"): {M, T},
    ("interventions.ticket", "resume"): {M, T},
    ("interventions.ticket", "resolve"): {M, T},
    ("payments.debitbatch", "export_selected"): {M, A},
    ("payments.debitbatch", "settle_selected"): {M, A},
    ("payments.debititem", "remove_selected"): {M, A},
    ("payments.formalnotice", "terminate_for_cause"): {M, A},
    ("payments.mandate", "revoke_selected"): {M, A},
}

# Custom staff pages (ModelAdmin.get_urls). Pages with an object in the URL are requested with a
# missing one: an allowed group reaches the lookup (404), another is refused first or gets 404 too —
# never a 200; their object-level check is covered by test_object_pages_refuse_other_groups.
VIEWS: dict[str, set[str]] = {
    "backups_supervision_board": {M, T},
    "billing_invoice_sales_journal": {M, A},
    "billing_invoice_shop_sale": {M, A},
    "billing_invoice_pdf": {M, A},
    "billing_invoice_partial_credit": {M, A},
    "billing_invoice_shop_return": {M, A},
    "billing_quote_hand_signature": {M, A, T},
    "billing_quote_document": {M, A, T},
    "contracts_contract_deadlines": ALL,
    "contracts_contract_revision_preview": ALL,
    "contracts_contract_terminate": {M},
    "contracts_contract_suspend": {M},
    "contracts_contract_resume": {M},
    "contracts_syntecindex_import": {M, A},
    "interventions_intervention_schedule": {M, T},
    "interventions_intervention_pdf": {M, T},
    "interventions_ticket_sla": {M, T},
    "interventions_ticket_attachment": {M, T},
    "payments_aged_balance": {M, A},
    "payments_statement": {M, A},
    "payments_debitbatch_file": {M, A},
    "payments_formalnotice_pdf": {M, A},
}
STANDARD_SUFFIXES = ("_changelist", "_add", "_history", "_delete", "_change", "_autocomplete")


def _registry():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label_lower)


def _rights(group: str, label: str) -> str:
    if label in SUPERUSER_ONLY and label.split(".")[0] not in RIGHTS[group] and label not in RIGHTS[group]:
        return ""
    return RIGHTS[group].get(label, RIGHTS[group].get(label.split(".")[0], ""))


def _custom_views():
    for model, model_admin in _registry():
        for pattern in model_admin.get_urls():
            if pattern.name and pattern.name.startswith(model._meta.app_label + "_") and not pattern.name.endswith(
                STANDARD_SUFFIXES
            ):
                yield pattern


def test_every_model_action_and_view_has_an_entry():
    labels = {m._meta.label_lower for m, _ in _registry()}
    known_apps = {key.split(".")[0] for rights in RIGHTS.values() for key in rights} | {"otp_static", "otp_totp"}
    assert {label.split(".")[0] for label in labels} <= known_apps, "new app: give each group its rights"
    actions = {
        (m._meta.label_lower, name)
        for m, ma in _registry()
        for name in (ma.actions or [])
        if isinstance(name, str)
    }
    assert actions == set(ACTIONS), "admin actions and ACTIONS differ: add the new action's intended groups"
    assert {p.name for p in _custom_views()} == set(VIEWS), "a staff page without an entry in VIEWS"


@pytest.fixture
def members(db):
    ProviderProfileFactory()
    setup_roles()
    users = {}
    for group in GROUPS:
        user = StaffUserFactory(username=f"matrix-{group.lower()}")
        user.groups.add(Group.objects.get(name=group))
        users[group] = user
    return users


@pytest.mark.parametrize("group", GROUPS)
def test_changelists_add_pages_and_delete_rights(client, members, group):
    user = members[group]
    verified_login(client, user)
    request = RequestFactory().get("/admin/")
    request.user = user
    wrong = []
    for model, model_admin in _registry():
        label = model._meta.label_lower
        info = (model._meta.app_label, model._meta.model_name)
        rights = _rights(group, label)
        changelist = client.get(reverse(f"admin:{info[0]}_{info[1]}_changelist")).status_code
        add = client.get(reverse(f"admin:{info[0]}_{info[1]}_add")).status_code
        expected_changelist = 200 if "v" in rights else 403
        expected_add = 200 if "a" in rights and label not in NO_ADD else 403
        expected_delete = "d" in rights and label not in NO_DELETE
        if (changelist, add, model_admin.has_delete_permission(request)) != (
            expected_changelist, expected_add, expected_delete
        ):
            wrong.append((label, changelist, add, model_admin.has_delete_permission(request)))
    assert wrong == []


@pytest.mark.parametrize("group", GROUPS)
def test_admin_actions_follow_the_intended_rights(client, members, group):
    user = members[group]
    request = RequestFactory().get("/admin/")
    request.user = user
    wrong = []
    for (label, action), allowed in sorted(ACTIONS.items()):
        model_admin = next(ma for m, ma in _registry() if m._meta.label_lower == label)
        offered = model_admin.has_view_or_change_permission(request) and action in model_admin.get_actions(request)
        if offered != (group in allowed):
            wrong.append((label, action, offered))
    assert wrong == []


@pytest.mark.parametrize("group", GROUPS)
def test_custom_staff_pages_follow_the_intended_rights(client, members, group):
    verified_login(client, members[group])
    client.raise_request_exception = False
    wrong = []
    for pattern in _custom_views():
        kwargs = {key: 999999 for key in pattern.pattern.regex.groupindex}
        status = client.get(reverse(f"admin:{pattern.name}", kwargs=kwargs)).status_code
        if kwargs:
            ok = status == 404 if group in VIEWS[pattern.name] else status in (403, 404)
        else:
            ok = status == (200 if group in VIEWS[pattern.name] else 403)
        if not ok:
            wrong.append((pattern.name, status))
    assert wrong == []


def test_object_pages_refuse_other_groups(client, members, client_a):
    import datetime

    from tests.factories.payments import issued_invoice

    invoice = issued_invoice(client=client_a, today=datetime.date(2026, 3, 2))
    url = reverse("admin:billing_invoice_pdf", kwargs={"pk": invoice.pk})
    for group in (T, D):
        verified_login(client, members[group])
        assert client.get(url).status_code == 403, group
