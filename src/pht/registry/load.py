"""Loading registry extracts (CSV or Parquet, the tables of DATA.md) into the warehouse.

Validation is vectorised: each file is read by DuckDB into a staging table on the warehouse's own
connection, and every rule is one SQL statement over the whole table (identifiers are checked
once per *distinct* value with :func:`pht.core.identifiers.person_id_problems` and friends). Every
problem is reported as ``file:line:column — value — reason``; ``line`` is the CSV line number
counting the header as line 1 (for Parquet: the 1-based row number + 1, as if the table had been
written as CSV with a header).

Rules (driven by :data:`pht.registry.schema.TABLES`: ``ColumnSpec.kind/values/references`` and
``TableSpec.key/date_order``): required columns present and filled; values of the right type;
identifiers valid; dates valid and in order; enum values allowed; codes known (ICPC-2, tariffs,
ICD-10); foreign keys present in the extract or already in the warehouse (a list membership's
``gp_id`` must be a practitioner with role ``gp``); keys unique; list periods of one person not
overlapping.

Writing: without ``accept_valid`` a single problem means nothing is written. Every write of one
load happens in one transaction. Rows replace warehouse rows with the same key; for the event
tables (contacts, admissions, survey_responses) an extract is the complete record of its period,
so warehouse rows inside the period are replaced too. The period is ``manifest.json``'s
``"period": {"start": ..., "end": ...}`` (or ``"years": [first, ..., last]``) when the folder has
one, else the first to the last date of the table in the extract. Loading the same files twice
therefore changes nothing.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pht.core.errors import PhtError
from pht.core.identifiers import person_id_problems, validate_hpr, validate_orgnr
from pht.core.periods import Period
from pht.reference.codes import ICPC2_FORM, icd10_known, icpc2_codes
from pht.reference.tariffs import tariff_codes
from pht.registry.batches import (
    EVENT_DATE_COLUMNS,
    BatchReport,
    FileHash,
    apply_table,
    begin_batch,
    check_source,
    ensure_provenance,
    file_hash,
    finish_batch,
    over_threshold,
    replace_threshold,
    source_from_name,
)
from pht.registry.pseudonymise import INCOMPLETE_MARKER
from pht.registry.schema import EVENT_ID_KIND, TABLES, ColumnSpec, TableSpec
from pht.registry.warehouse import Warehouse, use_storage_layout

__all__ = [
    "EVENT_PERIOD_COLUMNS",
    "PSEUDONYM_FORM",
    "LoadReport",
    "Problem",
    "ValidationReport",
    "extract_source",
    "load_extract",
    "load_tables",
    "parse_period",
    "validate_extract",
]

# Tables whose extract replaces the warehouse's rows of the same period and source, and their
# date column.
EVENT_PERIOD_COLUMNS: dict[str, str] = EVENT_DATE_COLUMNS

# An opaque person pseudonym (analytic extracts): 16 or more letters, digits, "-", "_" or ":".
PSEUDONYM_FORM = re.compile(r"^[A-Za-z0-9_:\-]{16,}$")

# Plausibility: no date before this; event and start dates not after today; end dates (planned
# ends of a period) not after LATEST_END.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_END = dt.date(2100, 12, 31)
# Columns holding the planned last day of a period (may lie in the future).
END_COLUMNS = frozenset({"end", "pht_end"})
# Largest plausible amount of one claim, NOK (co-payment or refund).
MAX_AMOUNT_NOK = 100_000
# A CSV line longer than this (bytes) is no sane row of the extract format; it is reported.
MAX_LINE_BYTES = 1 << 20

# At most this many problems are kept in a report (all are counted; the side file has all rows).
MAX_PROBLEMS = 10_000

_NUMBER_TYPES = ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER")

# A Parquet file with fewer row groups than this, and no larger than ARROW_MAX_BYTES
# uncompressed, is read into memory and cut into batches of ARROW_BATCH_ROWS rows so that every
# step runs on all cores (DuckDB splits a Parquet scan by row group only).
ARROW_MAX_ROW_GROUPS = 8
ARROW_MAX_BYTES = 2 << 30
ARROW_BATCH_ROWS = 122_880  # one DuckDB row group

# Up to this many rows, duplicate keys are looked for by sorting 64-bit hashes of the key in
# numpy (a few times cheaper than a GROUP BY on the key); above it, by DuckDB's GROUP BY.
HASH_SORT_MAX_ROWS = 20_000_000


@dataclass(frozen=True, slots=True)
class _RowRule:
    """A rule checked row by row: SQL *condition* true on a problem row, *reason* and *value*
    as SQL expressions."""

    column: str
    condition: str
    reason: str
    value: str
    single: bool = True  # the condition reads *column* only


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in one cell (or with a whole file: ``line`` 0, ``column`` empty)."""

    file: str
    line: int
    column: str
    value: str | None
    reason: str

    def __str__(self) -> str:
        value = "" if self.value is None else self.value
        return f"{self.file}:{self.line}:{self.column} — {value!r} — {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        """The problem as a JSON-ready dict."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "value": self.value,
            "reason": self.reason,
        }


@dataclass(slots=True)
class ValidationReport:
    """What validation found: problems, rows per table, rows rejected per table."""

    files: dict[str, str] = field(default_factory=dict)  # table -> file
    rows: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    file_problems: bool = False  # a problem with a whole file (encoding, columns, structure)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return self.problem_count == 0

    def as_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        return {
            "ok": self.ok,
            "files": self.files,
            "rows": self.rows,
            "rejected": self.rejected,
            "problem_count": self.problem_count,
            "problems": [p.as_dict() for p in self.problems],
            "notes": self.notes,
        }


@dataclass(slots=True)
class LoadReport:
    """What a load did: the validation report and the rows written per table."""

    validation: ValidationReport
    imported: bool
    written: dict[str, int] = field(default_factory=dict)  # rows inserted or updated
    replaced_periods: dict[str, tuple[str, str]] = field(default_factory=dict)
    rejects_path: str | None = None
    batch: BatchReport | None = None  # the batch written, refused or tried (dry run)

    @property
    def ok(self) -> bool:
        """True when the extract was valid and imported."""
        return self.imported and self.validation.ok

    def as_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        return {
            "imported": self.imported,
            "written": self.written,
            "replaced_periods": {k: list(v) for k, v in self.replaced_periods.items()},
            "rejects_path": self.rejects_path,
            "batch": self.batch.as_dict() if self.batch else None,
            **self.validation.as_dict(),
        }


# --- finding the files ----------------------------------------------------------------------


def _find_files(path: Path) -> dict[str, Path]:
    """Table name -> file for a folder of extract files or a single file."""
    if not path.exists():
        raise PhtError("no such file or folder", where=str(path))
    folder = path if path.is_dir() else path.parent
    if (folder / INCOMPLETE_MARKER).exists():
        raise PhtError(
            "this folder is an unfinished output of `pht registry pseudonymise` (it holds "
            f"{INCOMPLETE_MARKER}); make the copy again",
            where=str(folder),
        )
    candidates = [path] if path.is_file() else sorted(path.iterdir())
    found: dict[str, Path] = {}
    for p in candidates:
        if p.suffix.lower() not in (".csv", ".parquet") or not p.is_file():
            continue
        name = p.stem
        if name not in TABLES:
            if path.is_file():
                raise PhtError(
                    f"file name must be a table of the extract format ({', '.join(TABLES)})",
                    where=str(p),
                )
            continue
        if name in found:
            raise PhtError(f"table {name} given twice ({found[name].name} and {p.name})")
        found[name] = p
    if not found:
        raise PhtError(
            "no extract files here (expected <table>.csv or <table>.parquet)", where=str(path)
        )
    return {name: found[name] for name in TABLES if name in found}


