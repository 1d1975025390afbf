"""CGV C1, C2, C3, C11, C12 date arithmetic, stored on the contract at signature (contract_activate)."""
import datetime
from decimal import Decimal

import pytest

from contracts import services, terms
from contracts.choices import ContractStatus
from tests.factories.contracts import ClientFactory

D = datetime.date


@pytest.mark.parametrize(
    ("signed", "term_end", "deadline"),
    [
        (D(2026, 1, 1), D(2027, 12, 31), D(2027, 9, 30)),  # CGV C1: signed on 1 January still runs to N+1
        (D(2026, 3, 15), D(2027, 12, 31), D(2027, 9, 30)),  # CGV C1 example
        (D(2026, 12, 31), D(2027, 12, 31), D(2027, 9, 30)),  # CGV C1: signed on 31 December, one year and a day
        (D(2028, 2, 29), D(2029, 12, 31), D(2029, 9, 30)),  # leap day
    ],
)
def test_activation_stores_c1_term_and_c3_deadline(db, signed, term_end, deadline):
    """CGV C1 + C3: activation stores initial term end, current period and notice deadline."""
    contract = services.contract_create(
        actor=None, client=ClientFactory(), signature_date=signed, start_date=signed,
        lines=[{"description": "Maintenance", "quantity": Decimal("1"), "unit_price": Decimal("50.00")}],
    )
    services.contract_activate(actor=None, contract=contract)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    assert contract.initial_term_end == term_end
    assert (contract.current_period_start, contract.current_period_end) == (signed, term_end)
    assert contract.notice_deadline == deadline


def test_c2_next_period_is_calendar_year_including_leap_year():
    assert terms.next_period(D(2027, 12, 31)) == (D(2028, 1, 1), D(2028, 12, 31))


@pytest.mark.parametrize(
    ("effective", "frequency", "months"),
    [
        (D(2027, 3, 15), "monthly", 9),  # April–December
        (D(2027, 3, 31), "monthly", 9),
        (D(2027, 3, 15), "quarterly", 9),  # Q1 invoiced in advance → April–December
        (D(2027, 2, 15), "quarterly", 9),
        (D(2027, 4, 1), "quarterly", 6),  # Q2 invoiced on 1 April → July–December
        (D(2027, 3, 15), "yearly", 0),  # the whole of 2027 was invoiced on 1 January
        (D(2026, 6, 10), "yearly", 12),  # initial term to 2027-12-31: all of 2027 is left
        (D(2027, 12, 31), "monthly", 0),
    ],
)
def test_c4_months_left_convention(effective, frequency, months):
    """CGV C4: instalments left = whole months after the invoicing period containing the end date."""
    term_end = D(2027, 12, 31)
    assert terms.months_left(effective_on=effective, term_end=term_end, billing_frequency=frequency) == months


def test_c6_formal_notice_30_days():
    """CGV C6: received 1 March → the 30 days run 2–31 March → termination possible from 1 April."""
    assert terms.for_cause_earliest_termination(D(2027, 3, 1)) == D(2027, 4, 1)


def test_c7_three_months_notice():
    assert terms.availability_termination_effective(D(2027, 5, 15)) == D(2027, 8, 15)
    assert terms.availability_termination_effective(D(2027, 11, 30)) == D(2028, 2, 29)


@pytest.mark.parametrize(
    ("end", "non_solicitation"),
    [(D(2027, 12, 31), D(2029, 12, 31)), (D(2028, 2, 29), D(2030, 2, 28))],
)
def test_c12_non_solicitation_two_years_after_end(end, non_solicitation):
    assert terms.non_solicitation_end(end) == non_solicitation


def test_c11_first_contract_year():
    assert terms.first_contract_year(D(2026, 3, 15)) == (D(2026, 3, 15), D(2027, 3, 14))
