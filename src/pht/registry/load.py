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
from pht.registry.schema import TABLES, ColumnSpec, TableSpec
from pht.registry.warehouse import Warehouse, use_storage_layout

__all__ = [
    "EVENT_PERIOD_COLUMNS",
    "PSEUDONYM_FORM",
    "LoadReport",
    "Problem",
    "ValidationReport",
    "load_extract",
    "validate_extract",
]

# Tables whose extract replaces the warehouse's rows of the same period, and their date column.
EVENT_PERIOD_COLUMNS: dict[str, str] = {
    "contacts": "date",
    "admissions": "admitted",
    "survey_responses": "date",
}

# An opaque person pseudonym (analytic extracts): 16 or more letters, digits, "-", "_" or ":".
PSEUDONYM_FORM = re.compile(r"^[A-Za-z0-9_:\-]{16,}$")

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
    written: dict[str, int] = field(default_factory=dict)
    replaced_periods: dict[str, tuple[str, str]] = field(default_factory=dict)
    rejects_path: str | None = None

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
            **self.validation.as_dict(),
        }


# --- finding the files ----------------------------------------------------------------------


def _find_files(path: Path) -> dict[str, Path]:
    """Table name -> file for a folder of extract files or a single file."""
    if not path.exists():
        raise PhtError("no such file or folder", where=str(path))
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


def _manifest_period(path: Path) -> tuple[dt.date, dt.date] | None:
    """The extract period from ``manifest.json`` beside the files, when it states one."""
    folder = path if path.is_dir() else path.parent
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PhtError(f"manifest is not valid JSON: {err}", where=str(manifest)) from None
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

    def __init__(self, con: duckdb.DuckDBPyConnection, warehouse_tables: set[str]) -> None:
        self.con = con
        self.warehouse_tables = warehouse_tables
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
            f"delim=',', quote='\"', escape='\"', columns={columns}"
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
        data = pq.ParquetFile(path, read_dictionary=dictionary).read(columns=header)
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
        finish_duplicates()

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


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, 2)
        return fh.read(1) == b"\n"


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
    con: duckdb.DuckDBPyConnection, path: Path, warehouse_tables: set[str]
) -> _Stage:
    files = _find_files(path)
    stage = _Stage(con, warehouse_tables)
    if path.is_dir():
        ignored = sorted(
            p.name
            for p in path.iterdir()
            if p.suffix.lower() in (".csv", ".parquet") and p.stem not in TABLES
        )
        if ignored:
            stage.report.notes.append(
                "files that are not tables of the extract format are ignored: " + ", ".join(ignored)
            )
    stage.report.files = {t: str(p) for t, p in files.items()}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pht-check") as background:
        stage.background = background
        try:
            for table, p in files.items():
                if p.suffix.lower() == ".csv":
                    staged = stage.stage_csv(table, p)
                else:
                    staged = stage.stage_parquet(table, p)
                if staged:
                    stage.start_value_checks(table)
            for table in TABLES:  # dependency order: referenced tables first
                if table in stage.staged:
                    stage.check_table(table)
                    stage.flush()  # later tables' foreign keys look at this table's valid rows
        finally:
            stage.background = None
            stage.value_checks.clear()
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


def validate_extract(path: str | Path, warehouse: Warehouse | None = None) -> ValidationReport:
    """Check an extract (folder or file) against every rule; writes nothing.

    Foreign keys may point into *warehouse* when one is given; without one they must be in the
    extract.
    """
    if warehouse is None:
        con = duckdb.connect(":memory:")
        try:
            return _run_validation(con, Path(path), set()).report
        finally:
            con.close()
    stage = _run_validation(warehouse.con.con, Path(path), _warehouse_tables(warehouse))
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
        elif c.kind == "bool" and src != "BOOLEAN":
            cols.append(f"(lower({_q(c.name)}) = 'true') AS {_q(c.name)}")
        elif src == "VARCHAR" and sql_type != "VARCHAR":
            cols.append(f"CAST(NULLIF({_q(c.name)}, '') AS {sql_type}) AS {_q(c.name)}")
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


