"""Phone support (S1), call-backs (K4), interventions (S4, S6), out-of-hours (S5), preventive visits (S3),
repairs (K5) and availability (C7)."""
import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing.models import Charge
from contracts.choices import ContractStatus
from contracts.models import AvailabilityRecord
from contracts.selectors import availability_guarantee_missed
from core.models import OutboundEmail
from interventions import services
from interventions.choices import (
    Category,
    Channel,
    InterventionKind,
    InterventionStatus,
    RateKind,
    Severity,
    SlaState,
    TicketStatus,
)
from interventions.exceptions import InterventionError
from interventions.models import Intervention, PhoneCall, PreventivePlan, Ticket
from tests.factories.contracts import ClientFactory, ContractFactory
from tests.factories.interventions import OutageFactory, OutOfHoursRateFactory, PreventivePlanFactory

PARIS = ZoneInfo("Europe/Paris")


def paris(*args):
    return datetime.datetime(*args, tzinfo=PARIS)


@pytest.fixture
def contract(db):
    return ContractFactory(client=ClientFactory(name="Boulangerie"))


@pytest.fixture
def rates(db):
    return {
        RateKind.WEEKDAY_EVENING: OutOfHoursRateFactory(kind=RateKind.WEEKDAY_EVENING, hourly_rate=Decimal("90.00")),
        RateKind.SATURDAY: OutOfHoursRateFactory(kind=RateKind.SATURDAY, hourly_rate=Decimal("120.00")),
        RateKind.SUNDAY_HOLIDAY: OutOfHoursRateFactory(kind=RateKind.SUNDAY_HOLIDAY, hourly_rate=Decimal("150.00")),
    }


def log_call(contract, start, minutes, **kw):
    return services.phone_call_log(
        client=contract.client, started_at=start, ended_at=start + datetime.timedelta(minutes=minutes),
        subject="Imprimante réseau", actor=None, now=start + datetime.timedelta(minutes=minutes), **kw,
    )


# --- S1 phone support ----------------------------------------------------------------------------


def test_s1_call_over_30_minutes_opens_a_ticket_with_an_appointment_proposal(contract):
    call = log_call(contract, paris(2026, 11, 30, 10), 31)
    assert call.is_covered
    ticket = call.ticket
    assert (ticket.channel, ticket.severity, ticket.opened_at) == (Channel.PHONE, Severity.MINOR, paris(2026, 11, 30, 10, 31))
    assert ticket.deadline_at == paris(2026, 12, 2, 16, 31)
    proposal = Intervention.objects.get(ticket=ticket)
    assert (proposal.status, proposal.kind) == (InterventionStatus.PROPOSED, InterventionKind.ONSITE)
    assert proposal.scheduled_start == paris(2026, 12, 1, 9)  # next business morning


def test_s1_call_of_exactly_30_minutes_schedules_nothing(contract):
    call = log_call(contract, paris(2026, 11, 30, 10), 30)
    assert call.ticket is None
    assert not Ticket.objects.exists() and not Intervention.objects.exists()


def test_s1_call_outside_support_hours_is_not_covered(contract):
    call = log_call(contract, paris(2026, 11, 30, 18, 5), 45)
    assert not call.is_covered
    assert call.ticket is None
    assert not log_call(contract, paris(2026, 7, 14, 10), 5).is_covered  # national holiday


def test_s1_proposal_comes_before_a_4_hour_deadline(db):
    contract = ContractFactory(has_severity1_4h=True)
    call = log_call(contract, paris(2026, 11, 30, 10), 45, severity=Severity.BLOCKING)
    assert call.ticket.deadline_at == paris(2026, 11, 30, 14, 45)
    assert Intervention.objects.get().scheduled_start == paris(2026, 11, 30, 11, 45)


