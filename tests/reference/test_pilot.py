"""The 2018 pilot as reference data: totals, sources, municipality numbers over time, funds."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from pht.core.errors import NotFound
from pht.core.labels import FinancingModel, SizeClass
from pht.financing.project_funds import project_funds_for_year
from pht.reference import load_pilot, load_scheme_rules, load_sources, translate_code
from pht.reference.files import data_text
from pht.reference.municipalities import municipality_codes


def test_pilot_matches_the_published_figures() -> None:
    pilot = load_pilot()
    assert len(pilot.municipalities) == 9
    assert len(pilot.practices) == 17
    assert pilot.gps == 112
    assert pilot.nurse_fte == Decimal(29)
    assert pilot.listed == 103_000
    assert pilot.practices_by_model() == {FinancingModel.FEE: 12, FinancingModel.GRANT: 5}
    at_start = pilot.practices_on(dt.date(2018, 4, 1))
    assert len(at_start) == 13 and sum(p.gps for p in at_start) == 85
    assert (pilot.start, pilot.last_day) == (dt.date(2018, 4, 1), dt.date(2023, 3, 31))


def test_size_classes_of_the_pilot_municipalities() -> None:
    classes = {m.name: m.size_class for m in load_pilot().municipalities}
    assert classes["Seljord"] is SizeClass.SMALL
    assert classes["Hå"] is SizeClass.MEDIUM
    assert classes["Oslo"] is SizeClass.LARGE


def test_every_source_cited_in_reference_data_is_defined() -> None:
    sources = load_sources()
    cited: set[str] = set()
    for name in ("pilot_2018.toml", "scheme.toml"):
        for block in re.findall(r"sources = \[(.*?)\]", data_text(name)):
            cited |= set(re.findall(r'"([^"]+)"', block))
        cited |= set(re.findall(r"\b[CDU] (seed\d+|[A-Z][A-Z0-9]*-[A-Z0-9-]+)", data_text(name)))
    cited |= {c.source for c in municipality_codes().values()}
    assert {"seed000", "HDIR-OMS18", "SSB-KLASS-131"} <= cited
    missing = sorted(c for c in cited if c not in sources)
    assert not missing, f"cited but not in sources.toml: {missing}"


@pytest.mark.parametrize(
    ("code", "on", "expected"),
    [
        ("0828", dt.date(2021, 6, 1), "3820"),  # Seljord: Telemark -> Vestfold og Telemark
        ("0828", dt.date(2024, 6, 1), "4022"),  # -> Telemark again
        ("4022", dt.date(2016, 1, 1), "0828"),  # back in time through a single predecessor
        ("1443", dt.date(2020, 1, 1), "4649"),  # Eid -> Stad
        ("1244", dt.date(2022, 1, 1), "4625"),  # Austevoll: new county number
        ("1001", dt.date(2023, 1, 1), "4204"),  # Kristiansand merged with Søgne and Songdalen
        ("0301", dt.date(2015, 1, 1), "0301"),
        ("1663", dt.date(2019, 1, 1), "5031"),  # Malvik 2018
        ("1523", dt.date(2024, 2, 1), "1508"),  # Ørskog -> Ålesund 1507 -> 1508
    ],
)
def test_municipality_numbers_over_time(code: str, on: dt.date, expected: str) -> None:
    assert translate_code(code, on) == expected


def test_a_merged_municipality_has_no_single_number_before_the_merger() -> None:
    with pytest.raises(NotFound, match="predecessors: Flora, Vågsøy"):
        translate_code("4602", dt.date(2019, 1, 1))


def test_every_pilot_municipality_number_is_in_the_code_history() -> None:
    codes = municipality_codes()
    for m in load_pilot().municipalities:
        assert m.code in codes and codes[m.code].valid.end is None


def test_project_funds_for_a_full_year() -> None:
    funds = project_funds_for_year(load_pilot(), load_scheme_rules(), 2021)
    assert funds.gps == 112 and len(funds.practices) == 17
    assert funds.total_to_practices.amount == Decimal("15008000.00")
    assert funds.total_to_municipalities.amount == Decimal("2912000.00")


def test_project_funds_2018_count_only_the_first_13_practices_from_april() -> None:
    funds = project_funds_for_year(load_pilot(), load_scheme_rules(), 2018)
    assert len(funds.practices) == 13 and funds.gps == 85
    assert {p.months for p in funds.practices} == {9}
    assert funds.total_to_practices.amount == Decimal(85 * 134_000 * 9 / 12)
    assert funds.total_to_municipalities.amount == Decimal(85 * 26_000 * 9 / 12)


def test_project_funds_over_the_whole_pilot_are_gp_months_times_the_monthly_rate() -> None:
    pilot, rules = load_pilot(), load_scheme_rules()
    years = [project_funds_for_year(pilot, rules, y) for y in range(2017, 2025)]
    gp_months = sum(p.gps * p.months for f in years for p in f.practices)
    assert gp_months == 85 * 60 + 27 * 36  # 5 years for the first 13, 3 years for the four
    assert sum(f.total_to_practices.amount for f in years) == Decimal(gp_months) * 134_000 / 12
    assert sum(f.total_to_municipalities.amount for f in years) == Decimal(gp_months) * 26_000 / 12
    assert years[0].gps == 0 and years[-1].gps == 0  # 2017 and 2024: no funds


def test_municipality_funds_add_up_to_the_practices() -> None:
    funds = project_funds_for_year(load_pilot(), load_scheme_rules(), 2020)
    assert sum(m.to_municipality.amount for m in funds.municipalities) == sum(
        p.to_municipality.amount for p in funds.practices
    )
    oslo = next(m for m in funds.municipalities if m.municipality == "Oslo")
    assert oslo.practices == 5


def test_tariff_codes_carry_a_defined_source_and_known_contact_type() -> None:
    from pht.reference import tariff_codes

    codes = tariff_codes()
    sources = load_sources()
    assert {"2ad", "11ad", "074a", "086a", "pht01"} <= set(codes)
    assert all(c.source in sources for c in codes.values())
    nurse = [c for c in codes.values() if c.provider == "nurse"]
    assert nurse and all(c.status == "A" for c in nurse)
