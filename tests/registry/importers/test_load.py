"""Loading registry extracts: valid files load, broken files are rejected with the right reason."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pht.cli import app
from pht.reference.codes import icpc2_codes
from pht.registry import load as load_module
from pht.registry import staging
from pht.registry.load import load_extract, validate_extract
from pht.registry.schema import TABLES
from pht.registry.warehouse import Warehouse
from tests.registry.importers.factory import GP1, NURSE, tables, write_csv, write_parquet

Data = dict[str, list[dict[str, str]]]


def snapshot(wh: Warehouse) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: to compare warehouses."""
    return {t: sorted(wh.sql(f'SELECT * FROM "{t}"'), key=repr) for t in TABLES}


@pytest.fixture
def wh() -> Warehouse:
    w = Warehouse.open(":memory:")
    w.init()
    return w


@pytest.mark.parametrize("writer", [write_csv, write_parquet], ids=["csv", "parquet"])
def test_valid_extract_loads_and_loading_twice_changes_nothing(
    tmp_path: Path, wh: Warehouse, writer: Callable[[Path, Data], Path]
) -> None:
    data = tables()
    folder = writer(tmp_path / "x", data)
    first = load_extract(wh, folder)
    assert first.imported and first.validation.ok
    assert first.written == {t: len(rows) for t, rows in data.items()}
    once = snapshot(wh)
    second = load_extract(wh, folder)
    assert second.imported
    assert snapshot(wh) == once
    # the values arrive typed and unaltered
    # event ids are qualified by their source (the folder's name)
    row = wh.sql("SELECT copay_nok, diagnoses, date FROM contacts WHERE contact_id = 'x:c0'")[0]
    assert str(row[0]) == "160.00" and row[1] == "T90 K86" and str(row[2]) == "2020-01-10"


def _set(data: Data, table: str, row: int, column: str, value: str) -> tuple[str, int, str]:
    data[table][row][column] = value
    return table, row + 2, column


def _flip_last_digit(value: str) -> str:
    return value[:-1] + str((int(value[-1]) + 1) % 10)


# Each breakage: (data, row index) -> (table, line, column) and the reason we expect.
def _bad_check_digit(data: Data, i: int) -> tuple[str, int, str]:
    i %= len(data["persons"])
    return _set(data, "persons", i, "person_id", _flip_last_digit(data["persons"][i]["person_id"]))


def _reversed_dates(data: Data, i: int) -> tuple[str, int, str]:
    i %= len(data["admissions"])
    return _set(data, "admissions", i, "discharged", "2020-02-01")


def _unknown_icpc2(data: Data, i: int) -> tuple[str, int, str]:
    i %= len(data["contacts"])
    code = next(
        f"{a}{n:02d}" for a in "XYZQ" for n in range(100) if f"{a}{n:02d}" not in icpc2_codes()
    )
    return _set(data, "contacts", i, "diagnoses", f"T90 {code}")


def _unknown_icd10(data: Data, i: int) -> tuple[str, int, str]:
    i %= len(data["admissions"])
    return _set(data, "admissions", i, "main_diagnosis", "E11")  # a category, not a code


def _unknown_tariff(data: Data, i: int) -> tuple[str, int, str]:
    i %= len(data["contacts"])
    return _set(data, "contacts", i, "tariffs", "2ad zz9")


def _wrong_type(data: Data, i: int) -> tuple[str, int, str]:
    return _set(data, "municipalities", i % 2, "population", "many")


def _bad_date(data: Data, i: int) -> tuple[str, int, str]:
    i %= len(data["contacts"])
    return _set(data, "contacts", i, "date", "2021-02-29")


def _bad_orgnr(data: Data, i: int) -> tuple[str, int, str]:
    i %= len(data["practices"])
    return _set(
        data, "practices", i, "practice_id", _flip_last_digit(data["practices"][i]["practice_id"])
    )


def _bad_enum(data: Data, i: int) -> tuple[str, int, str]:
    i %= len(data["contacts"])
    return _set(data, "contacts", i, "setting", "sofa")


def _duplicate_key(data: Data, i: int) -> tuple[str, int, str]:
    i = 1 + i % (len(data["contacts"]) - 1)
    return _set(data, "contacts", i, "contact_id", data["contacts"][0]["contact_id"])


def _not_a_gp(data: Data, i: int) -> tuple[str, int, str]:
    i %= len(data["list_memberships"])
    return _set(data, "list_memberships", i, "gp_id", NURSE)


