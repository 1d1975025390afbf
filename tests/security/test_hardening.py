"""Password rules, sessions, cookies, HSTS, CSP, clickjacking (issue #12)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from tests.factories.core import StaffUserFactory
from tests.security.conftest import verified_login

ROOT = Path(__file__).resolve().parents[2]
GOOD_SECRET = "p" * 20 + "-production-secret-" + "q" * 20
pytestmark = pytest.mark.django_db


def test_password_validators_refuse_short_common_and_numeric_passwords():
    user = StaffUserFactory(username="claire.martin")
    for bad in ["Court-1234", "password1234", "123456789012", "claire.martin1"]:
        with pytest.raises(ValidationError):
            validate_password(bad, user)
    validate_password("trois-mots-au-hasard", user)


def test_short_password_refused_with_a_french_message():
    with pytest.raises(ValidationError) as exc:
        validate_password("Abcdefgh12!")  # 11 characters
    assert "12 caractères" in " ".join(exc.value.messages)


def test_sessions_last_eight_hours_and_end_with_the_browser(settings):
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True


@pytest.mark.parametrize("path", ["/portal/connexion/", "/admin/login/"])
def test_csp_and_anti_framing_headers_on_pages(client, path):
    response = client.get(path)
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    script_src = re.search(r"script-src ([^;]*)", csp).group(1)
    assert script_src.strip() == "'self'"
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_admin_pages_carry_the_csp_too(client, staff_user):
    verified_login(client, staff_user)
    response = client.get("/admin/contracts/client/")
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_no_inline_script_or_event_handler_in_our_templates():
    # A CSP without 'unsafe-inline' for scripts only works if no template relies on one.
    offenders = []
    for path in ROOT.glob("templates/**/*.html"):
        text = path.read_text()
        for match in re.finditer(r"<script\b[^>]*>", text):
            if "src=" not in match.group(0):
                offenders.append(f"{path}: {match.group(0)}")
        if re.search(r"\son[a-z]+\s*=\s*[\"']", text):
            offenders.append(f"{path}: inline event handler")
    assert offenders == []


def test_production_settings_turn_on_secure_cookies_hsts_and_ssl_redirect():
    code = (
        "import os, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE','mis_backoffice.settings');"
        "django.setup(); from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS,"
        " s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.X_FRAME_OPTIONS, s.OTP_STAFF_REQUIRED, s.AXES_FAILURE_LIMIT)"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(DEBUG="False", SECRET_KEY=GOOD_SECRET, ALLOWED_HOSTS="mis.example.fr")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "31536000", "True", "DENY", "True", "5"]
