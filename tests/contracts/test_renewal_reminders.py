"""CGV C2 tacit renewal by the nightly job, CGV C3 notice reminders, CGV C10 suspension."""
import datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType

from contracts import services
from contracts.choices import ContractStatus, SuspensionReason, TerminationKind
from contracts.exceptions import ContractError
from core.models import AuditLogEntry, OutboundEmail
from tests.contracts.conftest import contracts_nightly
from tests.factories.contracts import ContactFactory, ContractFactory

D = datetime.date


def contract_emails():
    return OutboundEmail.objects.filter(key__startswith="contracts.")


def test_c2_renewal_on_term_date_exactly_once(db):
    contract = ContractFactory()  # signed 2026-03-15, term 2027-12-31
    contracts_nightly(D(2027, 12, 30))
    contract.refresh_from_db()
    assert contract.current_period_end == D(2027, 12, 31)
    assert contracts_nightly(D(2027, 12, 31))["contracts.renewal"] == {"renewed": 1}
    contract.refresh_from_db()
    assert (contract.current_period_start, contract.current_period_end, contract.notice_deadline) == (
        D(2028, 1, 1), D(2028, 12, 31), D(2028, 9, 30))
    assert contract.initial_term_end == D(2027, 12, 31)
    # A second run for the same date, and the next day, change nothing.
    assert contracts_nightly(D(2027, 12, 31))["contracts.renewal"] == {"renewed": 0}
    assert contracts_nightly(D(2028, 1, 1))["contracts.renewal"] == {"renewed": 0}
    contract.refresh_from_db()
    assert contract.current_period_end == D(2028, 12, 31)
    assert AuditLogEntry.objects.filter(action="contracts.contract.renewed", object_id=str(contract.pk)).count() == 1


def test_c2_renewal_of_suspended_contract_but_not_draft_or_ended(db):
    suspended = ContractFactory(status=ContractStatus.SUSPENDED)
    draft = ContractFactory(status=ContractStatus.DRAFT)
    ended = ContractFactory(status=ContractStatus.ENDED)
    contracts_nightly(D(2027, 12, 31))
    for c in (suspended, draft, ended):
        c.refresh_from_db()
    assert suspended.current_period_end == D(2028, 12, 31)
    assert draft.current_period_end == ended.current_period_end == D(2027, 12, 31)


def test_c2_catch_up_after_outage(db):
    contract = ContractFactory()
    contracts_nightly(D(2029, 2, 3))  # nothing ran since 2027
    contract.refresh_from_db()
    assert (contract.current_period_start, contract.current_period_end) == (D(2029, 1, 1), D(2029, 12, 31))


@pytest.mark.parametrize("n", [5, 50])
def test_renewal_job_query_count_does_not_grow(db, django_assert_num_queries, n):
    ContractFactory.create_batch(n)
    ContentType.objects.clear_cache()
    # savepoint, SELECT … FOR UPDATE, one UPDATE for the term date, content type, INSERT audit, release
    with django_assert_num_queries(6):
        assert services.contracts_renew_due(today=D(2027, 12, 31)) == {"renewed": n}


def test_c3_reminders_60_and_15_days_before_deadline_once(db):
    contract = ContractFactory(reference="CT-RAPPEL")  # deadline 2027-09-30
    ContactFactory(client=contract.client, email="a@client.fr")
    ContactFactory(client=contract.client, email="b@client.fr")
    ContactFactory(client=contract.client, email="old@client.fr", is_active=False)
    contracts_nightly(D(2027, 7, 31))  # 61 days before
    assert not contract_emails().exists()
    contracts_nightly(D(2027, 8, 1))  # 60 days before
    contracts_nightly(D(2027, 8, 1))
    contracts_nightly(D(2027, 8, 2))
    first = contract_emails().get(key__startswith="contracts.notice_reminder:")
    assert first.key == f"contracts.notice_reminder:{contract.pk}:2027-09-30:60"
    assert first.to == ["a@client.fr", "b@client.fr"]
    assert "30/09/2027" in first.body and "31/12/2027" in first.body and "01/01/2028" in first.body
    staff = contract_emails().get(key="contracts.notice_reminders.staff:2027-08-01")
    assert "CT-RAPPEL" in staff.body
    contracts_nightly(D(2027, 9, 15))  # 15 days before
    contracts_nightly(D(2027, 9, 16))
    assert sorted(contract_emails().filter(key__startswith="contracts.notice_reminder:").values_list(
        "key", flat=True)) == [
        f"contracts.notice_reminder:{contract.pk}:2027-09-30:15",
        f"contracts.notice_reminder:{contract.pk}:2027-09-30:60",
    ]
    # After renewal, the next deadline (2028-09-30) gets its own reminders.
    contracts_nightly(D(2027, 12, 31))
    contracts_nightly(D(2028, 8, 1))
    assert contract_emails().filter(key=f"contracts.notice_reminder:{contract.pk}:2028-09-30:60").exists()


