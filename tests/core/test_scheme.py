"""Size classes and the staffing norm, and the domain labels."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pht.core.labels import EffectGoal, FinancingModel, Role, SizeClass, TargetGroup
from pht.core.scheme import StaffingNorm, size_class


@pytest.mark.parametrize(
    ("population", "expected"),
    [
        (0, SizeClass.SMALL),
        (4_999, SizeClass.SMALL),
        (5_000, SizeClass.MEDIUM),
        (20_000, SizeClass.MEDIUM),
        (20_001, SizeClass.LARGE),
    ],
)
def test_size_class_boundaries(population: int, expected: SizeClass) -> None:
    assert size_class(population) is expected


def test_staffing_norm_met_exactly_at_one_nurse_per_three_lists() -> None:
    result = StaffingNorm().assess(gp_lists=6, nurse_fte=2)
    assert result.meets_norm and result.shortfall_fte == 0 and result.coverage == 1


def test_staffing_norm_says_by_how_much_a_team_misses() -> None:
    result = StaffingNorm().assess(gp_lists=7, nurse_fte="1.5", listed=7_800)
    assert not result.meets_norm
    assert result.required_fte == Decimal("2.33")
    assert result.shortfall_fte == Decimal("0.83")
    assert result.required_fte_by_listed == Decimal("2.00")
    assert result.coverage == Decimal("0.644")


def test_staffing_norm_reports_a_surplus() -> None:
    result = StaffingNorm().assess(gp_lists=3, nurse_fte="1.5")
    assert result.meets_norm and result.surplus_fte == Decimal("0.5")


def test_staffing_norm_refuses_negative_input() -> None:
    with pytest.raises(ValueError, match="negative"):
        StaffingNorm().assess(gp_lists=-1, nurse_fte=1)


@pytest.mark.parametrize("enum", [Role, SizeClass, FinancingModel, TargetGroup, EffectGoal])
def test_every_member_has_a_norwegian_and_an_english_label(enum: type) -> None:
    for member in enum:
        assert member.nb and member.en and member.nb != member.value


def test_six_effect_goals_in_the_scheme_order() -> None:
    assert [g.number for g in EffectGoal] == [1, 2, 3, 4, 5, 6]
    assert EffectGoal.HEALTH_AND_COPING.nb == "Bedre helsetilstand og mestringsevne"
    assert FinancingModel.GRANT.nb == "driftstilskuddsmodell"
