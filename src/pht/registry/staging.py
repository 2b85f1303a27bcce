"""Staging an extract on a DuckDB connection and running the rules of :mod:`pht.registry.rules`.

:class:`Stage` reads each file (CSV, Parquet, or Arrow tables in memory) into a staging table or
view with its line number ``_line`` (the CSV line, counting the header as line 1; for Parquet
and Arrow: the 1-based row number + 1, as if written as CSV with a header), then checks each
table against the rules its columns' kinds call for and collects the problems in the temporary
table ``_pht_problems`` (``tbl, line, col, value, reason``).

Every rule first runs as a cheap probe over the whole table (one aggregate for all the per-row
rules, one anti-join per foreign key, one DISTINCT per code column, hashes sorted for the key);
only a rule that finds something queues the query that lists the rows.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlglot import exp

from pht.core import formats
from pht.core.periods import Period
from pht.reference.tariffs import tariff_codes
from pht.registry import rules as R
from pht.registry.batches import EVENT_DATE_COLUMNS
from pht.registry.rules import Columns, RowRule, col, fn, number, ref, sql, text
from pht.registry.schema import TABLES, ColumnSpec, TableSpec

__all__ = [
    "ARROW_BATCH_ROWS",
    "ARROW_MAX_BYTES",
    "ARROW_MAX_ROW_GROUPS",
    "HASH_SORT_MAX_ROWS",
    "MAX_LINE_BYTES",
    "PROBLEMS",
    "Problem",
    "Stage",
    "ValidationReport",
]

# A CSV line longer than this (bytes) is no sane row of the extract format; it is reported.
MAX_LINE_BYTES = 1 << 20

# A Parquet file with fewer row groups than this, and no larger than ARROW_MAX_BYTES
# uncompressed, is read into memory and cut into batches of ARROW_BATCH_ROWS rows so that every
# step runs on all cores (DuckDB splits a Parquet scan by row group only).
ARROW_MAX_ROW_GROUPS = 8
ARROW_MAX_BYTES = 2 << 30
ARROW_BATCH_ROWS = 122_880  # one DuckDB row group

# Up to this many rows, duplicate keys are looked for by sorting 64-bit hashes of the key in
# numpy (a few times cheaper than a GROUP BY on the key); above it, by DuckDB's GROUP BY.
HASH_SORT_MAX_ROWS = 20_000_000

# The temporary table of problems found.
PROBLEMS = "_pht_problems"


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


def _create(name: str, select: exp.Expression, kind: str = "VIEW") -> str:
    """``CREATE OR REPLACE TEMPORARY <kind> name AS select``."""
    return sql(
        exp.Create(
            this=ref(name),
            kind=kind,
            replace=True,
            expression=select,
            properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
        )
    )


def _drop(name: str, kind: str = "TABLE") -> str:
    return sql(exp.Drop(this=ref(name), kind=kind, exists=True))


def _named(name: str, value: exp.Expression) -> exp.Expression:
    """A named argument of a table function (``name = value``)."""
    return exp.EQ(this=exp.column(name), expression=value)


def _read_parquet(path: Path, *named: exp.Expression) -> exp.Expression:
    return fn("read_parquet", text(str(path)), *named)


class Stage:
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
        self.types_source: dict[str, str] = {}  # table -> "csv", "parquet" or "arrow"
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {PROBLEMS} (tbl VARCHAR, line BIGINT, "
            "col VARCHAR, value VARCHAR, reason VARCHAR)"
        )
        self.staged: list[str] = []
        self.blocking = False  # a problem with a whole file: nothing can be loaded
        self.pending: list[exp.Expression] = []
        self.scratch: list[str] = []  # temp tables to drop at the end
        self.arrow: dict[str, pa.Table] = {}  # table -> file read into memory (kept alive)
        self.flagged: set[str] = set()  # tables with a problem query queued or found
        self.values: dict[tuple[str, str], str | None] = {}  # see value_table
        self.background: ThreadPoolExecutor | None = None  # see start_value_checks
        self.value_checks: dict[tuple[str, str], Future[list[tuple[str, str]]]] = {}
        self.views: dict[str, list[str]] = {}  # table -> the views over a Parquet file (share)
        self.on_problem: Callable[[], None] | None = None  # called when a problem is found

    # -- names and helpers --

    def columns(self, table: str) -> Columns:
        """How the staged *table* holds its columns."""
        return Columns(self.types[table])

    @staticmethod
    def raw(table: str) -> str:
        """The staged rows of *table* with their line number ``_line`` (a view)."""
        return f"_pht_raw_{table}"

    @staticmethod
    def data(table: str) -> str:
        """The staging table behind :meth:`raw`."""
        return f"_pht_data_{table}"

    def _found(self) -> None:
        if self.on_problem is not None:
            self.on_problem()

    def file_problem(self, table: str, line: int, column: str, value: str | None, why: str) -> None:
        self._found()
        self.report.file_problems = True
        self.flagged.add(table)
        if line <= 1:
            self.blocking = True
        self.con.execute(
            f"INSERT INTO {PROBLEMS} VALUES (?, ?, ?, ?, ?)", [table, line, column, value, why]
        )

    def add(self, table: str, select: exp.Select, *, certain: bool = True) -> None:
        """Queue problems from *select* (columns line, col, value, reason). *certain*: a rule
        has already seen that *select* finds rows (else only :meth:`flush` will tell)."""
        if certain:
            self._found()
        self.flagged.add(table)
        self.pending.append(
            exp.select(
                text(table).as_("tbl"), col("line"), col("col"), col("value"), col("reason")
            ).from_(select.subquery())
        )

    def flush(self) -> None:
        """Run the queued rules in one statement (one pass of the optimiser, fewer round trips)."""
        if self.pending:
            union: exp.Expression = self.pending[0]
            for q in self.pending[1:]:
                union = exp.union(union, q, distinct=False)
            inserted = self.con.execute(sql(exp.insert(union, ref(PROBLEMS)))).fetchone()
            self.pending.clear()
            if inserted and inserted[0]:
                self._found()

    def valid_lines(self, table: str) -> exp.Expression:
        """True on the rows of *table* without a problem."""
        flagged = (
            exp.select(col("line"))
            .from_(ref(PROBLEMS))
            .where(exp.and_(col("tbl").eq(text(table)), col("line").is_(exp.null()).not_()))
        )
        return exp.not_(col("_line").isin(query=flagged))

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
                c = data.column(column)
                if pa.types.is_dictionary(c.type) and pa.types.is_string(c.type.value_type):
                    used = pc.unique(c)
                    if isinstance(used, pa.DictionaryArray):
                        used = used.dictionary_decode()
                    name = f"_pht_values_{table}_{column}"
                    self.con.register(name, pa.table({column: used.cast(pa.string())}))
            self.values[key] = name
        return self.values[key]

    def _line_view(self, table: str, first: int) -> None:
        # rowid follows the file's order (insertion order is preserved when staging)
        line = (exp.column("rowid") + number(first)).as_("_line")
        self.con.execute(
            _create(self.raw(table), exp.select(exp.Star(), line).from_(ref(self.data(table))))
        )

    def _plain_view(self, table: str) -> None:
        self.con.execute(_create(self.raw(table), exp.select("*").from_(ref(self.data(table)))))

    def _register(self, table: str, data: pa.Table) -> None:
        """Stage rows in memory, numbered as if written as CSV with a header."""
        n = data.num_rows
        data = data.append_column("_line", pa.array(np.arange(2, n + 2, dtype=np.int64)))
        data = pa.Table.from_batches(data.to_batches(max_chunksize=ARROW_BATCH_ROWS), data.schema)
        self.con.register(self.data(table), data)
        self.arrow[table] = data
        self._plain_view(table)
        self.types_source[table] = "arrow"
        self.report.rows[table] = n

    def share(self, con: duckdb.DuckDBPyConnection) -> bool:
        """Make the staged tables readable on *con*, another connection (cursor) of the same
        database, under the same names; the staged data are not copied.

        False, with nothing made, when some table cannot be shared: a CSV is staged in a
        temporary table that only this connection sees.
        """
        if any(self.types_source.get(t) not in ("arrow", "parquet") for t in self.staged):
            return False
        for t in self.staged:
            if self.types_source[t] == "arrow":
                con.register(self.data(t), self.arrow[t])
                con.execute(_create(self.raw(t), exp.select("*").from_(ref(self.data(t)))))
            else:
                for statement in self.views[t]:
                    con.execute(statement)
        return True

    def _describe(self, select: exp.Expression) -> list[tuple[Any, ...]]:
        return self.con.execute(sql(exp.Describe(this=select))).fetchall()

    # -- reading --

    def stage_csv(self, table: str, path: Path) -> bool:
        spec = TABLES[table]
        try:
            with path.open("rb") as fh:
                head = fh.readline()
        except OSError as err:
            self.file_problem(table, 0, "", None, f"kan ikke lese filen: {err}")
            return False
        if not head.strip():
            self.file_problem(table, 1, "", None, "filen er tom (ventet en overskriftsrad)")
            return False
        try:
            header_text = head.decode("utf-8-sig")
        except UnicodeDecodeError:
            self.file_problem(
                table, 1, "", None, "overskriftsraden er ikke UTF-8-tekst (lagre filen som UTF-8)"
            )
            return False
        header = next(csv.reader([header_text.rstrip("\r\n")]))
        if not self._check_header(table, spec, header):
            return False
        rejects = "_pht_rej_" + table
        scan = "_pht_rejscan_" + table
        options = [
            _named("header", exp.true()),
            _named("auto_detect", exp.false()),
            _named("delim", text(",")),
            _named("quote", text('"')),
            _named("escape", text('"')),
            _named(
                "columns",
                exp.Struct(
                    expressions=[
                        exp.PropertyEQ(this=text(c), expression=text("VARCHAR")) for c in header
                    ]
                ),
            ),
            _named("max_line_size", number(MAX_LINE_BYTES)),
        ]

        def read(*more: exp.Expression) -> exp.Select:
            return exp.select("*").from_(fn("read_csv", text(str(path)), *options, *more))

        bad: list[tuple[Any, ...]] = []
        try:  # fast path: a well-formed file
            self.con.execute(_create(self.data(table), read(), "TABLE"))
        except duckdb.Error:
            # collect every malformed line (encoding, too few/many values, open quotes)
            listing = read(
                _named("store_rejects", exp.true()),
                _named("rejects_table", text(rejects)),
                _named("rejects_scan", text(scan)),
            )
            by_column = col("column_idx")
            try:
                self.con.execute(_create(self.data(table), listing, "TABLE"))
                bad = self.con.execute(
                    sql(
                        exp.select(
                            col("line"),
                            fn("arg_min", col("column_name"), by_column),
                            fn("any_value", col("csv_line")),
                            fn("arg_min", col("error_type"), by_column),
                            fn("arg_min", col("error_message"), by_column),
                        )
                        .from_(ref(rejects))
                        .group_by(col("line"))
                        .order_by(col("line"))
                    )
                ).fetchall()
            except duckdb.Error as err:
                self.file_problem(
                    table, 0, "", None, f"kan ikke lese filen som CSV: {_first_line(err)}"
                )
                return False
            finally:
                for t in (rejects, scan):
                    with contextlib.suppress(duckdb.Error):
                        self.con.execute(_drop(t))
            # DuckDB skips a line longer than max_line_size without listing it: find them here
            listed = {int(b[0]) for b in bad}
            bad += [
                (
                    line,
                    "",
                    None,
                    "LINE TOO LONG",
                    f"{formats.number(length)} byte, lengre enn noen rimelig rad "
                    f"(høyst {formats.number(MAX_LINE_BYTES)})",
                )
                for line, length in _long_lines(path, MAX_LINE_BYTES)
                if line not in listed
            ]
            bad.sort(key=lambda b: int(b[0]))
        n = self.con.execute(
            sql(exp.select(fn("count", exp.Star())).from_(ref(self.data(table))))
        ).fetchone()
        rows = int(n[0]) if n else 0
        if bad:
            lines = sorted({int(b[0]) for b in bad})
            for line, column, value, kind, message in bad:
                self.file_problem(table, int(line), column or "", value, _csv_reason(kind, message))
            # good rows keep their true line numbers: the lines not rejected, in order
            good = np.setdiff1d(np.arange(2, rows + len(lines) + 2), np.array(lines))[:rows]
            self.con.register(
                "_pht_lines",
                pa.table({"_rn": pa.array(np.arange(rows), pa.int64()), "line": good}),
            )
            numbered = (
                exp.select(exp.Star(), exp.column("rowid").as_("_rn"))
                .from_(ref(self.data(table)))
                .subquery("r")
            )
            self.con.execute(
                _create(
                    self.data(table),
                    exp.select(exp.Star(table="r"), col("line", "l").as_("_line"))
                    .from_(numbered)
                    .join(
                        R.aliased("_pht_lines", "l"),
                        using=["_rn"],
                    )
                    .order_by(col("_rn")),
                    "TABLE",
                )
            )
            self.con.unregister("_pht_lines")
            self.con.execute(
                sql(
                    exp.Alter(
                        this=ref(self.data(table)),
                        kind="TABLE",
                        actions=[exp.Drop(this=col("_rn"), kind="COLUMN")],
                    )
                )
            )
            self._plain_view(table)
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
                "siste linje mangler linjeskift: filen kan være avkortet",
            )
        self.staged.append(table)
        return True

    def stage_parquet(self, table: str, path: Path) -> bool:
        spec = TABLES[table]
        whole = exp.select("*").from_(_read_parquet(path))
        try:
            described = self._describe(whole)
        except duckdb.Error as err:
            self.file_problem(
                table,
                0,
                "",
                None,
                "kan ikke lese filen som Parquet (avkortet, eller ikke Parquet?): "
                f"{_first_line(err)}",
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
                numbered = _read_parquet(path, _named("file_row_number", exp.true()))
                row = exp.column("file_row_number")
                self.views[table] = [
                    _create(self.data(table), whole),
                    _create(
                        self.raw(table),
                        exp.select(
                            exp.Star(**{"except": [row]}), (row + number(2)).as_("_line")
                        ).from_(numbered),
                    ),
                ]
                for statement in self.views[table]:
                    self.con.execute(statement)
                self.types_source[table] = "parquet"
                n = self.con.execute(
                    sql(exp.select(fn("count", exp.Star())).from_(ref(self.data(table))))
                ).fetchone()
                self.report.rows[table] = int(n[0]) if n else 0
        except (duckdb.Error, pa.ArrowException, OSError) as err:
            self.file_problem(
                table, 0, "", None, f"kan ikke lese Parquet-dataene: {_first_line(err)}"
            )
            return False
        if self.types_source[table] == "arrow":  # the types DuckDB sees in the Arrow data
            described = self._arrow_types(table)
        self.types[table] = {str(r[0]): str(r[1]) for r in described}
        self.staged.append(table)
        return True

    def _arrow_types(self, table: str) -> list[tuple[Any, ...]]:
        line = exp.column("_line")
        return self._describe(
            exp.select(exp.Star(**{"except": [line]})).from_(ref(self.data(table)))
        )

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
        # (DuckDB reads the amounts on its own connection while pyarrow reads the rest)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pht-amounts") as pool:
            reading = pool.submit(self._read_columns, path, by_duckdb) if by_duckdb else None
            data = pq.ParquetFile(path, read_dictionary=dictionary).read(
                columns=[h for h in header if h not in by_duckdb]
            )
            amounts = reading.result() if reading is not None else None
        if amounts is not None:
            if amounts.num_rows != data.num_rows:
                raise OSError(f"read {amounts.num_rows} amounts for {data.num_rows} rows")
            for name in by_duckdb:
                data = data.append_column(name, amounts.column(name))
            data = data.select(header)
        self._register(table, data)

    def _read_columns(self, path: Path, columns: list[str]) -> pa.Table:
        """*columns* of the Parquet file *path* read by DuckDB, in the file's order, on a
        connection of its own (safe beside work on :attr:`con`)."""
        con = self.con.cursor()
        try:
            return _in_file_order(
                con, exp.select(*(col(c) for c in columns)).from_(_read_parquet(path))
            )
        finally:
            con.close()

    def stage_table(self, table: str, data: pa.Table) -> bool:
        """Stage rows already in memory (Arrow), numbered as if written as CSV with a header."""
        spec = TABLES[table]
        self.report.files[table] = table
        if not self._check_header(table, spec, list(data.column_names)):
            return False
        self._register(table, data)
        self.types[table] = {str(r[0]): str(r[1]) for r in self._arrow_types(table)}
        self.staged.append(table)
        return True

    def _check_header(self, table: str, spec: TableSpec, header: list[str]) -> bool:
        ok = True
        seen: set[str] = set()
        for i, name in enumerate(header, start=1):
            if name in seen:
                self.file_problem(table, 1, name, name, f"kolonne {i} gjentar et kolonnenavn")
                ok = False
            seen.add(name)
        known = {c.name for c in spec.columns}
        for c in spec.required:
            if c not in seen:
                self.file_problem(table, 1, c, None, "påkrevd kolonne mangler")
                ok = False
        extra = [h for h in header if h not in known]
        if extra:
            self.report.notes.append(
                f"{table}: kolonner som ikke er i uttrekksformatet, blir ignorert: "
                + ", ".join(extra)
            )
        return ok

    # -- running the rules --

    def check_table(self, table: str) -> None:
        """Run every rule of *table* (problems queued; :meth:`flush` writes them)."""
        spec = TABLES[table]
        cols = self.columns(table)
        present = [c for c in spec.columns if cols.has(c.name)]
        rules: list[RowRule] = []
        for c in present:
            rules.extend(R.row_rules(c, cols, self.today))
        rules.extend(R.date_order_rules(spec, cols))
        rules.extend(R.period_rule(table, cols, self.period))
        rules.extend(R.birth_date_rule(table, cols))
        self._probe(table, rules)
        finish_duplicates = self._check_duplicates(table, spec)
        for c in present:
            checker = R.VALUE_CHECKS.get(c.kind)
            if c.references:
                self._check_reference(table, c, checker)
            elif checker is not None:
                self._check_distinct(table, c.name, checker)
            if c.kind in R.CODE_LISTS:
                self._check_codes(table, c)
        self._check_after_death(table)
        self._check_stored_elsewhere(table)
        finish_duplicates()

    def _probe(self, table: str, rules: list[RowRule]) -> None:
        """Count every per-row rule in one pass; list the rows only of rules that fire.

        Rules on one dictionary-encoded column are counted over its distinct values
        (:meth:`value_table`): a rule fires on some row exactly when it fires on some value.
        """
        if not rules:
            return
        sources: dict[str, list[RowRule]] = {}
        for r in rules:
            values = self.value_table(table, r.column) if r.single else None
            sources.setdefault(values or self.data(table), []).append(r)
        fired: set[int] = set()
        for source, some in sources.items():
            counts = self.con.execute(sql(R.probe(some, source))).fetchone()
            fired |= {id(r) for r, n in zip(some, counts or (), strict=True) if n}
        for rule in rules:
            if id(rule) in fired:
                self.add(table, R.rule_rows(rule, self.raw(table)))

    def _check_duplicates(self, table: str, spec: TableSpec) -> Callable[[], None]:
        """Look for duplicate keys; returns what queues the problems, to call later.

        Up to HASH_SORT_MAX_ROWS rows, 64-bit hashes of the key are sorted in numpy, in the
        background while the other rules of the table run (numpy's sort releases the GIL);
        the returned callable waits for it.
        """
        cols = self.columns(table)
        if not all(cols.has(k) for k in spec.key):
            return _nothing
        rows = self.report.rows.get(table, 0)
        if rows < 2:
            return _nothing
        if rows <= HASH_SORT_MAX_ROWS:
            # no repeated hash means no duplicate (a repeat may be a hash collision; the
            # exact query then decides)
            query = sql(R.key_hashes(spec.key, self.data(table)))
            hashes = np.asarray(self.con.execute(query).fetchnumpy()["h"])
            if self.background is not None:
                repeats = self.background.submit(_has_repeat, hashes)
                return lambda: self._queue_duplicates(table, spec, repeats.result())
            self._queue_duplicates(table, spec, _has_repeat(hashes))
            return _nothing
        query = sql(R.some_duplicate(spec.key, self.data(table)))
        self._queue_duplicates(table, spec, self.con.execute(query).fetchone() is not None)
        return _nothing

    def _queue_duplicates(self, table: str, spec: TableSpec, suspect: bool) -> None:
        """Queue the query listing every repeated key when *suspect*."""
        if suspect:  # (a repeated hash may be a collision)
            self.add(
                table, R.duplicates(self.columns(table), spec.key, self.raw(table)), certain=False
            )

    def _mark_values(self, table: str, column: str, bad: list[tuple[str, str]]) -> None:
        """Queue a problem for every row whose *column* holds one of *bad* (value, reason)."""
        name = f"_pht_bad_{table}_{column}"
        self.con.register(
            "_pht_bad", pa.table({"v": [b[0] for b in bad], "r": [b[1] for b in bad]})
        )
        try:
            self.con.execute(_create(name, exp.select("*").from_("_pht_bad"), "TABLE"))
        finally:
            self.con.unregister("_pht_bad")
        self.scratch.append(name)
        self.add(table, R.marked_rows(self.columns(table), column, self.raw(table), name))

    def _distinct_values(self, table: str, column: str) -> list[str]:
        source = self.value_table(table, column) or self.data(table)
        query = sql(R.distinct_values(self.columns(table), column, source))
        return [str(v) for v in self.con.execute(query).fetchnumpy()["v"]]

    def start_value_checks(self, table: str) -> None:
        """Start the Python identifier checks of *table*'s distinct values in the background.

        They run while the next files are read (DuckDB and pyarrow release the GIL), instead of
        alone on one core during :meth:`check_table`. Only columns without a foreign key:
        :meth:`_check_reference` checks just the values the referenced table lacks.
        """
        if self.background is None:
            return
        for c in TABLES[table].columns:
            checker = R.VALUE_CHECKS.get(c.kind)
            if checker is None or c.references or c.name not in self.types[table]:
                continue
            values = self._distinct_values(table, c.name)
            self.value_checks[(table, c.name)] = self.background.submit(
                R.bad_values, checker, values
            )

    def _check_distinct(
        self, table: str, column: str, checker: Callable[[list[str]], list[str | None]]
    ) -> None:
        """Check each distinct value once in Python, then mark the rows holding bad ones."""
        started = self.value_checks.pop((table, column), None)
        if started is not None:
            bad = started.result()
        else:
            bad = R.bad_values(checker, self._distinct_values(table, column))
        if bad:
            self._mark_values(table, column, bad)

    def _check_codes(self, table: str, c: ColumnSpec) -> None:
        """Check the codes of a code column (a space-separated list unless one code per value).

        Codes are split from the *distinct* values only. Tariff codes must also be valid on the
        date of the row (the table's event date): a code whose validity covers the first and
        the last date it appears on is valid on every date between.
        """
        system, known, single = R.CODE_LISTS[c.kind]
        cols = self.columns(table)
        date_col = EVENT_DATE_COLUMNS.get(table)
        suspect: dict[str, Period] = {}
        if c.kind == "tariff_list" and date_col is not None and cols.has(date_col):
            found = self.con.execute(
                sql(R.used_codes_dated(cols, c.name, date_col, self.data(table), single))
            ).fetchall()
            codes = {str(code) for code, _, _ in found}
            for code, lo, hi in found:
                info = tariff_codes().get(str(code))
                if info is None or lo is None:
                    continue
                if lo not in info.valid or hi not in info.valid:
                    suspect[str(code)] = info.valid
        else:
            source = self.value_table(table, c.name) or self.data(table)
            query = sql(R.used_codes(cols, c.name, source, single))
            codes = {str(r[0]) for r in self.con.execute(query).fetchall()}
        bad = sorted(code for code in codes if not known(code))
        if bad:
            self.add(table, R.unknown_codes(cols, c.name, self.raw(table), system, bad, single))
        if suspect:
            assert date_col is not None
            name = f"_pht_validity_{table}_{c.name}"
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
                self.con.execute(_create(name, exp.select("*").from_("_pht_validity"), "TABLE"))
            finally:
                self.con.unregister("_pht_validity")
            self.scratch.append(name)
            self.add(
                table,
                R.tariff_not_valid(
                    cols, c.name, date_col, self.raw(table), name, list(suspect), single
                ),
            )

    def _reference_set(
        self, ref_table: str, ref_column: str, where: exp.Expression | None = None
    ) -> exp.Expression:
        """The values a foreign key may take: valid extract rows + the warehouse."""
        staged = ref_table in self.staged
        return R.reference_set(
            self.columns(ref_table) if staged else None,
            ref_table,
            ref_column,
            raw=self.raw(ref_table) if staged else None,
            problems=PROBLEMS if ref_table in self.flagged else None,
            in_warehouse=ref_table in self.warehouse_tables,
            where=where,
        )

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
        cols = self.columns(table)
        refs = self._reference_set(ref_table, ref_column)
        scan = self.value_table(table, c.name) or self.data(table)
        query = sql(R.missing_values(cols, c.name, scan, refs))
        missing = [str(v) for v in self.con.execute(query).fetchnumpy()["v"]]
        if missing:
            if checker is not None:
                bad = R.bad_values(checker, missing)
                if bad:
                    self._mark_values(table, c.name, bad)
            self.add(table, R.missing_reference(cols, c, self.raw(table), refs))
        if table == "list_memberships" and c.name == "gp_id":
            gps = self._reference_set(ref_table, ref_column, where=col("role").eq(text("gp")))
            some = R.is_not_a_gp(cols, c.name, refs, gps)
            probe = exp.select(number(1)).from_(ref(scan)).where(some).limit(1)
            if self.con.execute(sql(probe)).fetchone() is not None:
                self.add(table, R.not_a_gp(cols, c.name, self.raw(table), refs, gps))

    def _check_after_death(self, table: str) -> None:
        """An event dated after its person's death (persons of the extract or the warehouse)."""
        date_col = EVENT_DATE_COLUMNS.get(table)
        cols = self.columns(table)
        if date_col is None or not cols.has(date_col) or not cols.has("person_id"):
            return
        persons = (
            (self.columns("persons"), self.raw("persons")) if "persons" in self.staged else None
        )
        died = R.deaths(persons, "persons" in self.warehouse_tables)
        if died is None:
            return
        if self.con.execute(sql(died.limit(1))).fetchone() is None:
            return  # nobody died: no event to look at
        found = R.after_death(cols, date_col, self.raw(table), died)
        if self.con.execute(sql(found.limit(1))).fetchone() is not None:
            self.add(table, found)

    def _check_stored_elsewhere(self, table: str) -> None:
        """An event id the warehouse holds for this source with a date outside the declared
        period (see :func:`pht.registry.rules.stored_elsewhere`)."""
        id_col = TABLES[table].event_id
        date_col = EVENT_DATE_COLUMNS.get(table)
        if (
            id_col is None
            or date_col is None
            or self.period is None
            or self.source is None
            or table not in self.warehouse_tables
            or id_col not in self.types[table]
        ):
            return
        found = R.stored_elsewhere(
            self.columns(table), table, id_col, date_col, self.raw(table), self.source, self.period
        )
        if self.con.execute(sql(found.limit(1))).fetchone() is not None:
            self.add(table, found)

    def check_overlaps(self) -> None:
        """List periods of one person must not overlap (in the extract or with the warehouse)."""
        table = "list_memberships"
        if table in self.staged:
            found = R.overlaps(self.columns(table), self.raw(table), table in self.warehouse_tables)
            self.add(table, found, certain=False)

    # -- the end --

    def cleanup(self) -> None:
        """Drop everything staged."""
        for t in self.staged:
            self.con.execute(_drop(self.raw(t), "VIEW"))
            source = self.types_source.get(t)
            if source == "arrow":
                self.con.unregister(self.data(t))
            else:
                self.con.execute(_drop(self.data(t), "VIEW" if source == "parquet" else "TABLE"))
        for name in self.values.values():
            if name is not None:
                self.con.unregister(name)
        self.values.clear()
        self.arrow.clear()
        for name in self.scratch:
            self.con.execute(_drop(name))
        self.con.execute(_drop(PROBLEMS))


def _in_file_order(con: duckdb.DuckDBPyConnection, select: exp.Expression) -> pa.Table:
    """The result of *select* (a scan of one file) as Arrow, rows in the file's order."""
    query = sql(select)
    row = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()
    if row is not None and row[0]:
        return con.execute(query).to_arrow_table()
    con.execute("SET preserve_insertion_order = true")
    try:
        return con.execute(query).to_arrow_table()
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
        return "ikke UTF-8-tekst (lagre filen som UTF-8)"
    if kind == "MISSING COLUMNS":
        return f"for få verdier på linjen, er filen avkortet? ({message})"
    if kind == "TOO MANY COLUMNS":
        return f"for mange verdier på linjen ({message})"
    if kind == "LINE TOO LONG":
        return f"linjen er for lang og ble ikke lest: {message}"
    if kind == "UNQUOTED VALUE":
        return f"anførselstegn som ikke avsluttes, er filen avkortet? ({message})"
    return f"feil i CSV-filen ({kind.lower()}): {message}"


def _nothing() -> None:
    """Nothing left to do."""


def _has_repeat(values: np.ndarray[Any, Any]) -> bool:
    """True when some value occurs twice (sorts a copy)."""
    ordered = np.sort(values)
    return bool(np.any(ordered[1:] == ordered[:-1]))
