"""Outgoing e-mail: recorded first, sent after commit, retried on failure.

:func:`email_queue` is the only way the product sends mail. The row is written
in the caller's transaction (so a rolled-back operation sends nothing) and the
send task is queued with ``transaction.on_commit``. A ``key`` makes the
notification idempotent (one reminder per deadline, one alert per threshold):
asking twice with the same key returns ``None`` the second time.

In tests, assert on :class:`core.models.OutboundEmail` rows, or run the
on-commit callbacks (pytest-django's ``django_capture_on_commit_callbacks``
with ``execute=True``) and look at ``mail.outbox``.
"""
import datetime
import logging
import mimetypes

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.models import OutboundEmail

logger = logging.getLogger(__name__)


def email_queue(
    *,
    to: list[str] | str,
    subject: str,
    body: str,
    key: str | None = None,
    cc: list[str] | None = None,
    attachments: list[dict] | None = None,
) -> OutboundEmail | None:
    """Record an e-mail and send it once the transaction commits.

    ``attachments``: ``[{"name": "F-2026-000001.pdf", "path": <storage name>, "mimetype": ...}]``.
    Returns ``None`` when an e-mail with the same ``key`` already exists.
    """
    recipients = [to] if isinstance(to, str) else [r for r in to if r]
    if not recipients:
        return None
    if key is not None and OutboundEmail.objects.filter(key=key).exists():
        return None
    try:
        with transaction.atomic():
            email = OutboundEmail.objects.create(
                key=key,
                to=recipients,
                cc=list(cc or []),
                subject=subject[:300],
                body=body,
                attachments=list(attachments or []),
            )
    except IntegrityError:
        # Another process queued the same notification at the same moment.
        return None
    from core.tasks import send_email_task

    transaction.on_commit(lambda: send_email_task.delay(email.pk))
    return email


SEND_CHUNK = 100  # e-mails per send task when many are queued at once
_KEY_LOOKUP_CHUNK = 900  # under SQLite's bound-parameter limit


def emails_queue(messages: list[dict]) -> list[OutboundEmail]:
    """Record many e-mails with a fixed number of queries and send them after commit, by chunks.

    ``messages``: dicts of :func:`email_queue`'s arguments. Same rules: a message
    without recipient is dropped, a ``key`` already used (in the table or earlier
    in ``messages``) is skipped. For nightly jobs that notify thousands of
    clients at once (revision letters, reminders): one key lookup per 900 keys,
    one INSERT per 500 rows, one send task per 100 e-mails.
    """
    rows, seen = [], set()
    for m in messages:
        to = m["to"]
        recipients = [to] if isinstance(to, str) else [r for r in to if r]
        key = m.get("key")
        if not recipients or (key is not None and key in seen):
            continue
        if key is not None:
            seen.add(key)
        rows.append(OutboundEmail(
            key=key, to=recipients, cc=list(m.get("cc") or []), subject=m["subject"][:300], body=m["body"],
            attachments=list(m.get("attachments") or []),
        ))
    keys = [r.key for r in rows if r.key is not None]
    existing = set()
    for i in range(0, len(keys), _KEY_LOOKUP_CHUNK):
        existing.update(OutboundEmail.objects.filter(key__in=keys[i:i + _KEY_LOOKUP_CHUNK]).values_list("key", flat=True))
    rows = [r for r in rows if r.key is None or r.key not in existing]
    if not rows:
        return []
    try:
        with transaction.atomic():
            created = OutboundEmail.objects.bulk_create(rows, batch_size=500)
    except IntegrityError:
        # A concurrent run queued some of the same notifications: one at a time, each skipping the taken keys.
        fresh = (email_queue(to=r.to, cc=r.cc, subject=r.subject, body=r.body, key=r.key,
                             attachments=r.attachments) for r in rows)
        return [e for e in fresh if e is not None]
    ids = [e.pk for e in created]
    from core.tasks import send_emails_task

    def _send():
        for i in range(0, len(ids), SEND_CHUNK):
            send_emails_task.delay(ids[i:i + SEND_CHUNK])

    transaction.on_commit(_send)
    return created


def email_send_now(email: OutboundEmail) -> bool:
    """Send one recorded e-mail; on failure keep it FAILED with the error, for a retry."""
    message = EmailMessage(
        subject=email.subject,
        body=email.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=email.to,
        cc=email.cc,
    )
    for att in email.attachments:
        with default_storage.open(att["path"], "rb") as fh:
            mimetype = att.get("mimetype") or mimetypes.guess_type(att["name"])[0] or "application/octet-stream"
            message.attach(att["name"], fh.read(), mimetype)
    email.attempts += 1
    try:
        message.send(fail_silently=False)
    except Exception as exc:  # SMTP down, refused recipient…: keep it for the retry job
        logger.warning("E-mail %s failed: %s", email.pk, exc)
        email.status = OutboundEmail.Status.FAILED
        email.last_error = str(exc)[:2000]
        email.save(update_fields=["status", "attempts", "last_error"])
        return False
    email.status = OutboundEmail.Status.SENT
    email.sent_at = timezone.now()
    email.last_error = ""
    email.save(update_fields=["status", "attempts", "last_error", "sent_at"])
    return True


def email_claim_and_send(email_id: int) -> bool:
    """Claim a queued/failed e-mail with a conditional update so two workers never both send it."""
    claimed = OutboundEmail.objects.filter(
        pk=email_id, status__in=[OutboundEmail.Status.QUEUED, OutboundEmail.Status.FAILED]
    ).update(status=OutboundEmail.Status.SENDING)
    if not claimed:
        return False
    email = OutboundEmail.objects.get(pk=email_id)
    return email_send_now(email)


def email_retry_unsent(*, limit: int = 200) -> int:
    """Resend e-mails still queued or failed (the SMTP server was down). Returns how many were sent."""
    # A worker killed while sending leaves SENDING behind: give it back after 15 minutes.
    OutboundEmail.objects.filter(
        status=OutboundEmail.Status.SENDING, created_at__lt=timezone.now() - datetime.timedelta(minutes=15)
    ).update(status=OutboundEmail.Status.FAILED)
    ids = list(
        OutboundEmail.objects.filter(
            status__in=[OutboundEmail.Status.QUEUED, OutboundEmail.Status.FAILED], attempts__lt=10
        ).values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in ids if email_claim_and_send(pk))


def staff_recipients() -> list[str]:
    return [settings.STAFF_NOTIFICATION_EMAIL]
