"""Nightly jobs of the contracts app (order band 100–199).

Order matters: contracts whose termination took effect are closed first, so
that the renewal (on the term date) and the revision (1 January) only see
running contracts; the reminders come last.
"""
from contracts import services
from core.nightly import nightly_job


@nightly_job(order=100, name="contracts.close_terminated")
def close_terminated(*, today):
    """CGV C3–C7, C9: close contracts whose last day has passed; leased equipment gets a restitution date."""
    return services.contracts_close_terminated(today=today)


@nightly_job(order=110, name="contracts.renewal")
def renewal(*, today):
    """CGV C2: tacit renewal on the term date, exactly once per period."""
    return services.contracts_renew_due(today=today)


@nightly_job(order=120, name="contracts.syntec_revision")
def syntec_revision(*, today):
    """CGV P3: revision of prices as of 1 January; any January date catches up a missed run."""
    if today.month != 1:
        return {"revised": 0}
    return services.contracts_revise(year=today.year)


@nightly_job(order=125, name="contracts.revision_letters")
def revision_letters(*, today):
    """CGV P3: the revision letter of each revised contract, once."""
    return services.revision_letters_send()


@nightly_job(order=130, name="contracts.notice_reminders")
def notice_reminders(*, today):
    """CGV C3: reminders before the notice deadline (CONTRACT_NOTICE_REMINDER_DAYS, default 60 and 15 days)."""
    return services.notice_reminders_send(today=today)
