"""`pht finance rates --date`: every rate in force on a day, with value, period, status, source."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from pht.cli import app
from pht.financing.rates import rates_in_force
from pht.reference import load_sources

runner = CliRunner()


def _json(day: str) -> dict[str, dict[str, object]]:
    result = runner.invoke(app, ["finance", "rates", "--date", day, "--format", "json"])
    assert result.exit_code == 0, result.output
    return {r["name"]: r for r in json.loads(result.output)["rates"]}


def test_2016_shows_the_basistilskudd_of_1_july_2016() -> None:
    rates = _json("2016-08-01")
    bt = rates["basistilskudd"]
    assert (bt["value"], bt["status"], bt["sources"]) == ("442", "C", ["HELFO-BT16"])
    # the rate ran from 1 July 2016 to the next settlement (the year files split it)
    assert (bt["valid_from"], bt["last_day"]) == ("2016-07-01", "2017-06-30")
    assert "knekkpunkt" not in rates and "pht01.honorar" not in rates


def test_march_2022_shows_653_up_to_the_knekkpunkt_and_the_lower_rate_to_2500() -> None:
    rates = _json("2022-03-01")
    assert rates["basistilskudd_below_knekkpunkt"]["value"] == "653"
    assert rates["knekkpunkt"]["value"] == "1000" and rates["list_cap"]["value"] == "2500"
    assert rates["basistilskudd_above_knekkpunkt"]["status"] == "U"
    assert rates["grunntilskudd"]["value"] == "653"
    assert rates["pht01.honorar"]["status"] == "A"  # the trial's nurse tariffs (placeholders)


def test_june_2023_shows_the_patient_adjusted_basistilskudd_and_its_weights() -> None:
    rates = _json("2023-06-01")
    pa = rates["patient_adjusted_basistilskudd"]
    assert (pa["value"], pa["status"]) == ("787.02", "D")
    assert "knekkpunkt" not in rates
    weights = [r for r in rates.values() if r["group"] == "pasienttilpasset_vekt"]
    names = {r["name"] for r in weights}
    assert {"use_of_gp_services", "centrality", "socioeconomic"} <= names
    assert len([n for n in names if n.startswith("weight_")]) == 12  # six ages × two sexes
    assert all(r["status"] == "A" for r in weights)  # no weight was published


def test_2026_prices_nurse_work_as_delegated_consultations() -> None:
    rates = _json("2026-03-01")
    assert rates["egenandelstak"]["value"] == "3278"
    assert rates["egenandelstak"]["status"] == "C"
    assert "delegated_consultations" in rates and "nurse_tariffs" not in rates
    assert "H2ad" in str(rates["nurse_work_priced_as"]["value"])
    refund = {k: Decimal(str(rates[f"{k}.refusjon"]["value"])) for k in ("H2ad", "2ad")}
    assert refund["H2ad"] < refund["2ad"]


@pytest.mark.parametrize("year", range(2015, 2027))
def test_every_rate_of_every_year_has_a_status_and_a_defined_source(year: int) -> None:
    sources = load_sources()
    figures = rates_in_force(dt.date(year, 7, 1))
    assert any(f.group == "basistilskudd" for f in figures)
    assert any(f.group == "takst" for f in figures)
    for f in figures:
        assert f.status in {"C", "D", "U", "A"}, f
        assert f.sources and all(s in sources for s in f.sources), f


def test_a_day_without_rates_and_a_bad_date_are_clear_errors() -> None:
    result = runner.invoke(app, ["finance", "rates", "--date", "2014-05-01"])
    assert result.exit_code != 0 and "2015" in str(result.exception)
    result = runner.invoke(app, ["finance", "rates", "--date", "1. mai"])
    assert result.exit_code != 0 and "YYYY-MM-DD" in str(result.exception)


def test_the_table_uses_norwegian_dates_and_decimal_commas() -> None:
    result = runner.invoke(app, ["finance", "rates", "--date", "2023-08-01", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "841,80" in result.output and "01.07.2023" in result.output
