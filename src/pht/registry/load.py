"""Loading registry extracts (CSV or Parquet, the tables of DATA.md) into the warehouse.

Validation is vectorised: each file is staged by :class:`pht.registry.staging.Stage` on the
warehouse's own connection, and every rule of :mod:`pht.registry.rules` is one SQL statement
(built with sqlglot) over the whole table (identifiers are checked once per *distinct* value with
:func:`pht.core.identifiers.person_id_problems` and friends). Every problem is reported as
``file:line:column — value — reason``; ``line`` is the CSV line number counting the header as
line 1 (for Parquet: the 1-based row number + 1, as if the table had been written as CSV with a
header).

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
import datetime as dt
import json
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from pht.core import formats
from pht.core.errors import PhtError
from pht.core.settings import get_settings
from pht.registry import rules as R
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
from pht.registry.rules import PSEUDONYM_FORM, col, fn, number, ref, sql, text
from pht.registry.schema import TABLES
from pht.registry.staging import MAX_LINE_BYTES, PROBLEMS, Problem, Stage, ValidationReport
from pht.registry.warehouse import Warehouse, use_storage_layout

__all__ = [
    "EVENT_PERIOD_COLUMNS",
    "MAX_LINE_BYTES",
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

# At most this many problems are kept in a report (all are counted; the side file has all rows).
MAX_PROBLEMS = 10_000


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
        raise PhtError("filen eller mappen finnes ikke", where=str(path))
    folder = path if path.is_dir() else path.parent
    if (folder / INCOMPLETE_MARKER).exists():
        raise PhtError(
            "mappen er en uferdig kopi fra `pht registry pseudonymise` (den inneholder "
            f"{INCOMPLETE_MARKER}); lag kopien på nytt",
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
                    f"filnavnet må være en tabell i uttrekksformatet ({', '.join(TABLES)})",
                    where=str(p),
                )
            continue
        if name in found:
            raise PhtError(f"tabellen {name} er gitt to ganger ({found[name].name} og {p.name})")
        found[name] = p
    if not found:
        raise PhtError(
            "ingen uttrekksfiler her (ventet <tabell>.csv eller <tabell>.parquet)", where=str(path)
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
        raise PhtError(f"manifest.json er ikke gyldig JSON: {err}", where=str(manifest)) from None


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    """``2021-01-01..2022-12-31`` as (first day, last day)."""
    try:
        first, last = (dt.date.fromisoformat(part.strip()) for part in text.split(".."))
    except ValueError:
        raise PhtError(
            f"perioden {text!r} er ikke på formen FØRSTE..SISTE (f.eks. 2021-01-01..2022-12-31)"
        ) from None
    if last < first:
        raise PhtError(f"perioden {text!r} slutter før den begynner")
    return first, last


def extract_source(path: str | Path) -> str:
    """The source of an extract: ``manifest.json``'s ``"source"``, else the folder's name."""
    p = Path(path)
    manifest, data = _manifest(p)
    if isinstance(data, dict) and data.get("source") is not None:
        name = data["source"]
        if not isinstance(name, str):
            raise PhtError("kilden (source) i manifest.json må være tekst", where=str(manifest))
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
        raise PhtError(
            f"perioden i manifest.json er ikke gyldig: {err}", where=str(manifest)
        ) from None
    return None


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
    on_staged: Callable[[Stage], None] | None = None,
) -> Stage:
    """Stage the files of *path* (or the Arrow *tables*) and run every rule (unless not
    *checks*: then only stage them). *on_staged* is called once every table is staged, before
    the rules run."""
    stage = Stage(con, warehouse_tables, source=source, period=period, today=today)
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
                    "filer som ikke er tabeller i uttrekksformatet, blir ignorert: "
                    + ", ".join(ignored)
                )
        stage.report.files = {t: str(p) for t, p in files.items()}
    given = tables or {}
    unknown = sorted(set(given) - set(TABLES))
    if unknown:
        raise PhtError(f"ikke tabeller i uttrekksformatet: {', '.join(unknown)}")
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
            if on_staged is not None and checks:
                on_staged(stage)
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


def _summarise(stage: Stage) -> None:
    con = stage.con
    report = stage.report
    count = exp.select(fn("count", exp.Star())).from_(ref(PROBLEMS))
    total = con.execute(sql(count)).fetchone()
    report.problem_count = int(total[0]) if total else 0
    order = exp.Values(
        expressions=[exp.tuple_(text(t), number(i)) for i, t in enumerate(TABLES)],
        alias=exp.TableAlias(this="o", columns=["t", "i"]),
    )
    listed = (
        exp.select(*(col(c, "p") for c in ("tbl", "line", "col", "value", "reason")))
        .from_(R.aliased(PROBLEMS, "p"))
        .join(order, on=col("t", "o").eq(col("tbl", "p")), join_type="left")
        .order_by(col("i", "o"), col("line", "p"), col("col", "p"))
        .limit(MAX_PROBLEMS)
    )
    report.problems = [
        Problem(Path(report.files.get(t, t)).name, int(line or 0), c or "", value, reason)
        for t, line, c, value, reason in con.execute(sql(listed)).fetchall()
    ]
    rejected = (
        exp.select(col("tbl"), fn("count", exp.Distinct(expressions=[col("line")])))
        .from_(ref(PROBLEMS))
        .where(col("line") > number(1))
        .group_by(col("tbl"))
    )
    for t, n in con.execute(sql(rejected)).fetchall():
        report.rejected[str(t)] = int(n)
    if report.problem_count > MAX_PROBLEMS:
        report.notes.append(
            f"{formats.number(report.problem_count)} feil; "
            f"de første {formats.number(MAX_PROBLEMS)} er listet opp"
        )


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
        stage.cleanup()


def _warehouse_tables(warehouse: Warehouse) -> set[str]:
    warehouse.require_initialised()
    return set(warehouse.con.list_tables()) & set(TABLES)


def _typed_select(stage: Stage, table: str, *, valid_only: bool = True) -> exp.Select:
    """The valid rows of *table* (every row unless *valid_only*) with the warehouse's column
    types (event ids qualified)."""
    cols = stage.columns(table)
    select = exp.select(
        *(R.typed_column(c, cols, stage.source) for c in TABLES[table].columns)
    ).from_(ref(stage.raw(table)))
    if valid_only and stage.report.rejected.get(table):
        select = select.where(stage.valid_lines(table))
    return select


class _Rollback(Exception):
    """Leave the load's transaction without writing (dry run, refusal)."""


