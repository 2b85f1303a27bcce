"""Load batches: every write into the warehouse is one batch with provenance, and can be undone.

A batch has an id (1, 2, …), a *source* (a name: the registry, the FHIR server, the app), the
*period* it declares (or none), the files it came from with their SHA-256, who ran it and when,
and per table the rows it inserted, updated and deleted. Every warehouse row carries the batch
that wrote it in the column :data:`pht.registry.schema.BATCH_COLUMN` (``_batch``; 0 for rows
written before batches existed).

Writing a batch (:func:`write_batch` for Arrow tables; ``pht.registry.load.load_extract`` for
CSV/Parquet files, both through :func:`apply_table`), inside one transaction:

* rows whose key is not stored are **inserted**;
* a stored row with the same key and the same values is left alone (loading the same extract
  twice changes nothing);
* a stored row with the same key and other values is **updated**: its old version (its
  *pre-image*) is copied to the side table ``pht_undo_<table>`` first;
* for the event tables (contacts, admissions, survey responses) an extract that declares a
  period is the complete record of that period *for its source*: stored rows of the same source
  inside the period that the extract no longer holds are **deleted** (pre-image kept). Rows of
  other sources, and rows outside the period, are never touched.

Event ids are qualified by their source in the warehouse (``"<source>:<id>"``), so two sources'
``K00001`` are two rows.

A batch that would delete or overwrite more than the settings' ``replace_threshold``
(:class:`pht.core.settings.Settings`) of a table's stored rows is refused (nothing changes)
unless *replace* is given; a *dry run* computes the same report and rolls back.

Undo (:func:`undo_batch`): delete the rows with ``_batch = B`` and put back the pre-images the
batch saved, in one transaction; the tables are then exactly what they were before the batch.
Undo is refused when a later batch still in place built on the batch (it changed or deleted a row
the batch wrote, delivered rows of the batch again unchanged, wrote a row with a key the batch had
removed, or references a row only the batch provides); ``cascade=True`` undoes every later batch
first, newest first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from pht.core import formats
from pht.core.errors import NotFound, PhtError
from pht.core.settings import get_settings
from pht.registry.schema import BATCH_COLUMN, BATCH_TABLES

__all__ = [
    "BATCHES_TABLE",
    "EVENT_DATE_COLUMNS",
    "BatchInfo",
    "BatchReport",
    "FileHash",
    "TableChange",
    "UndoReport",
    "apply_table",
    "check_source",
    "ensure_provenance",
    "file_hash",
    "list_batches",
    "undo_batch",
    "undo_table",
    "write_batch",
]

BATCHES_TABLE = "pht_batches"
# Rows a batch delivered unchanged (so left alone), per batch, table and the batch owning them:
# a batch that delivered another's rows again depends on it (see _dependents).
REDELIVERED_TABLE = "pht_redelivered"
UNDO_PREFIX = "pht_undo_"
UNDO_COLUMN = "_undo_batch"

# Event tables and the date column their period is read from.
EVENT_DATE_COLUMNS: dict[str, str] = {
    "contacts": "date",
    "admissions": "admitted",
    "survey_responses": "date",
}

# A source name: letters, digits, ".", "_", "-" (no ":" — it separates source and id).
SOURCE_FORM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")

# Keys listed per table in a refusal or dry run (all are counted).
SAMPLE_KEYS = 20


def _percent(share: float) -> str:
    """A share as a Norwegian reader writes it: 15 %."""
    return f"{share * 100:.0f} %"


def undo_table(table: str) -> str:
    """The side table holding the pre-images of *table*'s rows that batches changed."""
    return UNDO_PREFIX + table


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def check_source(source: str) -> str:
    """*source* when it is a usable source name, else a clear error."""
    if not SOURCE_FORM.match(source):
        raise PhtError(
            f"kilden {source!r} er ikke et brukbart navn: 1–64 bokstaver, sifre, '.', '_' "
            "eller '-', som begynner med en bokstav eller et siffer"
        )
    return source


