"""Periods are half-open; money is exact and allocation never creates or loses an øre."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pht.core.money import Money, nok, total
from pht.core.periods import Period, calendar_year, months_in

D = dt.date


def test_period_is_half_open_and_converts_from_registry_last_day() -> None:
    p = Period.from_last_day(D(2018, 4, 1), D(2023, 3, 31))
    assert p.end == D(2023, 4, 1)
    assert D(2023, 3, 31) in p and D(2023, 4, 1) not in p and D(2018, 3, 31) not in p
    assert p.last_day == D(2023, 3, 31)
    assert Period(D(2020, 1, 1), D(2020, 1, 2)).days() == 1


def test_period_refuses_an_end_before_its_start() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        Period(D(2020, 1, 2), D(2020, 1, 1))


def test_adjacent_periods_do_not_overlap_and_open_periods_run_on() -> None:
    a = Period(D(2020, 1, 1), D(2020, 7, 1))
    b = Period(D(2020, 7, 1), None)
    assert not a.overlaps(b)
    assert b.intersection(calendar_year(2030)) == calendar_year(2030)
    assert a.days_within(calendar_year(2020)) == 182


@pytest.mark.parametrize(
    ("start", "end", "year", "months"),
    [
        (D(2018, 4, 1), D(2023, 4, 1), 2018, 9),
        (D(2018, 4, 1), D(2023, 4, 1), 2021, 12),
        (D(2018, 4, 1), D(2023, 4, 1), 2023, 3),
        (D(2020, 4, 15), D(2023, 4, 1), 2020, 8),  # a month counts from its first day
        (D(2018, 4, 1), D(2023, 4, 1), 2024, 0),
    ],
)
def test_months_in_year(start: dt.date, end: dt.date, year: int, months: int) -> None:
    assert months_in(Period(start, end), calendar_year(year)) == months


amounts = st.decimals(
    min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False
)


@given(amounts, st.lists(st.integers(0, 10**6), min_size=1, max_size=30).filter(any))
def test_allocation_keeps_every_ore(amount: Decimal, weights: list[int]) -> None:
    parts = nok(amount).allocate(weights)
    assert total(parts) == nok(amount).rounded()
    assert all(p.amount == p.amount.quantize(Decimal("0.01")) for p in parts)
    # No part is further than one øre from its exact share.
    exact = [amount * w / sum(weights) for w in weights]
    assert all(
        abs(p.amount - e) < Decimal("0.01") + Decimal("1e-9")
        for p, e in zip(parts, exact, strict=True)
    )


@given(st.lists(amounts, max_size=50))
def test_sums_are_exact(values: list[Decimal]) -> None:
    assert total(nok(v) for v in values).amount == sum(values, Decimal(0))


def test_money_refuses_floats_and_rounds_half_up() -> None:
    with pytest.raises(TypeError):
        Money(0.1)  # type: ignore[arg-type]
    assert nok("0.005").rounded() == nok("0.01")
    assert nok("-0.005").rounded() == nok("-0.01")
    assert str(nok("15008000")) == "NOK 15 008 000,00"
