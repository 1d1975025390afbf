"""CGV C1 and C3 term arithmetic (the contracts issue extends these)."""
import datetime

import pytest

from contracts import terms

D = datetime.date


@pytest.mark.parametrize(
    ("signed", "end"),
    [
        (D(2026, 3, 15), D(2027, 12, 31)),  # CGV C1 example
        (D(2026, 1, 1), D(2027, 12, 31)),  # CGV C1: 1 January still runs to N+1
        (D(2026, 12, 31), D(2027, 12, 31)),
        (D(2028, 2, 29), D(2029, 12, 31)),
    ],
)
def test_initial_term_end_c1(signed, end):
    assert terms.initial_term_end(signed) == end


def test_notice_deadline_c3_is_30_september():
    assert terms.notice_deadline(D(2027, 12, 31)) == D(2027, 9, 30)


@pytest.mark.parametrize(
    ("sent", "effective"),
    [(D(2027, 9, 29), D(2027, 12, 31)), (D(2027, 9, 30), D(2027, 12, 31)), (D(2027, 10, 1), D(2028, 12, 31))],
)
def test_notice_effect_c3(sent, effective):
    assert terms.term_for_notice(sent_on=sent, current_term_end=D(2027, 12, 31)) == effective


def test_next_period_c2():
    assert terms.next_period(D(2027, 12, 31)) == (D(2028, 1, 1), D(2028, 12, 31))