def test_k4_call_back_due_within_24_business_hours_and_alerted_once(db):
    contract = ContractFactory(has_backup=True)
    call = log_call(contract, paris(2026, 11, 27, 17), 10, answered_immediately=False)
    assert call.callback_due_at == paris(2026, 12, 2, 14)
    assert call.callback_state == SlaState.ON_TRACK
    assert services.sla_scan(now=paris(2026, 12, 2, 14))["callbacks_overdue"] == 1
    assert services.sla_scan(now=paris(2026, 12, 2, 14, 15))["callbacks_overdue"] == 0
    assert OutboundEmail.objects.filter(subject__startswith="[K4]").count() == 1
    call = services.phone_call_called_back(call=call, actor=None, now=paris(2026, 12, 3, 9))
    assert call.callback_state == SlaState.MISSED


def test_k4_no_call_back_deadline_without_the_backup_option(contract):
    call = log_call(contract, paris(2026, 11, 27, 17), 10, answered_immediately=False)
    assert call.callback_due_at is None


# --- S4 remote prerequisites, S6 coverage, C10 suspension ----------------------------------------------


def test_s4_remote_maintenance_needs_its_prerequisites(contract):
    ticket = services.ticket_open(client=contract.client, severity=2, category=Category.OFFICE, title="Outlook",
                                  channel=Channel.EMAIL, actor=None, now=paris(2026, 11, 30, 10))
    remote = services.intervention_schedule(client=contract.client, ticket=ticket, kind=InterventionKind.REMOTE,
                                            scheduled_start=paris(2026, 11, 30, 11), actor=None,
                                            now=paris(2026, 11, 30, 10))
    with pytest.raises(InterventionError) as exc:
        services.intervention_start(intervention=remote, actor=None, now=paris(2026, 11, 30, 11),
                                    workstations_reachable=True, internet_access=True, firewall_open=False)
    assert exc.value.code == "remote_prerequisites"
    started = services.intervention_start(intervention=remote, actor=None, now=paris(2026, 11, 30, 11),
                                          workstations_reachable=True, internet_access=True, firewall_open=True)
    assert started.status == InterventionStatus.IN_PROGRESS
    ticket.refresh_from_db()
    assert (ticket.responded_at, ticket.sla_state, ticket.status) == (
        paris(2026, 11, 30, 11), SlaState.MET, TicketStatus.IN_PROGRESS)


def test_s6_excluded_category_needs_a_signed_quote_before_work(contract):
    ticket = services.ticket_open(client=contract.client, severity=2, category=Category.CONSUMABLES,
                                  title="Cartouche d'encre", channel=Channel.PHONE, actor=None,
                                  now=paris(2026, 11, 30, 10))
    assert not ticket.is_covered
    visit = services.intervention_schedule(client=contract.client, ticket=ticket, kind=InterventionKind.ONSITE,
                                           scheduled_start=paris(2026, 12, 1, 9), actor=None,
                                           now=paris(2026, 11, 30, 10))
    with pytest.raises(InterventionError) as exc:
        services.intervention_start(intervention=visit, actor=None, now=paris(2026, 12, 1, 9))
    assert exc.value.code == "quote_required"
    with pytest.raises(InterventionError):
        services.time_entry_add(intervention=visit, started_at=paris(2026, 12, 1, 9), ended_at=paris(2026, 12, 1, 10),
                                actor=None, now=paris(2026, 12, 1, 10))


def test_c10_suspended_contract_refuses_non_urgent_interventions(contract):
    ticket = services.ticket_open(client=contract.client, severity=2, category=Category.HARDWARE, title="PC lent",
                                  channel=Channel.PHONE, actor=None, now=paris(2026, 11, 30, 10))
    visit = services.intervention_schedule(client=contract.client, ticket=ticket, kind=InterventionKind.ONSITE,
                                           scheduled_start=paris(2026, 12, 1, 9), actor=None,
                                           now=paris(2026, 11, 30, 10))
    contract.status = ContractStatus.SUSPENDED
    contract.save()
    with pytest.raises(InterventionError) as exc:
        services.intervention_start(intervention=visit, actor=None, now=paris(2026, 12, 1, 9))
    assert exc.value.code == "contract_suspended"


# --- S5 out-of-hours split and charges ------------------------------------------------------------------


