"""Load batches: provenance, source-qualified ids, replacement only inside the declared period,
dry run, the replace threshold, and undo back to the exact warehouse before."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from pht.cli import app
from pht.core.errors import PhtError
from pht.registry.batches import list_batches, undo_batch, write_batch
from pht.registry.load import load_extract
from pht.registry.schema import TABLES
from pht.registry.warehouse import Warehouse
from tests.registry.importers.factory import tables, write_csv, write_parquet

Data = dict[str, list[dict[str, str]]]


def dump(wh: Warehouse) -> str:
    """SHA-256 of every table's rows in order: equal dumps mean byte-identical contents."""
    digest = hashlib.sha256()
    for t in TABLES:
        cols = ", ".join(f'"{c}"' for c in [*(c.name for c in TABLES[t].columns), "_batch"])
        for row in wh.sql(f'SELECT {cols} FROM "{t}" ORDER BY ALL'):
            digest.update(repr(row).encode())
    return digest.hexdigest()


def count(wh: Warehouse, table: str, where: str = "TRUE") -> int:
    return int(wh.sql(f'SELECT count(*) FROM "{table}" WHERE {where}')[0][0])


@pytest.fixture
def wh() -> Warehouse:
    w = Warehouse.open(":memory:")
    w.init()
    return w


def years(data: Data, first: int) -> Data:
    """The same extract moved to *first*..*first* + 1: same ids (as a per-extract numbering
    gives), other dates."""
    out = copy.deepcopy(data)
    shift = first - 2020
    for table, col in (
        ("contacts", "date"),
        ("admissions", "admitted"),
        ("survey_responses", "date"),
    ):
        for row in out[table]:
            cols = [col, "discharged"] if table == "admissions" else [col]
            for c in cols:
                y, rest = row[c].split("-", 1)
                row[c] = f"{int(y) + shift - (1 if table == 'survey_responses' else 0)}-{rest}"
    return out


def manifest(folder: Path, first: str, last: str, **extra: Any) -> Path:
    (folder / "manifest.json").write_text(
        json.dumps({"period": {"start": first, "end": last}, **extra}), encoding="utf-8"
    )
    return folder


def test_two_yearly_extracts_with_the_same_ids_keep_every_row(
    tmp_path: Path, wh: Warehouse
) -> None:
    early = manifest(
        write_csv(tmp_path / "pilot_2019_2020", years(tables(8), 2019)), "2019-01-01", "2020-12-31"
    )
    late = manifest(
        write_parquet(tmp_path / "pilot_2021_2022", years(tables(8), 2021)),
        "2021-01-01",
        "2022-12-31",
    )
    first = load_extract(wh, early)
    assert first.imported, first.validation.problems
    stored = {r[0] for r in wh.sql("SELECT contact_id FROM contacts")}
    assert stored == {f"pilot_2019_2020:c{i}" for i in range(8)}
    before = wh.sql("SELECT * FROM contacts ORDER BY ALL")
    second = load_extract(wh, late)
    assert second.imported, second.validation.problems
    assert second.batch is not None and second.batch.changes["contacts"].deleted == 0
    # every 2019–2020 row is still there, unchanged, next to the 2021–2022 rows
    assert (
        wh.sql("SELECT * FROM contacts WHERE contact_id LIKE 'pilot_2019_2020:%' ORDER BY ALL")
        == before
    )
    assert count(wh, "contacts") == 16 and count(wh, "admissions") == 6
    assert count(wh, "survey_responses") == 2


def test_same_source_reusing_ids_in_another_period_is_refused(
    tmp_path: Path, wh: Warehouse
) -> None:
    early = manifest(
        write_csv(tmp_path / "a", years(tables(), 2019)), "2019-01-01", "2020-12-31", source="kuhr"
    )
    late = manifest(
        write_csv(tmp_path / "b", years(tables(), 2021)), "2021-01-01", "2022-12-31", source="kuhr"
    )
    assert load_extract(wh, early).imported
    before = dump(wh)
    result = load_extract(wh, late)
    assert not result.imported
    reasons = [p for p in result.validation.problems if p.column == "contact_id"]
    assert reasons and "kilden gjenbruker id-er på tvers av perioder" in reasons[0].reason
    assert reasons[0].file == "contacts.csv" and reasons[0].line == 2
    assert dump(wh) == before


def test_loading_the_same_extract_twice_changes_nothing(tmp_path: Path, wh: Warehouse) -> None:
    folder = manifest(write_parquet(tmp_path / "x", tables()), "2019-01-01", "2021-12-31")
    assert load_extract(wh, folder).imported
    once = dump(wh)
    again = load_extract(wh, folder)
    assert again.imported and again.batch is not None
    assert all(c.inserted == c.updated == c.deleted == 0 for c in again.batch.changes.values())
    assert dump(wh) == once