def _overlap(data: Data, i: int) -> tuple[str, int, str]:
    i %= len(data["list_memberships"])
    row = dict(data["list_memberships"][i], start="2018-06-01")
    data["list_memberships"].append(row)
    return "list_memberships", len(data["list_memberships"]) + 1, "start"


def _missing_fk(data: Data, i: int) -> tuple[str, int, str]:
    i %= len(data["contacts"])
    return _set(data, "contacts", i, "practitioner_id", "7777777")


def _three_decimals(data: Data, i: int) -> tuple[str, int, str]:
    i %= len(data["contacts"])
    return _set(data, "contacts", i, "copay_nok", "160.005")


def _tariff_not_valid_on_the_date(data: Data, i: int) -> tuple[str, int, str]:
    """pht01 (a nurse code of the fee model) is valid 2018-04-01 to 2025-12-31 only."""
    i %= len(data["contacts"])
    data["contacts"][i]["date"] = "2026-01-10"
    return _set(data, "contacts", i, "tariffs", "2ad pht01")


def _not_finite(data: Data, i: int) -> tuple[str, int, str]:
    return _set(data, "municipal_services", 0, "hours_per_week", "nan")


BREAKAGES: dict[str, tuple[Callable[[Data, int], tuple[str, int, str]], str]] = {
    "bad check digit": (_bad_check_digit, "kontrollsiffer er feil"),
    "reversed dates": (_reversed_dates, "discharged er før admitted"),
    "unknown ICPC-2": (_unknown_icpc2, "ukjent ICPC-2-kode"),
    "unknown ICD-10": (_unknown_icd10, "ukjent ICD-10-kode: E11"),
    "unknown tariff": (_unknown_tariff, "ukjent takstkode: zz9"),
    "wrong type": (_wrong_type, "ikke et heltall"),
    "impossible date": (_bad_date, "ikke en gyldig dato (ÅÅÅÅ-MM-DD)"),
    "bad orgnr": (_bad_orgnr, "ikke et gyldig organisasjonsnummer"),
    "bad enum": (_bad_enum, "ikke en av: "),
    "duplicate key": (_duplicate_key, "duplikat nøkkel"),
    "gp is not a GP": (_not_a_gp, "er ikke fastlege"),
    "overlapping list periods": (_overlap, "overlapper listeperioden"),
    "missing foreign key": (_missing_fk, "finnes ikke i practitioners.practitioner_id"),
    "money with 3 decimals": (_three_decimals, "høyst 2 desimaler"),
    "not a finite number": (_not_finite, "ikke et endelig tall"),
    "tariff not valid on the date": (
        _tariff_not_valid_on_the_date,
        "takstkode pht01 gjelder ikke 10.01.2026 (gyldig 01.04.2018–31.12.2025)",
    ),
}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, dict[str, Any]]:
    """A warehouse holding the valid extract, and its snapshot (failed loads must not touch it)."""
    w = Warehouse.open(":memory:")
    w.init()
    assert load_extract(w, write_csv(tmp_path_factory.mktemp("base"), tables())).imported
    return w, snapshot(w)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(sorted(BREAKAGES)),
    row=st.integers(0, 50),
    parquet=st.booleans(),
)
def test_broken_rows_are_rejected_with_place_and_reason_and_nothing_loads(
    tmp_path_factory: pytest.TempPathFactory,
    loaded: tuple[Warehouse, dict[str, Any]],
    kind: str,
    row: int,
    parquet: bool,
) -> None:
    wh, before = loaded
    data = tables()
    breaker, reason = BREAKAGES[kind]
    table, line, column = breaker(data, row)
    folder = tmp_path_factory.mktemp("broken")
    (write_parquet if parquet else write_csv)(folder, data)
    result = load_extract(wh, folder)
    assert not result.imported
    ext = "parquet" if parquet else "csv"
    hits = [
        p
        for p in result.validation.problems
        if p.file == f"{table}.{ext}" and p.line == line and p.column == column
    ]
    assert hits, [str(p) for p in result.validation.problems]
    assert any(reason in p.reason for p in hits), [str(p) for p in hits]
    assert snapshot(wh) == before