def source_from_name(name: str) -> str:
    """A source name made from a folder or file name (other characters become ``-``)."""
    cleaned = re.sub(r"[^A-Za-z0-9._\-]+", "-", name).strip("-._")[:64]
    return cleaned or "extract"


@dataclass(frozen=True, slots=True)
class FileHash:
    """A file a batch was read from: its name, size and SHA-256."""

    name: str
    sha256: str
    size: int

    def as_dict(self) -> dict[str, Any]:
        """The file as a JSON-ready dict."""
        return {"name": self.name, "sha256": self.sha256, "size": self.size}


def file_hash(path: str | Path) -> FileHash:
    """Name, size and SHA-256 of the file at *path*."""
    p = Path(path)
    digest = hashlib.sha256()
    size = 0
    with p.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
            size += len(chunk)
    return FileHash(p.name, digest.hexdigest(), size)


@dataclass(slots=True)
class TableChange:
    """What a batch did to one table (``by_year``: event tables, per year of the event date)."""

    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    stored_before: int = 0
    by_year: dict[int, dict[str, int]] = field(default_factory=dict)
    removed_keys: list[str] = field(default_factory=list)  # a sample of updated/deleted keys

    @property
    def removed(self) -> int:
        """Rows whose stored version the batch replaces or deletes."""
        return self.updated + self.deleted

    def as_dict(self) -> dict[str, Any]:
        """The change as a JSON-ready dict."""
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "stored_before": self.stored_before,
            "by_year": {str(y): v for y, v in sorted(self.by_year.items())},
            "removed_keys": self.removed_keys,
        }


@dataclass(slots=True)
class BatchReport:
    """What writing a batch did, or would do (dry run), or why it was refused."""

    batch_id: int | None
    source: str
    period: tuple[dt.date, dt.date] | None
    changes: dict[str, TableChange] = field(default_factory=dict)
    dry_run: bool = False
    refused: str | None = None  # why nothing was written (threshold, problems)
    problems: list[Any] = field(default_factory=list)  # pht.registry.load.Problem
    problem_count: int = 0

    @property
    def applied(self) -> bool:
        """True when the batch is in the warehouse."""
        return self.batch_id is not None and not self.dry_run and self.refused is None

    def as_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        return {
            "batch_id": self.batch_id,
            "source": self.source,
            "period": [d.isoformat() for d in self.period] if self.period else None,
            "dry_run": self.dry_run,
            "applied": self.applied,
            "refused": self.refused,
            "changes": {t: c.as_dict() for t, c in self.changes.items()},
            "problem_count": self.problem_count,
            "problems": [p.as_dict() for p in self.problems],
        }


@dataclass(frozen=True, slots=True)
class BatchInfo:
    """One batch as recorded in the warehouse."""

    batch_id: int
    source: str
    kind: str
    period: tuple[dt.date, dt.date] | None
    files: tuple[FileHash, ...]
    user: str
    started: dt.datetime
    finished: dt.datetime | None
    changes: dict[str, dict[str, Any]]
    replace: bool
    status: str  # "applied" or "undone"
    undone: dt.datetime | None
    undone_by: str | None

    def as_dict(self) -> dict[str, Any]:
        """The batch as a JSON-ready dict."""
        return {
            "batch_id": self.batch_id,
            "source": self.source,
            "kind": self.kind,
            "period": [d.isoformat() for d in self.period] if self.period else None,
            "files": [f.as_dict() for f in self.files],
            "user": self.user,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat() if self.finished else None,
            "changes": self.changes,
            "replace": self.replace,
            "status": self.status,
            "undone": self.undone.isoformat() if self.undone else None,
            "undone_by": self.undone_by,
        }


@dataclass(slots=True)
class UndoReport:
    """What undoing batches did: rows removed and restored per table, per batch undone."""

    undone: list[int] = field(default_factory=list)
    removed: dict[str, int] = field(default_factory=dict)
    restored: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        return {"undone": self.undone, "removed": self.removed, "restored": self.restored}


