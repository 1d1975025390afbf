"""Core's nightly jobs."""
from core.mail import email_retry_unsent
from core.nightly import nightly_job


@nightly_job(order=990, name="core.retry_unsent_emails")
def retry_unsent_emails(*, today):
    return {"resent": email_retry_unsent()}
