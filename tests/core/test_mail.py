"""Outgoing e-mail: recorded, sent after commit, idempotent by key, kept and retried on failure."""
import pytest
from django.core import mail

from core.mail import email_queue, email_retry_unsent
from core.models import OutboundEmail

pytestmark = pytest.mark.django_db


def test_email_is_sent_after_commit_once_per_key(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = email_queue(to="a@b.fr", subject="Rappel", body="Texte", key="reminder:1:60")
        second = email_queue(to="a@b.fr", subject="Rappel", body="Texte", key="reminder:1:60")
    assert first is not None and second is None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["a@b.fr"]
    first.refresh_from_db()
    assert first.status == OutboundEmail.Status.SENT and first.attempts == 1


def test_failed_smtp_keeps_the_email_and_the_retry_sends_it(settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "tests.core.failing_backend.FailingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        email = email_queue(to="a@b.fr", subject="Facture", body="Texte")
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.FAILED
    assert "SMTP down" in email.last_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert email_retry_unsent() == 1
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT and email.attempts == 2
    assert len(mail.outbox) == 1