def _manifest(path: Path) -> tuple[Path, Any]:
    folder = path if path.is_dir() else path.parent
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return manifest, None
    try:
        return manifest, json.loads(manifest.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PhtError(f"manifest is not valid JSON: {err}", where=str(manifest)) from None


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    """``2021-01-01..2022-12-31`` as (first day, last day)."""
    try:
        first, last = (dt.date.fromisoformat(part.strip()) for part in text.split(".."))
    except ValueError:
        raise PhtError(
            f"period {text!r} is not FIRST..LAST (e.g. 2021-01-01..2022-12-31)"
        ) from None
    if last < first:
        raise PhtError(f"period {text!r} ends before it starts")
    return first, last


def extract_source(path: str | Path) -> str:
    """The source of an extract: ``manifest.json``'s ``"source"``, else the folder's name."""
    p = Path(path)
    manifest, data = _manifest(p)
    if isinstance(data, dict) and data.get("source") is not None:
        name = data["source"]
        if not isinstance(name, str):
            raise PhtError("manifest source must be text", where=str(manifest))
        return check_source(name)
    folder = p if p.is_dir() else p.parent
    return source_from_name(folder.resolve().name)


def _manifest_period(path: Path) -> tuple[dt.date, dt.date] | None:
    """The extract period from ``manifest.json`` beside the files, when it states one."""
    manifest, data = _manifest(path)
    if data is None:
        return None
    period = data.get("period") if isinstance(data, dict) else None
    try:
        if isinstance(period, dict):
            return dt.date.fromisoformat(period["start"]), dt.date.fromisoformat(period["end"])
        years = data.get("years") if isinstance(data, dict) else None
        if isinstance(years, list) and years and all(isinstance(y, int) for y in years):
            return dt.date(min(years), 1, 1), dt.date(max(years), 12, 31)
    except (KeyError, TypeError, ValueError) as err:
        raise PhtError(f"manifest period is not valid: {err}", where=str(manifest)) from None
    return None


# --- the validator --------------------------------------------------------------------------


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class _Stage:
    """Staging tables and problem collection for one validation run on one connection."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        warehouse_tables: set[str],
        *,
        source: str | None = None,
        period: tuple[dt.date, dt.date] | None = None,
        today: dt.date | None = None,
    ) -> None:
        self.con = con
        self.warehouse_tables = warehouse_tables
        self.source = source  # the batch's source (event ids are qualified by it)
        self.period = period  # the declared period of the event tables
        self.today = today or dt.date.today()
        self.report = ValidationReport()
        self.types: dict[str, dict[str, str]] = {}  # table -> column -> DuckDB type of source
        self.types_source: dict[str, str] = {}  # table -> "csv" or "parquet"
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE _pht_problems (tbl VARCHAR, line BIGINT, "
            "col VARCHAR, value VARCHAR, reason VARCHAR)"
        )
        self.staged: list[str] = []
        self.blocking = False  # a problem with a whole file: nothing can be loaded
        self.pending: list[str] = []
        self.scratch: list[str] = []  # temp tables to drop at the end
        self.arrow: dict[str, pa.Table] = {}  # table -> file read into memory (kept alive)
        self.flagged: set[str] = set()  # tables with a problem query queued or found
        self.values: dict[tuple[str, str], str | None] = {}  # see value_table
        self.background: ThreadPoolExecutor | None = None  # see start_value_checks
        self.value_checks: dict[tuple[str, str], Future[list[tuple[str, str]]]] = {}

    # -- helpers --

    def file_problem(self, table: str, line: int, column: str, value: str | None, why: str) -> None:
        self.report.file_problems = True
        self.flagged.add(table)
        if line <= 1:
            self.blocking = True
        self.con.execute(
            "INSERT INTO _pht_problems VALUES (?, ?, ?, ?, ?)", [table, line, column, value, why]
        )

    def add(self, table: str, select_sql: str) -> None:
        """Queue problems from *select_sql* (columns line, col, value, reason)."""
        self.flagged.add(table)
        self.pending.append(
            f"SELECT {_lit(table)} AS tbl, line, col, value, reason FROM ({select_sql})"
        )

    def flush(self) -> None:
        """Run the queued rules in one statement (one pass of the optimiser, fewer round trips)."""
        if self.pending:
            self.con.execute(
                "INSERT INTO _pht_problems " + " UNION ALL ".join(f"({q})" for q in self.pending)
            )
            self.pending.clear()

    def raw(self, table: str) -> str:
        """The staged rows of *table* with their line number ``_line`` (a view)."""
        return _q(f"_pht_raw_{table}")

    def data(self, table: str) -> str:
        """The staging table behind :meth:`raw`."""
        return _q(f"_pht_data_{table}")

    def value_table(self, table: str, column: str) -> str | None:
        """The distinct values of a dictionary-encoded *column* of a table read through Arrow.

        A registered table with the one column *column* (same name and type) holding each value
        the column uses once, NULL included when present, so that a rule that reads only this
        column runs over a few values instead of every row (Arrow finds the values used from
        the dictionary indices). ``None`` for other columns: rules then read the rows.
        """
        key = (table, column)
        if key not in self.values:
            name: str | None = None
            data = self.arrow.get(table)
            if data is not None and column in data.column_names:
                col = data.column(column)
                if pa.types.is_dictionary(col.type) and pa.types.is_string(col.type.value_type):
                    used = pc.unique(col)
                    if isinstance(used, pa.DictionaryArray):
                        used = used.dictionary_decode()
                    name = f"_pht_values_{table}_{column}"
                    self.con.register(name, pa.table({column: used.cast(pa.string())}))
            self.values[key] = name
        name = self.values[key]
        return None if name is None else _q(name)

    def _line_view(self, table: str, first: int) -> None:
        # rowid follows the file's order (insertion order is preserved when staging)
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {self.raw(table)} AS "
            f"SELECT *, rowid + {first} AS _line FROM {self.data(table)}"
        )

    def txt(self, table: str, column: str) -> str:
        """The column as text (SQL expression)."""
        t = self.types[table].get(column, "VARCHAR")
        return _q(column) if t == "VARCHAR" else f"CAST({_q(column)} AS VARCHAR)"

    def empty(self, table: str, column: str) -> str:
        t = self.types[table].get(column, "VARCHAR")
        if t == "VARCHAR":
            return f"({_q(column)} IS NULL OR {_q(column)} = '')"
        return f"({_q(column)} IS NULL)"

    # -- reading --

    def stage_csv(self, table: str, path: Path) -> bool:
        spec = TABLES[table]
        try:
            with path.open("rb") as fh:
                head = fh.readline()
        except OSError as err:
            self.file_problem(table, 0, "", None, f"cannot read the file: {err}")
            return False
        if not head.strip():
            self.file_problem(table, 1, "", None, "file is empty (expected a header row)")
            return False
        try:
            header_text = head.decode("utf-8-sig")
        except UnicodeDecodeError:
            self.file_problem(
                table, 1, "", None, "header is not UTF-8 text (save the file as UTF-8)"
            )
            return False
        header = next(csv.reader([header_text.rstrip("\r\n")]))
        if not self._check_header(table, spec, header):
            return False
        columns = "{" + ", ".join(f"{_lit(c)}: 'VARCHAR'" for c in header) + "}"
        rejects = "_pht_rej_" + table
        scan = "_pht_rejscan_" + table
        base = (
            f"SELECT * FROM read_csv({_lit(str(path))}, header=true, auto_detect=false, "
            f"delim=',', quote='\"', escape='\"', columns={columns}, "
            f"max_line_size={MAX_LINE_BYTES}"
        )
        bad: list[tuple[Any, ...]] = []
        try:  # fast path: a well-formed file
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {self.data(table)} AS {base})")
        except duckdb.Error:
            # collect every malformed line (encoding, too few/many values, open quotes)
            sql = (
                f"{base}, store_rejects=true, rejects_table={_lit(rejects)}, "
                f"rejects_scan={_lit(scan)})"
            )
            try:
                self.con.execute(f"CREATE OR REPLACE TEMP TABLE {self.data(table)} AS {sql}")
                bad = self.con.execute(
                    f"SELECT line, arg_min(column_name, column_idx), any_value(csv_line), "
                    f"arg_min(error_type, column_idx), arg_min(error_message, column_idx) "
                    f"FROM {_q(rejects)} GROUP BY line ORDER BY line"
                ).fetchall()
            except duckdb.Error as err:
                self.file_problem(table, 0, "", None, f"cannot read as CSV: {_first_line(err)}")
                return False
            finally:
                for t in (rejects, scan):
                    with contextlib.suppress(duckdb.Error):
                        self.con.execute(f"DROP TABLE IF EXISTS {_q(t)}")
            # DuckDB skips a line longer than max_line_size without listing it: find them here
            listed = {int(b[0]) for b in bad}
            bad += [
                (
                    line,
                    "",
                    None,
                    "LINE TOO LONG",
                    f"{length:,} bytes, longer than any sane row (at most {MAX_LINE_BYTES:,})",
                )
                for line, length in _long_lines(path, MAX_LINE_BYTES)
                if line not in listed
            ]
            bad.sort(key=lambda b: int(b[0]))
        n = self.con.execute(f"SELECT count(*) FROM {self.data(table)}").fetchone()
        rows = int(n[0]) if n else 0
        if bad:
            lines = sorted({int(b[0]) for b in bad})
            for line, column, text, kind, message in bad:
                self.file_problem(table, int(line), column or "", text, _csv_reason(kind, message))
            # good rows keep their true line numbers: the lines not rejected, in order
            good = np.setdiff1d(np.arange(2, rows + len(lines) + 2), np.array(lines))[:rows]
            self.con.register(
                "_pht_lines",
                pa.table({"_rn": pa.array(np.arange(rows), pa.int64()), "line": good}),
            )
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {self.data(table)} AS SELECT r.*, l.line AS _line "
                f"FROM (SELECT *, rowid AS _rn FROM {self.data(table)}) r "
                f"JOIN _pht_lines l USING (_rn) ORDER BY _rn"
            )
            self.con.unregister("_pht_lines")
            self.con.execute(f"ALTER TABLE {self.data(table)} DROP COLUMN _rn")
            self.con.execute(
                f"CREATE OR REPLACE TEMP VIEW {self.raw(table)} AS SELECT * FROM {self.data(table)}"
            )
        else:
            self._line_view(table, 2)
        self.types[table] = {c: "VARCHAR" for c in header}
        self.types_source[table] = "csv"
        self.report.rows[table] = rows
        if rows and not _ends_with_newline(path):
            # a cut inside the last value would otherwise pass as a shorter value
            last = _count_newlines(path) + 1
            self.file_problem(
                table,
                last,
                header[-1],
                None,
                "last line has no line break: the file may be truncated",
            )
        self.staged.append(table)
        return True

    def stage_parquet(self, table: str, path: Path) -> bool:
        spec = TABLES[table]
        src = f"read_parquet({_lit(str(path))})"
        try:
            described = self.con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()
        except duckdb.Error as err:
            self.file_problem(
                table,
                0,
                "",
                None,
                f"cannot read as Parquet (truncated or not Parquet?): {_first_line(err)}",
            )
            return False
        header = [str(r[0]) for r in described]
        if not self._check_header(table, spec, header):
            return False
        try:
            if self._arrow_worth_it(path):
                self._stage_arrow(table, path, header)
            else:
                # no copy: every rule reads only the columns it needs straight from the file
                # (DuckDB reads the row groups in parallel)
                self.con.execute(
                    f"CREATE OR REPLACE TEMP VIEW {self.data(table)} AS SELECT * FROM {src}"
                )
                self.con.execute(
                    f"CREATE OR REPLACE TEMP VIEW {self.raw(table)} AS SELECT * EXCLUDE "
                    f"(file_row_number), file_row_number + 2 AS _line FROM read_parquet("
                    f"{_lit(str(path))}, file_row_number = true)"
                )
                self.types_source[table] = "parquet"
                n = self.con.execute(f"SELECT count(*) FROM {self.data(table)}").fetchone()
                self.report.rows[table] = int(n[0]) if n else 0
        except (duckdb.Error, pa.ArrowException, OSError) as err:
            self.file_problem(
                table, 0, "", None, f"cannot read the Parquet data: {_first_line(err)}"
            )
            return False
        if self.types_source[table] == "arrow":  # the types DuckDB sees in the Arrow data
            described = self.con.execute(
                f"DESCRIBE SELECT * EXCLUDE (_line) FROM {self.data(table)}"
            ).fetchall()
        self.types[table] = {str(r[0]): str(r[1]) for r in described}
        self.staged.append(table)
        return True

    def _arrow_worth_it(self, path: Path) -> bool:
        """Read the file into memory first when DuckDB could not split the work otherwise.

        DuckDB reads a Parquet file in parallel by row group; a file of one or a few large row
        groups (pyarrow writes up to 1,048,576 rows per group) would be read, checked and
        written on one core. Read into Arrow and cut into batches, every step uses all cores.
        Large files with many row groups are read straight from the file (memory stays flat).
        """
        try:
            meta = pq.ParquetFile(path).metadata
        except (pa.ArrowException, OSError):
            return False
        groups = int(meta.num_row_groups)
        size = sum(int(meta.row_group(i).total_byte_size) for i in range(groups))
        return groups < ARROW_MAX_ROW_GROUPS and size <= ARROW_MAX_BYTES

    def _stage_arrow(self, table: str, path: Path, header: list[str]) -> None:
        spec = TABLES[table]
        # ParquetFile, not pq.read_table: the latter imports pyarrow.dataset and pandas (1 s)
        schema = pq.ParquetFile(path).schema_arrow
        # columns that repeat few values are read as dictionaries (fewer strings to build)
        dictionary = [
            c.name
            for c in spec.columns
            if c.storage in ("code", "enum")
            and c.name in schema.names
            and pa.types.is_string(schema.field(c.name).type)
        ]
        # decimals (amounts) are read by DuckDB: pyarrow turns each big-endian fixed-length value
        # into a 128-bit decimal one by one, at three times DuckDB's cost (5,000,000 contacts:
        # 0.8 against 0.25 CPU-seconds for the two amounts)
        by_duckdb = [
            name
            for name in header
            if pa.types.is_decimal128(schema.field(name).type)
            and schema.field(name).type.precision <= 38
        ]
        data = pq.ParquetFile(path, read_dictionary=dictionary).read(
            columns=[h for h in header if h not in by_duckdb]
        )
        if by_duckdb:
            names = ", ".join(_q(c) for c in by_duckdb)
            amounts = _in_file_order(
                self.con, f"SELECT {names} FROM read_parquet({_lit(str(path))})"
            )
            if amounts.num_rows != data.num_rows:
                raise OSError(f"read {amounts.num_rows} amounts for {data.num_rows} rows")
            for name in by_duckdb:
                data = data.append_column(name, amounts.column(name))
            data = data.select(header)
        n = data.num_rows
        data = data.append_column("_line", pa.array(np.arange(2, n + 2, dtype=np.int64)))
        data = pa.Table.from_batches(data.to_batches(max_chunksize=ARROW_BATCH_ROWS), data.schema)
        name = f"_pht_data_{table}"
        self.con.register(name, data)
        self.arrow[table] = data
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {self.raw(table)} AS SELECT * FROM {self.data(table)}"
        )
        self.types_source[table] = "arrow"
        self.report.rows[table] = n

    def stage_table(self, table: str, data: pa.Table) -> bool:
        """Stage rows already in memory (Arrow), numbered as if written as CSV with a header."""
        spec = TABLES[table]
        self.report.files[table] = table
        if not self._check_header(table, spec, list(data.column_names)):
            return False
        n = data.num_rows
        data = data.append_column("_line", pa.array(np.arange(2, n + 2, dtype=np.int64)))
        data = pa.Table.from_batches(data.to_batches(max_chunksize=ARROW_BATCH_ROWS), data.schema)
        self.con.register(f"_pht_data_{table}", data)
        self.arrow[table] = data
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {self.raw(table)} AS SELECT * FROM {self.data(table)}"
        )
        self.types_source[table] = "arrow"
        self.report.rows[table] = n
        described = self.con.execute(
            f"DESCRIBE SELECT * EXCLUDE (_line) FROM {self.data(table)}"
        ).fetchall()
        self.types[table] = {str(r[0]): str(r[1]) for r in described}
        self.staged.append(table)
        return True

    def _check_header(self, table: str, spec: TableSpec, header: list[str]) -> bool:
        ok = True
        seen: set[str] = set()
        for i, name in enumerate(header, start=1):
            if name in seen:
                self.file_problem(table, 1, name, name, f"column {i} repeats a column name")
                ok = False
            seen.add(name)
        known = {c.name for c in spec.columns}
        for c in spec.required:
            if c not in seen:
                self.file_problem(table, 1, c, None, "required column missing")
                ok = False
        extra = [h for h in header if h not in known]
        if extra:
            self.report.notes.append(
                f"{table}: columns not in the extract format are ignored: {', '.join(extra)}"
            )
        return ok

    # -- rules --
    #
    # Every rule first runs as a cheap probe over the whole table (one aggregate for all the
    # per-row rules, one anti-join per foreign key, one DISTINCT per code column, hashes sorted
    # for the key); only a rule that finds something queues the query that lists the rows.

    def check_table(self, table: str) -> None:
        spec = TABLES[table]
        present = [c for c in spec.columns if c.name in self.types[table]]
        rules: list[_RowRule] = []
        for c in present:
            rules.extend(self._row_rules(table, c))
        for earlier, later in spec.date_order:
            if earlier in self.types[table] and later in self.types[table]:
                a, b = self._as_date(table, earlier), self._as_date(table, later)
                why = _lit(f"{later} is before {earlier} ")
                rules.append(
                    _RowRule(
                        later,
                        f"{a} > {b}",
                        f"{why} || CAST({a} AS VARCHAR)",
                        self.txt(table, later),
                        single=False,
                    )
                )
        rules.extend(self._plausibility_rules(table))
        self._probe(table, rules)
        finish_duplicates = self._check_duplicates(table, spec)
        for c in present:
            checker = _VALUE_CHECKS.get(c.kind)
            if c.references:
                self._check_reference(table, c, checker)
            elif checker is not None:
                self._check_distinct(table, c.name, checker)
            list_checker = _LIST_CHECKS.get(c.kind)
            if list_checker is not None:
                self._check_tokens(table, c, *list_checker)
        self._check_after_death(table)
        self._check_stored_elsewhere(table)
        finish_duplicates()

    def _plausibility_rules(self, table: str) -> list[_RowRule]:
        """Rules across columns: the declared period, birth date against the fødselsnummer."""
        rules: list[_RowRule] = []
        types = self.types[table]
        date_col = EVENT_PERIOD_COLUMNS.get(table)
        if self.period is not None and date_col in types:
            assert date_col is not None
            day = self._as_date(table, date_col)
            first, last = (d.isoformat() for d in self.period)
            rules.append(
                _RowRule(
                    date_col,
                    f"{day} NOT BETWEEN DATE '{first}' AND DATE '{last}'",
                    _lit(f"outside the declared period {first}..{last} of this extract"),
                    self.txt(table, date_col),
                )
            )
        if table == "persons" and "person_id" in types and "birth_date" in types:
            pid = self.txt(table, "person_id")

            def part(a: int, n: int) -> str:
                return f"TRY_CAST(substr({pid}, {a}, {n}) AS INTEGER)"

            d, m, yy, ind = part(1, 2), part(3, 2), part(5, 2), part(7, 3)
            century = (
                f"CASE WHEN {ind} < 500 THEN 1900 WHEN {ind} < 750 AND {yy} >= 54 THEN 1800 "
                f"WHEN {yy} < 40 THEN 2000 WHEN {ind} >= 900 THEN 1900 END"
            )
            derived = (
                f"TRY_CAST(printf('%04d-%02d-%02d', {century} + {yy}, "
                f"CASE WHEN {m} > 80 THEN {m} - 80 WHEN {m} > 40 THEN {m} - 40 ELSE {m} END, "
                f"CASE WHEN {d} > 40 THEN {d} - 40 ELSE {d} END) AS DATE)"
            )
            # only where the id is a person number (11 digits); pseudonyms carry no date
            derived = f"(CASE WHEN regexp_full_match({pid}, '[0-9]{{11}}') THEN {derived} END)"
            birth = self._as_date(table, "birth_date")
            rules.append(
                _RowRule(
                    "birth_date",
                    f"{derived} <> {birth}",
                    "'disagrees with the fødselsnummer, which gives ' || "
                    f"CAST({derived} AS VARCHAR)",
                    self.txt(table, "birth_date"),
                    single=False,
                )
            )
        return rules

    def _check_after_death(self, table: str) -> None:
        """An event dated after its person's death (persons of the extract or the warehouse)."""
        date_col = EVENT_PERIOD_COLUMNS.get(table)
        types = self.types[table]
        if date_col not in types or "person_id" not in types:
            return
        assert date_col is not None
        parts = []
        if "persons" in self.staged and "death_date" in self.types["persons"]:
            parts.append(
                f"SELECT {self.txt('persons', 'person_id')} AS pid, "
                f"{self._as_date('persons', 'death_date')} AS died FROM {self.raw('persons')}"
            )
        if "persons" in self.warehouse_tables:
            not_staged = ""
            if "persons" in self.staged:
                not_staged = (
                    f" AND person_id NOT IN (SELECT {self.txt('persons', 'person_id')} "
                    f"FROM {self.raw('persons')})"
                )
            parts.append(
                "SELECT person_id AS pid, death_date AS died FROM persons "
                f"WHERE death_date IS NOT NULL{not_staged}"
            )
        if not parts:
            return
        deaths = f"SELECT pid, died FROM ({' UNION ALL '.join(parts)}) WHERE died IS NOT NULL"
        if self.con.execute(f"SELECT 1 FROM ({deaths}) LIMIT 1").fetchone() is None:
            return  # nobody died: no event to look at
        day = self._as_date(table, date_col)
        pid = self.txt(table, "person_id")
        where = (
            f"FROM (SELECT _line, {pid} AS _pid, {day} AS _day FROM {self.raw(table)}) x "
            f"JOIN ({deaths}) p ON p.pid = x._pid WHERE x._day > p.died"
        )
        found = self.con.execute(f"SELECT 1 {where} LIMIT 1").fetchone()
        if found is None:
            return
        self.add(
            table,
            f"SELECT x._line AS line, {_lit(date_col)} AS col, "
            f"CAST(x._day AS VARCHAR) AS value, "
            f"'after the death of the person (' || CAST(p.died AS VARCHAR) || ')' AS reason "
            + where,
        )

    def _check_stored_elsewhere(self, table: str) -> None:
        """An event id the warehouse holds for this source with a date outside the declared
        period: the source reuses its ids across periods, and loading would overwrite a row
        outside the period."""
        spec = TABLES[table]
        id_col = spec.event_id
        date_col = EVENT_PERIOD_COLUMNS.get(table)
        if (
            id_col is None
            or date_col is None
            or self.period is None
            or self.source is None
            or table not in self.warehouse_tables
            or id_col not in self.types[table]
        ):
            return
        first, last = (d.isoformat() for d in self.period)
        prefix = _lit(self.source + ":")
        where = (
            f"FROM (SELECT _line, {self.txt(table, id_col)} AS _id FROM {self.raw(table)}) r "
            f"JOIN {_q(table)} s ON s.{_q(id_col)} = CASE WHEN starts_with(r._id, {prefix}) "
            f"THEN r._id ELSE {prefix} || r._id END "
            f"WHERE s.{_q(date_col)} NOT BETWEEN DATE '{first}' AND DATE '{last}'"
        )
        if self.con.execute(f"SELECT 1 {where} LIMIT 1").fetchone() is None:
            return
        self.add(
            table,
            f"SELECT r._line AS line, {_lit(id_col)} AS col, r._id AS value, "
            f"'this source already has this id, with {date_col} ' || "
            f"CAST(s.{_q(date_col)} AS VARCHAR) || ' (batch ' || CAST(s._batch AS VARCHAR) || "
            "'), outside the declared period: the source reuses ids across periods; load it "
            "under another source name' AS reason " + where,
        )

    def _probe(self, table: str, rules: list[_RowRule]) -> None:
        """Count every per-row rule in one pass; list the rows only of rules that fire.

        Rules on one dictionary-encoded column are counted over its distinct values
        (:meth:`value_table`): a rule fires on some row exactly when it fires on some value.
        """
        if not rules:
            return
        sources: dict[str, list[_RowRule]] = {}
        for r in rules:
            values = self.value_table(table, r.column) if r.single else None
            sources.setdefault(values or self.data(table), []).append(r)
        fired: list[_RowRule] = []
        for source, some in sources.items():
            counts = self.con.execute(
                "SELECT " + ", ".join(f"count_if({r.condition})" for r in some) + f" FROM {source}"
            ).fetchone()
            fired += [r for r, n in zip(some, counts or (), strict=True) if n]
        for rule in rules:
            if rule in fired:
                self.add(
                    table,
                    f"SELECT _line AS line, {_lit(rule.column)} AS col, {rule.value} AS value, "
                    f"{rule.reason} AS reason FROM {self.raw(table)} WHERE {rule.condition}",
                )

    def _check_duplicates(self, table: str, spec: TableSpec) -> Callable[[], None]:
        """Look for duplicate keys; returns what queues the problems, to call later.

        Up to HASH_SORT_MAX_ROWS rows, 64-bit hashes of the key are sorted in numpy, in the
        background while the other rules of the table run (numpy's sort releases the GIL);
        the returned callable waits for it.
        """
        if not all(k in self.types[table] for k in spec.key):
            return _nothing
        keys = ", ".join(_q(k) for k in spec.key)
        rows = self.report.rows.get(table, 0)
        if rows < 2:
            return _nothing
        if rows <= HASH_SORT_MAX_ROWS:
            # no repeated hash means no duplicate (a repeat may be a hash collision; the
            # exact query then decides)
            sql = f"SELECT hash({keys}) AS h FROM {self.data(table)}"
            hashes = np.asarray(self.con.execute(sql).fetchnumpy()["h"])
            if self.background is not None:
                repeats = self.background.submit(_has_repeat, hashes)
                return lambda: self._queue_duplicates(table, spec, repeats.result())
            self._queue_duplicates(table, spec, _has_repeat(hashes))
            return _nothing
        suspect = (
            self.con.execute(
                f"SELECT 1 FROM {self.data(table)} GROUP BY {keys} HAVING count(*) > 1 LIMIT 1"
            ).fetchone()
            is not None
        )
        self._queue_duplicates(table, spec, suspect)
        return _nothing

    def _queue_duplicates(self, table: str, spec: TableSpec, suspect: bool) -> None:
        """Queue the query listing every repeated key when *suspect*."""
        if not suspect:
            return
        keys = ", ".join(_q(k) for k in spec.key)
        key_text = " || '/' || ".join(f"coalesce({self.txt(table, k)}, '')" for k in spec.key)
        self.add(
            table,
            f"SELECT line, col, value, 'duplicate key (' || {_lit(', '.join(spec.key))} || "
            f"'), first on line ' || CAST(first AS VARCHAR) AS reason FROM ("
            f"SELECT _line AS line, {_lit(spec.key[0])} AS col, {key_text} AS value, "
            f"min(_line) OVER (PARTITION BY {keys}) AS first FROM {self.raw(table)}) "
            f"WHERE line > first",
        )

    def _as_date(self, table: str, column: str) -> str:
        t = self.types[table].get(column, "VARCHAR")
        if t == "DATE":
            return _q(column)
        return f"TRY_CAST({self.txt(table, column)} AS DATE)"

    def _row_rules(self, table: str, c: ColumnSpec) -> list[_RowRule]:
        """The per-row rules of one column: SQL conditions true on a problem row."""
        col = _q(c.name)
        txt = self.txt(table, c.name)
        src_type = self.types[table][c.name]
        empty = self.empty(table, c.name)
        reasons: list[tuple[str, str]] = []  # (condition on non-empty values, reason)
        if c.kind == "date" and src_type not in ("DATE",):
            if src_type.startswith("TIMESTAMP"):
                reasons.append(
                    (f"CAST({col} AS TIME) <> TIME '00:00:00'", "date has a time of day")
                )
            else:
                reasons.append(
                    (
                        # strict YYYY-MM-DD (cheaper than a regular expression)
                        f"length({txt}) <> 10 OR substr({txt}, 5, 1) <> '-' "
                        f"OR substr({txt}, 8, 1) <> '-' OR TRY_CAST({txt} AS DATE) IS NULL",
                        "not a valid date (YYYY-MM-DD)",
                    )
                )
        if c.kind == "date":
            day = self._as_date(table, c.name)
            reasons.append(
                (f"{day} < DATE '{EARLIEST_DATE.isoformat()}'", "date before 1900: not plausible")
            )
            if c.name in END_COLUMNS:
                reasons.append(
                    (f"{day} > DATE '{LATEST_END.isoformat()}'", "date after 2100: not plausible")
                )
            else:
                reasons.append(
                    (
                        f"{day} > DATE '{self.today.isoformat()}'",
                        f"date in the future (after {self.today.isoformat()})",
                    )
                )
        elif c.kind in ("int", "centrality"):
            as_int = col if src_type in _NUMBER_TYPES else f"TRY_CAST({txt} AS BIGINT)"
            if src_type not in _NUMBER_TYPES:
                reasons.append((f"{as_int} IS NULL", "not a whole number"))
            if c.kind == "centrality":
                reasons.append((f"{as_int} NOT BETWEEN 1 AND 6", "centrality must be 1–6"))
            else:
                reasons.append((f"{as_int} < 0", "must not be negative"))
        elif c.kind in ("decimal", "fte"):
            numeric = (
                src_type in _NUMBER_TYPES
                or src_type in ("DOUBLE", "FLOAT")
                or src_type.startswith("DECIMAL")
            )
            target = _sql_type(c.dtype)
            as_num = col if numeric else f"TRY_CAST({txt} AS {target})"
            if not numeric:
                reasons.append((f"{as_num} IS NULL", "not a number"))
                if c.dtype.is_decimal():
                    # an exact amount: at most 2 decimals, nothing silently rounded
                    reasons.append(
                        (
                            f"strpos({txt}, '.') > 0 AND length({txt}) - strpos({txt}, '.') > 2",
                            "not an amount with at most 2 decimals",
                        )
                    )
            if not c.dtype.is_decimal():
                reasons.append((f"NOT isfinite({as_num})", "not a finite number"))
            if c.kind == "fte":
                reasons.append((f"{as_num} NOT BETWEEN 0 AND 1", "fte must be between 0 and 1"))
            elif c.dtype.is_decimal():  # amounts in NOK
                reasons.append((f"{as_num} < 0", "negative amount"))
                reasons.append(
                    (
                        f"{as_num} > {MAX_AMOUNT_NOK}",
                        f"implausibly large amount (over {MAX_AMOUNT_NOK} NOK for one claim)",
                    )
                )
            elif c.name == "hours_per_week":
                reasons.append((f"{as_num} NOT BETWEEN 0 AND 168", "hours per week must be 0–168"))
        elif c.kind == "bool":
            if src_type != "BOOLEAN":
                reasons.append((f"lower({txt}) NOT IN ('true', 'false')", "not true or false"))
        elif c.kind == "enum":
            allowed = ", ".join(_lit(v) for v in c.values)
            reasons.append((f"{txt} NOT IN ({allowed})", "not one of: " + ", ".join(c.values)))
        elif c.kind == "municipality_code":
            reasons.append((f"NOT regexp_full_match({txt}, '[0-9]{{4}}')", "must be 4 digits"))
        rules: list[_RowRule] = []
        if c.required:
            rules.append(_RowRule(c.name, empty, "'required value missing'", txt))
        rules.extend(
            _RowRule(c.name, f"NOT {empty} AND ({cond})", _lit(why), txt) for cond, why in reasons
        )
        return rules

    def _mark_values(
        self, table: str, column: str, bad: list[tuple[str, str]], name_hint: str = ""
    ) -> None:
        """Queue a problem for every row whose *column* holds one of *bad* (value, reason)."""
        txt = self.txt(table, column)
        name = f"_pht_bad_{table}_{column}{name_hint}"
        self.con.register(
            "_pht_bad", pa.table({"v": [b[0] for b in bad], "r": [b[1] for b in bad]})
        )
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(name)} AS SELECT * FROM _pht_bad")
        finally:
            self.con.unregister("_pht_bad")
        self.scratch.append(name)
        self.add(
            table,
            f"SELECT _line AS line, {_lit(column)} AS col, b.v AS value, b.r AS reason "
            f"FROM {self.raw(table)} JOIN {_q(name)} b ON {txt} = b.v",
        )

    def _distinct_values(self, table: str, column: str) -> list[str]:
        txt = self.txt(table, column)
        source = self.value_table(table, column) or self.data(table)
        values = self.con.execute(
            f"SELECT DISTINCT {txt} AS v FROM {source} WHERE NOT {self.empty(table, column)}"
        ).fetchnumpy()["v"]
        return [str(v) for v in values]

    def start_value_checks(self, table: str) -> None:
        """Start the Python identifier checks of *table*'s distinct values in the background.

        They run while the next files are read (DuckDB and pyarrow release the GIL), instead of
        alone on one core during :meth:`check_table`. Only columns without a foreign key:
        :meth:`_check_reference` checks just the values the referenced table lacks.
        """
        if self.background is None:
            return
        for c in TABLES[table].columns:
            checker = _VALUE_CHECKS.get(c.kind)
            if checker is None or c.references or c.name not in self.types[table]:
                continue
            values = self._distinct_values(table, c.name)
            self.value_checks[(table, c.name)] = self.background.submit(
                _bad_values, checker, values
            )

    def _check_distinct(
        self, table: str, column: str, checker: Callable[[list[str]], list[str | None]]
    ) -> None:
        """Check each distinct value once in Python, then mark the rows holding bad ones."""
        started = self.value_checks.pop((table, column), None)
        if started is not None:
            bad = started.result()
        else:
            bad = _bad_values(checker, self._distinct_values(table, column))
        if bad:
            self._mark_values(table, column, bad)

    def _check_tokens(
        self,
        table: str,
        c: ColumnSpec,
        system: str,
        known: Callable[[str], bool],
        single: bool,
    ) -> None:
        """Check the codes of a code column (a space-separated list unless *single*).

        Codes are split from the *distinct* values only. Tariff codes must also be valid on the
        date of the row (the table's event date): a code whose validity covers the first and
        the last date it appears on is valid on every date between.
        """
        column = c.name
        txt = self.txt(table, column)
        raw, data = self.raw(table), self.data(table)
        empty = self.empty(table, column)

        def split(v: str) -> str:
            return f"[{v}]" if single else f"string_split(trim({v}), ' ')"

        date_col = EVENT_PERIOD_COLUMNS.get(table)
        dated = c.kind == "tariff_list" and date_col in self.types[table]
        suspect: dict[str, Period] = {}
        if dated:
            assert date_col is not None
            day = self._as_date(table, date_col)
            found = self.con.execute(
                f"SELECT DISTINCT unnest({split('v')}) AS code, lo, hi FROM ("
                f"SELECT {txt} AS v, min({day}) AS lo, max({day}) AS hi FROM {data} "
                f"WHERE NOT {empty} GROUP BY {txt})"
            ).fetchall()
            codes = {str(code) for code, _, _ in found}
            for code, lo, hi in found:
                info = tariff_codes().get(str(code))
                if info is None or lo is None:
                    continue
                if lo not in info.valid or hi not in info.valid:
                    suspect[str(code)] = info.valid
        else:
            source = self.value_table(table, column) or data
            codes = {
                str(r[0])
                for r in self.con.execute(
                    f"SELECT DISTINCT unnest({split('v')}) FROM ("
                    f"SELECT DISTINCT {txt} AS v FROM {source} WHERE NOT {empty})"
                ).fetchall()
            }
        bad = sorted(code for code in codes if not known(code))
        if bad:
            bad_list = "[" + ", ".join(_lit(b) for b in bad) + "]"
            self.add(
                table,
                f"SELECT _line AS line, {_lit(column)} AS col, {txt} AS value, "
                f"'unknown {system} code: ' || array_to_string(list_filter({split(txt)}, "
                f"x -> list_contains({bad_list}, x)), ' ') AS reason FROM {raw} "
                f"WHERE NOT {empty} AND list_has_any({split(txt)}, {bad_list})",
            )
        if suspect:
            assert date_col is not None
            day = self._as_date(table, date_col)
            name = f"_pht_validity_{table}_{column}"
            self.con.register(
                "_pht_validity",
                pa.table(
                    {
                        "code": pa.array(list(suspect), pa.string()),
                        "first": pa.array([p.start for p in suspect.values()], pa.date32()),
                        "last": pa.array([p.last_day for p in suspect.values()], pa.date32()),
                    }
                ),
            )
            try:
                self.con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {_q(name)} AS SELECT * FROM _pht_validity"
                )
            finally:
                self.con.unregister("_pht_validity")
            self.scratch.append(name)
            codes_list = "[" + ", ".join(_lit(s) for s in suspect) + "]"
            self.add(
                table,
                f"SELECT r.line, {_lit(column)} AS col, r.value, 'tariff code ' || r.code || "
                f"' not valid on ' || CAST(r.day AS VARCHAR) || ' (valid ' || "
                f"CAST(v.first AS VARCHAR) || '–' || coalesce(CAST(v.last AS VARCHAR), '') || "
                f"')' AS reason FROM (SELECT _line AS line, {txt} AS value, {day} AS day, "
                f"unnest({split(txt)}) AS code FROM {raw} WHERE NOT {empty} "
                f"AND list_has_any({split(txt)}, {codes_list})) r JOIN {_q(name)} v "
                f"ON r.code = v.code WHERE r.day < v.first OR r.day > v.last",
            )

    def _reference_set(self, ref_table: str, ref_column: str, where: str = "TRUE") -> str:
        """SQL for the values a foreign key may take: valid extract rows + the warehouse."""
        parts = []
        if ref_table in self.staged:
            valid = ""
            if ref_table in self.flagged:
                valid = (
                    f" AND _line NOT IN (SELECT line FROM _pht_problems "
                    f"WHERE tbl = {_lit(ref_table)} AND line IS NOT NULL)"
                )
            parts.append(
                f"SELECT {self.txt(ref_table, ref_column)} AS v FROM {self.raw(ref_table)} "
                f"WHERE {where}{valid}"
            )
        if ref_table in self.warehouse_tables:
            parts.append(
                f"SELECT CAST({_q(ref_column)} AS VARCHAR) AS v FROM {_q(ref_table)} WHERE {where}"
            )
        if not parts:
            return "SELECT NULL::VARCHAR AS v WHERE FALSE"
        return f"SELECT v FROM ({' UNION '.join(parts)}) WHERE v IS NOT NULL"

    def _check_reference(
        self,
        table: str,
        c: ColumnSpec,
        checker: Callable[[list[str]], list[str | None]] | None,
    ) -> None:
        """Foreign key (and identifier rule) of one column.

        Values found among the valid rows of the referenced table passed the same identifier
        rule there, so only the values *not* found are checked, and they are few.
        """
        assert c.references is not None
        ref_table, ref_column = c.references.split(".")
        txt = self.txt(table, c.name)
        raw = self.raw(table)
        empty = self.empty(table, c.name)
        refs = self._reference_set(ref_table, ref_column)
        scan = self.value_table(table, c.name) or self.data(table)
        missing = [
            str(v)
            for v in self.con.execute(
                f"SELECT DISTINCT {txt} AS v FROM {scan} "
                f"WHERE NOT {empty} AND {txt} NOT IN ({refs})"
            ).fetchnumpy()["v"]
        ]
        if missing:
            if checker is not None:
                reasons = checker(missing)
                bad = [(v, r) for v, r in zip(missing, reasons, strict=True) if r is not None]
                if bad:
                    self._mark_values(table, c.name, bad)
            source = f"{ref_table}.{ref_column}"
            self.add(
                table,
                f"SELECT _line AS line, {_lit(c.name)} AS col, {txt} AS value, "
                f"{_lit(f'not in {source} (valid rows of the extract) nor in the warehouse')} "
                f"AS reason FROM {raw} WHERE NOT {empty} AND {txt} NOT IN ({refs})",
            )
        if table == "list_memberships" and c.name == "gp_id":
            gps = self._reference_set(ref_table, ref_column, where="role = 'gp'")
            not_gp = self.con.execute(
                f"SELECT 1 FROM {scan} WHERE NOT {empty} AND {txt} IN ({refs}) "
                f"AND {txt} NOT IN ({gps}) LIMIT 1"
            ).fetchone()
            if not_gp is not None:
                self.add(
                    table,
                    f"SELECT _line AS line, 'gp_id' AS col, {txt} AS value, "
                    f"'practitioner is not a GP (role gp)' AS reason FROM {raw} "
                    f"WHERE NOT {empty} AND {txt} IN ({refs}) AND {txt} NOT IN ({gps})",
                )

    def check_overlaps(self) -> None:
        """List periods of one person must not overlap (in the extract or with the warehouse)."""
        table = "list_memberships"
        if table not in self.staged:
            return
        raw = self.raw(table)
        start, end = self._as_date(table, "start"), self._as_date(table, "end")
        pid = self.txt(table, "person_id")
        parts = [
            f"SELECT {pid} AS pid, {start} AS s, coalesce({end}, DATE '9999-12-31') AS e, "
            f"_line AS line FROM {raw} WHERE {start} IS NOT NULL"
        ]
        if table in self.warehouse_tables:
            parts.append(
                f"SELECT w.person_id, w.start, coalesce(w.\"end\", DATE '9999-12-31'), NULL "
                f"FROM {table} w WHERE NOT EXISTS (SELECT 1 FROM {raw} r "
                f"WHERE {pid.replace(_q('person_id'), 'r.person_id')} = w.person_id "
                f"AND {start.replace(_q('start'), 'r.start')} = w.start)"
            )
        self.add(
            table,
            "SELECT line, 'start' AS col, CAST(s AS VARCHAR) AS value, "
            "'overlaps the list period ' || CAST(ps AS VARCHAR) || '–' || "
            "CASE WHEN pe = DATE '9999-12-31' THEN '' ELSE CAST(pe AS VARCHAR) END || "
            "CASE WHEN pl IS NULL THEN ' already in the warehouse' "
            "ELSE ' on line ' || CAST(pl AS VARCHAR) END AS reason FROM ("
            "SELECT *, lag(s) OVER w AS ps, lag(e) OVER w AS pe, lag(line) OVER w AS pl "
            f"FROM ({' UNION ALL '.join(parts)}) WINDOW w AS (PARTITION BY pid ORDER BY s, line)"
            ") WHERE line IS NOT NULL AND pe >= s",
        )


