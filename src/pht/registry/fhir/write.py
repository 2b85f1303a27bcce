"""Writing the rows of one FHIR load: the only place the FHIR importer changes the warehouse.

A FHIR load is one batch (:mod:`pht.registry.batches`) of kind ``fhir``: its source, the files
it was read from with their SHA-256, who ran it and when, and per table the rows inserted,
updated and left unchanged. Stored rows with the same key and other values are updated, their
old version kept for ``pht registry undo``; a load declares no period, so it deletes nothing.
A load that would overwrite more than the settings' ``replace_threshold`` of an event table is
refused unless *replace* is given (:func:`pht.registry.batches.over_threshold`); a dry run reports
the same and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from pht.reference.municipalities import municipality_codes
from pht.registry.batches import (
    TableChange,
    apply_table,
    begin_batch,
    ensure_provenance,
    file_hash,
    finish_batch,
    over_threshold,
    replace_threshold,
)
from pht.registry.fhir.systems import FHIR_CONDITIONS_TABLE
from pht.registry.schema import SIDE_TABLES, TABLES
from pht.registry.warehouse import Warehouse

__all__ = ["FHIR_CONDITIONS_SCHEMA", "WriteResult", "write_rows"]

FHIR_CONDITIONS_SCHEMA = pa.schema(
    [
        ("condition_id", pa.string()),
        ("person_id", pa.string()),
        ("icpc2", pa.string()),
        ("icd10", pa.string()),
        ("onset_date", pa.date32()),
        ("recorded_date", pa.date32()),
    ]
)
_INCOMING = "_pht_fhir_rows"


@dataclass(slots=True)
class WriteResult:
    """What writing a load did (or would do: dry run, refusal)."""

    batch_id: int | None = None
    changes: dict[str, TableChange] = field(default_factory=dict)
    refused: str | None = None
    dry_run: bool = False

    @property
    def written(self) -> dict[str, int]:
        """Rows written (inserted or updated) per table."""
        return {
            t: c.inserted + c.updated for t, c in self.changes.items() if c.inserted + c.updated
        }


class _Rollback(Exception):
    """Leave the load's transaction without writing (dry run, refusal)."""


def _arrow(table: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema = (
        FHIR_CONDITIONS_SCHEMA
        if table == FHIR_CONDITIONS_TABLE
        else TABLES[table].schema.to_pyarrow()
    )
    return pa.table(
        {f.name: pa.array([r.get(f.name) for r in rows], f.type) for f in schema}, schema=schema
    )


def _missing_municipalities(wh: Warehouse, codes: set[str]) -> list[dict[str, Any]]:
    have = {r[0] for r in wh.sql("SELECT municipality_code FROM municipalities")}
    known = municipality_codes()
    return [
        {
            "municipality_code": c,
            "name": known[c].name if c in known else "Ukjent kommune",
            "population": 0,
            "centrality": None,
        }
        for c in sorted(codes - have)
    ]


def _write_conditions(wh: Warehouse, batch_id: int, rows: list[dict[str, Any]]) -> TableChange:
    """The side table of problem-list conditions (:data:`pht.registry.schema.SIDE_TABLES`, not
    part of the extract format), written like the warehouse tables: rows with a stored id and
    other values replace the stored row (its pre-image kept for undo), each row marked with the
    batch that wrote it."""
    raw = wh.con.con
    if FHIR_CONDITIONS_TABLE not in set(wh.con.list_tables()):
        raw.execute(SIDE_TABLES[FHIR_CONDITIONS_TABLE].create_sql())
    ensure_provenance(raw)  # the _batch column of a table made by an older pht, the undo table
    if not rows:
        return TableChange()
    raw.register(_INCOMING, _arrow(FHIR_CONDITIONS_TABLE, rows))
    try:
        return apply_table(
            raw, batch_id, FHIR_CONDITIONS_TABLE, _INCOMING, source=None, period=None
        )
    finally:
        raw.unregister(_INCOMING)


def write_rows(
    warehouse: Warehouse,
    tables: dict[str, list[dict[str, Any]]],
    *,
    source: str,
    files: Sequence[Path] = (),
    user: str | None = None,
    replace: bool = False,
    dry_run: bool = False,
) -> WriteResult:
    """Write *tables* (rows per table, one per key, event ids qualified by *source*) as one
    batch of kind ``fhir`` from *source*, in one transaction; municipalities the rows name and
    the warehouse lacks are added. *files*: the files read (hashed for the batch's record)."""
    result = WriteResult(dry_run=dry_run)
    codes = {r["municipality_code"] for t in ("practices", "persons") for r in tables.get(t, [])}
    hashes = [file_hash(p) for p in files]
    raw = warehouse.con.con
    try:
        with warehouse.transaction():
            ensure_provenance(raw)
            batch = begin_batch(
                raw,
                source=source,
                kind="fhir",
                period=None,
                files=hashes,
                user=user,
                replace=replace,
            )
            result.batch_id = batch
            rows_of = {**tables, "municipalities": _missing_municipalities(warehouse, codes)}
            for table in TABLES:
                rows = rows_of.get(table)
                if not rows:
                    continue
                raw.register(_INCOMING, _arrow(table, rows))
                try:
                    result.changes[table] = apply_table(
                        raw, batch, table, _INCOMING, source=source, period=None
                    )
                finally:
                    raw.unregister(_INCOMING)
            conditions = _write_conditions(warehouse, batch, tables.get(FHIR_CONDITIONS_TABLE, []))
            if conditions.inserted + conditions.updated + conditions.unchanged:
                result.changes[FHIR_CONDITIONS_TABLE] = conditions
            finish_batch(raw, batch, result.changes)
            if not replace:
                result.refused = over_threshold(
                    {t: c for t, c in result.changes.items() if t in TABLES}, replace_threshold()
                )
            if result.refused is not None or dry_run:
                raise _Rollback
    except _Rollback:
        pass
    return result