# --- the tables ----------------------------------------------------------------------------------


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [
        str(r[0])
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
            "AND database_name = current_database() AND schema_name = current_schema() "
            "ORDER BY column_index",
            [table],
        ).fetchall()
    ]


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        str(r[0])
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = current_schema()"
        ).fetchall()
    }


def ensure_provenance(con: duckdb.DuckDBPyConnection) -> bool:
    """Create what batches need where missing: the batch log, the ``_batch`` column of every
    warehouse table (0 for rows already stored) and the pre-image tables. True when anything
    was made. Idempotent; call inside a transaction."""
    present = _tables(con)
    made = False
    if BATCHES_TABLE not in present:
        con.execute(
            f"CREATE TABLE {BATCHES_TABLE} (batch_id INTEGER NOT NULL, source VARCHAR NOT NULL, "
            "kind VARCHAR NOT NULL, period_start DATE, period_end DATE, files VARCHAR, "
            "user_name VARCHAR, started TIMESTAMP, finished TIMESTAMP, changes VARCHAR, "
            "replace BOOLEAN, status VARCHAR NOT NULL, undone TIMESTAMP, undone_by VARCHAR)"
        )
        made = True
    if REDELIVERED_TABLE not in present:
        con.execute(
            f"CREATE TABLE {REDELIVERED_TABLE} (batch_id INTEGER NOT NULL, tbl VARCHAR NOT NULL, "
            "owner INTEGER NOT NULL, n BIGINT NOT NULL)"
        )
        made = True
    for name, spec in BATCH_TABLES.items():
        if name in present and BATCH_COLUMN not in _columns(con, name):
            con.execute(f"ALTER TABLE {_q(name)} ADD COLUMN {BATCH_COLUMN} INTEGER DEFAULT 0")
            made = True
        undo = undo_table(name)
        if undo not in present:
            con.execute(spec.create_sql(undo))
            con.execute(f"ALTER TABLE {_q(undo)} ADD COLUMN {UNDO_COLUMN} INTEGER")
            made = True
    return made


