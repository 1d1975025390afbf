"""Celery entry points of core: thin, they take ids or dates and call services."""
import datetime

from celery import shared_task

from core import mail, nightly
from core.dates import business_today


@shared_task(acks_late=True)
def send_email_task(email_id: int):
    # A failure leaves the e-mail FAILED; retry_unsent_emails_task picks it up (every 10 minutes),
    # so an SMTP outage never loses a message and never spins in a tight retry loop.
    return mail.email_claim_and_send(email_id)


@shared_task(acks_late=True)
def send_emails_task(email_ids: list[int]):
    """A chunk queued by ``mail.emails_queue``; each e-mail is claimed, so a redelivered chunk sends nothing twice."""
    return sum(1 for pk in email_ids if mail.email_claim_and_send(pk))


@shared_task
def retry_unsent_emails_task():
    return mail.email_retry_unsent()


@shared_task(acks_late=True)
def run_nightly_task(date: str | None = None):
    today = datetime.date.fromisoformat(date) if date else business_today()
    return nightly.run_nightly(today=today)