def _visit(contract):
    return services.intervention_schedule(client=contract.client, kind=InterventionKind.ONSITE,
                                          scheduled_start=paris(2026, 11, 30, 17), actor=None,
                                          now=paris(2026, 11, 30, 9))


def test_s5_out_of_hours_split_and_charge(contract, rates):
    entry = services.time_entry_add(intervention=_visit(contract), started_at=paris(2026, 11, 30, 17),
                                    ended_at=paris(2026, 11, 30, 20), out_of_hours_requested=True,
                                    actor=None, now=paris(2026, 11, 30, 20))
    assert (entry.covered_minutes, entry.out_of_hours_minutes) == (60, 120)
    charge = Charge.objects.get()
    assert (charge.quantity, charge.unit_price, charge.service_date) == (
        Decimal("2.00"), Decimal("90.00"), datetime.date(2026, 11, 30))
    assert charge.source_key == f"interventions.time_entry.{entry.pk}.weekday"
    assert charge.client == contract.client and charge.contract == contract


def test_s5_saturday_and_night_into_sunday_use_their_rates(contract, rates):
    entry = services.time_entry_add(intervention=_visit(contract), started_at=paris(2026, 12, 5, 22, 30),
                                    ended_at=paris(2026, 12, 6, 0, 15), out_of_hours_requested=True,
                                    actor=None, now=paris(2026, 12, 6, 1))
    assert (entry.covered_minutes, entry.out_of_hours_minutes) == (0, 105)
    charges = {c.source_key.rsplit(".", 1)[1]: c for c in Charge.objects.all()}
    assert charges["saturday"].quantity == Decimal("1.50") and charges["saturday"].unit_price == Decimal("120.00")
    assert charges["sunday_holiday"].quantity == Decimal("0.25")
    assert charges["sunday_holiday"].unit_price == Decimal("150.00")


def test_s5_holiday_is_billed_at_the_sunday_rate(contract, rates):
    services.time_entry_add(intervention=_visit(contract), started_at=paris(2026, 7, 14, 10),
                            ended_at=paris(2026, 7, 14, 10, 40), out_of_hours_requested=True,
                            actor=None, now=paris(2026, 7, 14, 11))
    charge = Charge.objects.get()
    assert (charge.quantity, charge.unit_price) == (Decimal("0.67"), Decimal("150.00"))


def test_s5_late_work_not_requested_by_the_client_is_not_billed(contract, rates):
    entry = services.time_entry_add(intervention=_visit(contract), started_at=paris(2026, 11, 30, 17),
                                    ended_at=paris(2026, 11, 30, 19), actor=None, now=paris(2026, 11, 30, 19))
    assert (entry.covered_minutes, entry.out_of_hours_minutes) == (60, 60)
    assert not Charge.objects.exists()


def test_s5_missing_rate_is_explained(contract):
    with pytest.raises(InterventionError) as exc:
        services.time_entry_add(intervention=_visit(contract), started_at=paris(2026, 11, 30, 17),
                                ended_at=paris(2026, 11, 30, 20), out_of_hours_requested=True,
                                actor=None, now=paris(2026, 11, 30, 20))
    assert exc.value.code == "rate_missing"


# --- S3 preventive visits -----------------------------------------------------------------------------


def test_s3_nightly_job_plans_visits_once(contract):
    from core.nightly import run_nightly

    PreventivePlanFactory(contract=contract, next_visit_on=datetime.date(2026, 12, 5), frequency_months=3)
    for _ in range(2):
        run_nightly(today=datetime.date(2026, 11, 30), only=["interventions.preventive_visits"])
    visit = Intervention.objects.get()
    assert (visit.kind, visit.due_on) == (InterventionKind.PREVENTIVE, datetime.date(2026, 12, 5))
    assert visit.scheduled_start == paris(2026, 12, 7, 9)  # Saturday -> Monday 9:00
    assert PreventivePlan.objects.get().next_visit_on == datetime.date(2027, 3, 5)


def test_s3_no_visit_for_a_suspended_contract(contract):
    contract.status = ContractStatus.SUSPENDED
    contract.save()
    PreventivePlanFactory(contract=contract, next_visit_on=datetime.date(2026, 12, 5))
    assert services.preventive_visits_generate(today=datetime.date(2026, 11, 30)) == {"plans": 0, "visits": 0}


