"""Tickets and their intervention deadline (CGV S2), pauses (S2, C8), suspension (C10) and the 15-minute scan."""
import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from contracts.choices import ContractStatus, HolidaySubdivision
from contracts.models import ForceMajeureEvent
from core.models import OutboundEmail
from interventions import services
from interventions.choices import Category, Channel, Severity, SlaState, TicketStatus
from interventions.exceptions import InterventionError
from interventions.models import Ticket
from tests.factories.contracts import ClientFactory, ContractFactory
from tests.factories.interventions import TicketFactory

PARIS = ZoneInfo("Europe/Paris")
UTC = datetime.UTC


def paris(*args):
    return datetime.datetime(*args, tzinfo=PARIS)


@pytest.fixture
def contract_option(db):
    return ContractFactory(client=ClientFactory(name="Option 4 h"), has_severity1_4h=True)


@pytest.fixture
def contract_plain(db):
    return ContractFactory(client=ClientFactory(name="Sans option"))


@pytest.fixture
def contract_moselle(db):
    client = ClientFactory(name="Metz", holiday_subdivision=HolidaySubdivision.MOSELLE)
    return ContractFactory(client=client, has_severity1_4h=True)


def open_ticket(contract, now, severity=Severity.BLOCKING, **kw):
    return services.ticket_open(
        client=contract.client, severity=severity, category=kw.pop("category", Category.HARDWARE),
        title="Serveur bloqué", channel=Channel.PHONE, actor=None, now=now, **kw,
    )


# --- deadlines stored at creation (S2) ------------------------------------------------------------


def test_s2_severity1_friday_17h_with_4h_option_is_due_monday_noon(contract_option):
    ticket = open_ticket(contract_option, paris(2026, 11, 27, 17))
    assert ticket.sla_hours == 4
    assert ticket.deadline_at == paris(2026, 11, 30, 12)
    assert ticket.risk_at == paris(2026, 11, 30, 11)  # 3 of 4 hours
    assert Ticket.objects.get().deadline_at == paris(2026, 11, 30, 12)


def test_s2_severity1_friday_17h_without_option_is_due_wednesday_14h(contract_plain):
    ticket = open_ticket(contract_plain, paris(2026, 11, 27, 17))
    assert ticket.sla_hours == 24
    assert ticket.deadline_at == paris(2026, 12, 2, 14)
    assert ticket.risk_at == paris(2026, 12, 1, 17)  # 18 business hours


def test_s2_severity2_gets_24_hours_even_with_the_option(contract_option):
    ticket = open_ticket(contract_option, paris(2026, 11, 27, 17), severity=Severity.MINOR)
    assert ticket.deadline_at == paris(2026, 12, 2, 14)


def test_s2_ticket_before_easter_monday(contract_option):
    assert open_ticket(contract_option, paris(2026, 4, 3, 17)).deadline_at == paris(2026, 4, 7, 12)


def test_s2_ticket_before_ascension(contract_option):
    assert open_ticket(contract_option, paris(2026, 5, 13, 17)).deadline_at == paris(2026, 5, 15, 12)


def test_s2_ticket_before_14_july(contract_option):
    assert open_ticket(contract_option, paris(2026, 7, 13, 17)).deadline_at == paris(2026, 7, 15, 12)


def test_s2_good_friday_is_a_holiday_for_a_moselle_client_only(contract_option, contract_moselle):
    thursday = paris(2026, 4, 2, 17)
    assert open_ticket(contract_option, thursday).deadline_at == paris(2026, 4, 3, 12)
    assert open_ticket(contract_moselle, thursday).deadline_at == paris(2026, 4, 7, 12)


def test_s2_ticket_across_october_dst_change(contract_plain):
    ticket = open_ticket(contract_plain, paris(2026, 10, 23, 17), severity=Severity.MINOR)
    assert ticket.deadline_at == datetime.datetime(2026, 10, 28, 13, tzinfo=UTC)  # 14:00 CET
    assert ticket.risk_at == datetime.datetime(2026, 10, 27, 16, tzinfo=UTC)  # 17:00 CET


