"""The dates GDPR and the terms define, one function each (computed once, stored, shown).

- Data-subject request: answer within one month of receipt, extendable by two
  further months (GDPR Art. 12(3), CGV L6). A month ends on the same day of the
  next month, or on its last day when that day does not exist (31 Jan → 28/29 Feb),
  counted on the Paris calendar date of receipt.
- Breach: notify the controller within 72 hours of awareness (CGV D6, Art. 33),
  with staff alerts as that deadline approaches.
"""
import datetime

from dateutil.relativedelta import relativedelta

from core.dates import business_today

REQUEST_ANSWER_MONTHS = 1
REQUEST_EXTENSION_MONTHS = 2
BREACH_NOTIFICATION_DELAY = datetime.timedelta(hours=72)
# Hours after awareness at which staff are alerted while the controller is not yet notified.
# 72 is the deadline itself: a last alert says it has passed.
BREACH_ALERT_HOURS = (24, 48, 66, 72)


def request_due_date(received_at: datetime.datetime) -> datetime.date:
    """L6 / Art. 12(3): one month after receipt."""
    return business_today(received_at) + relativedelta(months=REQUEST_ANSWER_MONTHS)


def request_extended_due_date(received_at: datetime.datetime) -> datetime.date:
    """L6 / Art. 12(3): two further months after the first one."""
    return business_today(received_at) + relativedelta(months=REQUEST_ANSWER_MONTHS + REQUEST_EXTENSION_MONTHS)


def breach_notification_deadline(aware_at: datetime.datetime) -> datetime.datetime:
    """CGV D6: 72 hours after MIS became aware of the breach (a duration, not calendar days).

    Computed in UTC: Python adds a timedelta to a Europe/Paris datetime on the
    wall clock, which would give 71 or 73 real hours across a DST change.
    """
    return aware_at.astimezone(datetime.UTC) + BREACH_NOTIFICATION_DELAY


def breach_alert_due(aware_at: datetime.datetime, now: datetime.datetime) -> int | None:
    """The highest alert threshold (hours) already reached at ``now``, or ``None`` before the first one.

    Only the highest one is sent: after an outage, staff get the current state,
    not a burst of stale alerts; a lower threshold is never sent later.
    """
    elapsed = now.astimezone(datetime.UTC) - aware_at.astimezone(datetime.UTC)  # real hours, DST-safe
    reached = [h for h in BREACH_ALERT_HOURS if elapsed >= datetime.timedelta(hours=h)]
    return reached[-1] if reached else None


# Controller requests (D4, D7, D8): the terms and Art. 28(3) say "assist" and "inform immediately"
# without a figure; MIS commits to answer within this many calendar days (documented in docs/gdpr.md).
CONTROLLER_REQUEST_DAYS = 30


def controller_request_due_date(received_at: datetime.datetime) -> datetime.date:
    """D4/D7: the date MIS commits to answer a controller's instruction or assistance request by."""
    return business_today(received_at) + datetime.timedelta(days=CONTROLLER_REQUEST_DAYS)
