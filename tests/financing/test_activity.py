"""The set-based claim activity gives the same sums as the line-level pricing rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pht.core.periods import Period
from pht.financing.activity import METRICS, claim_activity
from pht.financing.inputs import (
    FinancingInputs,
    activity_by_practice,
    claim_lines,
    priced_lines,
    rows,
    target_persons,
)
from pht.reference.financing import TariffAmount

from .scenario import G1, G2, N1, N2, P1, P2, build_warehouse, inputs_with_ceiling, scenario_rows

H1, H2 = dt.date(2021, 1, 1), dt.date(2021, 7, 1)


def _tariff(
    code: str,
    copay: int,
    refund: int,
    *,
    half: int = 1,
    counts: bool = True,
    invalid: tuple[str, ...] = (),
    most: int | None = None,
) -> TariffAmount:
    """A tariff row for the first (half=1) or second half of 2021; amounts in NOK."""
    start, end = (H1, H2) if half == 1 else (H2, dt.date(2022, 1, 1))
    return TariffAmount(
        code=code,
        description="",
        fee=Decimal(copay + refund),
        refund=Decimal(refund),
        copay=Decimal(copay),
        valid=Period(start, end),
        counts_toward_ceiling=counts,
        invalid_with=invalid,
        max_per_year=most,
        status="A",
        source="test",
    )


def _tariffs(copay: int) -> tuple[TariffAmount, ...]:
    out = []
    for half, extra in ((1, 0), (2, 7)):
        out += [
            _tariff("2ad", copay + extra, 40, half=half, invalid=("11ad",)),
            _tariff("2cd", 10, 20 + extra, half=half),
            _tariff("11ad", copay * 2, 150, half=half, invalid=("2ad",)),
            _tariff("pht01", 100 + extra, 200, half=half),
            _tariff("1f", 0, 100, half=half, counts=False),
            _tariff("1ad", 40, 20, half=half, counts=False),
            _tariff("14", 55, 400, half=half, most=2),
        ]
    # 086a is priced as 11ad; 070 as 1ad (fee model, GP) — 1bd (071a) has no tariff: unpriced
    return tuple(out)


CODE_LISTS = (
    *("2ad", "2ad 2cd", "11ad 2ad", "2ad 11ad", "14", "14 2ad", "pht01", "1f", "074a"),
    *("074b", "086a", "070", "071a", "2ad  1ad"),
)
claims = st.lists(
    st.tuples(
        st.sampled_from(["A1", "A2", "A3", "A4", "B1", "B2"]),
        st.sampled_from([(G1, P1), (N1, P1), (G2, P2), (N2, P2)]),
        st.integers(min_value=0, max_value=364),
        st.sampled_from(CODE_LISTS),
    ),
    min_size=1,
    max_size=50,
)


def _cells(act: dict[str, Any]) -> dict[tuple[str, str, bool], dict[str, int]]:
    out = {}
    for pid, a in act.items():
        for (provider, target), v in a.cells.items():
            values = {m: int(v.get(m, 0)) for m in METRICS}
            if any(values.values()):
                out[(pid, provider, bool(target))] = values
    return out


def _reference(lines: ibis.Table, inputs: FinancingInputs, model: str) -> dict[Any, Any]:
    out = {}
    for r in rows(activity_by_practice(priced_lines(lines, inputs, model=model))):  # type: ignore[arg-type]
        values = {m: int(r[m] or 0) for m in METRICS}
        if any(values.values()):
            out[(r["practice_id"], r["provider"], bool(r["target"]))] = values
    return out


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    claims,
    st.integers(min_value=50, max_value=300),
    st.integers(min_value=0, max_value=200_000),
    st.sets(st.sampled_from(["A1", "A3", "B1"])),
)
def test_claim_activity_sums_like_the_line_rules(
    drawn: list[tuple[str, tuple[str, str], int, str]],
    copay: int,
    ceiling_ore: int,
    target: set[str],
) -> None:
    """Children, nurses, combination rules, a yearly maximum, a tariff change on 1 July and
    any ceiling: per practice, provider and target group every count and øre is the same."""
    tables = scenario_rows()
    tables["contacts"] = [
        {
            "contact_id": f"x{i:03d}",
            "person_id": person,
            "practitioner_id": who,
            "practice_id": practice,
            "date": H1 + dt.timedelta(days=day),
            "setting": "office",
            "diagnoses": None,
            "tariffs": codes,
            "copay_nok": None,
            "refund_nok": None,
        }
        for i, (person, (who, practice), day, codes) in enumerate(drawn)
    ]
    wh = build_warehouse(tables=tables)
    inputs = inputs_with_ceiling(ceiling_ore, _tariffs(copay))
    tg = ibis.memtable(
        pa.Table.from_pylist([{"person_id": p} for p in sorted(target)] or [{"person_id": "-"}])
    )
    targets = target_persons(tg)
    fast = claim_activity(wh, inputs, targets=targets)
    lines = claim_lines(wh, inputs, targets=targets)
    for model in ("fee", "grant"):
        assert _cells(fast[model]) == _reference(lines, inputs, model)
    wh.close()