def test_s2_severity_change_recomputes_the_deadline(contract_option):
    ticket = open_ticket(contract_option, paris(2026, 11, 30, 10), severity=Severity.MINOR)
    assert ticket.deadline_at == paris(2026, 12, 2, 16)
    ticket = services.ticket_change_severity(ticket=ticket, severity=Severity.BLOCKING, actor=None,
                                             now=paris(2026, 11, 30, 11))
    assert ticket.deadline_at == paris(2026, 11, 30, 14)
    assert Ticket.objects.get().sla_hours == 4


def test_ticket_open_alerts_staff_once(contract_plain):
    ticket = open_ticket(contract_plain, paris(2026, 11, 30, 10))
    email = OutboundEmail.objects.get()
    assert email.key == f"interventions.ticket.{ticket.pk}.opened"
    assert "02/12/2026 16:00" in email.body


# --- pauses (S2 waiting on the client, C8 force majeure) -------------------------------------------


def test_s2_waiting_on_the_client_moves_the_deadline_by_the_paused_business_time(contract_plain):
    ticket = open_ticket(contract_plain, paris(2026, 11, 30, 10), severity=Severity.MINOR)
    assert ticket.deadline_at == paris(2026, 12, 2, 16)
    services.ticket_wait_on_client(ticket=ticket, actor=None, now=paris(2026, 12, 1, 9), comment="Mot de passe ?")
    ticket = services.ticket_resume(ticket=ticket, actor=None, now=paris(2026, 12, 1, 14))
    assert ticket.deadline_at == paris(2026, 12, 3, 12)  # + 5 business hours
    assert ticket.status == TicketStatus.NEW
    assert ticket.pauses.get().ended_at == paris(2026, 12, 1, 14)


def test_c8_force_majeure_covering_the_client_moves_the_deadline(contract_plain, contract_option):
    ticket = open_ticket(contract_plain, paris(2026, 11, 30, 10), severity=Severity.MINOR)
    other = open_ticket(contract_option, paris(2026, 11, 30, 10), severity=Severity.MINOR)
    event = ForceMajeureEvent.objects.create(description="Inondation", starts_at=paris(2026, 12, 1, 9))
    event.clients.add(contract_plain.client)
    # While the event is open, the client's clock is stopped: no flag even past the old deadline.
    services.sla_scan(now=paris(2026, 12, 2, 17))
    ticket.refresh_from_db()
    assert ticket.sla_state == SlaState.ON_TRACK
    other.refresh_from_db()
    assert other.sla_state == SlaState.BREACHED
    event.ends_at = paris(2026, 12, 1, 14)
    event.save()
    result = services.sla_scan(now=paris(2026, 12, 1, 15))
    assert result["force_majeure_moved"] == 1
    ticket.refresh_from_db()
    assert ticket.deadline_at == paris(2026, 12, 3, 12)
    # Applied once: a second scan moves nothing more.
    assert services.sla_scan(now=paris(2026, 12, 1, 15))["force_majeure_moved"] == 0


def test_c8_ticket_opened_during_an_event_of_all_clients(contract_plain):
    event = ForceMajeureEvent.objects.create(description="Grève des télécoms", covers_all_clients=True,
                                             starts_at=paris(2026, 11, 30, 12))
    ticket = open_ticket(contract_plain, paris(2026, 11, 30, 13), severity=Severity.MINOR)
    assert ticket.deadline_at == paris(2026, 12, 3, 10)
    event.ends_at = paris(2026, 11, 30, 16)
    event.save()
    services.sla_scan(now=paris(2026, 11, 30, 16, 15))
    ticket.refresh_from_db()
    assert ticket.deadline_at == paris(2026, 12, 3, 13)  # 3 business hours later


# --- suspension (C10, B3) -------------------------------------------------------------------------


def test_c10_suspended_contract_refuses_non_urgent_ticket_with_an_explanation(contract_plain):
    contract_plain.status = ContractStatus.SUSPENDED
    contract_plain.save()
    with pytest.raises(InterventionError) as exc:
        open_ticket(contract_plain, paris(2026, 11, 30, 10), severity=Severity.MINOR)
    assert "suspendu" in exc.value.message and "sévérité 1" in exc.value.message
    assert exc.value.code == "contract_suspended"
    urgent = open_ticket(contract_plain, paris(2026, 11, 30, 10), severity=Severity.BLOCKING)
    assert urgent.pk
    assert "suspendu" in services.suspension_notice(urgent.contract)


