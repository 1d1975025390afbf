"""Terminations and their effects: CGV C3 (at term), C4 (early), C5 (amicable), C6 (for cause), C7 (availability), C9."""
import datetime
from decimal import Decimal

import pytest

from contracts import services, terms
from contracts.choices import (
    BillingFrequency,
    ContractStatus,
    EquipmentOwnership,
    TerminationKind,
    TerminationStatus,
)
from contracts.exceptions import ContractError
from tests.contracts.conftest import contracts_nightly
from tests.factories.contracts import (
    AvailabilityRecordFactory,
    ContractFactory,
    ContractLineFactory,
    EquipmentFactory,
)

D = datetime.date


def make_contract(frequency=BillingFrequency.MONTHLY, **kwargs):
    """Signed 2026-03-15: initial term to 2027-12-31, notice deadline 2027-09-30; 230.00 € HT a month."""
    contract = ContractFactory(billing_frequency=frequency, **kwargs)
    ContractLineFactory(contract=contract, quantity=Decimal("4"), unit_price=Decimal("35.00"))
    ContractLineFactory(contract=contract, quantity=Decimal("1"), unit_price=Decimal("90.00"))
    return contract


@pytest.mark.parametrize(
    ("sent", "effective"),
    [
        (D(2027, 9, 29), D(2027, 12, 31)),  # the day before the deadline
        (D(2027, 9, 30), D(2027, 12, 31)),  # on the deadline
        (D(2027, 10, 1), D(2028, 12, 31)),  # the day after: the following term
    ],
)
def test_c3_notice_at_term_day_before_on_and_after_deadline(db, sent, effective):
    contract = make_contract()
    t = services.termination_record(
        actor=None, contract=contract, kind=TerminationKind.AT_TERM, letter_sent_on=sent,
        letter_tracking_number="1A 234 567 8901 2",
    )
    assert t.effective_on == effective
    assert t.amount_due == Decimal("0.00")
    assert "30/09/2027" in t.explanation
    assert t.explanation.endswith(f"Le contrat prend fin le {effective:%d/%m/%Y} sans indemnité ; il n'est pas reconduit.")


def test_c3_notice_on_deadline_ends_contract_at_term_without_renewal(db):
    """CGV C2 + C3: a timely notice stops the renewal of 31 December; the contract is closed on 1 January."""
    contract = make_contract()
    EquipmentFactory(contract=contract)  # leased
    EquipmentFactory(contract=contract, ownership=EquipmentOwnership.OWNED)
    services.termination_record(actor=None, contract=contract, kind=TerminationKind.AT_TERM,
                                letter_sent_on=D(2027, 9, 30), requested_by="provider")
    contracts_nightly(D(2027, 12, 31))
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    assert contract.current_period_end == D(2027, 12, 31)  # not renewed
    contracts_nightly(D(2028, 1, 1))
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ENDED
    assert contract.end_date == D(2027, 12, 31)
    assert terms.non_solicitation_end(contract.end_date) == D(2029, 12, 31)  # CGV C12
    # CGV C9: only the leased item must come back, 15 days after the last day.
    leased, owned = contract.equipment.order_by("ownership")
    assert (leased.ownership, leased.restitution_due_on) == (EquipmentOwnership.LEASED, D(2028, 1, 15))
    assert owned.restitution_due_on is None


def test_c3_late_notice_renews_once_then_ends(db):
    contract = make_contract()
    services.termination_record(actor=None, contract=contract, kind=TerminationKind.AT_TERM,
                                letter_sent_on=D(2027, 10, 1))
    contracts_nightly(D(2027, 12, 31))
    contract.refresh_from_db()
    assert (contract.current_period_start, contract.current_period_end) == (D(2028, 1, 1), D(2028, 12, 31))
    contracts_nightly(D(2029, 1, 1))
    contract.refresh_from_db()
    assert (contract.status, contract.end_date) == (ContractStatus.ENDED, D(2028, 12, 31))


@pytest.mark.parametrize(
    ("frequency", "effective", "months", "c4", "c5"),
    [
        # 230.00 € a month; term 2027-12-31.
        (BillingFrequency.MONTHLY, D(2027, 3, 15), 9, Decimal("2070.00"), Decimal("1656.00")),  # Apr–Dec
        (BillingFrequency.QUARTERLY, D(2027, 5, 10), 6, Decimal("1380.00"), Decimal("1104.00")),  # Q2 invoiced
        (BillingFrequency.YEARLY, D(2026, 6, 10), 12, Decimal("2760.00"), Decimal("2208.00")),  # 2027 left
        (BillingFrequency.YEARLY, D(2027, 3, 15), 0, Decimal("0.00"), Decimal("0.00")),  # 2027 already invoiced
    ],
)
def test_c4_and_c5_amounts_by_billing_frequency(db, frequency, effective, months, c4, c5):
    """CGV C4: every instalment left until term; CGV C5: the same with 20 % off."""
    contract = make_contract(frequency)
    quote4 = services.termination_compute(contract=contract, kind=TerminationKind.EARLY_CLIENT,
                                          letter_sent_on=effective)
    quote5 = services.termination_compute(contract=contract, kind=TerminationKind.AMICABLE,
                                          letter_sent_on=effective)
    assert (quote4.monthly_amount, quote4.months_left, quote4.amount_due) == (Decimal("230.00"), months, c4)
    assert (quote5.months_left, quote5.discount_rate, quote5.amount_due) == (months, Decimal("20.00"), c5)
    assert quote4.effective_on == effective and quote4.term_end == D(2027, 12, 31)


