"""Outgoing e-mail: recorded, sent after commit, idempotent by key, kept and retried on failure."""
import pytest
from django.core import mail

from core import mail as core_mail
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


def _letters(n, start=0):
    return [{"to": [f"client{i}@example.fr"], "subject": f"Lettre {i}", "body": "Bonjour", "key": f"letter:{i}"}
            for i in range(start, start + n)]


@pytest.mark.parametrize("n", [3, 30])
def test_emails_queue_costs_the_same_statements_for_3_or_30_emails(n, django_assert_num_queries):
    # key lookup, savepoint, one INSERT, release
    with django_assert_num_queries(4):
        created = core_mail.emails_queue(_letters(n))
    assert len(created) == n and all(e.pk for e in created)


def test_emails_queue_skips_used_keys_and_sends_after_commit_by_chunks(django_capture_on_commit_callbacks, monkeypatch):
    from core import tasks

    monkeypatch.setattr(core_mail, "SEND_CHUNK", 3)
    chunks = []
    real_delay = tasks.send_emails_task.delay
    monkeypatch.setattr(tasks.send_emails_task, "delay", lambda ids: chunks.append(len(ids)) or real_delay(ids))
    OutboundEmail.objects.create(key="letter:1", to=["client1@example.fr"], subject="Lettre 1", body="déjà")
    messages = _letters(5) + [{"to": [], "subject": "x", "body": "x", "key": "nobody"}] + _letters(1, start=4)
    with django_capture_on_commit_callbacks(execute=True):
        created = core_mail.emails_queue(messages)
        assert mail.outbox == []  # nothing leaves before the commit
    assert [e.key for e in created] == ["letter:0", "letter:2", "letter:3", "letter:4"]
    assert OutboundEmail.objects.count() == 5  # the earlier letter:1 + 4 new ones; no recipient, no row
    assert chunks == [3, 1]
    assert sorted(m.to[0] for m in mail.outbox) == [
        "client0@example.fr", "client2@example.fr", "client3@example.fr", "client4@example.fr"
    ]
    assert OutboundEmail.objects.filter(status=OutboundEmail.Status.SENT).count() == 4
    assert core_mail.emails_queue(_letters(5)) == []
