"""The municipality page, the leaders' API, the yearly report, and the one small-cell rule on
every chart and table endpoint the municipal lead can reach."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from django.urls import reverse

from tests.app.bundle import PRACTICE_A, PRACTICE_B, PRACTICE_C
from tests.app.conftest import client_for
from tests.financing.scenario import P1, P2, build_warehouse

COUNT_KEYS = {"Pasienter", "pasienter", "n", "annual_check_n", "listed", "target_group_patients",
              "on_worklist", "with_plan", "patients"}  # fmt: skip
SHARE_KEYS = {"share", "Andel", "andel", "annual_check_share"}


@pytest.fixture(scope="module")
def scenario_figures() -> dict[str, Any]:
    from pht.app.dashboards.loading import compute

    wh = build_warehouse()
    figures = compute(wh, [2021], use_population=False)
    wh.close()
    return figures


@pytest.fixture
def leaders(users: Any, scenario_figures: dict[str, Any]) -> dict[str, Any]:
    """The bundle with financing figures for A and B, and small annual-check cells for B and C."""
    from pht.app.care.models import PracticeIndicator
    from pht.app.dashboards.loading import store

    remap = {P1: PRACTICE_A, P2: PRACTICE_B}
    figures = {
        "snapshots": {
            y: {remap[p]: d for p, d in per.items() if p in remap}
            for y, per in scenario_figures["snapshots"].items()
        },
        "funds": {remap[p]: f for p, f in scenario_figures["funds"].items() if p in remap},
    }
    store(figures)
    for practice, q, num, den in (
        (PRACTICE_B, "2020Q1", 1, 2),
        (PRACTICE_B, "2020Q2", 3, 3),
        (PRACTICE_C, "2020Q1", 1, 2),
        (PRACTICE_B, "2020Q3", 4, 40),
    ):
        PracticeIndicator.objects.create(
            practice_id=practice, indicator="annual_check_share", quarter=q,
            numerator=num, denominator=den,
        )  # fmt: skip
    return users


def _small(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 5


def _check_rows(rows: list[dict[str, Any]], where: str) -> None:
    for row in rows:
        for key, value in row.items():
            if key in COUNT_KEYS:
                assert not _small(value), f"{where}: {key}={value} in {row}"
            if key in SHARE_KEYS and value not in (None, ""):
                n = row.get("n", row.get("annual_check_n"))
                assert n not in (None, "") and float(n) >= 5, f"{where}: share without n≥5 {row}"


def _csv_rows(text: str) -> list[dict[str, Any]]:
    out = []
    for r in csv.DictReader(io.StringIO(text)):
        out.append(
            {k: (float(v) if re.fullmatch(r"-?\d+(\.\d+)?", v or "") else v) for k, v in r.items()}
        )
    return out


def test_every_chart_and_table_endpoint_as_municipal_lead_hides_small_cells(
    client: Any, leaders: Any
) -> None:
    client_for(client, leaders["municipal"])  # Oslo: Sagene legekontor (B)
    b = {"practice_id": PRACTICE_B}
    for name in ("target-groups", "annual-checks"):
        spec = client.get(reverse("dashboards:chart_json", kwargs={**b, "name": name})).json()
        for rows in spec["datasets"].values():
            _check_rows(rows, f"chart {name}")
        svg = client.get(reverse("dashboards:chart_svg", kwargs={**b, "name": name}))
        assert svg.status_code == 200
        text = svg.content.decode()
        # the SVG is drawn from the same suppressed data: no point for the small quarters
        assert "2020Q1" not in text and "2020Q2" not in text
        table = client.get(reverse("dashboards:table_csv", kwargs={**b, "name": name}))
        _check_rows(_csv_rows(table.content.decode()), f"csv {name}")
    trend = client.get(reverse("dashboards:table_csv", kwargs={**b, "name": "annual-checks"}))
    rows = {(r["kvartal"], r["serie"]): r for r in _csv_rows(trend.content.decode())}
    assert rows[("2020Q1", "Sagene legekontor")]["andel"] == ""  # 1 of 2
    assert rows[("2020Q2", "Sagene legekontor")]["andel"] == ""  # 3 of 3
    assert rows[("2020Q3", "Sagene legekontor")]["andel"] == ""  # 4 of 40: 1–4 with the event
    assert rows[("2020Q1", "Sammenligningskontor")]["n"] == ""  # pooled 2
    page = client.get(reverse("dashboards:practice", kwargs=b)).content.decode()
    ns = re.findall(r'<table id="annual-checks">.*?</table>', page, re.S)[0]
    assert "2020Q1" in ns and "&lt;5" in ns
    # the municipality page, its chart and CSVs
    m = {"code": "0301"}
    html = client.get(reverse("dashboards:municipality", kwargs=m)).content.decode()
    assert "Sagene legekontor" in html and 'id="funds"' in html and 'id="indicators"' in html
    spec = client.get(reverse("dashboards:municipality_json", kwargs=m)).json()
    for rows in spec["datasets"].values():
        _check_rows(rows, "municipality chart")
    assert client.get(reverse("dashboards:municipality_svg", kwargs=m)).status_code == 200
    for name in ("indicators", "funds"):
        text = client.get(reverse("dashboards:municipality_csv", kwargs={**m, "name": name}))
        _check_rows(_csv_rows(text.content.decode()), f"municipality csv {name}")
    # financing of B: bands and claim counts, goals
    fin = client.get(reverse("dashboards:financing", kwargs=b)).content.decode()
    cells = re.findall(r"<td>(\d+)</td>", fin)
    assert all(int(c) == 0 or int(c) >= 5 for c in cells)
    spec = client.get(reverse("dashboards:financing_json", kwargs=b)).json()
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    api = client.get(f"/api/practices/{PRACTICE_B}/financing").json()
    assert all(v is None or v == 0 or v >= 5 for v in api["listed_by_age_band"].values())
    assert all(v is None or v >= 5 for v in api["claims_by_code"].values())
    for g in api["quality_goals"]:
        assert g["patients"] is None or g["patients"] >= 5
    staffing = client.get(f"/api/practices/{PRACTICE_B}/staffing")
    assert staffing.status_code == 200
    funds = client.get("/api/municipalities/0301/funds", {"year": 2021}).json()
    assert funds["practices"] and funds["year"] == 2021


def test_municipality_funds_api_and_access(client: Any, leaders: Any) -> None:
    client_for(client, leaders["municipal"])
    data = client.get("/api/municipalities/0301/funds", {"year": 2021}).json()
    (row,) = data["practices"]
    assert row["practice_id"] == PRACTICE_B and row["to_practice"]["ore"] > 0
    assert data["total"]["ore"] == row["to_practice"]["ore"] + row["to_municipality"]["ore"]
    assert data["to_municipality"]["nok"].count(".") <= 1
    assert client.get("/api/municipalities/1833/funds", {"year": 2021}).status_code == 404
    assert client.get(f"/api/practices/{PRACTICE_A}/financing").status_code == 404
    client_for(client, leaders["nurse_a"])
    assert client.get("/api/municipalities/1833/funds", {"year": 2021}).status_code == 403


def test_financing_and_staffing_api_for_the_team_lead(client: Any, leaders: Any) -> None:
    client_for(client, leaders["lead_a"])
    r = client.get(f"/api/practices/{PRACTICE_A}/financing", {"year": 2021})
    assert r.status_code == 200
    data = r.json()
    assert data["year"] == 2021 and set(data["drivers"]) == {"list_and_need", "activity", "quality"}
    fee, grant = data["fee"]["total"]["ore"], data["grant"]["total"]["ore"]
    assert data["difference"]["ore"] == grant - fee
    assert sum(v["ore"] for v in data["drivers"].values()) == grant - fee
    what = client.get(f"/api/practices/{PRACTICE_A}/financing", {"year": 2021, "listed": 20})
    assert what.json()["whatif"]["fee"]["change"]["ore"] != 0
    bad = client.get(f"/api/practices/{PRACTICE_A}/financing", {"nurse_fte": "x"})
    assert bad.status_code == 422
    s = client.get(f"/api/practices/{PRACTICE_A}/staffing").json()
    assert s["norm"]["primary_reading"] == "listed" and s["norm"]["required_fte_by_lists"] == "1.00"
    assert float(s["hours_needed"]) > 0 and "HDIR-PHT" in s["norm"]["sources"]
    assert client.get(f"/api/practices/{PRACTICE_B}/staffing").status_code == 404


@pytest.fixture
def decided_call(leaders: Any, settings: Any) -> dict[str, Any]:
    """The 2017 demo case, decided (Oslo granted), owned by the app's municipalities."""
    from pht.app.call.demo import load_demo_call
    from pht.app.call.models import CallCaseRecord
    from pht.call.decisions import approve_decisions, propose_decisions

    load_demo_call(replace=True)
    rec = CallCaseRecord.objects.get()
    case = rec.case
    proposal = propose_decisions(
        case.select(), case.applications, case.rules, officer="a", on=dt.date(2017, 11, 24)
    )
    decided = approve_decisions(proposal, officer="b", on=dt.date(2017, 11, 30))
    # drop the demo's own 2021 reports so the form starts empty
    case = case.model_copy(
        update={"decisions": decided, "reports": [r for r in case.reports if r.year != 2021]}
    )
    rec.store(case)
    settings.PHT_CALL_NOW = "2022-02-20T10:00:00"
    oslo = next(a for a, code in rec.owners.items() if code == "0301")
    return {"application": oslo}