def _next_batch_id(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute(f"SELECT coalesce(max(batch_id), 0) + 1 FROM {BATCHES_TABLE}").fetchone()
    return int(row[0]) if row else 1


def _who(user: str | None) -> str:
    if user:
        return user
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (containers)
        return os.environ.get("USER", "unknown")


def begin_batch(
    con: duckdb.DuckDBPyConnection,
    *,
    source: str,
    kind: str,
    period: tuple[dt.date, dt.date] | None,
    files: Sequence[FileHash],
    user: str | None,
    replace: bool,
) -> int:
    """Record a new batch (inside the caller's transaction); returns its id."""
    batch_id = _next_batch_id(con)
    con.execute(
        f"INSERT INTO {BATCHES_TABLE} (batch_id, source, kind, period_start, period_end, files, "
        "user_name, started, replace, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'applied')",
        [
            batch_id,
            source,
            kind,
            period[0] if period else None,
            period[1] if period else None,
            json.dumps([f.as_dict() for f in files]),
            _who(user),
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
            replace,
        ],
    )
    return batch_id


def finish_batch(
    con: duckdb.DuckDBPyConnection, batch_id: int, changes: Mapping[str, TableChange]
) -> None:
    """Record the batch's changes per table and when it finished."""
    summary = {
        t: {"inserted": c.inserted, "updated": c.updated, "deleted": c.deleted}
        for t, c in changes.items()
    }
    con.execute(
        f"UPDATE {BATCHES_TABLE} SET changes = ?, finished = ? WHERE batch_id = ?",
        [json.dumps(summary), dt.datetime.now(dt.UTC).replace(tzinfo=None), batch_id],
    )


# --- writing one table ---------------------------------------------------------------------------


def apply_table(
    con: duckdb.DuckDBPyConnection,
    batch_id: int,
    table: str,
    incoming: str,
    *,
    source: str | None,
    period: tuple[dt.date, dt.date] | None,
) -> TableChange:
    """Write the rows of the relation *incoming* (the schema's columns, typed, event ids already
    qualified) into *table* as batch *batch_id*; pre-images of updated and deleted rows go to
    the table's undo table. Call inside a transaction."""
    spec = BATCH_TABLES[table]
    cols = [c.name for c in spec.columns]
    names = ", ".join(_q(c) for c in cols)
    change = TableChange()
    row = con.execute(f"SELECT count(*) FROM {_q(table)}").fetchone()
    change.stored_before = int(row[0]) if row else 0
    date_col = EVENT_DATE_COLUMNS.get(table)
    key_eq = " AND ".join(f"s.{_q(k)} = i.{_q(k)}" for k in spec.key)
    con.execute("SET preserve_insertion_order = false")
    try:
        if change.stored_before == 0:
            n = con.execute(
                f"INSERT INTO {_q(table)} ({names}, {BATCH_COLUMN}) "
                f"SELECT {names}, {int(batch_id)} FROM {incoming}"
            ).fetchone()
            change.inserted = int(n[0]) if n else 0
            if date_col is not None and change.inserted:
                # every stored row is this batch's: count the years on the stored date column
                # rather than evaluate *incoming* (the typed view over the staged text) again
                _years(con, change, "inserted", f"SELECT {_q(date_col)} AS d FROM {_q(table)}")
            return change
        same = " AND ".join(f"s.{_q(c)} IS NOT DISTINCT FROM i.{_q(c)}" for c in cols)
        key_cols = ", ".join(f"i.{_q(k)}" for k in spec.key)
        d_expr = f"s.{_q(date_col)}" if date_col else "NULL::DATE"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _pht_match AS SELECT s.rowid AS rid, {key_cols}, "
            f"({same}) AS same, {d_expr} AS d, s.{BATCH_COLUMN} AS owner "
            f"FROM {_q(table)} s JOIN {incoming} i ON {key_eq}"
        )
        deleting = ""
        if date_col is not None and period is not None and source is not None:
            deleting = (
                f" UNION ALL SELECT s.rowid, {d_expr}, true FROM {_q(table)} s "
                f"WHERE s.{_q(date_col)} BETWEEN DATE '{period[0].isoformat()}' "
                f"AND DATE '{period[1].isoformat()}' AND s.{BATCH_COLUMN} IN (SELECT batch_id "
                f"FROM {BATCHES_TABLE} WHERE source = {_lit(source)} AND status = 'applied') "
                f"AND NOT EXISTS (SELECT 1 FROM {incoming} i WHERE {key_eq})"
            )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _pht_gone AS SELECT rid, d, false AS deleted "
            f"FROM _pht_match WHERE NOT same{deleting}"
        )
        counts = con.execute(
            "SELECT (SELECT count(*) FROM _pht_match), (SELECT coalesce(count_if(same), 0) "
            "FROM _pht_match), "
            "(SELECT coalesce(count_if(deleted), 0) FROM _pht_gone), "
            "(SELECT count(*) FROM _pht_gone)"
        ).fetchone()
        matched, unchanged, deleted, gone = (int(x) for x in (counts or (0, 0, 0, 0)))
        change.unchanged = unchanged
        change.updated = matched - unchanged
        change.deleted = deleted
        if unchanged:
            con.execute(
                f"INSERT INTO {REDELIVERED_TABLE} SELECT {int(batch_id)}, {_lit(table)}, owner, "
                "count(*) FROM _pht_match WHERE same GROUP BY owner"
            )
        if gone:
            key_text = " || '/' || ".join(f"CAST(s.{_q(k)} AS VARCHAR)" for k in spec.key)
            change.removed_keys = [
                str(r[0])
                for r in con.execute(
                    f"SELECT {key_text} FROM {_q(table)} s WHERE s.rowid IN "
                    f"(SELECT rid FROM _pht_gone) ORDER BY 1 LIMIT {SAMPLE_KEYS}"
                ).fetchall()
            ]
            if date_col is not None:
                _years(con, change, "updated", "SELECT d FROM _pht_gone WHERE NOT deleted")
                _years(con, change, "deleted", "SELECT d FROM _pht_gone WHERE deleted")
            con.execute(
                f"INSERT INTO {_q(undo_table(table))} ({names}, {BATCH_COLUMN}, {UNDO_COLUMN}) "
                f"SELECT {names}, {BATCH_COLUMN}, {int(batch_id)} FROM {_q(table)} "
                "WHERE rowid IN (SELECT rid FROM _pht_gone)"
            )
            con.execute(f"DELETE FROM {_q(table)} WHERE rowid IN (SELECT rid FROM _pht_gone)")
        skip = ""
        if unchanged:
            m_eq = " AND ".join(f"m.{_q(k)} = i.{_q(k)}" for k in spec.key)
            skip = f" WHERE NOT EXISTS (SELECT 1 FROM _pht_match m WHERE m.same AND {m_eq})"
        select = f"SELECT {', '.join('i.' + _q(c) for c in cols)} FROM {incoming} i{skip}"
        n = con.execute(
            f"INSERT INTO {_q(table)} ({names}, {BATCH_COLUMN}) "
            f"SELECT *, {int(batch_id)} FROM ({select})"
        ).fetchone()
        written = int(n[0]) if n else 0
        change.inserted = written - change.updated
        if date_col is not None and change.inserted:
            m_eq = " AND ".join(f"m.{_q(k)} = i.{_q(k)}" for k in spec.key)
            _years(
                con,
                change,
                "inserted",
                f"SELECT i.{_q(date_col)} AS d FROM {incoming} i "
                f"WHERE NOT EXISTS (SELECT 1 FROM _pht_match m WHERE {m_eq})",
            )
        con.execute("DROP TABLE IF EXISTS _pht_match")
        con.execute("DROP TABLE IF EXISTS _pht_gone")
        return change
    finally:
        with contextlib.suppress(duckdb.Error):  # (an aborted transaction refuses SET)
            con.execute("SET preserve_insertion_order = true")


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _years(con: duckdb.DuckDBPyConnection, change: TableChange, what: str, select: str) -> None:
    for year, n in con.execute(
        f"SELECT year(d) AS y, count(*) FROM ({select}) WHERE d IS NOT NULL GROUP BY y"
    ).fetchall():
        change.by_year.setdefault(int(year), {"inserted": 0, "updated": 0, "deleted": 0})[what] = (
            int(n)
        )