def test_a_100_row_file_with_one_2031_date_is_refused_with_its_line(
    tmp_path: Path, wh: Warehouse
) -> None:
    data = tables(100)
    folder = write_csv(tmp_path / "full", data)
    assert load_extract(wh, folder).imported
    before = dump(wh)
    contacts = copy.deepcopy(data["contacts"])
    contacts[41]["date"] = "2031-02-03"
    fix = write_csv(tmp_path / "fix", {"contacts": contacts})
    result = load_extract(wh, fix / "contacts.csv", source="full")
    assert not result.imported
    (problem,) = [p for p in result.validation.problems if p.column == "date"]
    assert (problem.file, problem.line, problem.value) == ("contacts.csv", 43, "2031-02-03")
    assert re.fullmatch(r"dato i fremtiden \(etter \d\d\.\d\d\.\d{4}\)", problem.reason)
    assert dump(wh) == before


def test_replacement_only_inside_the_declared_period_and_source(
    tmp_path: Path, wh: Warehouse
) -> None:
    data = tables(10)
    data["survey_responses"][0]["date"] = "2020-05-01"
    folder = manifest(write_csv(tmp_path / "reg", data), "2020-01-01", "2020-12-31")
    other = copy.deepcopy(data)
    for row in other["contacts"]:
        row["contact_id"] = "o" + row["contact_id"]
    assert load_extract(wh, folder).imported
    assert load_extract(
        wh, manifest(write_csv(tmp_path / "other", other), "2020-01-01", "2020-12-31")
    ).imported
    # a newer extract of the same period and source without two contacts (and changed tariffs)
    newer = copy.deepcopy(data)
    dropped = newer["contacts"][:2]
    newer["contacts"] = newer["contacts"][2:]
    newer["contacts"][0]["tariffs"] = "2ad"
    dry = load_extract(
        wh,
        write_csv(tmp_path / "reg2", newer),
        source="reg",
        period=(dt.date(2020, 1, 1), dt.date(2020, 12, 31)),
        dry_run=True,
    )
    assert dry.batch is not None and dry.batch.dry_run and not dry.imported
    change = dry.batch.changes["contacts"]
    assert (change.inserted, change.updated, change.deleted) == (0, 1, 2)
    assert sum(v["deleted"] for v in change.by_year.values()) == 2
    assert count(wh, "contacts") == 20  # the dry run changed nothing
    refused = load_extract(
        wh, tmp_path / "reg2", source="reg", period=(dt.date(2020, 1, 1), dt.date(2020, 12, 31))
    )
    assert not refused.imported and refused.batch is not None
    assert (
        refused.batch.refused is not None
        and "contacts: 3 av 20 lagrede rader (15 %)" in refused.batch.refused
    )
    assert count(wh, "contacts") == 20
    result = load_extract(
        wh,
        tmp_path / "reg2",
        source="reg",
        period=(dt.date(2020, 1, 1), dt.date(2020, 12, 31)),
        replace=True,
    )
    assert result.imported
    ids = {r[0] for r in wh.sql("SELECT contact_id FROM contacts")}
    assert not {f"reg:{d['contact_id']}" for d in dropped} & ids
    assert {f"other:o{d['contact_id']}" for d in dropped} <= ids  # the other source untouched
    assert count(wh, "contacts") == 18


def test_without_a_declared_period_nothing_is_deleted(tmp_path: Path, wh: Warehouse) -> None:
    data = tables(6)
    assert load_extract(wh, write_csv(tmp_path / "s", data)).imported
    data["contacts"] = data["contacts"][:1]
    result = load_extract(wh, write_csv(tmp_path / "s2", data), source="s")
    assert result.imported and count(wh, "contacts") == 6


def test_rows_outside_the_declared_period_are_refused(tmp_path: Path, wh: Warehouse) -> None:
    folder = manifest(write_csv(tmp_path / "x", tables()), "2020-01-01", "2020-06-30")
    result = load_extract(wh, folder)
    assert not result.imported
    assert any(
        p.reason == "utenfor uttrekkets oppgitte periode 01.01.2020–30.06.2020"
        for p in result.validation.problems
    )
    assert count(wh, "contacts") == 0