def _write_table(
    stage: _Stage, table: str, period: tuple[dt.date, dt.date] | None
) -> tuple[int, tuple[str, str] | None]:
    """Replace the warehouse rows of *table* by the valid staged rows; returns rows written."""
    con = stage.con
    spec = TABLES[table]
    clean = _q(f"_pht_clean_{table}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {clean} AS {_typed_select(stage, table)}")
    replaced: tuple[str, str] | None = None
    date_col = EVENT_PERIOD_COLUMNS.get(table)
    has_rows = con.execute(f"SELECT 1 FROM {_q(table)} LIMIT 1").fetchone() is not None
    if not has_rows:
        use_storage_layout(con, table)  # a warehouse initialised by an older pht
    if date_col is not None:
        if period is None:
            first_last = con.execute(
                f"SELECT min({_q(date_col)}), max({_q(date_col)}) FROM {clean}"
            ).fetchone()
            if first_last and first_last[0] is not None:
                period = (first_last[0], first_last[1])
        if period is not None:
            if has_rows:
                con.execute(
                    f"DELETE FROM {_q(table)} WHERE {_q(date_col)} BETWEEN ? AND ?",
                    [period[0], period[1]],
                )
            replaced = (period[0].isoformat(), period[1].isoformat())
            if has_rows:  # rows left outside the period (none when reloading the same period)
                has_rows = con.execute(f"SELECT 1 FROM {_q(table)} LIMIT 1").fetchone() is not None
    if has_rows:
        match = " AND ".join(f"t.{_q(k)} = c.{_q(k)}" for k in spec.key)
        con.execute(
            f"DELETE FROM {_q(table)} t WHERE EXISTS (SELECT 1 FROM {clean} c WHERE {match})"
        )
    # row order inside the warehouse does not matter; not keeping it makes the write 2x faster
    con.execute("SET preserve_insertion_order = false")
    try:
        names = ", ".join(_q(c.name) for c in spec.columns)  # columns others added stay NULL
        n = con.execute(f"INSERT INTO {_q(table)} ({names}) SELECT * FROM {clean}").fetchone()
    finally:
        con.execute("SET preserve_insertion_order = true")
        con.execute(f"DROP VIEW {clean}")
    return (int(n[0]) if n else 0), replaced


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
    con.execute(
        'COPY (SELECT x.tbl AS "table", f.file, x.line, x.reasons, '
        "coalesce(r.row, x.value) AS row FROM ("
        "SELECT tbl, line, string_agg(col || ': ' || reason, '; ' ORDER BY col) AS reasons, "
        "any_value(value) AS value FROM _pht_problems GROUP BY tbl, line) x "
        f"LEFT JOIN ({raws}) r ON r.tbl = x.tbl AND r.line = x.line "
        f"LEFT JOIN (VALUES {names}) f(tbl, file) ON f.tbl = x.tbl "
        f"ORDER BY x.tbl, x.line) TO {_lit(str(target))} (HEADER, DELIMITER ',')"
    )


def load_extract(
    warehouse: Warehouse,
    path: str | Path,
    *,
    accept_valid: bool = False,
    rejects_path: str | Path | None = None,
) -> LoadReport:
    """Validate and load an extract into *warehouse* in one transaction.

    Without *accept_valid*, any problem means nothing is written. With it, the valid rows are
    written and the rejected rows, with their reasons, go to *rejects_path* (default:
    ``<path>.rejects.csv`` beside the extract). File-level problems (encoding of the header,
    missing columns, unreadable files) stop the load in both modes.
    """
    p = Path(path)
    tables = _warehouse_tables(warehouse)
    period = _manifest_period(p)
    stage = _run_validation(warehouse.con.con, p, tables)
    report = stage.report
    try:
        if not report.ok and (not accept_valid or stage.blocking):
            return LoadReport(report, imported=False)
        written: dict[str, int] = {}
        replaced: dict[str, tuple[str, str]] = {}
        rejects: str | None = None
        with warehouse.transaction():
            for table in TABLES:
                if table in stage.staged:
                    n, period_replaced = _write_table(stage, table, period)
                    written[table] = n
                    if period_replaced:
                        replaced[table] = period_replaced
        if not report.ok:
            target = Path(rejects_path) if rejects_path else p.with_name(p.name + ".rejects.csv")
            _write_rejects(stage, target)
            rejects = str(target)
        return LoadReport(report, True, written, replaced, rejects)
    finally:
        _cleanup(stage)


def iter_problem_lines(report: ValidationReport) -> Iterable[str]:
    """Each problem as ``file:line:column — value — reason``."""
    return (str(p) for p in report.problems)
