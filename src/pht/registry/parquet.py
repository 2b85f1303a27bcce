"""The warehouse's tables as Parquet files on shared storage, and read back by their schema.

Layout of an export (one folder, e.g. on HDFS, S3 or a shared file system)::

    <root>/
        _pht_export.json              schema version, tables, rows and columns per table
        persons/part-00000.parquet    one folder per table of pht.registry.schema.TABLES
        contacts/part-00000.parquet   (a cluster may write or add more part files)
        ...

Each table holds the extract format's columns with the schema's types (text, date, int64,
float64, boolean, decimal(12,2)) and the warehouse's load batch (``_batch``, int32). Readers do
not infer the types from the files: :func:`parquet_tables` registers every table with the
schema's types (on Spark an explicit read schema, on DuckDB a typed view), so both engines see
the same tables. The export is written into a hidden folder beside *root* and renamed at the
end: a half export never carries the final name.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as idt
import ibis.expr.types as ir

from pht.core.errors import PhtError
from pht.core.folders import written_folder
from pht.core.tables import spark_double_literals
from pht.registry.rules import sql_type
from pht.registry.schema import BATCH_COLUMN, SCHEMA_VERSION, TABLES
from pht.registry.warehouse import Warehouse

__all__ = [
    "EXPORT_MANIFEST",
    "ParquetExport",
    "ParquetTables",
    "export_parquet",
    "parquet_tables",
    "spark_ddl",
]

EXPORT_MANIFEST = "_pht_export.json"
PART = "part-00000.parquet"


@dataclass(frozen=True, slots=True)
class ParquetExport:
    """What :func:`export_parquet` wrote."""

    root: Path
    rows: dict[str, int]


def _name(dtype: idt.DataType) -> str:
    return str(dtype).lower().rstrip("!")


def spark_ddl(name: str, *, batch: bool = True) -> str:
    """The Spark DDL schema of table *name* (``\\`col\\` type, ...``) from the registry schema."""
    parts = []
    for c in TABLES[name].columns:
        if c.dtype.is_decimal():
            t = f"decimal({c.dtype.precision}, {c.dtype.scale})"
        else:
            t = {
                "string": "string",
                "date": "date",
                "int64": "bigint",
                "float64": "double",
                "boolean": "boolean",
            }[_name(c.dtype)]
        parts.append(f"`{c.name}` {t}")
    if batch:
        parts.append(f"`{BATCH_COLUMN}` int")
    return ", ".join(parts)


def export_parquet(
    warehouse: Warehouse, root: str | Path, *, overwrite: bool = False
) -> ParquetExport:
    """Write every table of the warehouse as Parquet under *root* (see the module docstring).

    Refuses an existing *root* unless *overwrite*; then the old export is replaced in one
    rename once the new one is complete.
    """
    warehouse.require_initialised()
    target = Path(root)
    if target.exists() and not overwrite:
        raise PhtError(
            "an export is already there (use --overwrite to replace it)", where=str(root)
        )
    rows: dict[str, int] = {}
    with written_folder(target) as tmp:
        for name, spec in TABLES.items():
            folder = tmp / name
            folder.mkdir()
            cols = [f'CAST("{c.name}" AS {sql_type(c.dtype)}) AS "{c.name}"' for c in spec.columns]
            cols.append(f'CAST("{BATCH_COLUMN}" AS INTEGER) AS "{BATCH_COLUMN}"')
            query = f'SELECT {", ".join(cols)} FROM "{name}"'
            path = str(folder / PART).replace("'", "''")
            warehouse.con.con.execute(f"COPY ({query}) TO '{path}' (FORMAT parquet)")
            rows[name] = int(warehouse.sql(f'SELECT count(*) FROM "{name}"')[0][0])
        manifest: dict[str, Any] = {
            "format": "pht-parquet-export",
            "version": 1,
            "schema_version": SCHEMA_VERSION,
            "written": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "warehouse": str(warehouse.path),
            "tables": {
                name: {
                    "rows": rows[name],
                    "columns": {
                        **{c.name: _name(c.dtype) for c in TABLES[name].columns},
                        BATCH_COLUMN: "int32",
                    },
                }
                for name in TABLES
            },
        }
        (tmp / EXPORT_MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return ParquetExport(target, rows)


def _read_manifest(root: str) -> dict[str, Any] | None:
    """The export's manifest when *root* is a local folder (shared storage by URL: none)."""
    path = Path(root) / EXPORT_MANIFEST
    if "://" in root or not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


class ParquetTables:
    """The extract-format tables of a Parquet export, registered on an Ibis backend by schema.

    Has ``.table(name)`` like :class:`pht.registry.Warehouse`, so every room runs on it.
    """

    def __init__(self, backend: ibis.BaseBackend, root: str, tables: dict[str, ir.Table]) -> None:
        self.backend = backend
        self.root = root
        self._tables = tables

    def table(self, name: str) -> ir.Table:
        """The Ibis table *name*."""
        try:
            return self._tables[name]
        except KeyError:
            raise PhtError(f"no table {name!r} in the export", where=self.root) from None


def parquet_tables(
    backend: ibis.BaseBackend, root: str | Path, *, prefix: str = ""
) -> ParquetTables:
    """Register every table of the export at *root* on *backend* with the registry schema's
    types (Spark: an explicit read schema, no inference; DuckDB: a typed view).

    *root* is a local folder or, on Spark, any URL the cluster reads (``hdfs://``, ``s3a://``,
    ``abfss://``). Views are named ``<prefix><table>``.
    """
    where = str(root)
    manifest = _read_manifest(where)
    if manifest is not None and manifest.get("schema_version") != SCHEMA_VERSION:
        raise PhtError(
            f"the export has schema version {manifest.get('schema_version')}, this pht reads "
            f"{SCHEMA_VERSION}",
            where=where,
        )
    out: dict[str, ir.Table] = {}
    base = where.rstrip("/")
    for name in TABLES:
        view = f"{prefix}{name}"
        folder = f"{base}/{name}"
        if backend.name == "pyspark":
            spark_double_literals()
            session = backend._session
            frame = session.read.schema(spark_ddl(name)).parquet(folder)
            frame.createOrReplaceTempView(view)
        elif backend.name == "duckdb":
            if "://" not in folder and not Path(folder).is_dir():
                raise PhtError(f"no table {name} in the export", where=folder)
            cols = [
                f'CAST("{c.name}" AS {sql_type(c.dtype)}) AS "{c.name}"'
                for c in TABLES[name].columns
            ]
            cols.append(f'CAST("{BATCH_COLUMN}" AS INTEGER) AS "{BATCH_COLUMN}"')
            files = f"{folder}/*.parquet".replace("'", "''")
            backend.raw_sql(
                f'CREATE OR REPLACE TEMP VIEW "{view}" AS SELECT {", ".join(cols)} '
                f"FROM read_parquet('{files}')"
            )
        else:
            raise PhtError(f"backend {backend.name} is not supported (duckdb or pyspark)")
        out[name] = backend.table(view)
    return ParquetTables(backend, where, out)
