"""SLA arithmetic of the interventions app, on top of ``core.business_time`` (pure functions, no queries).

CGV S2: the intervention delay is 24 business hours, or 4 for a severity-1
(blocking) ticket when the contract has the option. The clock stops while the
ticket waits on the client and during force-majeure events covering the client
(C8); the deadline moves later by the business time paused. A ticket is *at
risk* once 75 % of its budget is used.
"""
import datetime

from core.business_time import Interval, business_add
from interventions.choices import Severity, SlaState

DEFAULT_HOURS = 24  # CGV S2, both severities by default
OPTION_HOURS = 4  # CGV S2, severity 1 with the option
AT_RISK_SHARE = (3, 4)  # 75 % of the budget
K5_REPAIR_DELAY = datetime.timedelta(hours=36)  # K5: calendar hours ("36 heures", not "ouvrables")


def sla_hours(*, contract, severity: int) -> int:
    """CGV S2: the intervention delay in business hours for a severity under a contract."""
    if severity == Severity.BLOCKING and contract is not None and contract.has_severity1_4h:
        return OPTION_HOURS
    return DEFAULT_HOURS


def clip_open(periods, now: datetime.datetime) -> list[Interval]:
    """Pauses with an open end (``None``) end at ``now`` for the computation."""
    return [(start, end or now) for start, end in periods if (end or now) > start]


def sla_times(
    *, opened_at: datetime.datetime, hours: int, subdivision: str, pauses: list[Interval]
) -> tuple[datetime.datetime, datetime.datetime]:
    """``(risk_at, deadline_at)``: 75 % and 100 % of the budget, pauses excluded."""
    budget = datetime.timedelta(hours=hours)
    deadline = business_add(opened_at, budget, subdivision=subdivision, pauses=pauses)
    risk = business_add(
        opened_at, budget * AT_RISK_SHARE[0] / AT_RISK_SHARE[1], subdivision=subdivision, pauses=pauses
    )
    return risk, deadline


def restate(*, state: str, risk_at, deadline_at, now) -> str:
    """The SLA state after the deadline moved (no alert here: the scan alerts on transitions).

    A later deadline can bring an at-risk or breached clock back; a clock that
    became at risk or breached is left for the scan, which alerts.
    """
    if state not in (SlaState.ON_TRACK, SlaState.AT_RISK, SlaState.BREACHED):
        return state
    if now < risk_at:
        return SlaState.ON_TRACK
    if now < deadline_at:
        return SlaState.AT_RISK if state in (SlaState.AT_RISK, SlaState.BREACHED) else SlaState.ON_TRACK
    return state


def outcome(*, deadline_at, at) -> str:
    """When the clock stops: was the deadline met?"""
    return SlaState.MET if at <= deadline_at else SlaState.MISSED