def over_threshold(changes: Mapping[str, TableChange], threshold: float) -> str | None:
    """Why the *changes* remove too much of what is stored, or ``None``."""
    too_much = []
    for t, c in changes.items():
        # deleted rows count everywhere; overwritten rows of the event tables too (an event
        # overwritten by another with the same id is how reused ids show), while an updated
        # person, practice or list period is the newer version of the same thing
        lost = c.removed if t in EVENT_DATE_COLUMNS else c.deleted
        if c.stored_before and lost / c.stored_before > threshold:
            too_much.append(
                f"{t}: {formats.number(lost)} av {formats.number(c.stored_before)} lagrede rader "
                f"({_percent(lost / c.stored_before)})"
            )
    if not too_much:
        return None
    return (
        f"ville slette eller overskrive mer enn {_percent(threshold)} av de lagrede radene — "
        + "; ".join(too_much)
        + " (ingenting er endret; gi --replace / replace=True hvis det er meningen)"
    )


# --- Arrow tables in, as one batch ---------------------------------------------------------------


def write_batch(
    warehouse: Any,
    tables: Mapping[str, pa.Table],
    *,
    source: str,
    period: tuple[dt.date, dt.date] | None = None,
    files: Iterable[FileHash | str | Path] = (),
    user: str | None = None,
    kind: str = "arrow",
    replace: bool = False,
    dry_run: bool = False,
    accept_valid: bool = False,
    validate: bool = True,
) -> BatchReport:
    """Write already-built Arrow tables (warehouse table name -> rows in the extract format) into
    *warehouse* as one batch.

    The rows go through the same rules as a loaded extract (unless *validate* is false): with a
    problem nothing is written (``report.refused``, ``report.problems`` with
    ``table:row:column`` places, row 2 being the first row as in a CSV file), unless
    *accept_valid*, which writes the valid rows. Event ids are stored as ``"<source>:<id>"``.
    *period* (first and last day) makes the batch the complete record of the event tables of
    *source* in that period (see the module doc); rows outside it are refused. *files*: the
    files the rows came from (paths are hashed here). *dry_run*: report, change nothing.
    """
    from pht.registry.load import load_tables

    hashes = [f if isinstance(f, FileHash) else file_hash(f) for f in files]
    return load_tables(
        warehouse,
        dict(tables),
        source=check_source(source),
        period=period,
        files=hashes,
        user=user,
        kind=kind,
        replace=replace,
        dry_run=dry_run,
        accept_valid=accept_valid,
        validate=validate,
    )


