"""Both readings of the staffing norm, the primary one from reference data, and the need plan."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from pht.cli.pilot import pilot_summary
from pht.core.scheme import StaffingNorm
from pht.core.staffing import NeedInputs, NeedParameters, plan_staffing
from pht.evaluation.suppression import is_small, primary_mask, publish_count, publish_share
from pht.reference import load_pilot, load_scheme_rules


def test_the_two_readings_disagree_on_short_lists_and_the_primary_one_decides() -> None:
    listed = StaffingNorm(primary="listed").assess(gp_lists=112, nurse_fte=29, listed=103_000)
    assert listed.reading == "listed" and listed.meets_norm
    assert listed.required_fte == Decimal("26.41")
    assert listed.required_fte_by_lists == Decimal("37.33") and not listed.meets_by_lists
    lists = StaffingNorm(primary="lists").assess(gp_lists=112, nurse_fte=29, listed=103_000)
    assert not lists.meets_norm and lists.shortfall_fte == Decimal("8.33")
    assert lists.meets_by_listed is True
    # without the listed count the listed reading cannot be used: the list reading decides
    assert StaffingNorm(primary="listed").assess(gp_lists=6, nurse_fte=1).reading == "lists"
    with pytest.raises(ValueError, match="reading"):
        StaffingNorm(primary="per_gp")


def test_reference_data_makes_the_listed_reading_primary_with_sources() -> None:
    rules = load_scheme_rules()
    assert rules.staffing_norm.primary == "listed"
    assert {"seed000", "HDIR-PHT"} <= set(rules.staffing_primary_sources)


def test_pilot_show_reports_the_real_pilot_as_meeting_the_primary_reading() -> None:
    summary = pilot_summary(load_pilot())
    st = summary["staffing"]
    assert summary["nurse_fte"] == Decimal("29.0") and summary["listed"] == 103_000
    assert st["meets_norm"] and st["norm_reading"] == "listed"
    assert st["nurse_fte_norm"] == Decimal("26.41") and st["meets_by_lists"] is False
    assert all(p["meets_norm"] for p in summary["practice_list"])  # Rana 2.8 ≥ 10,100 / 3,900


def test_need_plan_adds_hours_per_kind_of_work() -> None:
    params = NeedParameters(
        annual_check_minutes=45,
        plan_contact_minutes=30,
        assessment_minutes=60,
        contacts_without_plan=Decimal(2),
        home_visit_minutes=90,
        home_visits_per_frail=Decimal(2),
        productive_hours_per_fte=1_450,
    )
    inputs = NeedInputs(
        listed=4_000,
        target_group_patients=600,
        worklist=300,
        worklist_without_plan=100,
        plan_contacts_per_year=Decimal(800),  # e.g. 200 plans every 3 months
        target_without_plan=400,
        annual_checks_due=500,
        home_visits_last_year=10,
        severely_frail=30,  # 30 × 2 = 60 visits > 10 logged
    )
    norm = StaffingNorm(primary="listed").assess(gp_lists=3, nurse_fte="1.2", listed=4_000)
    plan = plan_staffing(inputs, params, nurse_fte=Decimal("1.2"), norm=norm)
    hours = {line.key: line.hours for line in plan.lines}
    assert hours == {
        "annual_checks": Decimal("375.0"),
        "plan_contacts": Decimal("400.0"),
        "assessments": Decimal("100.0"),
        "target_without_plan": Decimal("400.0"),
        "home_visits": Decimal("90.0"),
    }
    assert plan.hours == Decimal("1365.0")
    assert plan.fte_needed == Decimal("0.94") and plan.gap_fte == Decimal("-0.26")


def test_one_small_cell_rule_for_single_cells_and_tables() -> None:
    cells = [(0, 0), (2, 1), (4, 4), (5, 0), (5, 1), (5, 4), (5, 5), (20, 18), (100, 3)]
    frame = pd.DataFrame(cells, columns=["n", "n_event"])
    mask = primary_mask(frame, threshold=5)
    assert [is_small(n, e, threshold=5) for n, e in cells] == mask.tolist()
    assert publish_share(1, 2, threshold=5) is None
    assert publish_share(3, 100, threshold=5) is None
    assert publish_share(5, 10, threshold=5) == 0.5
    assert publish_count(0, threshold=5) == 0 and publish_count(4, threshold=5) is None