def test_every_kind_of_breakage_is_caught(
    tmp_path: Path, loaded: tuple[Warehouse, dict[str, Any]]
) -> None:
    """Each breakage once, deterministically (hypothesis above varies rows and formats)."""
    wh, before = loaded
    for i, (kind, (breaker, reason)) in enumerate(sorted(BREAKAGES.items())):
        data = tables()
        table, line, column = breaker(data, i)
        report = validate_extract(write_csv(tmp_path / f"k{i}", data), wh)
        assert any(
            p.file == f"{table}.csv"
            and p.line == line
            and p.column == column
            and reason in p.reason
            for p in report.problems
        ), (kind, [str(p) for p in report.problems])
    assert snapshot(wh) == before


@settings(max_examples=10, deadline=None)
@given(table=st.sampled_from(sorted(TABLES)), data=st.data())
def test_missing_required_column_is_reported_on_the_header(
    tmp_path_factory: pytest.TempPathFactory, table: str, data: st.DataObject
) -> None:
    column = data.draw(st.sampled_from(TABLES[table].required))
    rows = tables()
    for r in rows[table]:
        del r[column]
    folder = write_csv(tmp_path_factory.mktemp("x"), rows)
    report = validate_extract(folder)
    assert any(
        p.file == f"{table}.csv"
        and p.line == 1
        and p.column == column
        and p.reason == "påkrevd kolonne mangler"
        for p in report.problems
    )


@settings(max_examples=10, deadline=None)
@given(
    row=st.integers(0, 5),
    letter=st.sampled_from("æøåÆØÅé"),
    table=st.sampled_from(["municipalities", "practices", "persons"]),
)
def test_wrong_encoding_is_reported_with_its_line(
    tmp_path_factory: pytest.TempPathFactory, row: int, letter: str, table: str
) -> None:
    data = tables()
    column = {"municipalities": "name", "practices": "name", "persons": "sex"}[table]
    row %= len(data[table])
    data[table][row][column] = f"B{letter}rum"
    folder = write_csv(tmp_path_factory.mktemp("x"), data)
    path = folder / f"{table}.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))  # not UTF-8
    report = validate_extract(folder)
    assert any(
        p.file == f"{table}.csv"
        and p.line == row + 2
        and p.reason == "ikke UTF-8-tekst (lagre filen som UTF-8)"
        for p in report.problems
    ), [str(p) for p in report.problems]


@settings(max_examples=10, deadline=None)
@given(cut=st.integers(1, 40))
def test_truncated_file_is_reported_not_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, cut: int
) -> None:
    folder = write_csv(tmp_path_factory.mktemp("x"), tables())
    path = folder / "contacts.csv"
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - cut])
    report = validate_extract(folder)
    last = raw[: len(raw) - cut].count(b"\n") + (0 if raw[: len(raw) - cut].endswith(b"\n") else 1)
    if raw[: len(raw) - cut].endswith(b"\n"):
        assert report.ok  # cut exactly at a line end: a shorter, valid file
    else:
        assert any(p.file == "contacts.csv" and p.line == last for p in report.problems), [
            str(p) for p in report.problems
        ]


def test_truncated_parquet_and_empty_csv_are_clear_errors(tmp_path: Path) -> None:
    folder = write_parquet(tmp_path / "x", tables())
    path = folder / "contacts.parquet"
    path.write_bytes(path.read_bytes()[:100])
    report = validate_extract(folder)
    assert any(
        p.file == "contacts.parquet" and "kan ikke lese filen som Parquet" in p.reason
        for p in report.problems
    )
    (folder / "contacts.parquet").unlink()
    (folder / "contacts.csv").write_text("", encoding="utf-8")
    report = validate_extract(folder)
    assert any(p.reason == "filen er tom (ventet en overskriftsrad)" for p in report.problems)


def test_accept_valid_loads_good_rows_and_writes_rejects(tmp_path: Path, wh: Warehouse) -> None:
    data = tables()
    data["contacts"][1]["setting"] = "sofa"
    data["contacts"][3]["date"] = "2020-13-01"
    folder = write_csv(tmp_path / "x", data)
    side = tmp_path / "rejected.csv"
    result = load_extract(wh, folder, accept_valid=True, rejects_path=side)
    assert result.imported
    assert result.written["contacts"] == len(data["contacts"]) - 2
    with side.open(encoding="utf-8") as fh:
        rejected = list(csv.DictReader(fh))
    assert [(r["table"], r["line"]) for r in rejected] == [("contacts", "3"), ("contacts", "5")]
    assert "setting: ikke en av" in rejected[0]["reasons"]
    assert json.loads(rejected[0]["row"])["contact_id"] == "c1"
    ids = {r[0] for r in wh.sql("SELECT contact_id FROM contacts")}
    assert "x:c1" not in ids and "x:c3" not in ids and "x:c0" in ids


