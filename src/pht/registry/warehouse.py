"""The warehouse: a DuckDB file holding the extract-format tables, opened through Ibis.

``Warehouse.open(path)`` connects; :meth:`Warehouse.init` creates every table of
:mod:`pht.registry.schema` that is missing and records the schema version. Writes that must be
all-or-nothing go through :meth:`Warehouse.transaction`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
from ibis.backends.duckdb import Backend as DuckDBBackend

from pht.core.errors import PhtError
from pht.registry.schema import SCHEMA_VERSION, TABLES

__all__ = ["TableInfo", "Warehouse", "WarehouseInfo"]

META_TABLE = "pht_meta"


@dataclass(frozen=True, slots=True)
class TableInfo:
    """Rows in one table."""

    name: str
    rows: int


@dataclass(frozen=True, slots=True)
class WarehouseInfo:
    """What a warehouse holds."""

    path: str
    schema_version: int | None
    created: str | None
    tables: tuple[TableInfo, ...]


class Warehouse:
    """A registry warehouse in one DuckDB file (or in memory with ``":memory:"``)."""

    def __init__(self, con: DuckDBBackend, path: str) -> None:
        self.con = con
        self.path = path

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False) -> Warehouse:
        """Connect to the warehouse at *path* (created when missing, unless *read_only*)."""
        where = str(path)
        if where != ":memory:":
            p = Path(where)
            if read_only and not p.exists():
                raise PhtError(
                    "no warehouse here; create one with `pht registry init`", where=where
                )
            p.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = ibis.duckdb.connect(where, read_only=read_only)
        except Exception as err:  # duckdb raises its own IOException types
            raise PhtError(f"cannot open the warehouse: {err}", where=where) from None
        return cls(con, where)

    def close(self) -> None:
        """Close the connection."""
        self.con.disconnect()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- schema ---------------------------------------------------------------------------------

    def schema_version(self) -> int | None:
        """The schema version recorded in the warehouse, or ``None`` when not initialised."""
        if META_TABLE not in self.con.list_tables():
            return None
        rows = self.sql(f"SELECT value FROM {META_TABLE} WHERE key = 'schema_version'")
        return int(rows[0][0]) if rows else None

    def init(self) -> bool:
        """Create the missing tables and record the schema version. True when anything was made.

        Refuses a warehouse written with another schema version rather than mixing formats.
        """
        version = self.schema_version()
        if version is not None and version != SCHEMA_VERSION:
            raise PhtError(
                f"warehouse has schema version {version}, this pht writes {SCHEMA_VERSION}",
                where=self.path,
            )
        existing = set(self.con.list_tables())
        created = False
        with self.transaction():
            if META_TABLE not in existing:
                self.con.raw_sql(
                    f"CREATE TABLE {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR)"
                )
                self.con.raw_sql(
                    f"INSERT INTO {META_TABLE} VALUES ('schema_version', '{SCHEMA_VERSION}'), "
                    f"('created', '{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}')"
                )
                created = True
            for name, spec in TABLES.items():
                if name not in existing:
                    self.con.create_table(name, schema=spec.schema)
                    created = True
        return created

    def require_initialised(self) -> None:
        """Raise a clear error when the warehouse has not been initialised."""
        if self.schema_version() is None:
            raise PhtError("warehouse is not initialised; run `pht registry init`", where=self.path)

    # --- reading --------------------------------------------------------------------------------

    def table(self, name: str) -> ibis.Table:
        """The Ibis table *name*."""
        return self.con.table(name)

    def sql(self, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run SQL on the underlying DuckDB connection and return all rows."""
        cur = self.con.con.execute(query, params or [])
        rows: list[tuple[Any, ...]] = cur.fetchall()
        return rows

    def info(self) -> WarehouseInfo:
        """Schema version and row counts of every table."""
        version = self.schema_version()
        created = None
        tables: list[TableInfo] = []
        if version is not None:
            row = self.sql(f"SELECT value FROM {META_TABLE} WHERE key = 'created'")
            created = row[0][0] if row else None
        present = set(self.con.list_tables())
        for name in TABLES:
            if name in present:
                count = self.sql(f'SELECT count(*) FROM "{name}"')[0][0]
                tables.append(TableInfo(name, int(count)))
        return WarehouseInfo(self.path, version, created, tuple(tables))

    # --- writing --------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside happen together or not at all (also on Ctrl-C)."""
        raw = self.con.con
        raw.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        else:
            raw.execute("COMMIT")

    def replace_rows(self, name: str, rows: pa.Table, *, key: tuple[str, ...]) -> int:
        """Insert *rows* into table *name*, first deleting rows with the same *key*.

        Call inside :meth:`transaction` when several tables must change together.
        Returns the number of rows written.
        """
        spec = TABLES[name]
        rows = rows.select([c.name for c in spec.columns]).cast(spec.schema.to_pyarrow())
        raw = self.con.con
        raw.register("_pht_incoming", rows)
        try:
            match = " AND ".join(f't."{k}" = i."{k}"' for k in key)
            raw.execute(
                f'DELETE FROM "{name}" t WHERE EXISTS (SELECT 1 FROM _pht_incoming i WHERE {match})'
            )
            raw.execute(f'INSERT INTO "{name}" SELECT * FROM _pht_incoming')
        finally:
            raw.unregister("_pht_incoming")
        return int(rows.num_rows)