# --- listing and undoing -------------------------------------------------------------------------


def list_batches(warehouse: Any) -> list[BatchInfo]:
    """Every batch recorded in *warehouse*, oldest first."""
    con: duckdb.DuckDBPyConnection = warehouse.con.con
    if BATCHES_TABLE not in _tables(con):
        return []
    rows = con.execute(
        "SELECT batch_id, source, kind, period_start, period_end, files, user_name, started, "
        f"finished, changes, replace, status, undone, undone_by FROM {BATCHES_TABLE} "
        "ORDER BY batch_id"
    ).fetchall()
    out = []
    for r in rows:
        files = tuple(FileHash(**f) for f in json.loads(r[5] or "[]"))
        out.append(
            BatchInfo(
                batch_id=int(r[0]),
                source=str(r[1]),
                kind=str(r[2]),
                period=(r[3], r[4]) if r[3] is not None else None,
                files=files,
                user=str(r[6] or ""),
                started=r[7],
                finished=r[8],
                changes=json.loads(r[9] or "{}"),
                replace=bool(r[10]),
                status=str(r[11]),
                undone=r[12],
                undone_by=r[13],
            )
        )
    return out


def _dependents(con: duckdb.DuckDBPyConnection, batch_id: int) -> set[int]:
    """Later batches still applied that built on *batch_id* (see the module doc)."""
    later = {
        int(r[0])
        for r in con.execute(
            f"SELECT batch_id FROM {BATCHES_TABLE} WHERE batch_id > ? AND status = 'applied'",
            [batch_id],
        ).fetchall()
    }
    if not later:
        return set()
    b = int(batch_id)
    # a later batch delivered rows of this batch again (unchanged, so they kept this batch)
    found = {
        int(r[0])
        for r in con.execute(
            f"SELECT DISTINCT batch_id FROM {REDELIVERED_TABLE} WHERE owner = {b} "
            f"AND batch_id > {b}"
        ).fetchall()
    }
    present = _tables(con)
    tables = {n: spec for n, spec in BATCH_TABLES.items() if n in present}
    for name, spec in tables.items():
        undo = _q(undo_table(name))
        # a later batch changed or deleted a row this batch wrote
        found |= {
            int(r[0])
            for r in con.execute(
                f"SELECT DISTINCT {UNDO_COLUMN} FROM {undo} WHERE {BATCH_COLUMN} = {b} "
                f"AND {UNDO_COLUMN} > {b}"
            ).fetchall()
        }
        # a later batch wrote a row with a key this batch removed (restoring would repeat it)
        key_eq = " AND ".join(f"u.{_q(k)} = t.{_q(k)}" for k in spec.key)
        found |= {
            int(r[0])
            for r in con.execute(
                f"SELECT DISTINCT t.{BATCH_COLUMN} FROM {undo} u JOIN {_q(name)} t ON {key_eq} "
                f"WHERE u.{UNDO_COLUMN} = {b} AND t.{BATCH_COLUMN} <> {b}"
            ).fetchall()
        }
    # a later batch's rows reference a row this batch inserted (and undo would remove)
    for name, spec in tables.items():
        for c in spec.columns:
            if not c.references:
                continue
            ref_table, ref_col = c.references.split(".")
            ref_key = BATCH_TABLES[ref_table].key
            undo_eq = " AND ".join(f"u.{_q(k)} = r.{_q(k)}" for k in ref_key)
            found |= {
                int(r[0])
                for r in con.execute(
                    f"SELECT DISTINCT t.{BATCH_COLUMN} FROM {_q(name)} t "
                    f"WHERE t.{BATCH_COLUMN} <> {b} AND t.{_q(c.name)} IN ("
                    f"SELECT r.{_q(ref_col)} FROM {_q(ref_table)} r WHERE r.{BATCH_COLUMN} = {b} "
                    f"AND NOT EXISTS (SELECT 1 FROM {_q(undo_table(ref_table))} u "
                    f"WHERE u.{UNDO_COLUMN} = {b} AND {undo_eq}))"
                ).fetchall()
            }
    return found & later


