"""The practice dashboard: aggregates, charts, staffing; other practices not reachable."""

from __future__ import annotations

import json
from typing import Any

from django.urls import reverse

from tests.app.bundle import PRACTICE_A, PRACTICE_B
from tests.app.conftest import client_for


def test_team_sees_own_practice_dashboard(client: Any, users: Any) -> None:
    client_for(client, users["lead_a"])
    response = client.get(reverse("dashboards:index"))
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert "Storforshei legesenter" in html
    assert 'id="staffing"' in html and 'id="target-groups"' in html
    # 3 GP lists need 1.00 nurse FTE; the practice has 0.80
    assert "1.00" in html or "1,00" in html
    other = client.get(reverse("dashboards:practice", kwargs={"practice_id": PRACTICE_B}))
    assert other.status_code == 404


def test_charts_are_vega_lite_rendered_to_svg(client: Any, users: Any) -> None:
    client_for(client, users["lead_a"])
    spec = client.get(
        reverse(
            "dashboards:chart_json", kwargs={"practice_id": PRACTICE_A, "name": "annual-checks"}
        )
    ).json()
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    series = {row["series"] for row in next(iter(spec["datasets"].values()))}
    assert series == {"Storforshei legesenter", "Sammenligningskontor"}
    svg = client.get(
        reverse("dashboards:chart_svg", kwargs={"practice_id": PRACTICE_A, "name": "target-groups"})
    )
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    assert svg.content.lstrip().startswith(b"<svg")


def test_directorate_sees_scheme_practices_with_small_cells_suppressed(
    client: Any, users: Any
) -> None:
    client_for(client, users["analyst"])
    html = client.get(reverse("dashboards:index")).content.decode()
    assert "Storforshei legesenter" in html and "Sagene legekontor" in html
    assert "Mo legesenter" not in html  # comparison practice is not in the scheme list
    page = client.get(reverse("dashboards:practice", kwargs={"practice_id": PRACTICE_A}))
    assert page.status_code == 200
    spec = json.loads(
        client.get(
            reverse(
                "dashboards:chart_json",
                kwargs={"practice_id": PRACTICE_A, "name": "target-groups"},
            )
        ).content
    )
    values = [r["Pasienter"] for r in next(iter(spec["datasets"].values()))]
    assert all(v == 0 or v >= 5 for v in values)


def test_municipal_lead_sees_only_own_municipality(client: Any, users: Any) -> None:
    client_for(client, users["municipal"])  # Oslo
    html = client.get(reverse("dashboards:index")).content.decode()
    assert "Sagene legekontor" in html and "Storforshei legesenter" not in html
    assert (
        client.get(reverse("dashboards:practice", kwargs={"practice_id": PRACTICE_A})).status_code
        == 404
    )
