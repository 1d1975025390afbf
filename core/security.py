"""Second factor (TOTP + recovery codes), login lockout glue and the security headers.

Staff must verify a TOTP code (or a one-time recovery code) before any admin page;
portal users may opt in. Devices are django-otp's: one ``TOTPDevice`` named
``DEVICE_NAME`` and one ``StaticDevice`` of recovery codes per user. The services
below are the only writers; each one is audited (``core.audit``). See docs/security.md.
"""
from django.conf import settings
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.audit import audit_record

DEVICE_NAME = "application"
RECOVERY_NAME = "codes de secours"


# --- Services -----------------------------------------------------------------------------------


def totp_device_pending(*, user) -> TOTPDevice:
    """The unconfirmed TOTP device being enrolled (created once, reused until confirmed)."""
    device = TOTPDevice.objects.filter(user=user, name=DEVICE_NAME, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def totp_confirmed_device(*, user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_second_factor(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


@transaction.atomic
def totp_enroll_confirm(*, user, device: TOTPDevice, token: str, request=None) -> list[str] | None:
    """Confirm ``device`` with a first code from the app; returns the new recovery codes, or ``None``.

    On success any older confirmed TOTP device is removed (one app per user), fresh recovery codes
    replace the old ones, and when ``request`` is given the session is marked verified.
    """
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
    if device.confirmed or not device.verify_token((token or "").strip()):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _recovery_codes_replace(user=user)
    audit_record(actor=user, obj=user, action="core.otp.enrolled", changes={"device": [None, device.name]})
    if request is not None:
        otp_login(request, device)
    return codes


def _recovery_codes_replace(*, user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(settings.OTP_STATIC_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=static, token=c) for c in codes])
    return codes


@transaction.atomic
def recovery_codes_regenerate(*, user, actor) -> list[str]:
    """New recovery codes (the old ones stop working). Shown once to the caller, stored as tokens."""
    codes = _recovery_codes_replace(user=user)
    audit_record(actor=actor, obj=user, action="core.otp.recovery_codes_regenerated")
    return codes


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user).count()


@transaction.atomic
def second_factor_verify(*, user, token: str, request=None):
    """The device accepting ``token`` (TOTP first, then a recovery code, which is used up), or ``None``."""
    token = (token or "").strip().replace(" ", "")
    if not token:
        return None
    candidates = list(TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True))
    candidates += list(StaticDevice.objects.select_for_update().filter(user=user, confirmed=True))
    for device in candidates:
        if device.verify_token(token):
            if isinstance(device, StaticDevice):
                audit_record(actor=user, obj=user, action="core.otp.recovery_code_used",
                             changes={"left": [None, recovery_codes_left(user)]})
            if request is not None:
                otp_login(request, device)
            return device
    return None


@transaction.atomic
def second_factor_disable(*, user, actor) -> int:
    """Remove the user's TOTP app and recovery codes (portal opt-out, or staff reset by a superuser)."""
    deleted, _ = TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit_record(actor=actor, obj=user, action="core.otp.disabled")
    return deleted


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as inline SVG markup (made here, no external request, no script)."""
    import segno

    return segno.make(device.config_url, error="m").svg_inline(scale=5, dark="#000", light="#fff")


def secret_b32(device: TOTPDevice) -> str:
    """The key as shown for typing by hand into the app (groups of four)."""
    from base64 import b32encode

    raw = b32encode(device.bin_key).decode()
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


# --- Middleware ---------------------------------------------------------------------------------


def safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


class StaffOTPRequiredMiddleware:
    """A staff session reaches /admin/ only once verified by a second factor.

    Without a confirmed device the user is sent to enrollment; with one, to the code step.
    The admin login/logout and the 2FA pages themselves stay reachable. Off only when
    ``settings.OTP_STAFF_REQUIRED`` is False (the test-suite, outside tests/security).
    """

    OPEN_PREFIXES = ("/admin/login/", "/admin/logout/", "/admin/2fa/", "/admin/jsi18n/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.path.startswith("/admin/")
            and getattr(settings, "OTP_STAFF_REQUIRED", True)
            and not request.path.startswith(self.OPEN_PREFIXES)
        ):
            user = request.user
            if user.is_authenticated and user.is_staff and not user.is_verified():
                name = "core_otp:verify" if has_second_factor(user) else "core_otp:setup"
                return HttpResponseRedirect(f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Adds ``settings.CONTENT_SECURITY_POLICY`` to responses that do not set their own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login: a French page, HTTP 429 (settings.AXES_*)."""
    from django.shortcuts import render

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60) if settings.AXES_COOLOFF_TIME else None
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "cooloff_minutes": minutes}
    return render(request, "security/lockout.html", context, status=429)
