"""Financing reference data: every year loads, sources are defined, a tariff file drops in."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from pht.core.errors import ReferenceDataError
from pht.reference import load_sources, tariff_codes
from pht.reference.files import data_text
from pht.reference.financing import (
    activity_equivalents,
    financing_years,
    load_financing_rates,
    load_tariff_amounts,
    read_tariff_file,
)


def test_a_rates_and_a_tariff_file_for_every_year_from_2015() -> None:
    years = financing_years()
    assert years[0] == 2015 and list(years) == list(range(2015, years[-1] + 1))
    for year in years:
        rates = load_financing_rates(year)
        assert rates.ceiling > 0
        assert load_tariff_amounts(year)


def test_rates_follow_the_published_figures() -> None:
    # C: 499 flat from 1 July 2019; 642/526 with the knekkpunkt from 1 July 2021;
    # patient-adjusted 841.80 from 1 July 2023; the ceiling 2,921 in 2022
    july_2019 = load_financing_rates(2019).basistilskudd[-1]
    assert (july_2019.valid_from, july_2019.kind, july_2019.rate) == (
        dt.date(2019, 7, 1),
        "flat",
        Decimal("499"),
    )
    h2 = load_financing_rates(2021).basistilskudd[-1]
    assert (h2.rate_below_knekkpunkt, h2.rate, h2.knekkpunkt) == (Decimal(642), Decimal(526), 1000)
    last = load_financing_rates(2023).basistilskudd[-1]
    assert (last.kind, last.rate) == ("patient_adjusted", Decimal("841.80"))
    assert load_financing_rates(2022).ceiling == Decimal("2921")


def test_every_financing_source_is_defined_and_every_figure_has_a_status() -> None:
    sources = load_sources()
    cited: set[str] = set()
    for year in financing_years():
        text = data_text(f"financing/{year}.toml")
        for block in re.findall(r"sources = \[(.*?)\]", text):
            cited |= set(re.findall(r'"([^"]+)"', block))
        for t in load_tariff_amounts(year):
            assert t.status in {"C", "D", "U", "A"}, t
            cited.add(t.source)
    cited |= {e.source for e in activity_equivalents().values()}
    missing = sorted(c for c in cited if c not in sources)
    assert not missing, f"cited but not in sources.toml: {missing}"


def test_nurse_tariffs_are_marked_as_assumptions_and_codes_are_known() -> None:
    known = tariff_codes()
    for year in financing_years():
        for t in load_tariff_amounts(year):
            assert t.code in known, t.code
            if t.code.startswith("pht"):
                assert t.status == "A"
    for (code, _), eq in activity_equivalents().items():
        assert code in known and all(c in known for c in eq.fee_codes + eq.grant_copay_codes)


def test_a_helfo_csv_and_json_file_drop_in(tmp_path: Path) -> None:
    csv_file = tmp_path / "takster.csv"
    csv_file.write_text(
        "takstkode,honorar,refusjon,egenandel,fradato,tildato\n2ad,200,50,150,2021-01-01,\n",
        encoding="utf-8",
    )
    (row,) = read_tariff_file(csv_file)
    assert (row.code, row.refund, row.copay, row.counts_toward_ceiling) == (
        "2ad",
        Decimal(50),
        Decimal(150),
        True,
    )
    assert row.valid.end is None
    json_file = tmp_path / "takster.json"
    json_file.write_text(
        json.dumps(
            [
                {
                    "takstkode": "pht01",
                    "honorar": "300.00",
                    "refusjon": "200.00",
                    "egenandel": "100.00",
                    "fradato": "2021-01-01T00:00:00",
                    "tildato": "2021-12-31T00:00:00",
                    "ugyldig_kombinasjon": ["2ad"],
                    "maks_antall_per_aar": 12,
                }
            ]
        ),
        encoding="utf-8",
    )
    (nurse,) = read_tariff_file(json_file)
    assert nurse.invalid_with == ("2ad",) and nurse.max_per_year == 12
    assert nurse.valid.last_day == dt.date(2021, 12, 31)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("takstkode,honorar,refusjon,egenandel,fradato\n2ad,x,1,1,2021-01-01\n", "honorar"),
        ("takstkode,honorar,refusjon,egenandel,fradato\n2ad,1,1,1,21.01.2021\n", "fradato"),
        ("takstkode,honorar,refusjon\n2ad,1,1\n", "missing column"),
        (
            "takstkode,honorar,refusjon,egenandel,fradato,tildato\n"
            "2ad,1,1,1,2021-01-01,2021-12-31\n2ad,1,1,1,2021-06-01,\n",
            "overlapping",
        ),
    ],
)
def test_a_bad_tariff_file_is_refused_with_file_and_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=message) as err:
        read_tariff_file(path)
    assert "bad.csv" in str(err.value)


def test_a_year_without_rates_says_which_years_exist() -> None:
    with pytest.raises(ReferenceDataError, match="rates exist for 2015"):
        load_financing_rates(1999)
