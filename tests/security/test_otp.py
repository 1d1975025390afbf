"""Staff TOTP is required before any admin page; portal users may opt in (issue #12)."""
import datetime
import importlib
import re

import pytest
import time_machine
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.models import AuditLogEntry
from tests.factories.core import TEST_PASSWORD, StaffUserFactory
from tests.security.conftest import totp_code, verified_login

pytestmark = pytest.mark.django_db
T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def test_required_by_default_outside_tests():
    assert importlib.import_module("mis_backoffice.settings").OTP_STAFF_REQUIRED is True


def test_staff_without_device_is_sent_to_enrollment_before_any_admin_page(client, staff_user):
    client.force_login(staff_user)
    for path in ["/admin/", "/admin/billing/invoice/", "/admin/core/auditlogentry/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/admin/2fa/activer/?next=")


def test_enrollment_shows_an_inline_svg_qr_and_confirms_with_a_code(client, staff_user):
    client.force_login(staff_user)
    with time_machine.travel(T0, tick=False):
        page = client.get("/admin/2fa/activer/?next=/admin/contracts/client/")
        assert page.status_code == 200
        html = page.content.decode()
        assert "<svg" in html and "<img" not in html.split('id="content-main"')[1]
        assert not re.search(r'(src|href)="https?://', html)
        device = TOTPDevice.objects.get(user=staff_user, confirmed=False)

        wrong = client.post("/admin/2fa/activer/", {"token": "000000"})
        assert wrong.status_code == 400
        assert "Code incorrect" in wrong.content.decode()
        device.refresh_from_db()
        assert device.confirmed is False
        assert client.get("/admin/").status_code == 302

    with time_machine.travel(T0 + datetime.timedelta(seconds=60), tick=False):
        done = client.post(
            "/admin/2fa/activer/", {"token": totp_code(device), "next": "/admin/contracts/client/"}
        )
        assert done.status_code == 200
        codes = [t.token for t in StaticToken.objects.filter(device__user=staff_user)]
        assert len(codes) == 10
        for code in codes:
            assert code in done.content.decode()
        device.refresh_from_db()
        assert device.confirmed is True
        assert client.get("/admin/").status_code == 200
        # Shown once: the 2FA page afterwards gives the count, never the codes.
        index = client.get("/admin/2fa/").content.decode()
        assert "10 codes de secours" in index
        assert not any(code in index for code in codes)
    assert AuditLogEntry.objects.filter(action="core.otp.enrolled", object_id=str(staff_user.pk)).count() == 1