@pytest.mark.parametrize("rows", [5, 40])  # 40: SQLite's 999 parameters hold one INSERT of 40 visits
def test_s3_job_query_count_does_not_grow(rows, django_assert_num_queries, contract):
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.get_for_model(PreventivePlan)  # cached, as in a running process
    PreventivePlanFactory.create_batch(rows, contract=contract, next_visit_on=datetime.date(2026, 12, 1))
    # savepoint, SELECT … FOR UPDATE plans, INSERT visits, UPDATE plans (bulk), INSERT audit, release
    with django_assert_num_queries(6):
        result = services.preventive_visits_generate(today=datetime.date(2026, 11, 30))
    assert result == {"plans": rows, "visits": rows}


def test_s3_visit_report_checklist(contract):
    plan = PreventivePlanFactory(contract=contract, next_visit_on=datetime.date(2026, 12, 1))
    services.preventive_visits_generate(today=datetime.date(2026, 11, 30))
    visit = plan.visits.get()
    report = services.visit_report_submit(
        intervention=visit, actor=None, now=paris(2026, 12, 1, 11), antivirus_event_logs_checked=True,
        os_updates_done=True, workstation_health_checked=True, user_advice="Verrouiller la session",
        network_performance="Débit 95 Mb/s", findings="Disque du serveur à 92 %", weakness_found=True,
    )
    visit.refresh_from_db()
    assert visit.status == InterventionStatus.DONE
    assert report.weakness_found and report.submitted_at == paris(2026, 12, 1, 11)


# --- K5 repairs of the backup hardware ----------------------------------------------------------------


def test_k5_repair_due_36_hours_after_the_written_request(db):
    contract = ContractFactory(has_backup=True)
    request = services.repair_request_open(contract=contract, requested_at=paris(2026, 11, 30, 10), actor=None,
                                           now=paris(2026, 11, 30, 10), description="NAS en panne")
    assert request.due_at == paris(2026, 12, 1, 22)
    assert request.risk_at == paris(2026, 12, 1, 13)
    assert services.sla_scan(now=paris(2026, 12, 1, 13))["repairs_at_risk"] == 1
    assert services.sla_scan(now=paris(2026, 12, 1, 22))["repairs_overdue"] == 1
    assert services.sla_scan(now=paris(2026, 12, 1, 22))["repairs_overdue"] == 0
    assert OutboundEmail.objects.filter(subject__startswith="[K5]").count() == 2


def test_k5_only_with_the_backup_option(contract):
    with pytest.raises(InterventionError):
        services.repair_request_open(contract=contract, requested_at=paris(2026, 11, 30, 10), actor=None,
                                     now=paris(2026, 11, 30, 10))


# --- C7 availability -------------------------------------------------------------------------------------


def test_c7_monthly_availability_from_outages(contract):
    OutageFactory(contract=contract, started_at=paris(2026, 6, 1, 10), ended_at=paris(2026, 6, 1, 20))
    OutageFactory(contract=contract, started_at=paris(2026, 6, 1, 15), ended_at=paris(2026, 6, 1, 16))  # overlaps
    OutageFactory(contract=contract, started_at=paris(2026, 6, 2, 1), ended_at=paris(2026, 6, 2, 5),
                  is_planned_maintenance=True)
    OutageFactory(contract=contract, started_at=paris(2026, 5, 31, 23), ended_at=paris(2026, 6, 1, 1))  # 1 h in June
    # June: 720 h, 11 h down -> 98.472 %
    assert services.availability_compute(contract=contract, month=datetime.date(2026, 6, 1)) == Decimal("98.472")