def _in_file_order(con: duckdb.DuckDBPyConnection, select: str) -> pa.Table:
    """The result of *select* (a scan of one file) as Arrow, rows in the file's order."""
    row = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()
    if row is not None and row[0]:
        return con.execute(select).to_arrow_table()
    con.execute("SET preserve_insertion_order = true")
    try:
        return con.execute(select).to_arrow_table()
    finally:
        con.execute("SET preserve_insertion_order = false")


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, 2)
        return fh.read(1) == b"\n"


def _long_lines(path: Path, limit: int) -> list[tuple[int, int]]:
    """(line number, length in bytes) of every line of *path* longer than *limit* bytes."""
    found: list[tuple[int, int]] = []
    line, start, offset = 1, 0, 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 24):
            ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10) + offset
            if ends.size:
                starts = np.concatenate(([start], ends[:-1] + 1))
                lengths = ends - starts
                for i in np.flatnonzero(lengths > limit).tolist():
                    found.append((line + i, int(lengths[i])))
                line += int(ends.size)
                start = int(ends[-1]) + 1
            offset += len(chunk)
    if offset - start > limit:  # a last line without a line break
        found.append((line, offset - start))
    return found


def _count_newlines(path: Path) -> int:
    count = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 24):
            count += chunk.count(b"\n")
    return count


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _csv_reason(kind: str, message: str) -> str:
    kind = (kind or "").upper()
    if kind == "INVALID ENCODING":
        return "not UTF-8 text (save the file as UTF-8)"
    if kind == "MISSING COLUMNS":
        return f"too few values on this line, file truncated? ({message})"
    if kind == "TOO MANY COLUMNS":
        return f"too many values on this line ({message})"
    if kind == "LINE TOO LONG":
        return f"line too long, not read: {message}"
    if kind == "UNQUOTED VALUE":
        return f"unterminated quote, file truncated? ({message})"
    return f"{kind.lower()}: {message}"


