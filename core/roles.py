"""Staff groups and their rights (least privilege), applied by ``manage.py setup_roles``.

Each group lists ``app_label.codename`` patterns (fnmatch). Patterns name the
app, so models added by later apps get the right permissions without editing
this file, and re-running the command after a migration picks them up.
"""
from fnmatch import fnmatch

MANAGEMENT = "Management"
ACCOUNTING = "Accounting"
TECHNICIANS = "Technicians"
DPO = "DPO"

ROLE_PERMISSIONS: dict[str, list[str]] = {
    # Direction: everything of the business, nothing of Django's internals.
    MANAGEMENT: [
        "core.*",
        "contracts.*",
        "billing.*",
        "payments.*",
        "interventions.*",
        "backups.*",
        "hosting.*",
        "gdpr.*",
        "django_celery_beat.*",
        "auth.view_user",
        "auth.view_group",
        # Locked-out logins: see them and unlock them (delete the attempt, audited).
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
    ],
    # Comptabilité: invoices, payments, prices; reads contracts and clients.
    ACCOUNTING: [
        "core.view_*",
        "contracts.view_*",
        "contracts.change_client",
        "contracts.add_syntecindex",
        "contracts.change_syntecindex",
        "billing.*",
        "payments.*",
    ],
    # Techniciens: tickets, interventions, backups, hosting; reads contracts; no invoice, no export.
    TECHNICIANS: [
        "contracts.view_*",
        "contracts.*_equipment",
        "interventions.*",
        "backups.*",
        "hosting.*",
        "billing.view_quote",
        "billing.add_quote",
        "billing.change_quote",
    ],
    # Délégué à la protection des données: GDPR registers, requests and breaches; reads parties.
    DPO: [
        "gdpr.*",
        "contracts.view_client",
        "contracts.view_contact",
        "contracts.view_contract",
        "core.view_auditlogentry",
        "core.view_outboundemail",
    ],
}

# Never granted by pattern, whatever the group (kept for explicit grants).
EXCLUDED = {
    ACCOUNTING: ["billing.delete_invoice*"],
    MANAGEMENT: ["billing.delete_invoice*", "core.delete_auditlogentry", "core.change_auditlogentry"],
    TECHNICIANS: [],
    DPO: ["gdpr.delete_*"],
}


def permissions_for(role: str, all_codes: list[str]) -> list[str]:
    patterns = ROLE_PERMISSIONS[role]
    excluded = EXCLUDED.get(role, [])
    return [
        code
        for code in all_codes
        if any(fnmatch(code, p) for p in patterns) and not any(fnmatch(code, e) for e in excluded)
    ]


def setup_roles() -> dict[str, int]:
    """Create or update the four staff groups; returns the number of permissions each holds."""
    from django.contrib.auth.models import Group, Permission

    perms = list(Permission.objects.select_related("content_type"))
    by_code = {f"{p.content_type.app_label}.{p.codename}": p for p in perms}
    result = {}
    for role in ROLE_PERMISSIONS:
        group, _ = Group.objects.get_or_create(name=role)
        wanted = [by_code[c] for c in permissions_for(role, list(by_code))]
        group.permissions.set(wanted)
        result[role] = len(wanted)
    return result
