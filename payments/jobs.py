"""Nightly jobs of payments (order band 300–399). Each is idempotent; see docs/payments.md."""
import datetime

from core.nightly import nightly_job
from payments import services


@nightly_job(order=300, name="payments.mandates_expire")
def mandates_expire(*, today: datetime.date) -> dict:
    """L5: mandates unused for 36 months lapse."""
    return services.mandates_expire(today=today)


@nightly_job(order=310, name="payments.prenotify")
def prenotify(*, today: datetime.date) -> dict:
    """L5: pre-notification e-mails for collections the invoice could not announce 14 days ahead."""
    return services.prenotifications_send(today=today)


@nightly_job(order=320, name="payments.batches")
def batches(*, today: datetime.date) -> dict:
    """CGV B1, B2: one open batch per collection date and scheme, for staff to review and export."""
    return services.batches_build(today=today)


@nightly_job(order=330, name="payments.settle")
def settle(*, today: datetime.date) -> dict:
    """Exported batches are settled on their collection date (rejections reverse them later)."""
    return services.batches_settle_due(today=today)


@nightly_job(order=340, name="payments.overdue_reminders")
def overdue_reminders(*, today: datetime.date) -> dict:
    """CGV B3: one reminder when an invoice becomes overdue."""
    return services.overdue_reminders_send(today=today)


@nightly_job(order=350, name="payments.dunning")
def dunning(*, today: datetime.date) -> dict:
    """CGV B3 (a)–(d), C10: interest complements, resumption of settled clients, notices left without effect."""
    result = services.late_interest_final_record(today=today)
    result.update(services.services_resume_settled(today=today))
    result.update(services.formal_notices_process(today=today))
    return result