def test_c3_reminder_lead_times_are_configurable_and_skip_terminated(db, settings):
    settings.CONTRACT_NOTICE_REMINDER_DAYS = [30]
    contract = ContractFactory()
    noticed = ContractFactory()
    services.termination_record(actor=None, contract=noticed, kind=TerminationKind.AT_TERM,
                                letter_sent_on=D(2027, 6, 1))
    contracts_nightly(D(2027, 8, 1))
    assert not contract_emails().filter(key__startswith="contracts.notice_reminder:").exists()
    contracts_nightly(D(2027, 8, 31))
    assert list(contract_emails().filter(key__startswith="contracts.notice_reminder:").values_list("key", flat=True)) == [
        f"contracts.notice_reminder:{contract.pk}:2027-09-30:30"]


@time_machine.travel("2027-05-03 08:00:00+00:00", tick=False)
def test_c10_suspend_and_resume(db, staff_user):
    from django.utils import timezone

    contract = ContractFactory()
    ContactFactory(client=contract.client, email="gerant@client.fr")
    suspension = services.contract_suspend(
        actor=staff_user, contract=contract, reason=SuspensionReason.UNPAID, letter_sent_on=D(2027, 5, 2),
        letter_tracking_number="1A00001", now=timezone.now(),
    )
    contract.refresh_from_db()
    assert contract.status == ContractStatus.SUSPENDED
    mail = OutboundEmail.objects.get(key=f"contracts.suspension:{suspension.pk}")
    assert mail.to == ["gerant@client.fr"] and "02/05/2027" in mail.body
    with pytest.raises(ContractError, match="Seul un contrat actif"):
        services.contract_suspend(actor=staff_user, contract=contract, reason=SuspensionReason.BREACH,
                                  letter_sent_on=D(2027, 5, 2), now=timezone.now())
    services.contract_resume(actor=staff_user, contract=contract, now=timezone.now(),
                             resumption_note="Régularisation reçue.")
    contract.refresh_from_db()
    suspension.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    assert suspension.resumed_at == timezone.now()
    assert suspension.resumption_letter_sent_on == D(2027, 5, 3)
    with pytest.raises(ContractError, match="n'est pas suspendu"):
        services.contract_resume(actor=staff_user, contract=contract, now=timezone.now())
    actions = list(AuditLogEntry.objects.filter(object_id=str(contract.pk), action__startswith="contracts.contract.")
                   .order_by("pk").values_list("action", flat=True))
    assert actions == ["contracts.contract.suspended", "contracts.contract.resumed"]


def test_c7_availability_record_service_upserts_one_row_per_month(db, staff_user):
    contract = ContractFactory(availability_guarantee=Decimal("99.50"))
    services.availability_record(actor=staff_user, contract=contract, month=D(2027, 3, 17),
                                 availability=Decimal("99.1"))
    record = services.availability_record(actor=None, contract=contract, month=D(2027, 3, 1),
                                          availability="99.9", source="interventions")
    assert contract.availability_records.count() == 1
    assert (record.month, record.availability, record.source) == (D(2027, 3, 1), Decimal("99.9"), "interventions")
    for month in (4, 5, 6):
        services.availability_record(actor=None, contract=contract, month=D(2027, month, 1),
                                     availability=Decimal("99.49"))
    assert services.selectors.availability_guarantee_missed(contract=contract, until=D(2027, 7, 1)) is True
    assert services.selectors.availability_guarantee_missed(contract=contract, until=D(2027, 6, 30)) is False
