"""Production refuses to start on unsafe settings; check --deploy is clean with production settings."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOOD_SECRET = "p" * 20 + "-production-secret-" + "q" * 20


def _run(code: str, **env):
    full_env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"}}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


SETUP = "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE','mis_backoffice.settings'); django.setup()"


def test_production_refuses_to_start_without_secret_key():
    result = _run(SETUP, DEBUG="False", ALLOWED_HOSTS="mis.example.fr")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_the_development_secret_key():
    dev_key = "dev-only-insecure-secret-key-change-me-0123456789abcdefghijklmnop"
    result = _run(SETUP, DEBUG="False", SECRET_KEY=dev_key, ALLOWED_HOSTS="mis.example.fr")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = _run(SETUP, DEBUG="False", SECRET_KEY=GOOD_SECRET)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    # Browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for themselves; a deployment never has it.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**env, "DEBUG": "False", "SECRET_KEY": GOOD_SECRET, "ALLOWED_HOSTS": "mis.example.fr"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_defaults_are_french_paris_and_aware(settings):
    assert settings.LANGUAGE_CODE == "fr"
    assert settings.TIME_ZONE == "Europe/Paris"
    assert settings.USE_TZ is True
    assert [code for code, _ in settings.LANGUAGES] == ["fr", "en"]
