"""The warehouse: a DuckDB file holding the extract-format tables, opened through Ibis.

``Warehouse.open(path)`` connects; :meth:`Warehouse.init` creates every table of
:mod:`pht.registry.schema` that is missing and records the schema version. Writes that must be
all-or-nothing go through :meth:`Warehouse.transaction`.

Tables are created with the schema's storage layout (:meth:`TableSpec.create_sql`, the
compression method of each column) by :func:`create_table`, the one place that does it: for
:meth:`Warehouse.init` and for the loader, which gives empty tables of warehouses made by an
older pht the layout before its first bulk write (:func:`use_storage_layout`). New warehouse
files are written in DuckDB's storage format :data:`STORAGE_VERSION`, which has the compression
methods of the ``"current"`` layout; files in an older format keep theirs and get the
``"legacy"`` layout.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pyarrow as pa
from ibis.backends.duckdb import Backend as DuckDBBackend

from pht.core.errors import PhtError
from pht.registry.batches import (
    BATCHES_TABLE,
    apply_table,
    begin_batch,
    ensure_provenance,
    finish_batch,
)
from pht.registry.schema import BATCH_COLUMN, SCHEMA_VERSION, TABLES

__all__ = [
    "STORAGE_VERSION",
    "TableInfo",
    "Warehouse",
    "WarehouseInfo",
    "create_table",
    "storage_layout",
    "use_storage_layout",
]

META_TABLE = "pht_meta"

# How often Warehouse.writing_back flushes the file during a bulk write (seconds).
WRITE_BACK_SECONDS = 0.5

# DuckDB storage format of new warehouse files: one with the compression methods of the
# "current" layout (ZSTD and DICT_FSST for text came with v1.3) that every DuckDB the project
# allows (>= 1.4) reads.
STORAGE_VERSION = "v1.4.0"
_CURRENT_FROM = (1, 3)


def storage_layout(con: duckdb.DuckDBPyConnection) -> str:
    """The layout (key of :data:`pht.registry.schema.STORAGE_METHODS`) for the database *con*
    writes to: ``"legacy"`` for a file in a storage format older than v1.3, else ``"current"``
    (in-memory databases too: they do not compress)."""
    row = con.execute(
        "SELECT tags FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    tags = row[0] if row and isinstance(row[0], dict) else {}
    version = str(tags.get("storage_version", ""))
    numbers = [int(n) for n in version.lstrip("v").rstrip("+").split(".")[:2] if n.isdigit()]
    if len(numbers) == 2 and tuple(numbers) < _CURRENT_FROM:
        return "legacy"
    return "current"


def create_table(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Create table *name* of the schema with its storage layout (columns, types, methods)."""
    con.execute(TABLES[name].create_sql(layout=storage_layout(con)))


def use_storage_layout(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Give the *empty* table *name* the schema's storage layout by re-creating it.

    For warehouses initialised by a pht that created tables without it: same columns and types,
    so nothing a reader sees changes. A table that has rows, or whose columns differ from the
    schema (columns other code added), is left as it is. True when the table was re-created.
    """
    spec = TABLES[name]
    if not any(c.storage for c in spec.columns):
        return False
    if con.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone() is not None:
        return False
    cols = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
        "AND database_name = current_database() AND schema_name = current_schema() "
        "ORDER BY column_index",
        [name],
    ).fetchall()
    if [c[0] for c in cols] != [*(c.name for c in spec.columns), BATCH_COLUMN]:
        return False
    con.execute(f'DROP TABLE "{name}"')
    create_table(con, name)
    return True


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
        # a new file is written in STORAGE_VERSION; an existing file keeps its own format
        config: dict[str, str] = {}
        if where != ":memory:" and not read_only and not Path(where).exists():
            config["storage_compatibility_version"] = STORAGE_VERSION
        try:
            con = ibis.duckdb.connect(where, read_only=read_only, **config)
        except Exception as err:  # duckdb raises its own IOException types
            raise PhtError(f"cannot open the warehouse: {err}", where=where) from None
        # no progress bars of DuckDB's own on the command's output (JSON reports included)
        con.con.execute("SET enable_progress_bar = false")
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
            for name in TABLES:
                if name not in existing:
                    create_table(self.con.con, name)
                    created = True
            created = ensure_provenance(self.con.con) or created
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
    def writing_back(self, every: float = WRITE_BACK_SECONDS) -> Iterator[None]:
        """Flush the warehouse file's written pages to disk every *every* seconds while a bulk
        write runs (a thread calling ``fdatasync``).

        DuckDB writes the row groups of a large insert into the file as it goes and syncs the
        file at commit; without this the operating system keeps the pages in memory until then,
        and the commit waits for all of them with the cores idle (5,000,000 contacts: about
        0.25 s). Durability is unchanged: the commit still syncs. No-op in memory.
        """
        if self.path == ":memory:" or not Path(self.path).is_file():
            yield
            return
        done = threading.Event()
        fd = os.open(self.path, os.O_RDONLY)

        def flush() -> None:
            while not done.wait(every):
                with contextlib.suppress(OSError):
                    os.fdatasync(fd)

        thread = threading.Thread(target=flush, name="pht-writeback", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()
            os.close(fd)

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

    def replace_rows(
        self, name: str, rows: pa.Table, *, key: tuple[str, ...], source: str = "direct"
    ) -> int:
        """Write *rows* into table *name* as one batch (kind ``direct``, no validation): rows
        with a stored key replace the stored row (its pre-image is kept for undo).

        For code that builds tables itself (reference data, simulations, test warehouses);
        imports go through :func:`pht.registry.batches.write_batch`. *key* must be the table's
        key. Call inside :meth:`transaction` when several tables must change together.
        Returns the number of rows written.
        """
        spec = TABLES[name]
        if tuple(key) != spec.key:
            raise ValueError(f"{name} is keyed by {spec.key}, not {tuple(key)}")
        rows = rows.select([c.name for c in spec.columns]).cast(spec.schema.to_pyarrow())
        raw = self.con.con
        if BATCHES_TABLE not in self.con.list_tables():
            ensure_provenance(raw)
        batch = begin_batch(
            raw, source=source, kind="direct", period=None, files=(), user=None, replace=True
        )
        raw.register("_pht_incoming", rows)
        try:
            change = apply_table(raw, batch, name, "_pht_incoming", source=None, period=None)
        finally:
            raw.unregister("_pht_incoming")
        finish_batch(raw, batch, {name: change})
        return int(rows.num_rows)
