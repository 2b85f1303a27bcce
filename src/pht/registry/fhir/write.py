"""Writing the rows of one FHIR load: the only place the FHIR importer changes the warehouse."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from pht.reference.municipalities import municipality_codes
from pht.registry.fhir.systems import FHIR_CONDITIONS_TABLE
from pht.registry.schema import TABLES
from pht.registry.warehouse import Warehouse

__all__ = ["FHIR_CONDITIONS_SCHEMA", "write_rows"]

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


def _arrow(table: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema = (
        FHIR_CONDITIONS_SCHEMA
        if table == FHIR_CONDITIONS_TABLE
        else TABLES[table].schema.to_pyarrow()
    )
    return pa.table(
        {f.name: pa.array([r.get(f.name) for r in rows], f.type) for f in schema}, schema=schema
    )


def _missing_municipalities(wh: Warehouse, codes: set[str]) -> pa.Table:
    have = {r[0] for r in wh.sql("SELECT municipality_code FROM municipalities")}
    known = municipality_codes()
    rows = sorted(codes - have)
    return pa.table(
        {
            "municipality_code": rows,
            "name": [known[c].name if c in known else "Ukjent kommune" for c in rows],
            "population": pa.array([0] * len(rows), pa.int64()),
            "centrality": pa.nulls(len(rows), pa.int64()),
        }
    )


def write_rows(
    warehouse: Warehouse, tables: dict[str, list[dict[str, Any]]], *, source: str
) -> dict[str, int]:
    """Write *tables* (rows per table, one per key) from *source* in one transaction: rows
    replace stored rows with the same key, municipalities the rows name and the warehouse lacks
    are added. Returns the rows written per table."""
    written: dict[str, int] = {}
    codes = {r["municipality_code"] for t in ("practices", "persons") for r in tables.get(t, [])}
    with warehouse.transaction():
        raw = warehouse.con.con
        raw.execute(
            f"CREATE TABLE IF NOT EXISTS {FHIR_CONDITIONS_TABLE} (condition_id VARCHAR, "
            "person_id VARCHAR, icpc2 VARCHAR, icd10 VARCHAR, onset_date DATE, recorded_date DATE)"
        )
        municipalities = _missing_municipalities(warehouse, codes)
        if municipalities.num_rows:
            written["municipalities"] = warehouse.replace_rows(
                "municipalities", municipalities, key=("municipality_code",)
            )
        order = [*TABLES, FHIR_CONDITIONS_TABLE]
        for table in sorted(tables, key=order.index):
            rows = tables[table]
            if not rows:
                continue
            data = _arrow(table, rows)
            if table != FHIR_CONDITIONS_TABLE:
                written[table] = warehouse.replace_rows(table, data, key=TABLES[table].key)
                continue
            raw.register("_pht_fc", data)
            try:
                raw.execute(
                    f"DELETE FROM {table} WHERE condition_id IN (SELECT condition_id FROM _pht_fc)"
                )
                raw.execute(f"INSERT INTO {table} SELECT * FROM _pht_fc")
            finally:
                raw.unregister("_pht_fc")
            written[table] = data.num_rows
    return written