def test_a_crash_in_the_middle_leaves_the_warehouse_as_before(
    tmp_path: Path, wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_extract(wh, write_csv(tmp_path / "a", tables(4))).imported
    before = snapshot(wh)
    real = load_module.apply_table
    calls = {"n": 0}

    def crashing(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt  # Ctrl-C after four tables were written
        return real(*args, **kwargs)

    monkeypatch.setattr(load_module, "apply_table", crashing)
    with pytest.raises(KeyboardInterrupt):
        load_extract(wh, write_csv(tmp_path / "b", tables(8)))
    assert calls["n"] == 5
    assert snapshot(wh) == before


def test_newer_extract_of_the_same_period_replaces_it(tmp_path: Path, wh: Warehouse) -> None:
    data = tables()
    assert load_extract(wh, write_csv(tmp_path / "v1", data)).imported
    newer = tables()
    dropped = newer["contacts"].pop(2)
    newer["contacts"][0]["tariffs"] = "2ae"
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "manifest.json").write_text(
        json.dumps({"period": {"start": "2020-01-01", "end": "2020-12-31"}}), encoding="utf-8"
    )
    result = load_extract(
        wh, write_csv(tmp_path / "v2", {"contacts": newer["contacts"]}), source="v1", replace=True
    )
    assert result.imported
    assert result.replaced_periods["contacts"] == ("2020-01-01", "2020-12-31")
    rows = dict(wh.sql("SELECT contact_id, tariffs FROM contacts"))
    assert "v1:" + dropped["contact_id"] not in rows
    assert rows["v1:c0"] == "2ae" and len(rows) == len(newer["contacts"])


def test_foreign_keys_may_point_into_the_warehouse(tmp_path: Path, wh: Warehouse) -> None:
    data = tables()
    assert load_extract(wh, write_csv(tmp_path / "base", data)).imported
    extra = [dict(data["contacts"][0], contact_id="new1", date="2022-01-03")]
    assert load_extract(wh, write_csv(tmp_path / "more", {"contacts": extra})).imported
    alone = validate_extract(tmp_path / "more")  # without the warehouse the keys are unknown
    assert any("finnes ikke i persons.person_id" in p.reason for p in alone.problems)


def test_pseudonymised_person_ids_are_accepted(tmp_path: Path) -> None:
    data = tables()
    mapping = {r["person_id"]: f"ps{i:030d}" for i, r in enumerate(data["persons"])}
    for table in (
        "persons",
        "list_memberships",
        "contacts",
        "admissions",
        "municipal_services",
        "survey_responses",
    ):
        for r in data[table]:
            r["person_id"] = mapping[r["person_id"]]
    assert validate_extract(write_csv(tmp_path / "x", data)).ok


def test_single_file_and_unknown_file_names(tmp_path: Path, wh: Warehouse) -> None:
    folder = write_csv(tmp_path / "x", tables())
    result = load_extract(wh, folder / "municipalities.csv")
    assert result.imported and result.written == {"municipalities": 2}
    shutil.copy(folder / "municipalities.csv", tmp_path / "kommuner.csv")
    with pytest.raises(Exception, match="filnavnet må være en tabell i uttrekksformatet"):
        load_extract(wh, tmp_path / "kommuner.csv")


def test_cli_load_reports_json_and_exit_code(tmp_path: Path) -> None:
    data = tables()
    data["contacts"][0]["setting"] = "sofa"
    folder = write_csv(tmp_path / "x", data)
    runner = CliRunner()
    target = tmp_path / "w.duckdb"
    bad = runner.invoke(app, ["registry", "load", str(folder), "-w", str(target), "-f", "json"])
    assert bad.exit_code == 1
    out = json.loads(bad.stdout)
    assert out["imported"] is False
    assert out["problems"][0] == {
        "file": "contacts.csv",
        "line": 2,
        "column": "setting",
        "value": "sofa",
        "reason": "ikke en av: office, home, video, phone, message, out_of_hours",
    }
    side = tmp_path / "side.csv"
    ok = runner.invoke(
        app,
        [
            "registry",
            "load",
            str(folder),
            "-w",
            str(target),
            "--accept-valid",
            "--rejects",
            str(side),
        ],
    )
    assert ok.exit_code == 0, ok.stdout
    assert side.exists() and "avviste rader" in ok.stdout
    assert GP1 in {r[0] for r in Warehouse.open(target).sql("SELECT gp_id FROM list_memberships")}


def test_typed_parquet_written_by_the_warehouse_loads_back_unchanged(
    tmp_path: Path, wh: Warehouse
) -> None:
    assert load_extract(wh, write_csv(tmp_path / "x", tables())).imported
    out = tmp_path / "typed"
    out.mkdir()
    for table in TABLES:  # dates, decimals, booleans as real Parquet types
        wh.con.con.execute(f"COPY \"{table}\" TO '{out / table}.parquet' (FORMAT parquet)")
    copy = Warehouse.open(":memory:")
    copy.init()
    result = load_extract(copy, out, source="x")  # ids already qualified stay as they are
    assert result.imported, [str(p) for p in result.validation.problems]
    assert snapshot(copy) == snapshot(wh)


def test_cli_validate_writes_nothing(tmp_path: Path) -> None:
    data = tables()
    data["admissions"][0]["main_diagnosis"] = "E11"
    folder = write_csv(tmp_path / "x", data)
    target = tmp_path / "w.duckdb"
    res = CliRunner().invoke(app, ["registry", "validate", str(folder), "-w", str(target)])
    assert res.exit_code == 1
    assert "admissions.csv:2:main_diagnosis" in res.stdout
    assert not target.exists()


def test_tariff_codes_valid_on_their_dates_load(tmp_path: Path, wh: Warehouse) -> None:
    """A code inside its validity loads; the same code a day after it ends does not."""
    data = tables()
    data["contacts"][0].update(date="2025-12-31", tariffs="pht01")
    assert load_extract(wh, write_csv(tmp_path / "ok", data)).imported
    data["contacts"][0].update(date="2026-01-01")
    report = validate_extract(write_parquet(tmp_path / "late", data))
    assert [(p.line, p.column, p.value, p.reason) for p in report.problems] == [
        (
            2,
            "tariffs",
            "pht01",
            "takstkode pht01 gjelder ikke 01.01.2026 (gyldig 01.04.2018–31.12.2025)",
        )
    ]


def test_parquet_read_in_place_finds_the_same_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large Parquet files are read where they lie, small ones through Arrow: same report."""
    reports = []
    for i, limit in enumerate((staging.ARROW_MAX_ROW_GROUPS, 0)):
        monkeypatch.setattr(staging, "ARROW_MAX_ROW_GROUPS", limit)
        data = tables()
        for k, (breaker, _) in enumerate(sorted(BREAKAGES.values(), key=lambda b: b[1])):
            if breaker not in (_overlap, _duplicate_key):  # the rest each touch one cell
                breaker(data, k)
        reports.append(validate_extract(write_parquet(tmp_path / f"r{i}", data)))
    arrow, in_place = ([str(p) for p in r.problems] for r in reports)
    assert arrow == in_place and len(arrow) > 5


def test_a_file_warehouse_stores_each_column_with_its_method(tmp_path: Path) -> None:
    """Loaded tables have the schema's storage methods; values are unchanged.

    A table created without them (by an older pht's ``init``) gets them on its first load while
    it is empty; a table that differs from the schema is left as it is.
    """
    target = tmp_path / "w.duckdb"
    data = tables()
    with Warehouse.open(target) as w:
        w.init()
        w.con.con.execute('ALTER TABLE "admissions" ADD COLUMN note VARCHAR')  # not ours
        # as an older init made it: the schema's types, DuckDB's own choice of compression
        w.con.create_table("contacts", schema=TABLES["contacts"].schema, overwrite=True)
        assert load_extract(w, write_parquet(tmp_path / "x", data)).imported
        w.con.con.execute("CHECKPOINT")
        methods = dict(
            w.sql(
                "SELECT column_name, any_value(compression) FROM pragma_storage_info('contacts') "
                "WHERE segment_type = 'VARCHAR' GROUP BY 1"
            )
        )
        assert methods["contact_id"] == methods["person_id"] == "Uncompressed"
        assert "note" in {r[0] for r in w.sql("DESCRIBE admissions")}
        assert w.sql("SELECT contact_id, tariffs FROM contacts ORDER BY contact_id")[0] == (
            "x:c0",
            "2ad 2cd",
        )
