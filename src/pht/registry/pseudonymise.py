"""Analytic copies without person identifiers: keyed hashes (HMAC-SHA-256) and birth months.

``pseudonymise_warehouse(warehouse, out, key)`` copies every table; each ``person_id`` becomes
``ps-`` + the first 32 hex digits of HMAC-SHA-256(key, person_id) — the same person gets the same
pseudonym in every table and in every copy made with the same key, and nobody without the key can
recompute it — and ``birth_date`` becomes the first day of its month. Everything else is copied as
it is (practitioner HPR numbers, organisation numbers, death dates, codes). The output is a new
warehouse file (``*.duckdb``) or a folder of Parquet files in the extract format, which
``pht registry load`` accepts (pseudonyms pass its person-id rule).

The output appears whole or not at all: it is written under a temporary name beside *out*
(``.<name>.partial-<pid>``) and renamed into place at the end. A Parquet folder being written
holds the marker file :data:`INCOMPLETE_MARKER` until it is complete, and ``pht registry load``
refuses a folder that holds it, so a half output left by a crash can never be loaded. Rows of
the copy have batch 0 (``_batch``): the copy is a new warehouse without the original's batch log
and pre-images.

The key never lives with the data: it is read from a file given by the user or from the
environment variable ``PHT_PSEUDONYM_KEY``; without a key nothing runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from pht.core.errors import PhtError
from pht.registry.schema import BATCH_COLUMN, TABLES
from pht.registry.warehouse import Warehouse

__all__ = [
    "INCOMPLETE_MARKER",
    "KEY_ENV",
    "MIN_KEY_BYTES",
    "PSEUDONYM_PREFIX",
    "PseudonymiseReport",
    "pseudonym",
    "pseudonymise_warehouse",
    "read_key",
]

KEY_ENV = "PHT_PSEUDONYM_KEY"
MIN_KEY_BYTES = 16
PSEUDONYM_PREFIX = "ps-"

# A Parquet output folder holds this file while it is written (removed last, before the rename).
INCOMPLETE_MARKER = ".pht-incomplete"

# Extra tables (beyond the extract format) that hold person ids and are copied too.
EXTRA_PERSON_TABLES = ("fhir_conditions",)


@dataclass(slots=True)
class PseudonymiseReport:
    """What a pseudonymisation wrote."""

    out: str
    persons: int = 0
    rows: dict[str, int] = field(default_factory=dict)


def read_key(key_file: Path | None = None, *, env: dict[str, str] | None = None) -> bytes:
    """The pseudonymisation key: from *key_file*, else from ``$PHT_PSEUDONYM_KEY``.

    Refuses a missing or short key (fewer than 16 bytes) with a clear error.
    """
    values = os.environ if env is None else env
    if key_file is not None:
        try:
            key = key_file.read_bytes().strip()
        except OSError as err:
            raise PhtError(
                f"cannot read the key file: {err.strerror}", where=str(key_file)
            ) from None
        where = str(key_file)
    elif values.get(KEY_ENV):
        key = values[KEY_ENV].encode("utf-8")
        where = KEY_ENV
    else:
        raise PhtError(
            f"no pseudonymisation key: give --key-file (kept outside the data) or set {KEY_ENV}"
        )
    if len(key) < MIN_KEY_BYTES:
        raise PhtError(f"the key is too short (at least {MIN_KEY_BYTES} bytes)", where=where)
    return key


def pseudonym(value: str, key: bytes) -> str:
    """The pseudonym of one identifier under *key* (stable, not reversible without the key)."""
    digest = hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:32]


def _person_tables(wh: Warehouse) -> list[str]:
    present = set(wh.con.list_tables())
    names = [t for t in TABLES if t in present]
    names += [t for t in EXTRA_PERSON_TABLES if t in present]
    return names


def _columns(wh: Warehouse, table: str) -> list[str]:
    return [str(r[0]) for r in wh.sql(f'DESCRIBE "{table}"')]


def _select(wh: Warehouse, table: str, *, with_batch: bool = True) -> str:
    cols = []
    for c in _columns(wh, table):
        if c == BATCH_COLUMN:
            if with_batch:
                cols.append(f'0 AS "{BATCH_COLUMN}"')  # the copy has no batch log
            continue
        if c == "person_id":
            cols.append('m.pseudonym AS "person_id"')
        elif table == "persons" and c == "birth_date":
            cols.append('CAST(date_trunc(\'month\', t."birth_date") AS DATE) AS "birth_date"')
        else:
            cols.append(f't."{c}"')
    join = ' LEFT JOIN _pht_pseudonyms m ON m.person_id = t."person_id"'
    has_person = "person_id" in _columns(wh, table)
    return f'SELECT {", ".join(cols)} FROM "{table}" t{join if has_person else ""}'


def pseudonymise_warehouse(
    warehouse: Warehouse, out: str | Path, key: bytes, *, key_file: Path | None = None
) -> PseudonymiseReport:
    """Write an analytic copy of *warehouse* to *out* (``*.duckdb`` file or Parquet folder)."""
    warehouse.require_initialised()
    target = Path(out)
    if target.exists() and (target.is_file() or any(target.iterdir())):
        raise PhtError("output exists already; choose a new path", where=str(target))
    if (
        key_file is not None
        and target.suffix != ".duckdb"
        and key_file.resolve().is_relative_to(target.resolve())
    ):
        raise PhtError("the key file must not be inside the output", where=str(key_file))
    if str(target.resolve()) == str(Path(warehouse.path).resolve()):
        raise PhtError("output must differ from the warehouse", where=str(target))
    tables = _person_tables(warehouse)
    with_person = [t for t in tables if "person_id" in _columns(warehouse, t)]
    union = " UNION ".join(f'SELECT person_id FROM "{t}"' for t in with_person)
    ids = (
        warehouse.con.con.execute(
            f"SELECT DISTINCT person_id FROM ({union}) WHERE person_id IS NOT NULL"
        )
        .fetchnumpy()["person_id"]
        .tolist()
        if union
        else []
    )
    mapping = pa.table(
        {"person_id": pa.array(ids, pa.string()), "pseudonym": [pseudonym(v, key) for v in ids]}
    )
    report = PseudonymiseReport(out=str(target), persons=len(ids))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    raw = warehouse.con.con
    raw.register("_pht_pseudonyms", mapping)
    try:
        if target.suffix == ".duckdb":
            _write_duckdb(warehouse, partial, tables, report)
            _fsync(partial)
            if target.exists():  # made meanwhile by someone else: never overwrite
                raise PhtError("output exists already; choose a new path", where=str(target))
            partial.replace(target)
        else:
            partial.mkdir()
            (partial / INCOMPLETE_MARKER).write_text(
                "pht registry pseudonymise did not finish writing this folder\n", encoding="utf-8"
            )
            for t in tables:
                path = str(partial / f"{t}.parquet").replace("'", "''")
                select = _select(warehouse, t, with_batch=False)
                raw.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
                n = raw.execute(f"SELECT count(*) FROM '{path}'").fetchone()
                report.rows[t] = int(n[0]) if n else 0
            for f in partial.iterdir():
                _fsync(f)
            (partial / INCOMPLETE_MARKER).unlink()
            _fsync(partial)
            if target.exists():
                if target.is_file() or any(target.iterdir()):
                    raise PhtError("output exists already; choose a new path", where=str(target))
                target.rmdir()
            partial.rename(target)
        _fsync(target.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            if partial.is_dir():
                shutil.rmtree(partial)
            else:
                partial.unlink(missing_ok=True)
                Path(str(partial) + ".wal").unlink(missing_ok=True)
        raise
    finally:
        raw.unregister("_pht_pseudonyms")
    return report


def _fsync(path: Path) -> None:
    """Flush *path* (a file or a folder's entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_duckdb(
    warehouse: Warehouse, target: Path, tables: list[str], report: PseudonymiseReport
) -> None:
    with Warehouse.open(target) as dst:
        dst.init()
    raw = warehouse.con.con
    raw.execute(f"ATTACH '{str(target).replace(chr(39), chr(39) * 2)}' AS _pht_out")
    try:
        raw.execute("BEGIN TRANSACTION")
        try:
            for t in tables:
                if t not in TABLES:
                    raw.execute(f'CREATE TABLE _pht_out."{t}" AS {_select(warehouse, t)} LIMIT 0')
                n = raw.execute(f'INSERT INTO _pht_out."{t}" {_select(warehouse, t)}').fetchone()
                report.rows[t] = int(n[0]) if n else 0
            raw.execute("COMMIT")
        except BaseException:
            raw.execute("ROLLBACK")
            raise
    finally:
        raw.execute("DETACH _pht_out")