def test_undo_restores_the_exact_warehouse(tmp_path: Path, wh: Warehouse) -> None:
    data = tables(10)
    folder = manifest(write_csv(tmp_path / "reg", data), "2019-01-01", "2021-12-31")
    empty = dump(wh)
    assert load_extract(wh, folder).imported
    after_first = dump(wh)
    newer = copy.deepcopy(data)
    newer["contacts"] = newer["contacts"][3:]
    newer["contacts"][0]["copay_nok"] = "0"
    newer["persons"][0]["municipality_code"] = "4204"
    result = load_extract(
        wh,
        write_csv(tmp_path / "reg2", newer),
        source="reg",
        period=(dt.date(2019, 1, 1), dt.date(2021, 12, 31)),
        replace=True,
    )
    assert result.imported and result.batch is not None
    assert dump(wh) != after_first
    info = list_batches(wh)
    assert [b.status for b in info] == ["applied", "applied"]
    assert info[1].changes["contacts"] == {"inserted": 0, "updated": 1, "deleted": 3}
    assert info[1].files and len(info[1].files[0].sha256) == 64
    # the first batch cannot be undone alone: the second changed its rows
    with pytest.raises(PhtError, match="kan ikke angres alene: senere batcher bygger på den"):
        undo_batch(wh, info[0].batch_id)
    undo_batch(wh, result.batch.batch_id)
    assert dump(wh) == after_first
    assert [b.status for b in list_batches(wh)] == ["applied", "undone"]
    undo_batch(wh, info[0].batch_id)
    assert dump(wh) == empty


def test_undo_cascade_undoes_later_batches_newest_first(tmp_path: Path, wh: Warehouse) -> None:
    empty = dump(wh)
    assert load_extract(wh, write_csv(tmp_path / "a", tables(4))).imported
    extra = tables(5)
    extra = {
        "persons": extra["persons"][4:],
        "contacts": [dict(extra["contacts"][4], contact_id="z")],
    }
    assert load_extract(wh, write_csv(tmp_path / "b", extra)).imported  # contacts of a's person?
    report = undo_batch(wh, 1, cascade=True)
    assert report.undone == [2, 1]
    assert dump(wh) == empty


def test_write_batch_takes_arrow_tables(wh: Warehouse, tmp_path: Path) -> None:
    data = tables(3)
    arrow = {
        name: pa.Table.from_pylist(rows)
        for name, rows in data.items()
        if name != "survey_responses"
    }
    for name, table in list(arrow.items()):
        arrow[name] = table.cast(pa.schema([(f.name, pa.string()) for f in table.schema]))
    src = tmp_path / "export.ndjson"
    src.write_text("{}\n", encoding="utf-8")
    report = write_batch(wh, arrow, source="fhir-a", files=[src], user="kari", kind="fhir")
    assert report.applied and report.changes["contacts"].inserted == 3
    (batch,) = list_batches(wh)
    assert (batch.source, batch.user, batch.kind) == ("fhir-a", "kari", "fhir")
    assert batch.files[0].sha256 == hashlib.sha256(b"{}\n").hexdigest()
    assert {r[0] for r in wh.sql("SELECT contact_id FROM contacts")} == {
        "fhir-a:c0",
        "fhir-a:c1",
        "fhir-a:c2",
    }
    # another server's Encounter c0 is another row
    other = write_batch(wh, {"contacts": arrow["contacts"]}, source="fhir-b")
    assert other.applied and count(wh, "contacts") == 6
    # a problem: nothing written, the place given as table:row:column
    bad = arrow["contacts"].set_column(
        4, "date", pa.array(["2020-01-01", "1899-12-31", "2020-01-02"])
    )
    refused = write_batch(wh, {"contacts": bad}, source="fhir-c")
    assert not refused.applied and count(wh, "contacts") == 6
    (p,) = [p for p in refused.problems if p.column == "date"]
    assert (p.file, p.line, p.column) == (
        "contacts",
        3,
        "date",
    ) and p.reason == "dato før 1900 er ikke plausibel"
    dry = write_batch(wh, {"contacts": arrow["contacts"]}, source="fhir-d", dry_run=True)
    assert dry.changes["contacts"].inserted == 3 and count(wh, "contacts") == 6
    assert [b.batch_id for b in list_batches(wh)] == [1, 2]


def test_cli_batches_dry_run_and_undo(tmp_path: Path) -> None:
    runner = CliRunner()
    target = tmp_path / "wh.duckdb"
    folder = manifest(write_csv(tmp_path / "ext", tables()), "2019-01-01", "2021-12-31")
    dry = runner.invoke(app, ["registry", "load", str(folder), "-w", str(target), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "prøvekjøring" in dry.output
    done = runner.invoke(
        app, ["registry", "load", str(folder), "-w", str(target), "--format", "json"]
    )
    assert done.exit_code == 0, done.output
    listed = runner.invoke(app, ["registry", "batches", "-w", str(target), "--format", "json"])
    batches = json.loads(listed.output)
    assert [b["batch_id"] for b in batches] == [1] and batches[0]["source"] == "ext"
    undone = runner.invoke(app, ["registry", "undo", "1", "-w", str(target)])
    assert undone.exit_code == 0, undone.output
    with Warehouse.open(target, read_only=True) as w:
        assert count(w, "contacts") == 0