def test_c7_guarantee_missed_3_of_6_months_is_detected(db):
    contract = ContractFactory(signature_date=datetime.date(2025, 6, 2), availability_guarantee=Decimal("99.00"))
    for month in (2, 4, 6):  # 10 h down: below 99 % in each of these months
        OutageFactory(contract=contract, started_at=paris(2026, month, 3, 8), ended_at=paris(2026, month, 3, 18))
    OutageFactory(contract=contract, started_at=paris(2026, 3, 3, 8), ended_at=paris(2026, 3, 3, 9))  # 1 h: met
    for month in range(1, 7):
        services.availability_month_close(month=datetime.date(2026, month, 1))
    assert AvailabilityRecord.objects.filter(contract=contract).count() == 4
    assert AvailabilityRecord.objects.get(contract=contract, month=datetime.date(2026, 2, 1)).availability == Decimal(
        "98.512")
    assert not availability_guarantee_missed(contract=contract, until=datetime.date(2026, 6, 1))
    assert availability_guarantee_missed(contract=contract, until=datetime.date(2026, 7, 1))
    assert OutboundEmail.objects.filter(subject__startswith="[C7]").count() == 1
    # Re-run (nightly recompute): nothing new.
    services.availability_month_close(month=datetime.date(2026, 6, 1))
    assert OutboundEmail.objects.filter(subject__startswith="[C7]").count() == 1


def test_phone_call_rows(contract):
    log_call(contract, paris(2026, 11, 30, 10), 5)
    assert PhoneCall.objects.count() == 1


# --- S6 quotes from billing --------------------------------------------------------------------------


def test_s6_work_starts_once_the_quote_is_signed(contract, rates):
    from billing.models import Quote

    ticket = services.ticket_open(client=contract.client, severity=2, category=Category.SOFTWARE_BY_OTHERS,
                                  title="Jeu installé par un tiers", channel=Channel.PHONE, actor=None,
                                  now=paris(2026, 11, 30, 10))
    quote = services.ticket_quote_start(ticket=ticket, actor=None, lines=[
        {"description": "Désinstallation et nettoyage", "quantity": Decimal("1"), "unit_price": Decimal("65.00")}])
    assert quote.client == contract.client and quote.total_ht == Decimal("65.00")
    ticket.refresh_from_db()
    assert ticket.quote == quote
    visit = services.intervention_schedule(client=contract.client, ticket=ticket, kind=InterventionKind.ONSITE,
                                           scheduled_start=paris(2026, 12, 1, 9), actor=None,
                                           now=paris(2026, 11, 30, 10))
    with pytest.raises(InterventionError):  # a draft quote is not an order yet (B5)
        services.intervention_start(intervention=visit, actor=None, now=paris(2026, 12, 1, 9))
    Quote.objects.filter(pk=quote.pk).update(status="ordered")
    started = services.intervention_start(intervention=visit, actor=None, now=paris(2026, 12, 1, 9))
    assert started.status == InterventionStatus.IN_PROGRESS


def test_s3_weakness_found_starts_an_extra_coverage_quote(contract):
    plan = PreventivePlanFactory(contract=contract, next_visit_on=datetime.date(2026, 12, 1))
    services.preventive_visits_generate(today=datetime.date(2026, 11, 30))
    report = services.visit_report_submit(
        intervention=plan.visits.get(), actor=None, now=paris(2026, 12, 1, 11), antivirus_event_logs_checked=True,
        os_updates_done=True, workstation_health_checked=True, weakness_found=True, findings="Onduleur HS")
    quote = services.visit_weakness_quote(report=report, actor=None, lines=[
        {"description": "Contrat de prise en charge onduleur (12 mois)", "unit_price": Decimal("120.00")}])
    report.refresh_from_db()
    assert report.extra_coverage_quote == quote and quote.contract == contract


def test_k5_repair_quote_is_linked(db):
    contract = ContractFactory(has_backup=True)
    request = services.repair_request_open(contract=contract, requested_at=paris(2026, 11, 30, 10), actor=None,
                                           now=paris(2026, 11, 30, 10))
    quote = services.repair_request_quote(request=request, actor=None, lines=[
        {"description": "Disque NAS 4 To", "unit_price": Decimal("180.00")}])
    request = services.repair_request_done(request=request, actor=None, now=paris(2026, 12, 1, 16))
    assert request.quote == quote and request.sla_state == SlaState.MET
