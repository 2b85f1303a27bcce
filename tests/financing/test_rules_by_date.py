"""The rules of the date: grunntilskudd, the list cap, and nurse work priced through 2025 and as
delegated consultations from 2026, on small hand-built inputs."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

import pytest

from pht.core.money import Money
from pht.financing.compare import compare
from pht.financing.fee_model import per_capita_units
from pht.financing.inputs import WEIGHT_SCALE, FinancingInputs, ore

from .scenario import N1, P1, build_warehouse, scenario_rows


def _cells(gp: str, per_day: int, inputs: FinancingInputs) -> list[dict[str, Any]]:
    row: dict[str, Any] = {"gp_id": gp, "practice_id": "p", "target": False, "need": 0}
    row["days"] = per_day * inputs.days
    for i, seg in enumerate(inputs.rates.basistilskudd):
        row[f"d{i}"] = per_day * seg.period.days()
        row[f"u{i}"] = per_day * seg.period.days() * WEIGHT_SCALE
    return [row]


def test_a_new_gp_with_a_short_list_is_paid_as_500_listed_an_old_one_is_not() -> None:
    inputs = FinancingInputs.for_year(2022)
    h1, h2 = inputs.rates.basistilskudd
    cells = _cells("new", 100, inputs)
    new = per_capita_units(cells, inputs, gp_starts={"new": dt.date(2021, 3, 1)})
    # C HELFO-BT22: a list under 500 in the first two years is paid as 500 at the higher rate
    expected = Fraction(
        ore(h1.rate_below_knekkpunkt) * 500 * 181 + ore(h2.rate_below_knekkpunkt) * 500 * 184,
        365,
    )
    assert new[("p", False)] == expected
    old = per_capita_units(cells, inputs, gp_starts={"new": dt.date(2019, 1, 1)})
    plain = Fraction(
        ore(h1.rate_below_knekkpunkt) * 100 * 181 + ore(h2.rate_below_knekkpunkt) * 100 * 184,
        365,
    )
    assert old[("p", False)] == plain


def test_the_two_years_end_inside_a_period() -> None:
    inputs = FinancingInputs.for_year(2022)
    h1, h2 = inputs.rates.basistilskudd
    got = per_capita_units(
        _cells("g", 100, inputs),
        inputs,
        gp_starts={"g": dt.date(2020, 10, 1)},  # eligible until 30 September 2022
    )
    short_h1 = ore(h1.rate_below_knekkpunkt) * 400 * 181
    short_h2 = ore(h2.rate_below_knekkpunkt) * 400 * 184 * Fraction(92, 184)  # 1 Jul - 30 Sep
    base = ore(h1.rate_below_knekkpunkt) * 100 * 181 + ore(h2.rate_below_knekkpunkt) * 100 * 184
    assert got[("p", False)] == Fraction(base + short_h1, 365) + short_h2 / 365


def test_no_basistilskudd_beyond_2500_listed() -> None:
    inputs = FinancingInputs.for_year(2022)
    h1, h2 = inputs.rates.basistilskudd
    got = per_capita_units(_cells("g", 3000, inputs), inputs, gp_starts={})
    per_year = [
        ore(s.rate_below_knekkpunkt) * 1000 + ore(s.rate) * 1500 for s in (h1, h2)
    ]  # C HELFO-BT22: 1,000 at the higher rate, nos. 1,001-2,500 at the lower, none after
    assert got[("p", False)] == Fraction(per_year[0] * 181 + per_year[1] * 184, 365)


def _shifted(year: int) -> Any:
    """The scenario's claims moved to *year*; in 2026 the nurse also claims a delegated 2ad."""
    rows = scenario_rows()
    for c in rows["contacts"]:
        if c["date"].year == 2021:
            c["date"] = c["date"].replace(year=year)
    rows["contacts"].append(
        {
            **rows["contacts"][0],
            "contact_id": "k900",
            "practitioner_id": N1,
            "date": dt.date(year, 9, 9),
            "tariffs": "2ad",
        }
    )
    return build_warehouse(tables=rows)


def _fee(year: int, code: str, day: dt.date) -> Money:
    t = next(t for t in FinancingInputs.for_year(year).tariffs if t.code == code and day in t.valid)
    return Money(t.fee)


@pytest.mark.parametrize(
    ("year", "priced_as"),
    [
        (2024, ("pht01", "pht01", "2ad")),  # the trial's nurse tariff; a nurse's 2ad as 2ad
        (2026, ("H2ad", "H2ad", "H2ad")),  # delegated consultations (chapter H)
    ],
)
def test_nurse_work_of_the_team_practices_is_priced(year: int, priced_as: tuple[str, ...]) -> None:
    wh = _shifted(year)
    result = compare(wh, year, use_population=False)
    p1 = next(p for p in result.practices if p.fee.practice_id == P1)
    # N1's claims at P1: pht01 on 15 February and 15 March, 2ad on 9 September
    days = (dt.date(year, 2, 15), dt.date(year, 3, 15), dt.date(year, 9, 9))
    expected = sum((_fee(year, c, d) for c, d in zip(priced_as, days, strict=True)), Money(0))
    assert p1.fee.nurse_work == expected
    assert p1.fee.unpriced_lines == 0 and p1.fee.gp_work.amount > 0
    if year == 2026:
        assert _fee(year, "H2ad", days[2]) < _fee(year, "2ad", days[2])