def _nothing() -> None:
    """Nothing left to do."""


def _has_repeat(values: np.ndarray[Any, Any]) -> bool:
    """True when some value occurs twice (sorts a copy)."""
    ordered = np.sort(values)
    return bool(np.any(ordered[1:] == ordered[:-1]))


def _bad_values(
    checker: Callable[[list[str]], list[str | None]], values: list[str]
) -> list[tuple[str, str]]:
    """(value, reason) of each value *checker* finds a problem with."""
    reasons = checker(values)
    return [(v, r) for v, r in zip(values, reasons, strict=True) if r is not None]


def _person_checks(values: list[str]) -> list[str | None]:
    problems = person_id_problems(values)
    out: list[str | None] = [None] * len(values)
    for i in np.flatnonzero(problems != None).tolist():  # noqa: E711 - elementwise on objects
        v = values[i]
        if PSEUDONYM_FORM.match(v) and not v.isdigit():
            continue  # an opaque pseudonym of an analytic extract
        out[i] = f"not a valid fødselsnummer/D-number ({problems[i]}) nor a pseudonym"
    return out


def _scalar(
    check: Callable[[str], str | None], what: str
) -> Callable[[list[str]], list[str | None]]:
    def run(values: list[str]) -> list[str | None]:
        out: list[str | None] = []
        for v in values:
            reason = "has spaces around it" if v != v.strip() else check(v)
            out.append(None if reason is None else f"not a valid {what} ({reason})")
        return out

    return run