def _password_login(client, user):
    response = client.post("/admin/login/?next=/admin/", {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    return response


def test_password_login_then_code_step_for_an_enrolled_staff_member(client):
    user = StaffUserFactory(is_superuser=True)
    device = TOTPDevice.objects.create(user=user, name="application", confirmed=True)
    with time_machine.travel(T0, tick=False):
        _password_login(client, user)
        response = client.get("/admin/billing/invoice/")
        assert response.status_code == 302
        assert response["Location"] == "/admin/2fa/verifier/?next=%2Fadmin%2Fbilling%2Finvoice%2F"
        # A password alone cannot enroll a new phone over the existing one.
        assert client.get("/admin/2fa/activer/")["Location"].startswith("/admin/2fa/verifier/")
        bad = client.post("/admin/2fa/verifier/", {"token": "123456", "next": "/admin/billing/invoice/"})
        assert bad.status_code == 400
    with time_machine.travel(T0 + datetime.timedelta(seconds=120), tick=False):  # past the throttle delay
        ok = client.post("/admin/2fa/verifier/", {"token": totp_code(device), "next": "/admin/billing/invoice/"})
        assert ok.status_code == 302 and ok["Location"] == "/admin/billing/invoice/"
        assert client.get("/admin/billing/invoice/").status_code == 200


def test_verification_refuses_an_external_next_url(client):
    user = StaffUserFactory(is_superuser=True)
    device = TOTPDevice.objects.create(user=user, name="application", confirmed=True)
    client.force_login(user)
    with time_machine.travel(T0, tick=False):
        ok = client.post("/admin/2fa/verifier/", {"token": totp_code(device), "next": "https://evil.example/"})
    assert ok["Location"] == "/admin/"


def test_a_recovery_code_works_once(client):
    user = StaffUserFactory(is_superuser=True)
    TOTPDevice.objects.create(user=user, name="application", confirmed=True)
    from core.security import recovery_codes_regenerate

    codes = recovery_codes_regenerate(user=user, actor=user)
    client.force_login(user)
    assert client.post("/admin/2fa/verifier/", {"token": codes[0]}).status_code == 302
    assert client.get("/admin/").status_code == 200
    assert StaticToken.objects.filter(device__user=user).count() == 9
    client.logout()
    client.force_login(user)
    with time_machine.travel(datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=5)):
        again = client.post("/admin/2fa/verifier/", {"token": codes[0]})
    assert again.status_code == 400
    assert client.get("/admin/").status_code == 302
    assert AuditLogEntry.objects.filter(action="core.otp.recovery_code_used").count() == 1


def test_verified_login_helper_opens_the_admin(client, staff_user):
    verified_login(client, staff_user)
    assert client.get("/admin/").status_code == 200


def test_portal_user_may_enable_totp_and_then_login_asks_for_the_code(client, portal_user):
    assert client.post("/portal/connexion/", {"username": portal_user.username, "password": TEST_PASSWORD}
                       )["Location"] == reverse("portal:dashboard")
    with time_machine.travel(T0, tick=False):
        page = client.get("/portal/securite/")
        assert page.status_code == 200 and "<svg" in page.content.decode()
        device = TOTPDevice.objects.get(user=portal_user)
        done = client.post("/portal/securite/", {"token": totp_code(device)})
        assert done.status_code == 200
        assert StaticToken.objects.filter(device__user=portal_user).count() == 10
    client.post(reverse("portal:logout"))

    with time_machine.travel(T0 + datetime.timedelta(minutes=10), tick=False):
        step1 = client.post("/portal/connexion/", {"username": portal_user.username, "password": TEST_PASSWORD})
        assert step1["Location"] == reverse("portal:login_otp")
        assert client.get(reverse("portal:dashboard")).status_code == 302  # not signed in yet
        wrong = client.post(reverse("portal:login_otp"), {"token": "999999"})
        assert wrong.status_code == 400 and "Code incorrect" in wrong.content.decode()
    with time_machine.travel(T0 + datetime.timedelta(minutes=12), tick=False):
        ok = client.post(reverse("portal:login_otp"), {"token": totp_code(device)})
        assert ok["Location"] == reverse("portal:dashboard")
        assert client.get(reverse("portal:dashboard")).status_code == 200


def test_portal_login_without_totp_is_unchanged(client, portal_user):
    response = client.post("/portal/connexion/", {"username": portal_user.username, "password": TEST_PASSWORD})
    assert response["Location"] == reverse("portal:dashboard")


def test_portal_user_disables_totp_only_with_a_valid_code(client, portal_user):
    device = TOTPDevice.objects.create(user=portal_user, name="application", confirmed=True)
    client.force_login(portal_user)
    with time_machine.travel(T0, tick=False):
        client.post(reverse("portal:account_security"), {"token": "000000"})
        assert TOTPDevice.objects.filter(user=portal_user).count() == 1
    with time_machine.travel(T0 + datetime.timedelta(minutes=5), tick=False):
        client.post(reverse("portal:account_security"), {"token": totp_code(device)})
    assert TOTPDevice.objects.filter(user=portal_user).count() == 0
    assert AuditLogEntry.objects.filter(action="core.otp.disabled").count() == 1


def test_portal_code_step_gives_up_after_five_wrong_codes(client, portal_user):
    TOTPDevice.objects.create(user=portal_user, name="application", confirmed=True)
    client.post("/portal/connexion/", {"username": portal_user.username, "password": TEST_PASSWORD})
    for _ in range(4):
        assert client.post(reverse("portal:login_otp"), {"token": "111111"}).status_code == 400
    last = client.post(reverse("portal:login_otp"), {"token": "111111"})
    assert last["Location"] == reverse("portal:login")
    assert client.get(reverse("portal:login_otp"))["Location"] == reverse("portal:login")


def test_demo_staff_get_the_published_demo_key_and_demo_otp_prints_a_valid_code(client, settings):
    import io

    from django.core.management import call_command

    from core.security import second_factor_verify

    call_command("demo_data", stdout=io.StringIO())
    devices = TOTPDevice.objects.filter(user__username__in=["admin", "direction", "compta", "technicien", "dpo"],
                                        confirmed=True)
    assert devices.count() == 5
    settings.DEBUG = True
    out = io.StringIO()
    call_command("demo_otp", stdout=out)
    code = re.search(r": (\d{6}) ", out.getvalue()).group(1)
    user = devices.get(user__username="direction").user
    assert second_factor_verify(user=user, token=code) is not None


def test_an_invitation_link_does_not_bypass_the_portal_code_step(client, portal_user):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    TOTPDevice.objects.create(user=portal_user, name="application", confirmed=True)
    uid = urlsafe_base64_encode(force_bytes(portal_user.pk))
    link = reverse("portal:invitation_accept", kwargs={"uidb64": uid, "token": default_token_generator.make_token(portal_user)})
    form_url = client.get(link)["Location"]
    response = client.post(form_url, {"new_password1": "Boulangerie-83600", "new_password2": "Boulangerie-83600"})
    assert response["Location"] == reverse("portal:login")
    assert client.get(reverse("portal:dashboard")).status_code == 302  # not signed in
    portal_user.refresh_from_db()
    assert portal_user.check_password("Boulangerie-83600")