def undo_batch(
    warehouse: Any, batch_id: int, *, user: str | None = None, cascade: bool = False
) -> UndoReport:
    """Restore *warehouse* to exactly what it was before batch *batch_id*.

    Refused (a :class:`PhtError` naming them) when later batches still applied built on it,
    unless *cascade*: then every later applied batch is undone first, newest first.
    """
    con: duckdb.DuckDBPyConnection = warehouse.con.con
    batches = {b.batch_id: b for b in list_batches(warehouse)}
    if batch_id not in batches:
        raise NotFound(f"ingen batch {batch_id} i dette lageret", where=warehouse.path)
    if batches[batch_id].status != "applied":
        raise PhtError(f"batch {batch_id} er allerede angret", where=warehouse.path)
    report = UndoReport()
    with warehouse.transaction():
        if cascade:
            order = sorted(
                (b for b, info in batches.items() if b > batch_id and info.status == "applied"),
                reverse=True,
            )
        else:
            dependents = _dependents(con, batch_id)
            if dependents:
                listed = ", ".join(str(d) for d in sorted(dependents))
                raise PhtError(
                    f"batch {batch_id} kan ikke angres alene: senere batcher bygger på den "
                    f"({listed}); angre dem først, eller angre alle med --cascade"
                )
            order = []
        for b in [*order, batch_id]:
            _undo_one(con, b, user, report)
    return report


def _undo_one(
    con: duckdb.DuckDBPyConnection, batch_id: int, user: str | None, report: UndoReport
) -> None:
    b = int(batch_id)
    con.execute("SET preserve_insertion_order = false")
    present = _tables(con)
    try:
        for name, spec in BATCH_TABLES.items():
            if name not in present:
                continue
            names = ", ".join(_q(c.name) for c in spec.columns)
            n = con.execute(f"DELETE FROM {_q(name)} WHERE {BATCH_COLUMN} = {b}").fetchone()
            removed = int(n[0]) if n else 0
            undo = _q(undo_table(name))
            n = con.execute(
                f"INSERT INTO {_q(name)} ({names}, {BATCH_COLUMN}) SELECT {names}, "
                f"{BATCH_COLUMN} FROM {undo} WHERE {UNDO_COLUMN} = {b}"
            ).fetchone()
            restored = int(n[0]) if n else 0
            if restored:
                con.execute(f"DELETE FROM {undo} WHERE {UNDO_COLUMN} = {b}")
            if removed:
                report.removed[name] = report.removed.get(name, 0) + removed
            if restored:
                report.restored[name] = report.restored.get(name, 0) + restored
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute("SET preserve_insertion_order = true")
    con.execute(f"DELETE FROM {REDELIVERED_TABLE} WHERE batch_id = {b}")
    con.execute(
        f"UPDATE {BATCHES_TABLE} SET status = 'undone', undone = ?, undone_by = ? "
        "WHERE batch_id = ?",
        [dt.datetime.now(dt.UTC).replace(tzinfo=None), _who(user), b],
    )
    report.undone.append(b)


def replace_threshold() -> float:
    """The share of a table's stored rows a batch may delete or overwrite without *replace*."""
    return get_settings().replace_threshold
