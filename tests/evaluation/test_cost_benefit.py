"""The cost-benefit section: costs counted by hand on the small extract, benefits from given
estimates, and the section rendered with small cells and a not-estimable effect."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pht.evaluation.costbenefit import cost_benefit, figures
from pht.evaluation.did import Estimate
from pht.evaluation.indicators import indicator
from pht.evaluation.report import ReportResult, _cost_benefit_page, build_report
from pht.evaluation.study import Study
from pht.reference import load_sources
from pht.reference.financing import load_financing_rates


def _est(name: str, att: float, lo: float, hi: float, persons: int, note: str = "") -> Estimate:
    nan = float("nan")
    return Estimate(
        indicator=name,
        estimator="etwfe",
        level="practice",
        split="all",
        att=nan if note else att,
        se=nan if note else 0.01,
        ci_low=nan if note else lo,
        ci_high=nan if note else hi,
        p_value=nan if note else 0.2,
        clusters=16,
        treated_practices=6,
        comparison_practices=10,
        treated_persons=persons,
        person_quarters=1000,
        note=note,
    )


def _given() -> dict[str, Estimate]:
    return {
        "acsc_admissions": _est("acsc_admissions", -0.01, -0.02, 0.0, 200),
        "acsc_diabetes": _est("acsc_diabetes", -0.004, -0.006, -0.002, 3),  # small: hidden
        "gp_hours": _est("gp_hours", 0.0, 0.0, 0.0, 600, note="ikke estimerbar: ingen variasjon"),
    }


def test_every_figure_carries_status_and_source() -> None:
    sources = load_sources()
    for fig in figures().values():
        assert fig.status in ("C", "D", "A") and fig.source in sources and fig.value > 0
    assert figures()["unit_price"].value == 52248 and figures()["unit_price"].status == "C"


def test_costs_and_benefits_by_hand(small_study: Study) -> None:
    df = cost_benefit(small_study, _given()).set_index("item")
    # the small extract (2016-2020): 4 pilot practices from 2018K2, 2 from 2020K2, each with one
    # nurse (FTE 1) from its start and 3 GPs; 2018: 4 x 3 nurse-quarters, 2019: 4 x 4,
    # 2020: 4 x 4 + 2 x 3
    quarters = {2018: 12, 2019: 16, 2020: 22}
    nurse = sum(
        n / 4 * float(load_financing_rates(y).nurse.cost_per_fte) for y, n in quarters.items()
    )
    assert df.loc["nurse_fte", "quantity"] == pytest.approx(50 / 4)
    assert df.loc["nurse_fte", "nok"] == pytest.approx(nurse)
    # project funds: 3 GPs x 50 practice-quarters x (134,000 + 26,000) / 4
    assert df.loc["project_funds", "nok"] == pytest.approx(150 * 160_000 / 4)
    # avoided ACSC admissions: -ATT x treated person-quarters, at 0.8 DRG points x 52,248 NOK
    cells = small_study.cells(indicator("acsc_admissions"), level="practice")
    pq = float(cells.loc[cells["treated"] > 0, "n"].sum())
    assert df.loc["avoided_admissions", "quantity"] == pytest.approx(0.01 * pq)
    assert df.loc["avoided_admissions", "nok"] == pytest.approx(0.01 * pq * 0.8 * 52248)
    assert df.loc["avoided_admissions", "nok_low"] == pytest.approx(0.0)
    assert df.loc["avoided_admissions", "nok_high"] == pytest.approx(0.02 * pq * 0.8 * 52248)
    # GP hours not estimable: no numbers, the reason; the net benefit cannot be given either
    assert df.loc["gp_hours_freed", "nok"] is None
    assert "ikke estimerbar" in df.loc["gp_hours_freed", "note"]
    assert df.loc["net_benefit", "nok"] is None


def test_net_benefit_subtracts_the_costs(small_study: Study) -> None:
    given = _given()
    given["gp_hours"] = _est("gp_hours", -0.05, -0.1, 0.0, 600)
    df = cost_benefit(small_study, given).set_index("item")
    benefits = df.loc["avoided_admissions", "nok"] + df.loc["gp_hours_freed", "nok"]
    costs = df.loc["nurse_fte", "nok"] + df.loc["project_funds", "nok"]
    assert df.loc["net_benefit", "nok"] == pytest.approx(benefits - costs)
    cells = small_study.cells(indicator("gp_hours"), level="practice")
    pq = float(cells.loc[cells["treated"] > 0, "n"].sum())
    assert df.loc["gp_hours_freed", "nok"] == pytest.approx(0.05 * pq * 1200)


def test_the_section_is_rendered_with_small_cells_hidden(small_study: Study) -> None:
    result = ReportResult(Path("r.html"), Path("r.pdf"), 0, [])
    page = _cost_benefit_page(small_study, result, _given())
    table = result.tables["cost_benefit"].set_index("item")
    # the diabetes benefit rests on 3 treated persons: published without numbers
    assert bool(table.loc["avoided_admissions_diabetes", "suppressed"])
    assert table.loc["avoided_admissions_diabetes", "nok"] is None
    raw = cost_benefit(small_study, _given()).set_index("item")
    hidden = raw.loc["avoided_admissions_diabetes", "nok"]
    assert f"{round(hidden):,}".replace(",", "\u00a0").lstrip("-") not in page
    assert "Kostnader og nytte" in page and "skjult" in page and "ikke estimerbar" in page
    assert "antatt" in page and "bekreftet" in page and "HDIR-ISF24" in page
    shown = table.loc["nurse_fte", "nok"]
    assert "kr " + f"{round(shown):,}".replace(",", "\u00a0") in page
    assert not math.isnan(float(table.loc["avoided_admissions", "nok"]))


def test_the_pdf_report_ends_with_the_cost_benefit_page(tmp_path: Path, small_study: Study) -> None:
    report = build_report(small_study, tmp_path, only=["gp_hours"], cost_benefit=True)
    assert report.pages == 3  # first page, resource use, costs and benefits
    assert "Kostnader og nytte" in report.page_texts[-1]
    assert (tmp_path / "tables" / "cost_benefit.csv").exists()
    table = report.tables["cost_benefit"]
    shown = table[~table["suppressed"]]
    persons = shown["treated_persons"].dropna().astype(float)
    assert (persons >= 5).all()
