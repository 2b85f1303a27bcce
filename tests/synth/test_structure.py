"""The pilot scenario's frame: practices, staff, identifiers, keys, validation and determinism."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

from pht.cli import app
from pht.core.identifiers import parse_person_id, person_id_problems, validate_hpr, validate_orgnr
from pht.reference import load_pilot, tariff_codes
from pht.reference.codes import icd10_known, icpc2_codes
from pht.registry.load import validate_extract
from pht.synth import SynthResult, generate
from pht.synth.plan import ScenarioError


def test_the_17_pilot_practices_with_their_models_dates_and_gps(
    db: duckdb.DuckDBPyConnection,
) -> None:
    pilot = load_pilot()
    rows = db.execute(
        "select practice_id, financing_model, pht_start, pht_end from practices "
        "where pht_start is not null"
    ).fetchall()
    assert len(rows) == 17
    by_id = {r[0]: r for r in rows}
    for p in pilot.practices:
        _, model, start, end = by_id[p.practice_id]
        assert model == p.financing_model.value
        assert start == p.joined and end is None  # the teams continue to the extract's end
        gps_on_join = db.execute(
            "select count(*) from practitioners where practice_id = ? and role = 'gp' "
            'and start <= ? and ("end" is null or "end" >= ?)',
            [p.practice_id, p.joined, p.joined],
        ).fetchone()[0]
        assert gps_on_join == p.gps
        nurses = db.execute(
            "select sum(fte), min(start), max(start) from practitioners "
            "where practice_id = ? and role = 'nurse'",
            [p.practice_id],
        ).fetchone()
        assert nurses[0] == pytest.approx(float(p.nurse_fte), abs=1e-9)  # the FTE exactly
        assert nurses[1] == nurses[2] == p.joined
        leads = db.execute(
            "select count(*) from practitioners where practice_id = ? and team_lead",
            [p.practice_id],
        ).fetchone()[0]
        assert leads >= 1
    secretaries = db.execute(
        "select count(distinct practice_id) from practitioners where role = 'secretary'"
    ).fetchone()[0]
    assert secretaries == db.execute("select count(*) from practices").fetchone()[0]


def test_comparison_practices_have_three_times_the_listed_in_the_same_size_classes(
    db: duckdb.DuckDBPyConnection,
) -> None:
    day = dt.date(2019, 1, 1)
    listed = dict(
        db.execute(
            "select p.pht_start is not null, count(distinct m.person_id) from list_memberships m "
            "join practitioners g on g.practitioner_id = m.gp_id "
            "join practices p on p.practice_id = g.practice_id "
            'where m.start <= ? and (m."end" is null or m."end" >= ?) group by 1',
            [day, day],
        ).fetchall()
    )
    assert listed[False] >= 3 * listed[True]

    def size(pop: int) -> str:
        return "small" if pop < 5000 else "large" if pop > 20000 else "medium"

    classes = db.execute(
        "select p.pht_start is not null, m.population from practices p "
        "join municipalities m using (municipality_code)"
    ).fetchall()
    pilot_classes = {size(pop) for is_pilot, pop in classes if is_pilot}
    comparison_classes = {size(pop) for is_pilot, pop in classes if not is_pilot}
    assert pilot_classes == comparison_classes == {"small", "medium", "large"}


def test_identifiers_keys_and_dates_follow_the_core_rules(
    db: duckdb.DuckDBPyConnection,
) -> None:
    ids = [r[0] for r in db.execute("select person_id from persons").fetchall()]
    assert all(p is None for p in person_id_problems(np.array(ids, dtype=object)))
    assert len(set(ids)) == len(ids)
    one = parse_person_id(ids[0])
    assert one.is_synthetic and int(ids[0][2:4]) > 80
    born, sex = db.execute(
        "select birth_date, sex from persons where person_id = ?", [ids[0]]
    ).fetchone()
    assert (one.birth_date, one.sex) == (born, sex)
    assert all(
        validate_orgnr(r[0]) is None
        for r in db.execute("select practice_id from practices").fetchall()
    )
    hprs = db.execute("select practitioner_id from practitioners").fetchall()
    assert all(validate_hpr(r[0]) is None for r in hprs)
    # Foreign keys.
    persons = "select person_id from persons"
    practices = "select practice_id from practices"
    municipalities = "select municipality_code from municipalities"
    orphans = [
        ("contacts", "person_id", persons),
        ("contacts", "practice_id", practices),
        ("contacts", "practitioner_id", "select practitioner_id from practitioners"),
        ("list_memberships", "gp_id", "select practitioner_id from practitioners where role='gp'"),
        ("practices", "municipality_code", municipalities),
        ("persons", "municipality_code", municipalities),
        ("admissions", "person_id", persons),
        ("municipal_services", "person_id", persons),
        ("survey_responses", "practice_id", practices),
    ]
    for table, column, ref in orphans:
        sql = f"select count(*) from {table} where {column} not in ({ref})"
        assert db.execute(sql).fetchone()[0] == 0, f"{table}.{column}"
    # Dates in order, and no contact after death or before birth.
    assert (
        db.execute("select count(*) from admissions where discharged < admitted").fetchone()[0] == 0
    )
    assert (
        db.execute('select count(*) from list_memberships where "end" < start').fetchone()[0] == 0
    )
    assert (
        db.execute('select count(*) from municipal_services where "end" < start').fetchone()[0] == 0
    )
    assert (
        db.execute(
            "select count(*) from contacts c join persons p using (person_id) "
            "where c.date < p.birth_date or c.date > p.death_date"
        ).fetchone()[0]
        == 0
    )
    # List periods of one person never overlap.
    overlaps = db.execute(
        'select count(*) from (select person_id, start, "end", '
        "lead(start) over (partition by person_id order by start) nxt from list_memberships) "
        'where nxt is not null and ("end" is null or nxt <= "end")'
    ).fetchone()[0]
    assert overlaps == 0
    # Codes.
    known_tariffs = set(tariff_codes())
    used = {
        t
        for (s,) in db.execute("select distinct tariffs from contacts").fetchall()
        for t in s.split()
    }
    assert used <= known_tariffs
    icpc = set(icpc2_codes())
    diagnoses = {
        d
        for (s,) in db.execute("select distinct diagnoses from contacts").fetchall()
        for d in s.split()
    }
    assert diagnoses <= icpc
    mains = [r[0] for r in db.execute("select distinct main_diagnosis from admissions").fetchall()]
    assert all(icd10_known(c) for c in mains)
    # Children under 16 pay no co-payment.
    assert (
        db.execute(
            "select count(*) from contacts c join persons p using (person_id) "
            "where c.date < p.birth_date + interval 16 year and c.copay_nok > 0"
        ).fetchone()[0]
        == 0
    )


def test_the_importers_validation_rejects_no_row(pilot_extract: SynthResult) -> None:
    report = validate_extract(pilot_extract.out)
    assert report.ok, [str(p) for p in report.problems[:10]]
    assert report.rows["contacts"] == pilot_extract.rows["contacts"]


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_same_seed_same_files_other_seed_other_files(tmp_path: Path, fmt: str) -> None:
    a = generate("pilot", "2017-2018", 5, tmp_path / "a", persons=2_000, fmt=fmt)
    b = generate("pilot", "2017-2018", 5, tmp_path / "b", persons=2_000, fmt=fmt)
    c = generate("pilot", "2017-2018", 6, tmp_path / "c", persons=2_000, fmt=fmt)
    assert _digest(a.out) == _digest(b.out)
    assert _digest(a.out)[f"contacts.{fmt}"] != _digest(c.out)[f"contacts.{fmt}"]
    if fmt == "csv":
        report = validate_extract(a.out)
        assert report.ok, [str(p) for p in report.problems[:10]]


def test_names_and_manifest(pilot_extract: SynthResult, db: duckdb.DuckDBPyConnection) -> None:
    names = duckdb.sql(f"select * from '{pilot_extract.out / 'person_names.parquet'}'").fetchall()
    assert len(names) == pilot_extract.rows["persons"]
    assert all(given and family for _, given, family in names[:100])
    manifest = json.loads((pilot_extract.out / "manifest.json").read_text("utf-8"))
    assert manifest["scenario"] == "pilot" and manifest["seed"] == 11
    assert manifest["years"] == [2015, 2023]
    assert {e["indicator"] for e in manifest["effects"]} == {
        "nurse_consultations",
        "annual_checks",
        "home_visits",
        "acsc_admissions",
        "acsc_diabetes",
        "list_length",
        "patient_activation",
        "coordination",
        "satisfaction",
        "eq5d_index",
        "gp_consultations",
        "out_of_hours",
    }
    assert all(e["scale"] == "additive" for e in manifest["effects"])
    assert manifest["assumptions"]
    assert manifest["effects_profile"] == "published"
    assert manifest["id_prefix"] == "p11x20000-2015-2023"


def test_bad_arguments_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="unknown scenario"):
        generate("county", "2015", 1, tmp_path)
    with pytest.raises(ScenarioError, match="years"):
        generate("pilot", "2015-20x", 1, tmp_path)
    with pytest.raises(ScenarioError, match="format"):
        generate("pilot", "2015", 1, tmp_path, fmt="xlsx")


def test_command_writes_the_tables(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "synth",
            "--scenario",
            "pilot",
            "--years",
            "2019",
            "--seed",
            "3",
            "--persons",
            "1500",
            "--out",
            str(tmp_path / "x"),
            "--report",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "x" / "contacts.parquet").exists()
    assert (tmp_path / "x" / "manifest.json").exists()


def test_every_source_the_generator_cites_is_defined() -> None:
    from pht.reference import load_sources
    from pht.synth.params import load_params

    defined = load_sources()
    cited = load_params().sources()
    assert cited and cited <= set(defined), sorted(cited - set(defined))
