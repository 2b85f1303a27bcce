"""Event ids of different extracts never collide; the panel scenario writes a valid extract."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pht.registry.load import validate_extract
from pht.synth import SynthResult, generate
from pht.synth.ids import extract_tag

EVENTS = {"contacts": "contact_id", "admissions": "admission_id", "survey_responses": "response_id"}


def _ids(result: SynthResult, table: str) -> set[str]:
    return set(
        pq.read_table(result.out / f"{table}.parquet", columns=[EVENTS[table]])
        .column(0)
        .to_pylist()
    )


def test_the_tag_names_scenario_seed_scale_and_years() -> None:
    assert extract_tag("pilot", 1, (2015, 2023)) == "p1-2015-2023"
    assert extract_tag("pilot", 7, (2019, 2022), 30_000) == "p7x30000-2019-2022"
    tags = {
        extract_tag(s, seed, years, persons)
        for s in ("pilot", "national", "panel")
        for seed in (1, 11)
        for years in ((2019, 2020), (2021, 2022), (2019, 2022), (2020, 2020))
        for persons in (None, 1_000, 10_000)
    }
    assert len(tags) == 3 * 2 * 4 * 3
    with pytest.raises(ValueError, match="scenario"):
        extract_tag("county", 1, (2015, 2015))


def test_extracts_of_other_years_or_seeds_share_no_event_id(tmp_path: Path) -> None:
    early = generate("pilot", "2019-2020", 3, tmp_path / "a", persons=1_500)
    late = generate("pilot", "2021-2022", 3, tmp_path / "b", persons=1_500)
    other_seed = generate("pilot", "2019-2020", 4, tmp_path / "c", persons=1_500)
    for table in EVENTS:
        a, b, c = _ids(early, table), _ids(late, table), _ids(other_seed, table)
        assert a and b and c
        assert not a & b and not a & c and not b & c, table
    assert next(iter(_ids(early, "contacts"))).startswith("p3x1500-2019-2020-K")
    assert early.manifest["id_prefix"] == "p3x1500-2019-2020"
    # person numbers start from a point of their own in each extract: few are shared
    persons = [
        set(pq.read_table(r.out / "persons.parquet", columns=["person_id"]).column(0).to_pylist())
        for r in (early, other_seed)
    ]
    assert len(persons[0] & persons[1]) < 0.1 * len(persons[0])


def test_the_panel_scenario_writes_a_valid_extract(tmp_path: Path) -> None:
    result = generate("panel", "2016-2019", 2, tmp_path / "panel", persons=1_800)
    report = validate_extract(result.out)
    assert report.ok, [str(p) for p in report.problems[:10]]
    assert result.manifest["scenario"] == "panel"
    assert {e["indicator"] for e in result.manifest["effects"]} >= {"nurse_consultations"}
    assert next(iter(_ids(result, "contacts"))).startswith("v2-2016-2019-K")
    assert (result.out / "truth" / "conditions.parquet").exists()


def test_an_extract_reaching_past_today_ends_before_it_and_loads(tmp_path: Path) -> None:
    """Years that run past today (an extended pilot, e.g. 2024-2026 late in 2026): nothing is
    dated after today, the teams' nurses still work, and the importers accept every row."""
    import datetime as dt

    import duckdb

    this_year = dt.date.today().year
    result = generate("pilot", (this_year - 1, this_year + 1), 6, tmp_path / "x", persons=1_500)
    report = validate_extract(result.out)
    assert report.ok, [str(p) for p in report.problems[:10]]
    out = result.out
    (latest,) = duckdb.sql(
        f"select max(d) from (select max(date) d from '{out}/contacts.parquet' union all "
        f"select max(discharged) from '{out}/admissions.parquet' union all "
        f"select max(start) from '{out}/list_memberships.parquet')"
    ).fetchone()
    assert latest <= dt.date.today()
    (nurses,) = duckdb.sql(
        f"select count(*) from '{out}/practitioners.parquet' where role = 'nurse' "
        'and "end" is null'
    ).fetchone()
    assert nurses > 0