@dataclass(frozen=True, slots=True)
class _BatchWrite:
    """What a load writes its batch as: the kind, the file hashes (or what waits for them), the
    user, whether it may replace more than the threshold, whether it is a dry run."""

    kind: str
    files: list[FileHash] | Callable[[], list[FileHash]]
    user: str | None
    replace: bool
    dry_run: bool


def _apply_batch(
    con: duckdb.DuckDBPyConnection,
    stage: Stage,
    write: _BatchWrite,
    *,
    valid_only: bool = True,
    abandoned: Callable[[], bool] | None = None,
) -> BatchReport:
    """Write the staged rows (the valid ones, or all unless *valid_only*) as one batch on *con*,
    inside the caller's transaction (see :mod:`pht.registry.batches`). The report's
    ``refused`` says when the batch would remove more than the threshold allows; the caller
    then rolls it back, as it does a dry run. *abandoned*: asked before each table; when it
    says so, the write stops (:class:`_Rollback`)."""
    assert stage.source is not None
    report = BatchReport(None, stage.source, stage.period, dry_run=write.dry_run)
    ensure_provenance(con)
    files = write.files
    batch_id = begin_batch(
        con,
        source=stage.source,
        kind=write.kind,
        period=stage.period,
        files=files() if callable(files) else files,
        user=write.user,
        replace=write.replace,
    )
    report.batch_id = batch_id
    for table in TABLES:
        if table not in stage.staged:
            continue
        if abandoned is not None and abandoned():
            raise _Rollback
        clean = f"_pht_clean_{table}"
        stored = exp.select(number(1)).from_(ref(table)).limit(1)
        if con.execute(sql(stored)).fetchone() is None:
            use_storage_layout(con, table)  # a warehouse initialised by an older pht
        view = exp.Create(
            this=ref(clean),
            kind="VIEW",
            replace=True,
            expression=_typed_select(stage, table, valid_only=valid_only),
            properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
        )
        con.execute(sql(view))
        try:
            report.changes[table] = apply_table(
                con,
                batch_id,
                table,
                sql(ref(clean)),
                source=stage.source,
                period=stage.period,
            )
        finally:
            con.execute(sql(exp.Drop(this=ref(clean), kind="VIEW", exists=True)))
    finish_batch(con, batch_id, report.changes)
    if not write.replace:
        report.refused = over_threshold(report.changes, replace_threshold())
    return report


