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
    all_activity_equivalents,
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


def test_the_basistilskudd_follows_helfo_and_the_directorate() -> None:
    # C HELFO-BT16: 442 from 1 July 2016 (pht had 422 for all of 2016, A)
    h2_2016 = load_financing_rates(2016).basistilskudd[-1]
    assert (h2_2016.valid_from, h2_2016.rate, h2_2016.status) == (
        dt.date(2016, 7, 1),
        Decimal(442),
        "C",
    )
    # C HELFO-BT22: 653 before 1 July 2022 up to 1,000 listed (pht had 675/544 as C), 675 after;
    # 544 from no. 1,001 to 2,500; grunntilskudd for lists under 500 for two years
    h1, h2 = load_financing_rates(2022).basistilskudd
    assert (h1.rate_below_knekkpunkt, h1.knekkpunkt, h1.list_cap) == (Decimal(653), 1000, 2500)
    assert h1.status_of("rate_below_knekkpunkt") == "C" and h1.status_of("rate") == "U"
    assert (h2.valid_from, h2.rate_below_knekkpunkt, h2.rate) == (
        dt.date(2022, 7, 1),
        Decimal(675),
        Decimal(544),
    )
    assert (h2.grunntilskudd_below, h2.grunntilskudd_years) == (500, 2)
    # from 1 May 2023 patient-adjusted, no knekkpunkt; 841.80 from 1 July = 787.02 × 1.0696 (D)
    k, may, july = load_financing_rates(2023).basistilskudd
    assert (k.last_day, may.kind, may.status, july.rate) == (
        dt.date(2023, 4, 30),
        "patient_adjusted",
        "D",
        Decimal("841.80"),
    )
    assert abs(may.rate * Decimal("1.0696") - july.rate) < Decimal("0.01")


def test_ceilings_and_settlements_follow_the_sources() -> None:
    # 2026 is published (C FRIKORT-2026: 3,278; pht assumed 3,380 before); 2017 C FRIKORT-2017
    cp = load_financing_rates(2026).copayment
    assert (cp.ceiling, cp.ceiling_status) == (Decimal(3278), "C")
    assert load_financing_rates(2017).copayment.ceiling_status == "C"
    by_day = {(t.code, t.valid.start): t for y in (2023, 2024) for t in load_tariff_amounts(y)}
    before, after = by_day[("2ad", dt.date(2023, 1, 1))], by_day[("2ad", dt.date(2023, 7, 1))]
    # the 2022-23 tariff book 175/15/160 (C NT-SPES); + 6.96 % on the fee from 1 July 2023 (D),
    # the co-payment 170 as posted (C PRICE-2324)
    assert (before.fee, before.refund, before.copay, before.status) == (175, 15, 160, "C")
    assert (after.fee, after.copay) == (round(175 * Decimal("1.0696")), 170)
    assert after.fee == after.refund + after.copay


def test_tariffs_from_1_july_2024_follow_helfo_and_the_posted_co_payments() -> None:
    by_day = {
        (t.code, t.valid.start): t for y in (2023, 2024, 2025) for t in load_tariff_amounts(y)
    }
    # 1 Jul 2023 - 30 Jun 2024: the e-consultation's co-payment is the consultation's (C PRICE-2324)
    assert by_day[("2ae", dt.date(2023, 7, 1))].copay == by_day[("2ad", dt.date(2023, 7, 1))].copay
    # from 1 July 2024 2aef's co-payment is 2ad's and 2ae's and its fee was lowered (HELFO-TAKST24)
    july_24 = {c: by_day[(c, dt.date(2024, 7, 1))] for c in ("2ad", "2ae", "2aef")}
    assert july_24["2aef"].copay == july_24["2ad"].copay == july_24["2ae"].copay
    assert july_24["2aef"].fee < by_day[("2aef", dt.date(2024, 1, 1))].fee
    # 1 Jul 2025 - 30 Jun 2026: co-payments as posted (C PRICE-2526; pht had 182 for 2ad, x 1.03)
    posted = {"2ad": 179, "2ak": 301, "11ad": 240, "11ak": 384, "2dd": 56, "1ad": 64, "701a": 64}
    for code, copay in posted.items():
        row = by_day[(code, dt.date(2025, 7, 1))]
        assert (row.copay, row.fee) == (copay, row.refund + row.copay), code
    # no per-code figure from 1 July 2024 was published: the rows are assumptions (A), not the
    # issue's figures (U)
    assert {t.status for t in load_tariff_amounts(2025)} == {"A"}
    july_bt = load_financing_rates(2024).basistilskudd[-1]
    assert (july_bt.rate, july_bt.status) == (Decimal("861.16"), "A")
    assert load_financing_rates(2025).copayment.ceiling_status == "A"  # no 2025 source found


def test_nurse_work_is_priced_through_2025_and_as_delegated_consultations_from_2026() -> None:
    codes_2025 = {t.code for t in load_tariff_amounts(2025)}
    codes_2026 = {t.code for t in load_tariff_amounts(2026)}
    assert "pht01" in codes_2025 and "pht01" not in codes_2026 and "H2ad" in codes_2026
    assert activity_equivalents(2025)[("pht01", "nurse")].fee_codes == ("pht01",)
    assert activity_equivalents(2026)[("pht01", "nurse")].fee_codes == ("H2ad",)
    assert activity_equivalents(2026)[("2ad", "nurse")].fee_codes == ("H2ad",)
    assert ("2ad", "nurse") not in activity_equivalents(2025)
    # a delegated consultation is refunded below the GP's (C LEGEFOR-DELEG2; amounts A)
    first = {t.code: t for t in load_tariff_amounts(2026) if t.valid.start == dt.date(2026, 1, 1)}
    assert first["H2ad"].refund < first["2ad"].refund and first["H2ad"].status == "A"


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
    cited |= {e.source for e in all_activity_equivalents()}
    for name in ("financing/patient_adjusted_basistilskudd.toml", "scheme.toml"):
        for block in re.findall(r"sources = \[(.*?)\]", data_text(name)):
            cited |= set(re.findall(r'"([^"]+)"', block))
    missing = sorted(c for c in cited if c not in sources)
    assert not missing, f"cited but not in sources.toml: {missing}"


def test_nurse_tariffs_are_marked_as_assumptions_and_codes_are_known() -> None:
    known = tariff_codes()
    for year in financing_years():
        for t in load_tariff_amounts(year):
            assert t.code in known, t.code
            if t.code.startswith("pht"):
                assert t.status == "A"
    for eq in all_activity_equivalents():
        assert eq.code in known and all(c in known for c in eq.fee_codes + eq.grant_copay_codes)


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