def test_c5_amicable_rounds_half_up_to_the_cent(db):
    contract = ContractFactory()
    ContractLineFactory(contract=contract, quantity=Decimal("3"), unit_price=Decimal("41.15"))  # 123.45 a month
    t = services.termination_record(actor=None, contract=contract, kind=TerminationKind.AMICABLE,
                                    letter_sent_on=D(2027, 5, 20))
    # June–December = 7 × 123.45 = 864.15; −20 % = 691.32
    assert (t.months_left, t.amount_due) == (7, Decimal("691.32"))
    assert "864,15" in t.explanation and "691,32" in t.explanation
    assert t.billing_source_key == f"contracts.termination:{t.pk}"


def test_c4_recorded_then_closed_by_nightly_job(db):
    contract = make_contract()
    t = services.termination_record(actor=None, contract=contract, kind=TerminationKind.EARLY_CLIENT,
                                    letter_sent_on=D(2027, 3, 15))
    assert t.amount_due == Decimal("2070.00") and t.status == TerminationStatus.RECORDED
    contracts_nightly(D(2027, 3, 15))
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE  # 15 March is still a contract day
    contracts_nightly(D(2027, 3, 16))
    contracts_nightly(D(2027, 3, 16))
    contract.refresh_from_db()
    t.refresh_from_db()
    assert (contract.status, contract.end_date, t.status) == (
        ContractStatus.TERMINATED, D(2027, 3, 15), TerminationStatus.EFFECTIVE)


def test_c6_for_cause_only_after_30_days_of_formal_notice(db):
    contract = make_contract()
    with pytest.raises(ContractError, match="avant le 01/04/2027"):
        services.termination_record(actor=None, contract=contract, kind=TerminationKind.FOR_CAUSE,
                                    letter_sent_on=D(2027, 3, 31), formal_notice_sent_on=D(2027, 2, 27),
                                    formal_notice_received_on=D(2027, 3, 1))
    with pytest.raises(ContractError, match="mise en demeure"):
        services.termination_record(actor=None, contract=contract, kind=TerminationKind.FOR_CAUSE,
                                    letter_sent_on=D(2027, 4, 1))
    t = services.termination_record(actor=None, contract=contract, kind=TerminationKind.FOR_CAUSE,
                                    letter_sent_on=D(2027, 4, 1), formal_notice_received_on=D(2027, 3, 1))
    # May–December = 8 × 230.00
    assert (t.requested_by, t.effective_on, t.months_left, t.amount_due) == (
        "provider", D(2027, 4, 1), 8, Decimal("1840.00"))


def test_c7_allowed_after_3_missed_months_out_of_6(db):
    contract = make_contract(availability_guarantee=Decimal("99.00"))
    for month, value in [(1, "98.50"), (2, "99.50"), (3, "97.00"), (4, "99.90"), (5, "98.99")]:
        AvailabilityRecordFactory(contract=contract, month=D(2027, month, 1), availability=Decimal(value))
    # May is not over on 10 May: only January and March count.
    with pytest.raises(ContractError, match="3 mois sur 6"):
        services.termination_record(actor=None, contract=contract, kind=TerminationKind.AVAILABILITY,
                                    letter_sent_on=D(2027, 5, 10))
    t = services.termination_record(actor=None, contract=contract, kind=TerminationKind.AVAILABILITY,
                                    letter_sent_on=D(2027, 6, 10))
    assert (t.effective_on, t.amount_due) == (D(2027, 9, 10), Decimal("0.00"))
    assert "01/2027, 03/2027, 05/2027" in t.explanation


def test_c7_refused_when_missed_months_are_not_within_6_consecutive(db):
    contract = make_contract()
    for month in (1, 3, 7):  # Jan–Jun holds 2, Mar–Aug holds 2
        AvailabilityRecordFactory(contract=contract, month=D(2027, month, 1), availability=Decimal("95"))
    assert services.selectors.availability_window_missed(contract=contract, until=D(2027, 9, 1)) is None
    AvailabilityRecordFactory(contract=contract, month=D(2027, 8, 1), availability=Decimal("95"))
    assert services.selectors.availability_window_missed(contract=contract, until=D(2027, 9, 1)) == [
        D(2027, 3, 1), D(2027, 7, 1), D(2027, 8, 1)]


def test_one_pending_termination_and_withdrawal(db):
    contract = make_contract()
    t = services.termination_record(actor=None, contract=contract, kind=TerminationKind.AT_TERM,
                                    letter_sent_on=D(2027, 6, 1))
    with pytest.raises(ContractError, match="déjà enregistrée"):
        services.termination_record(actor=None, contract=contract, kind=TerminationKind.EARLY_CLIENT,
                                    letter_sent_on=D(2027, 6, 2))
    services.termination_withdraw(actor=None, termination=t)
    assert t.status == TerminationStatus.WITHDRAWN
    contracts_nightly(D(2027, 12, 31))
    contract.refresh_from_db()
    assert contract.current_period_end == D(2028, 12, 31)  # withdrawn: renewed (C2)


def test_termination_refused_on_ended_contract(db):
    contract = make_contract(status=ContractStatus.ENDED)
    with pytest.raises(ContractError, match="pas en cours"):
        services.termination_compute(contract=contract, kind=TerminationKind.EARLY_CLIENT,
                                     letter_sent_on=D(2027, 3, 1))


def test_equipment_returned_leaves_restitution_list(db, staff_user):
    from contracts.selectors import equipment_awaiting_restitution

    item = EquipmentFactory(restitution_due_on=D(2028, 1, 15))
    assert list(equipment_awaiting_restitution()) == [item]
    services.equipment_mark_returned(actor=staff_user, equipment=item, returned_on=D(2028, 1, 10))
    assert list(equipment_awaiting_restitution()) == []