def _write_batch(
    warehouse: Warehouse, stage: Stage, write: _BatchWrite, *, rejects: Path | None
) -> tuple[BatchReport, str | None]:
    """Write the valid staged rows as one batch in one transaction; the rejects file, when
    asked for, is in place before the batch commits."""
    rejects_path: str | None = None
    report: BatchReport | None = None
    try:
        with warehouse.transaction(), warehouse.writing_back():
            report = _apply_batch(stage.con, stage, write)
            if report.refused is not None or write.dry_run:
                raise _Rollback
            if rejects is not None:
                _write_rejects(stage, rejects)
                rejects_path = str(rejects)
    except _Rollback:
        pass
    assert report is not None
    return report, rejects_path


class _Speculation:
    """The batch written on a second connection while the rules run, kept only when they find
    nothing.

    Checking the rows and writing them each keep the cores busy only part of the time
    (reading the staged data, one query's last row groups, the fsync of the commit); run side
    by side they fill each other's gaps. The writer reads the staged data shared with
    :meth:`Stage.share` (no copy) and writes every row in an open transaction on its own
    connection; :meth:`finish` commits it when the rules found no problem (and the batch is
    neither refused nor a dry run), else rolls it back, and the load then writes the valid
    rows the usual way; the first problem a rule finds stops the write at once
    (:attr:`Stage.on_problem`), so a refused load takes no longer than checking alone. Nothing
    of a rolled-back write remains (DuckDB's transaction), and the rules, on the loader's
    connection, see the warehouse as it was before the batch.
    """

    def __init__(self, warehouse: Warehouse, write: _BatchWrite) -> None:
        self.warehouse = warehouse
        self.write = write
        self.con: duckdb.DuckDBPyConnection | None = None
        self.thread: threading.Thread | None = None
        self.report: BatchReport | None = None
        self.error: BaseException | None = None
        self.abandoned = False

    def start(self, stage: Stage) -> None:
        """Start writing *stage*'s rows, unless a file is already known to be unusable or its
        staged data cannot be shared (CSV)."""
        if stage.blocking or stage.report.file_problems or not get_settings().load_while_checking:
            return
        con = self.warehouse.con.con.cursor()
        try:
            shared = stage.share(con)
        except duckdb.Error:
            shared = False  # then the load writes the usual way
        if not shared:
            con.close()
            return
        self.con = con
        stage.on_problem = self.abandon
        self.thread = threading.Thread(
            target=self._write, args=(stage,), name="pht-write", daemon=True
        )
        self.thread.start()

    def abandon(self) -> None:
        """Stop the write at once (a rule found a problem: it cannot be kept)."""
        self.abandoned = True
        if self.con is not None:
            self.con.interrupt()

    def _write(self, stage: Stage) -> None:
        assert self.con is not None
        try:
            self.con.execute("BEGIN TRANSACTION")
            with self.warehouse.writing_back():
                self.report = _apply_batch(
                    self.con,
                    stage,
                    self.write,
                    valid_only=False,
                    abandoned=lambda: self.abandoned,
                )
        except BaseException as err:  # handed to finish(): the usual write then runs
            self.error = err

    def finish(self, keep: bool) -> BatchReport | None:
        """Wait for the write; commit it when *keep* (the rules found nothing) and it is
        neither refused nor a dry run, else roll it back. The batch's report when kept (or
        rightly rolled back); ``None`` when the load must write the usual way."""
        if self.thread is None or self.con is None:
            return None
        con = self.con
        try:
            while not keep and self.thread.is_alive():
                con.interrupt()  # the running query, and each one the writer starts after it
                self.thread.join(0.05)
            self.thread.join()
            if not keep or self.abandoned or self.error is not None or self.report is None:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                return None
            if self.report.refused is not None or self.write.dry_run:
                con.execute("ROLLBACK")
            else:
                try:
                    con.execute("COMMIT")
                except duckdb.Error:
                    with contextlib.suppress(duckdb.Error):
                        con.execute("ROLLBACK")
                    return None
            return self.report
        finally:
            self.thread = None
            self.con = None
            con.close()


