"""The published report: one page per effect goal, readable plots, no small cells anywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pht.core.labels import EffectGoal
from pht.evaluation.did import Estimate
from pht.evaluation.report import ReportResult, build_report, estimates_table
from pht.evaluation.study import Study


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, small_study: Study) -> ReportResult:
    # one indicator per goal page keeps the test fast; the page layout is the same
    only = ["patient_activation", "satisfaction", "coordination", "ltc_entry"]
    only += ["coordination_contacts", "gp_consultations", "annual_checks"]
    return build_report(small_study, tmp_path_factory.mktemp("report"), only=only)


def test_the_report_has_one_page_per_effect_goal(report: ReportResult) -> None:
    assert report.pdf_path.read_bytes()[:5] == b"%PDF-"
    # a first page with the study and the balance, six goal pages, one activity page
    assert report.pages == 1 + len(EffectGoal) + 1
    for goal in EffectGoal:
        page = report.page_texts[goal.number]
        assert f"{goal.number}. {goal.nb}" in page
        assert "Dataperiode" in page and "Hendelsesstudie" in page
    assert "Balanse" in report.page_texts[0]
    assert "Årskontroller" in report.page_texts[-1]
    assert "Sykepleierkontakter" in report.page_texts[-1]


def test_each_goal_page_shows_trend_and_event_study_charts(report: ReportResult) -> None:
    html = report.html_path.read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2 * (len(EffectGoal) + 1)
    for goal in EffectGoal:
        assert f"{goal.value}_trends" in report.charts
        assert f"{goal.value}_event_study" in report.charts
    assert (report.html_path.parent / "charts" / "satisfaction_trends.vl.json").exists()


def _chart_rows(spec: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if isinstance(spec, dict):
        for k, v in spec.items():
            if k == "values" and isinstance(v, list):
                rows += [r for r in v if isinstance(r, dict)]
            else:
                rows += _chart_rows(v)
    elif isinstance(spec, list):
        for v in spec:
            rows += _chart_rows(v)
    return rows


def test_small_cells_never_appear_in_tables_charts_or_text(
    report: ReportResult, small_study: Study
) -> None:
    hidden = 0
    for name, table in report.tables.items():
        shown = table[~table["suppressed"]]
        hidden += int(table["suppressed"].sum())
        for col in ("n", "n_treated", "treated_persons"):
            if col in shown.columns:
                assert (shown[col].astype(float) >= 5).all(), (name, col)
    assert hidden > 0  # the fixture has small cells (few persons entering long-term care)
    for name, spec in report.charts.items():
        rows = _chart_rows(spec)
        assert rows, name
        for r in rows:
            assert r.get("n") is None or r["n"] >= 5, name
        # what the chart shows is exactly the visible rows of its table
        table = report.tables[name]
        points = [r for r in rows if "quarter" in r or "rel" in r]
        assert len(points) == int((~table["suppressed"]).sum()), name
    # the data behind a suppressed trend point is not in its chart, however it is looked up
    trends = report.tables["reduced_need_trends"]
    gone = trends[trends["suppressed"]]
    assert len(gone)
    raw = small_study.trends(small_study_indicator("ltc_entry"))
    spec_text = json.dumps(report.charts["reduced_need_trends"])
    for _, row in gone.iterrows():
        match = raw[(raw["quarter"] == row["quarter"])]
        for value in match["value"]:
            if value:
                assert json.dumps(float(value)) not in spec_text
    published = json.loads((report.html_path.parent / "estimates.json").read_text("utf-8"))
    assert all(r["suppressed"] or r["treated_persons"] >= 5 for r in published)


def small_study_indicator(name: str) -> Any:
    from pht.evaluation.indicators import indicator

    return indicator(name)


def test_an_estimate_with_few_treated_persons_is_published_without_numbers() -> None:
    few = Estimate(
        indicator="annual_checks",
        estimator="etwfe",
        level="person",
        split="grant",
        att=0.123456,
        se=0.01,
        ci_low=0.1,
        ci_high=0.14,
        p_value=0.001,
        clusters=12,
        treated_practices=2,
        comparison_practices=10,
        treated_persons=3,
        person_quarters=40,
    )
    table = estimates_table([few])
    assert bool(table.loc[0, "suppressed"])
    for col in ("att", "ci_low", "ci_high", "p_value", "treated_persons"):
        assert table.loc[0, col] is None


def test_the_html_estimates_table_has_no_rows_below_the_threshold(report: ReportResult) -> None:
    html = report.html_path.read_text(encoding="utf-8")
    for row in re.findall(r"<tr>(.*?)</tr>", html):
        cells = re.findall(r"<td>(.*?)</td>", row)
        if len(cells) == 10 and cells[-1] not in ("–",):
            assert int(cells[-1].replace(" ", "")) >= 5


def test_report_files(report: ReportResult) -> None:
    out = Path(report.html_path).parent
    assert (out / "report.pdf").stat().st_size > 20_000
    assert (out / "tables" / "health_and_coping_estimates.csv").exists()
