"""No split, pro-rating or rounding creates or loses an øre (property tests)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pht.core.money import Money, total
from pht.core.periods import Period
from pht.financing.fee_model import fee_model_income, money_from_ore, split_exact
from pht.financing.grant_model import grant_model_income
from pht.reference.financing import TariffAmount

from .scenario import G1, P1, build_warehouse, inputs_with_ceiling, scenario_rows

amounts = st.integers(min_value=-(10**9), max_value=10**9).map(lambda o: Money(Decimal(o) / 100))
exact_parts = st.lists(
    st.fractions(min_value=0, max_value=10**6, max_denominator=3650), min_size=1, max_size=8
)


@given(amounts, exact_parts)
def test_splitting_a_rounded_amount_keeps_every_ore(amount: Money, parts: list[Fraction]) -> None:
    split = split_exact(amount, {str(i): p for i, p in enumerate(parts)})
    if sum(parts) > 0:
        assert total(split.values()) == amount.rounded()
    assert all(m == m.rounded() for m in split.values())


@given(
    st.lists(st.fractions(min_value=0, max_value=10**9, max_denominator=365 * 10_000), max_size=6)
)
def test_rounding_once_is_within_half_an_ore_of_the_exact_sum(cells: list[Fraction]) -> None:
    exact = sum(cells, Fraction(0))
    rounded = money_from_ore(exact)
    assert abs(Fraction(rounded.amount) * 100 - exact) <= Fraction(1, 2)


def _tariff(code: str, fee: int, refund: int, copay: int) -> TariffAmount:
    return TariffAmount(
        code=code,
        description="",
        fee=Decimal(fee),
        refund=Decimal(refund),
        copay=Decimal(copay),
        valid=Period(dt.date(2021, 1, 1), dt.date(2022, 1, 1)),
        counts_toward_ceiling=True,
        invalid_with=(),
        max_per_year=None,
        status="A",
        source="test",
    )


claims = st.lists(
    st.tuples(
        st.sampled_from(["A1", "A2", "A3", "B1", "B2", "C1"]),
        st.integers(min_value=0, max_value=364),
        st.sampled_from(["2ad", "2ad 2cd", "11ad", "pht01", "074a", "074b", "086a", "1f"]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    claims,
    st.integers(min_value=50, max_value=400),
    st.integers(min_value=0, max_value=40000),
)
def test_every_ore_of_a_claim_goes_to_exactly_one_part(
    rows: list[tuple[str, int, str]], copay: int, ceiling_ore: int
) -> None:
    """Refund + co-payment of every paid line ends up once in the practice total and once in
    each split (GP/nurse, target group, patient/state), whatever the ceiling."""
    tables = scenario_rows()
    tables["contacts"] = [
        {
            "contact_id": f"x{i}",
            "person_id": person,
            "practitioner_id": G1,
            "practice_id": P1,
            "date": dt.date(2021, 1, 1) + dt.timedelta(days=day),
            "setting": "office",
            "diagnoses": None,
            "tariffs": codes,
            "copay_nok": None,
            "refund_nok": None,
        }
        for i, (person, day, codes) in enumerate(rows)
    ]
    wh = build_warehouse(tables=tables)
    tariffs = [
        _tariff("2ad", copay + 40, 40, copay),
        _tariff("2cd", 30, 20, 10),
        _tariff("11ad", copay + 150, 150, copay),
        _tariff("pht01", 300, 200, 100),
        _tariff("1f", 100, 100, 0),
    ]
    inputs = inputs_with_ceiling(ceiling_ore, tuple(tariffs))
    fee = fee_model_income(wh, 2021, inputs=inputs).practice(P1)
    assert fee.per_capita + fee.gp_work + fee.nurse_work == fee.total
    assert fee.target_group + fee.other_patients == fee.total
    assert fee.refunds + fee.copay_patients + fee.copay_ceiling + fee.copay_children == (
        fee.activity
    )
    # five adults claim at P1: none pays more than the ceiling
    assert fee.copay_patients.amount <= Decimal(ceiling_ore) / 100 * 5
    # the ceiling moves co-payments from patient to state and never changes the practice's income
    no_ceiling = inputs_with_ceiling(0, tariffs)
    free = fee_model_income(wh, 2021, inputs=no_ceiling).practice(P1)
    assert free.activity == fee.activity and free.copay_patients == Money.zero()
    grant = grant_model_income(wh, 2021, inputs=inputs).practice(P1)
    assert grant.target_group + grant.other_patients == grant.total
    wh.close()