_VALUE_CHECKS: dict[str, Callable[[list[str]], list[str | None]]] = {
    "person_id": _person_checks,
    "orgnr": _scalar(validate_orgnr, "organisasjonsnummer"),
    "hpr": _scalar(validate_hpr, "HPR number"),
}


def _icpc2_known(code: str) -> bool:
    return ICPC2_FORM.match(code) is not None and code in icpc2_codes()


def _tariff_known(code: str) -> bool:
    return code in tariff_codes()


_LIST_CHECKS: dict[str, tuple[str, Callable[[str], bool], bool]] = {
    "icpc2_list": ("ICPC-2", _icpc2_known, False),
    "tariff_list": ("tariff", _tariff_known, False),
    "icd10": ("ICD-10", icd10_known, True),
    "icd10_list": ("ICD-10", icd10_known, False),
}


# --- public API -----------------------------------------------------------------------------


def _run_validation(
    con: duckdb.DuckDBPyConnection,
    path: Path | None,
    warehouse_tables: set[str],
    *,
    source: str | None = None,
    period: tuple[dt.date, dt.date] | None = None,
    today: dt.date | None = None,
    tables: dict[str, pa.Table] | None = None,
    checks: bool = True,
) -> _Stage:
    """Stage the files of *path* (or the Arrow *tables*) and run every rule (unless not
    *checks*: then only stage them)."""
    stage = _Stage(con, warehouse_tables, source=source, period=period, today=today)
    files: dict[str, Path] = {}
    if path is not None:
        files = _find_files(path)
        if path.is_dir():
            ignored = sorted(
                p.name
                for p in path.iterdir()
                if p.suffix.lower() in (".csv", ".parquet") and p.stem not in TABLES
            )
            if ignored:
                stage.report.notes.append(
                    "files that are not tables of the extract format are ignored: "
                    + ", ".join(ignored)
                )
        stage.report.files = {t: str(p) for t, p in files.items()}
    given = tables or {}
    unknown = sorted(set(given) - set(TABLES))
    if unknown:
        raise PhtError(f"not tables of the extract format: {', '.join(unknown)}")
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pht-check") as background:
        stage.background = background if checks else None
        try:
            for table in TABLES:
                if table in files:
                    p = files[table]
                    if p.suffix.lower() == ".csv":
                        staged = stage.stage_csv(table, p)
                    else:
                        staged = stage.stage_parquet(table, p)
                elif table in given:
                    staged = stage.stage_table(table, given[table])
                else:
                    continue
                if staged and checks:
                    stage.start_value_checks(table)
            if checks:
                for table in TABLES:  # dependency order: referenced tables first
                    if table in stage.staged:
                        stage.check_table(table)
                        stage.flush()  # later tables' foreign keys look at valid rows
        finally:
            stage.background = None
            stage.value_checks.clear()
    if checks:
        stage.check_overlaps()
    stage.flush()
    _summarise(stage)
    return stage


