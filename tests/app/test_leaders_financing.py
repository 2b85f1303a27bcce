"""The financing page: both models per year equal to `pht finance compare` to the øre, the
what-if from stored coefficients in well under a second, access by role."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from typer.testing import CliRunner

from pht.cli import app as cli
from tests.app.conftest import client_for
from tests.financing.scenario import P1, P2, build_warehouse

runner = CliRunner()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wh") / "warehouse.duckdb"
    build_warehouse(path).close()
    return path


@pytest.fixture(scope="module")
def figures(warehouse: Path) -> dict[str, Any]:
    from pht.app.dashboards.loading import compute
    from pht.registry.warehouse import Warehouse

    with Warehouse.open(warehouse, read_only=True) as wh:
        return compute(wh, [2021], use_population=False)


@pytest.fixture
def scenario(db: Any, figures: dict[str, Any]) -> dict[str, Any]:
    """The scenario's practices in the app, a team lead, a nurse and a municipal lead."""
    from django.contrib.auth import get_user_model

    from pht.app.accounts.models import AppRole, Municipality, Practice, Profile
    from pht.app.dashboards.loading import store

    kr = Municipality.objects.create(code="4602", name="Kinn")
    Practice.objects.create(
        practice_id=P1, name="Fjordlegene", municipality=kr, financing_model="fee"
    )
    Practice.objects.create(
        practice_id=P2, name="Sentrum legesenter", municipality=kr, financing_model="grant"
    )
    users = {}
    for name, role, practice, municipality in [
        ("lead", AppRole.GP_TEAM_LEAD, P1, None),
        ("nurse", AppRole.NURSE, P1, None),
        ("lead2", AppRole.GP_TEAM_LEAD, P2, None),
        ("municipal", AppRole.MUNICIPAL_LEAD, None, kr),
        ("analyst", AppRole.ANALYST, None, None),
    ]:
        user = get_user_model().objects.create_user(name, password="x" * 20)
        Profile.objects.create(
            user=user, role=role, practice_id=practice, municipality=municipality
        )
        users[name] = user
    assert store(figures) == {"snapshots": 2, "funds": 2 * 4}
    return users


def test_financing_page_equals_finance_compare_to_the_ore(
    client: Any, scenario: Any, warehouse: Path
) -> None:
    out = runner.invoke(
        cli,
        ["finance", "compare", "-y", "2021", "-w", str(warehouse), "--no-population", "-f", "json"],
    )
    assert out.exit_code == 0, out.output
    data = {p["practice_id"]: p for p in json.loads(out.output)["practices"]}
    client_for(client, scenario["lead"])
    html = client.get(reverse("dashboards:financing", kwargs={"practice_id": P1})).content.decode()
    shown = dict(re.findall(r'id="([a-z_-]+-2021-[a-z_]+)" data-ore="(-?\d+)"', html))
    cli_row = data[P1]

    def ore(text: str) -> str:
        return str(int((__import__("decimal").Decimal(text) * 100).to_integral_value()))

    expected = {
        "fee-2021-total": cli_row["fee_model"],
        "grant-2021-total": cli_row["grant_model"],
        "fee-2021-per_capita": cli_row["fee"]["per_capita"],
        "fee-2021-refunds": cli_row["fee"]["refunds"],
        "grant-2021-list_grant": cli_row["grant"]["list_grant"],
        "grant-2021-quality_grant": cli_row["grant"]["quality_grant"],
        "fee-2021-copay_patients": cli_row["fee"]["copay_patients"],
        "grant-2021-copay_ceiling": cli_row["grant"]["copay_ceiling"],
        "driver-2021-activity": cli_row["driver_activity"],
        "driver-2021-list_and_need": cli_row["driver_list_and_need"],
    }
    assert {k: shown[k] for k in expected} == {k: ore(v) for k, v in expected.items()}
    assert "kr " in html and "Honorarmodell" in html and "Driftstilskuddsmodell" in html
    svg = client.get(reverse("dashboards:financing_svg", kwargs={"practice_id": P1}))
    assert svg.status_code == 200 and svg.content.lstrip().startswith(b"<svg")


def test_what_if_answers_from_stored_coefficients_fast(client: Any, scenario: Any) -> None:
    client_for(client, scenario["lead"])
    url = reverse("dashboards:financing", kwargs={"practice_id": P1})
    start = time.perf_counter()
    r = client.get(
        url,
        {"run": "1", "nurse_consultations": "2", "nurse_fte": "0,5", "listed": "20"},
        HTTP_HX_REQUEST="true",
    )
    elapsed = time.perf_counter() - start
    assert r.status_code == 200 and 'id="whatif-fee-change"' in r.content.decode()
    assert elapsed < 1.0
    # no target groups without population analytics: the list size is what changes here
    change = re.search(r'id="whatif-fee-change">([^<]+)<', r.content.decode())
    assert change and change.group(1).startswith("kr ") and change.group(1) != "kr 0"
    bad = client.get(url, {"run": "1", "nurse_consultations": "mange"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and "Skriv et tall" in bad.content.decode()


def test_financing_access_by_role(client: Any, scenario: Any) -> None:
    url = reverse("dashboards:financing", kwargs={"practice_id": P1})
    client_for(client, scenario["nurse"])
    assert client.get(url).status_code == 403
    client_for(client, scenario["lead2"])
    assert client.get(url).status_code == 404
    client_for(client, scenario["municipal"])
    assert client.get(url).status_code == 200
    client_for(client, scenario["analyst"])
    assert client.get(url).status_code == 403
    agg = client.get(reverse("dashboards:financing_index")).content.decode()
    assert 'id="financing-aggregate"' in agg and "Fjordlegene" not in agg
