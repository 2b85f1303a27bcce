"""The hand-worked scenario (tests/financing/scenario.py): both models match to the øre.

Year 2021 has 365 days. Basistilskudd 2021 (reference data, status C): 577 NOK a year for the
first 1,000 persons on a GP list from 1 January to 30 June (181 days), 642 NOK from 1 July to
31 December (184 days); every list here is far below 1,000, so every person gets the higher
rate. Co-payment ceiling 2021: 2,460 NOK. Tariffs: the test file in scenario.TARIFF_CSV.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import ibis
import pytest

from pht.core.money import Money
from pht.financing.calibrate import calibrate_base_rate
from pht.financing.compare import compare, compare_parts, model_parts
from pht.financing.fee_model import fee_model_income
from pht.financing.grant_model import grant_model_income
from pht.financing.inputs import FinancingInputs
from pht.financing.whatif import WhatIf, what_if
from pht.reference.financing import load_financing_rates, read_tariff_file
from pht.registry.warehouse import Warehouse

from .scenario import NEED, P1, P2, P3, TARIFF_CSV, build_warehouse


def nok(text: str) -> Money:
    return Money(Decimal(text))


@pytest.fixture(scope="module")
def wh() -> Warehouse:
    return build_warehouse()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> FinancingInputs:
    """2021 rates, the test tariffs, and quality goals that count from one patient."""
    path: Path = tmp_path_factory.mktemp("tariffs") / "tariffs.csv"
    path.write_text(TARIFF_CSV, encoding="utf-8")
    rates = load_financing_rates(2021)
    gm = rates.grant_model
    goals = tuple(g.model_copy(update={"min_patients": 1}) for g in gm.quality_goals)
    rates = rates.model_copy(update={"grant_model": gm.model_copy(update={"quality_goals": goals})})
    return FinancingInputs(2021, rates, read_tariff_file(path))


@pytest.fixture(scope="module")
def need() -> ibis.Table:
    return ibis.memtable(
        {"person_id": list(NEED), "need_weight": [float(v) for v in NEED.values()]}
    )


@pytest.fixture(scope="module")
def targets() -> ibis.Table:
    return ibis.memtable(
        {
            "person_id": ["A1", "B1"],
            "target_group": ["chronic", "chronic"],
            "condition": ["diabetes", "diabetes"],
        }
    )


def test_reference_rates_used_by_the_hand_arithmetic() -> None:
    rates = load_financing_rates(2021)
    assert rates.ceiling == Decimal("2460")
    h1, h2 = rates.basistilskudd
    assert (h1.rate_below_knekkpunkt, h1.period.days()) == (Decimal("577"), 181)
    assert (h2.rate_below_knekkpunkt, h2.period.days()) == (Decimal("642"), 184)
    assert rates.grant_model.quality_share == Decimal("0.05")


def test_fee_model_matches_the_hand_arithmetic(wh: Warehouse, inputs: FinancingInputs) -> None:
    r = fee_model_income(wh, 2021, inputs=inputs)
    p1, p2, p3 = r.practice(P1), r.practice(P2), r.practice(P3)

    # P1 basistilskudd: A1 and A2 all year, A3 from 1 July (184 days), A4 to 31 March (90 days)
    year_a = 577 * 181 + 642 * 184  # 104,437 + 118,128 = 222,565 (NOK × days)
    assert year_a == 222_565
    assert p1.per_capita == nok("1685.45")  # (2×222,565 + 642×184 + 577×90) / 365 = 1,685.4466
    # P1 claims (refund / co-payment): A1 2ad ×6 before July 50/150, pht01 ×2 200/100,
    # 2ad+2cd 10 July 70/170, 2ad ×7 after July 50/160, 11ad 150/250, 2ad 28 Dec 50/160;
    # A2 (a child) 2ad 50/150 paid by the state; A3 11ad 150/250 and its 2ad rejected,
    # meeting 14 400/0 once (the second is over the yearly maximum); A4 2ad 50/150.
    assert p1.refunds == nok(str(300 + 400 + 70 + 350 + 150 + 50 + 50 + 150 + 400 + 50))  # 1,970
    # A1's co-payments: 900 + 200 + 170 + 1,120 = 2,390 by 20 December; the home visit on
    # 22 December (250) takes her to 2,640: she pays 70 of it, the state 180; the state pays
    # all of 28 December (160). She pays 2,460 (the ceiling), the state 340.
    assert p1.copay_ceiling == nok("340")
    assert p1.copay_patients == nok(str(2460 + 250 + 150))  # A1, A3, A4
    assert p1.copay_children == nok("150")  # A2
    assert p1.nurse_work == nok("600")  # 2 × (200 + 100)
    assert p1.gp_work == nok("4720")  # 5,320 − 600
    assert p1.total == nok("7005.45")  # 1,685.45 + 5,320
    assert (p1.rejected_lines, p1.unpriced_lines) == (2, 0)

    # P2: A4 from 1 April (91 + 184 days), B1–B4 all year
    assert p2.per_capita == nok("2906.56")  # (4×222,565 + 577×91 + 642×184) / 365 = 2,906.5616
    # grant-model codes priced as fee codes: 074a → 2ad 50/150; 074b → 2ad + 2cd 70/160;
    # 074a by a nurse → pht01 200/100; 086a → 11ad 150/250; 070 by a nurse → pht04 (no tariff)
    assert p2.refunds == nok("470") and p2.copay_patients == nok("660")
    assert p2.unpriced_lines == 1
    assert p2.total == nok("4036.56")

    # P3: C1–C3 all year, D1 to her death on 30 June (181 days); the 2020 claim is ignored
    assert p3.per_capita == nok("2115.43")  # (3×222,565 + 577×181) / 365 = 2,115.4301
    assert p3.total == nok("2415.43")  # + 2ad 50/150 + 1f 100/0
    assert r.total == nok("13457.44")


def test_grant_model_matches_the_hand_arithmetic(
    wh: Warehouse, inputs: FinancingInputs, need: ibis.Table, targets: ibis.Table
) -> None:
    r = grant_model_income(
        wh,
        2021,
        inputs=inputs,
        need_weights=need,
        target_groups=targets,
        base_rate=Decimal("1000"),
    )
    p1, p2, p3 = r.practice(P1), r.practice(P2), r.practice(P3)
    # list grant = 1,000 × Σ need weight × days / 365
    assert p1.list_grant == nok("3312.33")  # (2.0×365 + 0.5×365 + 1.0×184 + 1.25×90) = 1,209
    assert p2.list_grant == nok("5441.78")  # 1.25×275 + (1.5+1.0+0.8+1.2)×365 = 1,986.25
    assert p3.list_grant == nok("4237.67")  # (1.0+1.0+0.75)×365 + 3.0×181 = 1,546.75
    # quality: diabetes goal reached at P1 (A1's 2ad+2cd with T90) and P2 (B1's 074b with
    # T90); no COPD patients: 1 of 2 goals → 5 % × 1/2 of the list grant
    assert [g.reached for g in p1.goals] == [True]
    assert p1.quality_grant == nok("82.81")  # 3,312.3288 × 0.025 = 82.808
    assert p2.quality_grant == nok("136.04")  # 5,441.7808 × 0.025 = 136.045
    assert p3.quality_grant == Money.zero()
    # co-payments at the equivalent normaltariff codes: A1's nurse consultations cost her
    # 150 (2ad), not 100 (pht01), so she reaches 2,460 on 20 December: the state pays 30 of
    # that visit, and 250 + 160 after it = 440
    assert p1.copay_patients == nok("2860") and p1.copay_ceiling == nok("440")
    assert p1.copay_children == nok("150")
    assert p1.total == nok("6845.14")  # 3,312.33 + 82.81 + 3,450
    assert p2.copayments == nok("760")  # 150 + 160 + 160 (nurse 074a → 2ad) + 250 + 40 (070 → 1ad)
    assert p2.total == nok("6337.82")
    assert p3.total == nok("4387.67")
    # the target group's share: A1 and B1 with their list grant and co-payments
    assert p1.target_group + p1.other_patients == p1.total


def test_comparison_drivers_add_up(
    wh: Warehouse, inputs: FinancingInputs, need: ibis.Table
) -> None:
    c = compare(wh, 2021, inputs=inputs, need_weights=need, base_rate=Decimal("1000"))
    assert len(c.practices) == 3
    p1 = next(p for p in c.practices if p.fee.practice_id == P1)
    assert p1.difference == nok("6845.14") - nok("7005.45")
    assert sum(p1.drivers.values(), Money.zero()) == p1.difference
    assert p1.drivers["activity"] == nok("3450") - nok("5320")
    # project funds (the same under both models): one GP all year in the scheme → 134,000
    funds = {p.fee.practice_id: p.project_funds for p in c.practices}
    assert funds == {P1: nok("134000"), P2: nok("134000"), P3: Money.zero()}


def test_calibration_is_budget_neutral_to_under_one_krone(
    wh: Warehouse, inputs: FinancingInputs, need: ibis.Table
) -> None:
    parts = model_parts(wh, 2021, inputs=inputs, need_weights=need)
    cal = calibrate_base_rate(wh, parts, practices=[P1, P2, P3])
    # fee total 13,457.44; co-payments under the grant model 3,450 + 760 + 150 = 4,360;
    # Σ need-days × (1 + quality) = 1,209×1.025 + 1,986.25×1.025 + 1,546.75 = 4,821.88125
    exact = Fraction("9097.44") * 365 / Fraction("4821.88125")
    assert cal.exact_base_rate == exact
    assert abs(cal.residual.amount) < 1
    again = compare_parts(wh, parts, practices=[P1, P2, P3], base_rate=cal.base_rate)
    assert again.grant_total == cal.grant_total


def test_whatif_nurse_consultations_raise_the_fee_model_most(
    wh: Warehouse, inputs: FinancingInputs, targets: ibis.Table
) -> None:
    parts = model_parts(wh, 2021, inputs=inputs, target_groups=targets)
    res = what_if(wh, parts, WhatIf(nurse_consultations=Decimal(2)), practices=[P1, P2])
    rows = {r["practice_id"]: r for r in res.rows()}
    # A1 (P1) is a target-group patient all year: 2 × pht01 (200 + 100) under the fee model,
    # 2 × the 2ad co-payment on 1 July (160) under the grant model
    assert rows[P1]["fee_change"] == nok("600")
    assert rows[P1]["grant_change"] == nok("320")
    # P2 has no target-group patient seen by a nurse yet: the nurse cell is created
    b1 = what_if(
        wh,
        model_parts(
            wh,
            2021,
            inputs=inputs,
            target_groups=ibis.memtable({"person_id": ["B4"], "condition": ["copd"]}),
        ),
        WhatIf(nurse_consultations=Decimal(1)),
        practices=[P2],
    ).rows()[0]
    assert b1["fee_change"] == nok("300")  # B4 all year: 1 × pht01 (200 + 100)
    unchanged = what_if(wh, parts, WhatIf(), practices=[P1, P2])
    assert all(r["fee_change"] == Money.zero() for r in unchanged.rows())
    bigger = what_if(wh, parts, WhatIf(list_size=Decimal("2")), practices=[P3])
    row = bigger.rows()[0]
    assert row["fee_model_whatif"] == row["fee_model"] * 2