def _summarise(stage: _Stage) -> None:
    con = stage.con
    report = stage.report
    total = con.execute("SELECT count(*) FROM _pht_problems").fetchone()
    report.problem_count = int(total[0]) if total else 0
    order = ", ".join(f"({_lit(t)}, {i})" for i, t in enumerate(TABLES))
    rows = con.execute(
        f"SELECT p.tbl, p.line, p.col, p.value, p.reason FROM _pht_problems p "
        f"LEFT JOIN (VALUES {order}) o(t, i) ON o.t = p.tbl "
        f"ORDER BY o.i, p.line, p.col LIMIT {MAX_PROBLEMS}"
    ).fetchall()
    report.problems = [
        Problem(Path(report.files.get(t, t)).name, int(line or 0), col or "", value, reason)
        for t, line, col, value, reason in rows
    ]
    for t, n in con.execute(
        "SELECT tbl, count(DISTINCT line) FROM _pht_problems WHERE line > 1 GROUP BY tbl"
    ).fetchall():
        report.rejected[str(t)] = int(n)
    if report.problem_count > MAX_PROBLEMS:
        report.notes.append(f"{report.problem_count} problems; the first {MAX_PROBLEMS} are listed")


def _cleanup(stage: _Stage) -> None:
    for t in stage.staged:
        stage.con.execute(f"DROP VIEW IF EXISTS {stage.raw(t)}")
        source = stage.types_source.get(t)
        if source == "arrow":
            stage.con.unregister(f"_pht_data_{t}")
        else:
            kind = "VIEW" if source == "parquet" else "TABLE"
            stage.con.execute(f"DROP {kind} IF EXISTS {stage.data(t)}")
    for name in stage.values.values():
        if name is not None:
            stage.con.unregister(name)
    stage.values.clear()
    stage.arrow.clear()
    for name in stage.scratch:
        stage.con.execute(f"DROP TABLE IF EXISTS {_q(name)}")
    stage.con.execute("DROP TABLE IF EXISTS _pht_problems")


