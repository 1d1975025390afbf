"""Demo data of core: MIS's profile and one staff user per group (idempotent)."""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from core.models import ProviderProfile
from core.roles import ACCOUNTING, DPO, MANAGEMENT, TECHNICIANS, setup_roles

DEMO_STAFF_PASSWORD = "demo-staff-2026"
DEMO_STAFF = [
    # username, first name, last name, group, superuser
    ("admin", "Admin", "MIS", None, True),
    ("direction", "Claire", "Martin", MANAGEMENT, False),
    ("compta", "Julien", "Bernard", ACCOUNTING, False),
    ("technicien", "Karim", "Benali", TECHNICIANS, False),
    ("dpo", "Sophie", "Laurent", DPO, False),
]


def load(*, today, stdout):
    # Demo identity: a plausible MIS in the Var; SIREN/VAT have valid checksums but are not MIS's real ones.
    ProviderProfile.objects.get_or_create(
        pk=1,
        defaults=dict(
            legal_name="MICRO INFO SERVICE",
            trade_name="MIS — GECO informatique",
            legal_form="SARL",
            share_capital="10 000 €",
            address_line1="Chemin des Vernèdes",
            postal_code="83480",
            city="Puget-sur-Argens",
            siren="512345679",
            siret="51234567900017",
            rcs="RCS Fréjus 512 345 679",
            vat_number="FR75512345679",
            iban="FR7630006000011234567890189",
            bic="AGRIFRPP",
            sepa_creditor_id="FR12ZZZ123456",
            email="contact@micro-info-service.fr",
            phone="04 94 00 00 00",
        ),
    )
    setup_roles()
    User = get_user_model()
    for username, first, last, group, superuser in DEMO_STAFF:
        user, created = User.objects.get_or_create(
            username=username,
            defaults=dict(
                first_name=first,
                last_name=last,
                email=f"{username}@micro-info-service.fr",
                is_staff=True,
                is_superuser=superuser,
            ),
        )
        if created:
            user.set_password(DEMO_STAFF_PASSWORD)
            user.save()
        if group:
            user.groups.add(Group.objects.get(name=group))
        _demo_totp(user)
    stdout.write(f"Staff logins (/admin/): {', '.join(u[0] for u in DEMO_STAFF)} — password {DEMO_STAFF_PASSWORD}")
    stdout.write(
        f"Staff second factor (demo only): TOTP key {DEMO_TOTP_KEY_B32} in any authenticator app, "
        "or `python manage.py demo_otp` prints the current codes"
    )


# The demo staff share one published TOTP key so `make run` stays usable without enrolling a phone.
# Demo only: a real staff member enrolls at /admin/2fa/activer/ with a random key (docs/security.md).
DEMO_TOTP_KEY_HEX = b"mis-demo-totp-2026!!".hex()
DEMO_TOTP_KEY_B32 = "NVUXGLLEMVWW6LLUN52HALJSGAZDMIJB"


def _demo_totp(user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        TOTPDevice.objects.create(user=user, name="application", key=DEMO_TOTP_KEY_HEX, confirmed=True)
