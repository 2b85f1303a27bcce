"""A FHIR load is a load batch: source, files, changes; undo restores; dry run and threshold."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pht.cli import app
from pht.registry.batches import list_batches, undo_batch
from pht.registry.fhir import FHIR_CONDITIONS_TABLE, load_fhir
from pht.registry.fhir.write import FHIR_CONDITIONS_SCHEMA
from pht.registry.schema import TABLES
from pht.registry.warehouse import Warehouse
from tests.registry.fhir.bundles import norway_bundle, synthea_ndjson


@pytest.fixture
def wh() -> Warehouse:
    w = Warehouse.open(":memory:")
    w.init()
    return w


def _snapshot(wh: Warehouse) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows (schema columns and the batch column), sorted."""
    out = {}
    present = set(wh.con.list_tables())
    for name, spec in TABLES.items():
        cols = ", ".join(f'"{c.name}"' for c in spec.columns)
        out[name] = sorted(wh.sql(f'SELECT {cols}, _batch FROM "{name}"'), key=repr)
    if FHIR_CONDITIONS_TABLE in present:
        cols = ", ".join(FHIR_CONDITIONS_SCHEMA.names)
        out[FHIR_CONDITIONS_TABLE] = sorted(
            wh.sql(f"SELECT {cols} FROM {FHIR_CONDITIONS_TABLE}"), key=repr
        )
    return out


def _bundle(folder: Path, bundle: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


def test_a_fhir_load_is_a_batch_that_undo_takes_back(tmp_path: Path, wh: Warehouse) -> None:
    folder = synthea_ndjson(tmp_path / "synthea-export", patients=2)
    first = load_fhir(wh, folder)
    (batch,) = list_batches(wh)
    assert (batch.batch_id, batch.source, batch.kind) == (first.batch_id, "synthea-export", "fhir")
    assert {f.name for f in batch.files} >= {"Patient.000.ndjson", "log.ndjson"}
    assert all(len(f.sha256) == 64 for f in batch.files)
    assert batch.changes["contacts"]["inserted"] == first.written["contacts"] == 2
    before = _snapshot(wh)
    # another server's data, then undone: the warehouse is exactly as before
    second = load_fhir(wh, _bundle(tmp_path / "b", norway_bundle()), source="server-b")
    assert second.batch_id == first.batch_id + 1 and second.written["contacts"] == 2
    undo_batch(wh, second.batch_id)
    assert _snapshot(wh) == before
    # the same export again: nothing written, everything unchanged
    again = load_fhir(wh, folder)
    assert again.written == {} and again.changes["contacts"]["unchanged"] == 2
    assert _snapshot(wh) == before


def _moved_consultation() -> dict[str, Any]:
    """The Norway bundle with the consultation a day later: a stored contact overwritten (an
    updated practice or person is a newer version and needs no --replace)."""
    bundle = norway_bundle()
    for entry in bundle["entry"]:
        if entry["resource"].get("id") == "konsultasjon-1":
            entry["resource"]["period"] = {
                "start": "2021-03-03T09:00:00+01:00",
                "end": "2021-03-03T09:20:00+01:00",
            }
    return bundle


def test_dry_run_changes_nothing_and_an_overwrite_needs_replace(
    tmp_path: Path, wh: Warehouse
) -> None:
    path = _bundle(tmp_path / "a", norway_bundle())
    dry = load_fhir(wh, path, source="a", dry_run=True)
    assert dry.dry_run and dry.batch_id is None and dry.written["persons"] == 3
    assert list_batches(wh) == [] and wh.sql("SELECT count(*) FROM persons") == [(0,)]
    load_fhir(wh, path, source="a")
    before = _snapshot(wh)
    path = _bundle(tmp_path / "b", _moved_consultation())
    refused = load_fhir(wh, path, source="a")  # 1 of 2 contacts overwritten
    assert refused.refused is not None and "contacts" in refused.refused
    assert refused.batch_id is None and _snapshot(wh) == before
    done = load_fhir(wh, path, source="a", replace=True)
    assert done.refused is None and done.changes["contacts"]["updated"] == 1
    assert (dt.date(2021, 3, 3),) in wh.sql("SELECT date FROM contacts")


def test_cli_dry_run_and_refusal(tmp_path: Path) -> None:
    target = str(tmp_path / "w.duckdb")
    path = _bundle(tmp_path / "a", norway_bundle())
    runner = CliRunner()

    def load(path: Path, *extra: str) -> Any:
        return runner.invoke(app, ["registry", "load-fhir", str(path), "-w", target, *extra])

    dry = load(path, "--dry-run", "-f", "json")
    assert dry.exit_code == 0, dry.stdout
    assert json.loads(dry.stdout)["dry_run"] and json.loads(dry.stdout)["batch_id"] is None
    res = load(path, "-s", "a")
    assert res.exit_code == 0 and "rader skrevet" in res.stdout, res.stdout
    path = _bundle(tmp_path / "b", _moved_consultation())
    res = load(path, "-s", "a")
    assert res.exit_code == 1 and "avvist" in res.stdout, res.stdout
    res = load(path, "-s", "a", "--replace", "-f", "json")
    assert res.exit_code == 0 and json.loads(res.stdout)["batch_id"] == 2, res.stdout