def validate_extract(
    path: str | Path,
    warehouse: Warehouse | None = None,
    *,
    source: str | None = None,
    period: tuple[dt.date, dt.date] | None = None,
    today: dt.date | None = None,
) -> ValidationReport:
    """Check an extract (folder or file) against every rule; writes nothing.

    Foreign keys may point into *warehouse* when one is given; without one they must be in the
    extract. *period*: the declared period (default: the manifest's); *source*: the source
    name (default: :func:`extract_source`).
    """
    p = Path(path)
    declared = period or _manifest_period(p)
    src = source or extract_source(p)
    if warehouse is None:
        con = duckdb.connect(":memory:")
        try:
            return _run_validation(con, p, set(), source=src, period=declared, today=today).report
        finally:
            con.close()
    stage = _run_validation(
        warehouse.con.con,
        p,
        _warehouse_tables(warehouse),
        source=src,
        period=declared,
        today=today,
    )
    try:
        return stage.report
    finally:
        _cleanup(stage)


def _warehouse_tables(warehouse: Warehouse) -> set[str]:
    warehouse.require_initialised()
    return set(warehouse.con.list_tables()) & set(TABLES)


def _typed_select(stage: _Stage, table: str) -> str:
    """SELECT of the valid rows of *table* with the warehouse's column types."""
    spec = TABLES[table]
    cols = []
    for c in spec.columns:
        src = stage.types[table].get(c.name)
        target = c.dtype
        sql_type = _sql_type(target)
        if src is None:
            cols.append(f"NULL::{sql_type} AS {_q(c.name)}")
        elif c.kind == EVENT_ID_KIND and stage.source is not None:
            # qualified by the source: two sources' K00001 are two rows
            # (an id that already carries the source, e.g. read back from a warehouse export,
            # is stored as it is)
            text = _q(c.name) if src == "VARCHAR" else f"CAST({_q(c.name)} AS VARCHAR)"
            prefix = _lit(stage.source + ":")
            cols.append(
                f"CASE WHEN starts_with({text}, {prefix}) THEN {text} "
                f"ELSE {prefix} || {text} END AS {_q(c.name)}"
            )
        elif c.kind == "bool" and src != "BOOLEAN":
            cols.append(f"(lower({_q(c.name)}) = 'true') AS {_q(c.name)}")
        elif src == "VARCHAR" and sql_type != "VARCHAR":
            # TRY_CAST: rejected rows are filtered out, but DuckDB may cast before it filters
            cols.append(f"TRY_CAST(NULLIF({_q(c.name)}, '') AS {sql_type}) AS {_q(c.name)}")
        elif src == "VARCHAR" and not c.required:
            cols.append(f"NULLIF({_q(c.name)}, '') AS {_q(c.name)}")
        else:
            cols.append(f"CAST({_q(c.name)} AS {sql_type}) AS {_q(c.name)}")
    select = f"SELECT {', '.join(cols)} FROM {stage.raw(table)}"
    if stage.report.rejected.get(table):
        select += (
            f" WHERE _line NOT IN (SELECT line FROM _pht_problems "
            f"WHERE tbl = {_lit(table)} AND line IS NOT NULL)"
        )
    return select