def _write_rejects(stage: Stage, target: Path) -> None:
    """Write every rejected row with its reasons to *target* (CSV).

    Columns: table, file, line, reasons (``column: reason; ...``), row (the row as JSON, or the
    raw text of a line the CSV reader could not split).
    """
    files = exp.Values(
        expressions=[
            exp.tuple_(text(t), text(Path(stage.report.files[t]).name)) for t in stage.report.files
        ],
        alias=exp.TableAlias(this="f", columns=["tbl", "file"]),
    )
    raws: list[exp.Select] = []
    for t in stage.staged:
        flagged = exp.select(col("line")).from_(ref(PROBLEMS)).where(col("tbl").eq(text(t)))
        raws.append(
            exp.select(
                text(t).as_("tbl"),
                col("_line").as_("line"),
                R.as_text(fn("to_json", exp.column("r"))).as_("row"),
            )
            .from_(R.aliased(stage.raw(t), "r"))
            .where(col("_line").isin(query=flagged))
        )
    rows: exp.Query = (
        raws[0]
        if raws
        else exp.select(
            R.cast(exp.null(), "VARCHAR").as_("tbl"),
            R.cast(exp.null(), "BIGINT").as_("line"),
            R.cast(exp.null(), "VARCHAR").as_("row"),
        ).where(exp.false())
    )
    for more in raws[1:]:
        rows = exp.union(rows, more, distinct=False)
    reasons = exp.GroupConcat(
        this=exp.Order(
            this=R.concat(col("col"), text(": "), col("reason")), expressions=[col("col")]
        ),
        separator=text("; "),
    )
    per_line = (
        exp.select(
            col("tbl"),
            col("line"),
            reasons.as_("reasons"),
            fn("any_value", col("value")).as_("value"),
        )
        .from_(ref(PROBLEMS))
        .group_by(col("tbl"), col("line"))
        .subquery("x")
    )
    query = (
        exp.select(
            col("tbl", "x").as_("table", quoted=True),
            col("file", "f"),
            col("line", "x"),
            col("reasons", "x"),
            fn("coalesce", col("row", "r"), col("value", "x")).as_("row"),
        )
        .from_(per_line)
        .join(
            exp.paren(rows).as_("r") if len(raws) > 1 else rows.subquery("r"),
            on=exp.and_(col("tbl", "r").eq(col("tbl", "x")), col("line", "r").eq(col("line", "x"))),
            join_type="left",
        )
        .join(files, on=col("tbl", "f").eq(col("tbl", "x")), join_type="left")
        .order_by(col("tbl", "x"), col("line", "x"))
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    stage.con.execute(f"COPY ({sql(query)}) TO {sql(text(str(partial)))} (HEADER, DELIMITER ',')")
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
    return _checked_load(
        warehouse,
        _Speculation(warehouse, _BatchWrite("files", hashes, user, replace, dry_run)),
        accept_valid=accept_valid,
        rejects=Path(rejects_path) if rejects_path else p.with_name(p.name + ".rejects.csv"),
        path=p,
        warehouse_tables=tables,
        source=src,
        period=declared,
        today=today,
    )


def _checked_load(
    warehouse: Warehouse,
    writing: _Speculation,
    *,
    accept_valid: bool,
    rejects: Path | None,
    **validation: Any,
) -> LoadReport:
    """Stage and check (:func:`_run_validation` with *validation*), writing meanwhile, then
    keep or write the batch (:func:`_load_staged`)."""
    try:
        stage = _run_validation(warehouse.con.con, on_staged=writing.start, **validation)
    except BaseException:
        writing.finish(keep=False)
        raise
    try:
        return _load_staged(
            warehouse, stage, writing=writing, accept_valid=accept_valid, rejects=rejects
        )
    finally:
        writing.finish(keep=False)  # (nothing left to do when the load finished it)
        stage.cleanup()


def _load_staged(
    warehouse: Warehouse,
    stage: Stage,
    *,
    writing: _Speculation,
    accept_valid: bool,
    rejects: Path | None,
) -> LoadReport:
    """Write the checked *stage* (or keep what *writing* wrote while it was checked)."""
    report = stage.report
    assert stage.source is not None
    kept = writing.finish(keep=report.ok)
    dry_run = writing.write.dry_run
    if not report.ok and (not accept_valid or stage.blocking):
        refused = BatchReport(
            None,
            stage.source,
            stage.period,
            dry_run=dry_run,
            refused=f"{formats.number(report.problem_count)} feil i dataene; ingenting er skrevet",
            problems=list(report.problems),
            problem_count=report.problem_count,
        )
        return LoadReport(report, imported=False, batch=refused)
    if kept is not None:
        batch, rejects_written = kept, None
    else:
        batch, rejects_written = _write_batch(
            warehouse, stage, writing.write, rejects=None if report.ok else rejects
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
    result = _checked_load(
        warehouse,
        _Speculation(warehouse, _BatchWrite(kind, files or [], user, replace, dry_run)),
        accept_valid=accept_valid,
        rejects=None,
        path=None,
        warehouse_tables=_warehouse_tables(warehouse),
        source=check_source(source),
        period=period,
        today=today,
        tables=tables,
        checks=validate,
    )
    assert result.batch is not None
    return result.batch


def iter_problem_lines(report: ValidationReport) -> Iterable[str]:
    """Each problem as ``file:line:column — value — reason``."""
    return (str(p) for p in report.problems)
