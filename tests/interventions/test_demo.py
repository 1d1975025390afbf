"""interventions/demo.py: tickets in every state, a breach, a call over 30 minutes, a preventive plan; idempotent."""
import datetime
import io

import pytest
import time_machine

from core import demo as core_demo
from interventions import demo
from interventions.choices import InterventionKind, InterventionStatus, SlaState, TicketStatus
from interventions.models import Intervention, PhoneCall, PreventivePlan, Ticket

pytestmark = pytest.mark.django_db


def _load(today):
    from contracts import demo as contracts_demo

    out = io.StringIO()
    for module in (core_demo, contracts_demo, demo):
        module.load(today=today, stdout=out)
    return out.getvalue()


@time_machine.travel(datetime.datetime(2026, 12, 2, 8, 0, tzinfo=datetime.UTC))
def test_demo_covers_every_state_and_runs_twice_without_change():
    today = datetime.date(2026, 12, 2)
    _load(today)
    counts = (Ticket.objects.count(), Intervention.objects.count(), PhoneCall.objects.count(),
              PreventivePlan.objects.count())
    _load(today)
    assert (Ticket.objects.count(), Intervention.objects.count(), PhoneCall.objects.count(),
            PreventivePlan.objects.count()) == counts
    statuses = set(Ticket.objects.values_list("status", flat=True))
    assert {TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.WAITING_CLIENT,
            TicketStatus.RESOLVED, TicketStatus.CLOSED} <= statuses
    assert Ticket.objects.filter(sla_state=SlaState.BREACHED).exists()
    call = PhoneCall.objects.get()
    assert call.duration > datetime.timedelta(minutes=30) and call.ticket is not None
    assert Intervention.objects.filter(ticket=call.ticket, status=InterventionStatus.PROPOSED).exists()
    assert Intervention.objects.filter(kind=InterventionKind.PREVENTIVE).count() == 1
