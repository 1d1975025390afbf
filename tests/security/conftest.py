"""tests/security runs with the staff second factor ON (it is off for the rest of the suite).

``verified_login(client, user)`` is the clean way for a test to act as a staff member who
passed the TOTP step: it gives the user a confirmed device and marks the session verified,
exactly as ``core.security.second_factor_verify`` does after a right code.
"""
import pytest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


@pytest.fixture(autouse=True)
def _otp_required(settings):
    settings.OTP_STAFF_REQUIRED = True


def totp_code(device: TOTPDevice) -> str:
    """The code the phone shows right now for ``device`` (respects time_machine)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def verified_login(client, user) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="application", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


@pytest.fixture
def verified_staff_client(client, staff_user):
    verified_login(client, staff_user)
    return client