def _sql_type(t: Any) -> str:
    if t.is_string():
        return "VARCHAR"
    if t.is_date():
        return "DATE"
    if t.is_int64():
        return "BIGINT"
    if t.is_float64():
        return "DOUBLE"
    if t.is_boolean():
        return "BOOLEAN"
    if t.is_decimal():
        return f"DECIMAL({t.precision}, {t.scale})"
    raise TypeError(f"no SQL type for {t}")


class _Rollback(Exception):
    """Leave the load's transaction without writing (dry run, refusal)."""


def _write_batch(
    warehouse: Warehouse,
    stage: _Stage,
    *,
    kind: str,
    files: list[FileHash] | Callable[[], list[FileHash]],
    user: str | None,
    replace: bool,
    dry_run: bool,
    rejects: Path | None,
) -> tuple[BatchReport, str | None]:
    """Write the valid staged rows as one batch (see :mod:`pht.registry.batches`); the rejects
    file, when asked for, is in place before the batch commits."""
    con = stage.con
    assert stage.source is not None
    report = BatchReport(None, stage.source, stage.period, dry_run=dry_run)
    rejects_path: str | None = None
    try:
        with warehouse.transaction():
            ensure_provenance(con)
            hashes = files() if callable(files) else files
            batch_id = begin_batch(
                con,
                source=stage.source,
                kind=kind,
                period=stage.period,
                files=hashes,
                user=user,
                replace=replace,
            )
            report.batch_id = batch_id
            for table in TABLES:
                if table not in stage.staged:
                    continue
                clean = _q(f"_pht_clean_{table}")
                if con.execute(f"SELECT 1 FROM {_q(table)} LIMIT 1").fetchone() is None:
                    use_storage_layout(con, table)  # a warehouse initialised by an older pht
                con.execute(f"CREATE OR REPLACE TEMP VIEW {clean} AS {_typed_select(stage, table)}")
                try:
                    report.changes[table] = apply_table(
                        con, batch_id, table, clean, source=stage.source, period=stage.period
                    )
                finally:
                    con.execute(f"DROP VIEW IF EXISTS {clean}")
            finish_batch(con, batch_id, report.changes)
            if not replace:
                report.refused = over_threshold(report.changes, replace_threshold())
            if report.refused is not None or dry_run:
                raise _Rollback
            if rejects is not None:
                _write_rejects(stage, rejects)
                rejects_path = str(rejects)
    except _Rollback:
        pass
    return report, rejects_path


def _write_rejects(stage: _Stage, target: Path) -> None:
    """Write every rejected row with its reasons to *target* (CSV).

    Columns: table, file, line, reasons (``column: reason; ...``), row (the row as JSON, or the
    raw text of a line the CSV reader could not split).
    """
    con = stage.con
    names = ", ".join(
        f"({_lit(t)}, {_lit(Path(stage.report.files[t]).name)})" for t in stage.report.files
    )
    raws = (
        " UNION ALL ".join(
            f"SELECT {_lit(t)} AS tbl, _line AS line, CAST(to_json(r) AS VARCHAR) AS row "
            f"FROM {stage.raw(t)} r WHERE _line IN "
            f"(SELECT line FROM _pht_problems WHERE tbl = {_lit(t)})"
            for t in stage.staged
        )
        or "SELECT NULL::VARCHAR AS tbl, NULL::BIGINT AS line, NULL::VARCHAR AS row WHERE FALSE"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    con.execute(
        'COPY (SELECT x.tbl AS "table", f.file, x.line, x.reasons, '
        "coalesce(r.row, x.value) AS row FROM ("
        "SELECT tbl, line, string_agg(col || ': ' || reason, '; ' ORDER BY col) AS reasons, "
        "any_value(value) AS value FROM _pht_problems GROUP BY tbl, line) x "
        f"LEFT JOIN ({raws}) r ON r.tbl = x.tbl AND r.line = x.line "
        f"LEFT JOIN (VALUES {names}) f(tbl, file) ON f.tbl = x.tbl "
        f"ORDER BY x.tbl, x.line) TO {_lit(str(partial))} (HEADER, DELIMITER ',')"
    )
    with partial.open("rb") as fh:
        os.fsync(fh.fileno())
    partial.replace(target)  # whole or not at all


def _hash_files(paths: list[Path]) -> Callable[[], list[FileHash]]:
    """Start hashing *paths* in the background; the returned callable waits for the hashes."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pht-hash")
    futures = [pool.submit(file_hash, p) for p in paths]
    pool.shutdown(wait=False)
    return lambda: [f.result() for f in futures]


def load_extract(
    warehouse: Warehouse,
    path: str | Path,
    *,
    accept_valid: bool = False,
    rejects_path: str | Path | None = None,
    source: str | None = None,
    period: tuple[dt.date, dt.date] | None = None,
    user: str | None = None,
    replace: bool = False,
    dry_run: bool = False,
    today: dt.date | None = None,
) -> LoadReport:
    """Validate and load an extract into *warehouse* as one batch, in one transaction.

    Without *accept_valid*, any problem means nothing is written. With it, the valid rows are
    written and the rejected rows, with their reasons, go to *rejects_path* (default:
    ``<path>.rejects.csv`` beside the extract). File-level problems (encoding of the header,
    missing columns, unreadable files) stop the load in both modes.

    *source*: the batch's source (default: ``manifest.json``'s ``"source"``, else the folder's
    name); *period*: the declared period of the event tables (default: the manifest's; none:
    nothing is deleted by period). *replace*: allow deleting or overwriting more than the
    settings' threshold of a table. *dry_run*: report what would change, change nothing.
    """
    p = Path(path)
    tables = _warehouse_tables(warehouse)
    declared = period or _manifest_period(p)
    src = check_source(source) if source else extract_source(p)
    hashes = _hash_files(list(_find_files(p).values()))
    stage = _run_validation(warehouse.con.con, p, tables, source=src, period=declared, today=today)
    try:
        return _load_staged(
            warehouse,
            stage,
            kind="files",
            files=hashes,
            user=user,
            replace=replace,
            dry_run=dry_run,
            accept_valid=accept_valid,
            rejects=Path(rejects_path) if rejects_path else p.with_name(p.name + ".rejects.csv"),
        )
    finally:
        _cleanup(stage)


def _load_staged(
    warehouse: Warehouse,
    stage: _Stage,
    *,
    kind: str,
    files: list[FileHash] | Callable[[], list[FileHash]],
    user: str | None,
    replace: bool,
    dry_run: bool,
    accept_valid: bool,
    rejects: Path | None,
) -> LoadReport:
    report = stage.report
    assert stage.source is not None
    if not report.ok and (not accept_valid or stage.blocking):
        refused = BatchReport(
            None,
            stage.source,
            stage.period,
            dry_run=dry_run,
            refused=f"{report.problem_count} problems in the data; nothing written",
            problems=list(report.problems),
            problem_count=report.problem_count,
        )
        return LoadReport(report, imported=False, batch=refused)
    batch, rejects_written = _write_batch(
        warehouse,
        stage,
        kind=kind,
        files=files,
        user=user,
        replace=replace,
        dry_run=dry_run,
        rejects=None if report.ok else rejects,
    )
    batch.problems = list(report.problems)
    batch.problem_count = report.problem_count
    written = {t: c.inserted + c.updated for t, c in batch.changes.items()}
    replaced: dict[str, tuple[str, str]] = {}
    if stage.period is not None:
        span = (stage.period[0].isoformat(), stage.period[1].isoformat())
        replaced = {t: span for t in batch.changes if t in EVENT_PERIOD_COLUMNS}
    return LoadReport(
        report,
        imported=batch.applied,
        written=written,
        replaced_periods=replaced,
        rejects_path=rejects_written,
        batch=batch,
    )


def load_tables(
    warehouse: Warehouse,
    tables: dict[str, pa.Table],
    *,
    source: str,
    period: tuple[dt.date, dt.date] | None = None,
    files: list[FileHash] | None = None,
    user: str | None = None,
    kind: str = "arrow",
    replace: bool = False,
    dry_run: bool = False,
    accept_valid: bool = False,
    validate: bool = True,
    today: dt.date | None = None,
) -> BatchReport:
    """Validate Arrow tables and write them as one batch (:func:`pht.registry.batches.write_batch`
    is the public entry)."""
    warehouse.init()
    stage = _run_validation(
        warehouse.con.con,
        None,
        _warehouse_tables(warehouse),
        source=check_source(source),
        period=period,
        today=today,
        tables=tables,
        checks=validate,
    )
    try:
        result = _load_staged(
            warehouse,
            stage,
            kind=kind,
            files=files or [],
            user=user,
            replace=replace,
            dry_run=dry_run,
            accept_valid=accept_valid,
            rejects=None,
        )
    finally:
        _cleanup(stage)
    assert result.batch is not None
    return result.batch


def iter_problem_lines(report: ValidationReport) -> Iterable[str]:
    """Each problem as ``file:line:column — value — reason``."""
    return (str(p) for p in report.problems)
