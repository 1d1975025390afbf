"""Shared fixtures. Who is who in the tests:

- ``staff_user``: a MIS staff member (admin rights), sees everything in /admin/.
- ``portal_user`` / ``client_a``: a contact of client A, sees only client A in the portal.
- ``other_portal_user`` / ``client_b``: a contact of client B; client A's objects are 404 for them.
"""
import pytest
from django.conf import settings as django_settings

from mis_backoffice.celery import app as celery_app
from tests.factories.contracts import ClientFactory, ContactFactory
from tests.factories.core import ProviderProfileFactory, StaffUserFactory


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Staff TOTP is required in real runs; tests/security turns it back on and verifies for real.
    settings.OTP_STAFF_REQUIRED = False
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield


@pytest.fixture
def provider(db):
    return ProviderProfileFactory()


@pytest.fixture
def staff_user(db):
    return StaffUserFactory(is_superuser=True)


@pytest.fixture
def client_a(db):
    return ClientFactory(name="Client A")


@pytest.fixture
def client_b(db):
    return ClientFactory(name="Client B")


@pytest.fixture
def portal_user(client_a):
    return ContactFactory(client=client_a, with_login=True).user


@pytest.fixture
def other_portal_user(client_b):
    return ContactFactory(client=client_b, with_login=True).user


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run the on-commit callbacks (e-mail sending, PDF rendering) of the block at its end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


__all__ = ["django_settings"]
