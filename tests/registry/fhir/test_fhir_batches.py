"""A FHIR load is a load batch: source, files, changes; undo restores; dry run and threshold."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pht.cli import app
from pht.core.errors import PhtError
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
            wh.sql(f"SELECT {cols}, _batch FROM {FHIR_CONDITIONS_TABLE}"), key=repr
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


def test_undo_restores_the_problem_list_side_table(tmp_path: Path, wh: Warehouse) -> None:
    """fhir_conditions is part of the batch: a later load that changes a condition keeps its
    old version, and undoing that load puts the table back exactly (values and batch)."""
    folder = synthea_ndjson(tmp_path / "export", patients=2)
    first = load_fhir(wh, folder)
    before = _snapshot(wh)
    assert len(before[FHIR_CONDITIONS_TABLE]) == 2
    assert {r[-1] for r in before[FHIR_CONDITIONS_TABLE]} == {first.batch_id}
    # the next export: one condition's onset moved, one condition more
    path = folder / "Condition.000.ndjson"
    conditions = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for c in conditions:
        if c["id"] == "problem-0":
            c["onsetDateTime"] = "2016-03-01T00:00:00Z"
            conditions.append({**c, "id": "problem-new", "onsetDateTime": "2019-05-01T00:00:00Z"})
            break
    path.write_text("".join(json.dumps(c) + "\n" for c in conditions), encoding="utf-8")
    second = load_fhir(wh, folder)
    change = second.changes[FHIR_CONDITIONS_TABLE]
    assert (change["inserted"], change["updated"], change["unchanged"]) == (1, 1, 1)
    (batch,) = [b for b in list_batches(wh) if b.batch_id == second.batch_id]
    assert batch.changes[FHIR_CONDITIONS_TABLE] == {"inserted": 1, "updated": 1, "deleted": 0}
    rows = wh.sql(f"SELECT onset_date, _batch FROM {FHIR_CONDITIONS_TABLE} ORDER BY 1")
    assert rows == [
        (dt.date(2015, 2, 1), first.batch_id),
        (dt.date(2016, 3, 1), second.batch_id),
        (dt.date(2019, 5, 1), second.batch_id),
    ]
    # the old version waits in the undo table
    kept = wh.sql(f"SELECT onset_date, _batch, _undo_batch FROM pht_undo_{FHIR_CONDITIONS_TABLE}")
    assert kept == [(dt.date(2015, 2, 1), first.batch_id, second.batch_id)]
    # undoing the first alone is refused: the second changed a condition it wrote
    with pytest.raises(PhtError, match="kan ikke angres alene: senere batcher bygger på den"):
        undo_batch(wh, first.batch_id)
    report = undo_batch(wh, second.batch_id)
    assert report.removed[FHIR_CONDITIONS_TABLE] == 2
    assert report.restored[FHIR_CONDITIONS_TABLE] == 1
    assert _snapshot(wh) == before
    assert wh.sql(f"SELECT count(*) FROM pht_undo_{FHIR_CONDITIONS_TABLE}") == [(0,)]
    # and the first batch can go too: nothing of the load is left
    undo_batch(wh, first.batch_id)
    assert wh.sql(f"SELECT count(*) FROM {FHIR_CONDITIONS_TABLE}") == [(0,)]