# --- the 15-minute scan ----------------------------------------------------------------------------


def test_s2_scan_twice_alerts_once_per_state(contract_plain):
    ticket = open_ticket(contract_plain, paris(2026, 11, 30, 10), severity=Severity.MINOR)
    alerts = OutboundEmail.objects.filter(subject__startswith="[SLA]")
    assert services.sla_scan(now=paris(2026, 12, 2, 9))["at_risk"] == 0
    first = services.sla_scan(now=paris(2026, 12, 2, 10))  # risk_at = Wed 9:00... 18 h after Mon 10:00
    second = services.sla_scan(now=paris(2026, 12, 2, 10))
    assert (first["at_risk"], second["at_risk"]) == (1, 0)
    assert alerts.count() == 1
    ticket.refresh_from_db()
    assert ticket.sla_state == SlaState.AT_RISK
    assert services.sla_scan(now=paris(2026, 12, 2, 16))["breached"] == 1
    assert services.sla_scan(now=paris(2026, 12, 2, 16, 15))["breached"] == 0
    assert sorted(alerts.values_list("subject", flat=True)) == [
        "[SLA] 1 ticket(s) hors délai d'intervention (CGV S2)",
        "[SLA] 1 ticket(s) à risque : 75 % du délai consommé (CGV S2)",
    ]


def test_s2_scan_straight_to_breach_alerts_only_the_breach(contract_plain):
    open_ticket(contract_plain, paris(2026, 11, 30, 10), severity=Severity.MINOR)
    result = services.sla_scan(now=paris(2026, 12, 10, 10))
    assert (result["breached"], result["at_risk"]) == (1, 0)
    assert OutboundEmail.objects.filter(subject__startswith="[SLA]").count() == 1


def test_s2_nightly_job_runs_the_scan(contract_plain):
    from core.nightly import run_nightly

    open_ticket(contract_plain, paris(2026, 11, 30, 10), severity=Severity.MINOR)
    with time_machine.travel(paris(2026, 12, 5, 1, 30)):
        results = run_nightly(today=datetime.date(2026, 12, 5), only=["interventions.sla_scan"])
    assert results[0]["status"] == "ok" and results[0]["result"]["breached"] == 1
    assert Ticket.objects.get().sla_state == SlaState.BREACHED


@pytest.mark.parametrize("rows", [5, 50])
def test_scan_query_count_does_not_grow_with_rows(rows, django_assert_num_queries, contract_plain):
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.get_for_model(Ticket)  # cached, as in a running process
    TicketFactory.create_batch(rows, client=contract_plain.client, contract=contract_plain)
    # 1 applied force-majeure ends, 2 ended events, 3 open events (no client prefetch: none open),
    # 4 breach UPDATE, 5 claimed rows, 6 audit bulk INSERT, 7 e-mail key check, 8 savepoint,
    # 9 e-mail INSERT, 10 release, 11 at-risk UPDATE, 12 call-backs UPDATE, 13-14 the two repair UPDATEs.
    with django_assert_num_queries(14):
        result = services.sla_scan(now=paris(2026, 12, 10, 10))
    assert result["breached"] == rows


def test_resolving_stops_the_clock(contract_plain):
    ticket = open_ticket(contract_plain, paris(2026, 11, 30, 10), severity=Severity.MINOR)
    ticket = services.ticket_resolve(ticket=ticket, actor=None, now=paris(2026, 12, 1, 10), comment="Réglé")
    assert (ticket.status, ticket.sla_state) == (TicketStatus.RESOLVED, SlaState.MET)
    late = open_ticket(contract_plain, paris(2026, 11, 30, 10), severity=Severity.MINOR)
    late = services.ticket_resolve(ticket=late, actor=None, now=paris(2026, 12, 3, 10))
    assert late.sla_state == SlaState.MISSED


def test_ticket_refuses_a_site_of_another_client(contract_plain, contract_option):
    from tests.factories.contracts import SiteFactory

    with pytest.raises(InterventionError):
        open_ticket(contract_plain, paris(2026, 11, 30, 10), site=SiteFactory(client=contract_option.client))