def test_yearly_report_prefilled_signed_submitted_and_received(
    client: Any, leaders: Any, decided_call: dict[str, Any]
) -> None:
    from pht.app.audit.models import AuditEntry

    app_id = decided_call["application"]
    client_for(client, leaders["municipal"])
    listing = client.get(reverse("call:reports")).content.decode()
    assert app_id in listing
    url = reverse("call:report_edit", kwargs={"application_id": app_id, "year": 2021})
    form = client.get(url).content.decode()
    assert 'id="fig-practices"' in form and "kr " in form and "Sykepleierårsverk" in form
    data = {
        "item_0": "Prosjektledelse", "amount_0": "26 000", "activity": "", "progress": "",
        "signed_by": "Prosjektleder Oslo", "submit": "1",
    }  # fmt: skip
    refused = client.post(url, data)
    assert refused.status_code == 400 and 'data-field="activity"' in refused.content.decode()
    assert AuditEntry.objects.filter(action="call.report_submit_refused").count() == 1
    data.update(
        activity="Teamene følger opp målgruppene.",
        progress="Etter plan.",
        **{f"goal_{g}": "Fremdrift." for g in (
            "health_and_coping", "satisfaction", "coordinated_services", "reduced_need",
            "collaboration", "resource_use")},
    )  # fmt: skip
    done = client.post(url, data)
    assert done.status_code == 302
    assert AuditEntry.objects.filter(action="call.report_submit").count() == 1
    pdf = client.get(reverse("call:report_pdf", kwargs={"application_id": app_id, "year": 2021}))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    client_for(client, leaders["officer"])
    status = client.get(reverse("call:officer_reports"), {"year": 2021}).content.decode()
    row = re.search(rf'data-application="{app_id}">(.*?)</tr>', status, re.S)
    assert row and "mottatt" in row.group(1) and "20.02.2022" in row.group(1)
