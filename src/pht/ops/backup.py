"""Backups of the app database and the registry warehouse, and a restore that checks them first.

A backup is one folder::

    pht-backup-20261202T141500Z/
        manifest.json      versions, schema versions, applied migrations, sha256 of every file
        app.sqlite3        the app database (SQLite online backup), or
        app.pgdump         the app database (pg_dump, custom format)
        warehouse.duckdb   a consistent snapshot of the warehouse (one file, no write-ahead log)

It is written into a hidden folder beside its final place and renamed at the end, so a half
backup never carries the final name. :func:`restore_backup` verifies every checksum and that the
backup's schema fits this pht before it changes anything; each part is then replaced in one step
(SQLite's backup API writes the target under its own lock, ``pg_restore --single-transaction``,
and the warehouse file by an atomic rename).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import subprocess  # nosec B404 - runs pg_dump/pg_restore with a fixed argument list, no shell
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb

from pht.core.errors import PhtError

__all__ = [
    "MANIFEST",
    "BackupReport",
    "RestoreReport",
    "create_backup",
    "default_backup_dir",
    "restore_backup",
    "verify_backup",
]

MANIFEST = "manifest.json"
FORMAT = 1
APP_SQLITE = "app.sqlite3"
APP_PGDUMP = "app.pgdump"
WAREHOUSE = "warehouse.duckdb"
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What :func:`create_backup` wrote."""

    path: Path
    files: dict[str, int]
    seconds: float


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """What :func:`restore_backup` restored."""

    path: Path
    restored: tuple[str, ...]
    migrated: tuple[str, ...] = field(default=())
    seconds: float = 0.0


def default_backup_dir(home: Path, now: dt.datetime | None = None) -> Path:
    """``$PHT_HOME/backups/pht-backup-<UTC time>``."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return home / "backups" / f"pht-backup-{stamp}"


# --- files ------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


# --- the warehouse ----------------------------------------------------------------------------


def _warehouse_schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    from pht.registry.warehouse import META_TABLE

    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if META_TABLE not in tables:
        return None
    row = con.execute(f"SELECT value FROM {META_TABLE} WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else None


def _snapshot_warehouse(source: Path, target: Path) -> int | None:
    """Copy the warehouse at *source* to *target* as one self-contained file.

    A read-only connection holds DuckDB's file lock while the bytes are copied, so no writer
    can change the file meanwhile. A write-ahead log left beside it is copied too and then
    folded into the copy (a checkpoint of the copy), so the backup is a single file.
    """
    wal = source.with_name(source.name + ".wal")
    try:
        con = duckdb.connect(str(source), read_only=True)
    except duckdb.Error as err:
        raise PhtError(f"cannot read the warehouse: {err}", where=str(source)) from None
    try:
        version = _warehouse_schema_version(con)
        shutil.copyfile(source, target)
        if wal.exists():
            shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    finally:
        con.close()
    if target.with_name(target.name + ".wal").exists():
        copy = duckdb.connect(str(target))
        try:
            copy.execute("CHECKPOINT")
        finally:
            copy.close()
    _fsync(target)
    return version


def _replace_warehouse(backup_file: Path, target: Path) -> None:
    """Put *backup_file* in place of the warehouse at *target* in one rename."""
    if target.exists():
        # Fold any write-ahead log into the file and make sure nobody else has it open: a
        # stale log beside the restored file would be replayed onto it.
        try:
            con = duckdb.connect(str(target))
        except duckdb.Error as err:
            raise PhtError(
                f"the warehouse is in use; stop what uses it before restoring ({err})",
                where=str(target),
            ) from None
        try:
            con.execute("CHECKPOINT")
        finally:
            con.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.restore-{os.getpid()}")
    try:
        shutil.copyfile(backup_file, staging)
        _fsync(staging)
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


# --- the app database -------------------------------------------------------------------------


def _app_connection() -> Any:
    from django.db import connection

    connection.ensure_connection()
    return connection


def _migrations_on_disk(connection: Any) -> set[tuple[str, str]]:
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection, ignore_no_migrations=True)
    return set(loader.disk_migrations)


def _migrations_applied(connection: Any) -> set[tuple[str, str]]:
    from django.db.migrations.recorder import MigrationRecorder

    return set(MigrationRecorder(connection).applied_migrations())


def _pg_tool(name: str) -> str:
    """The newest installed PostgreSQL client program *name* (pg_dump must not be older
    than the server)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return str(candidates[-1])
    found = shutil.which(name)
    if found:
        return found
    raise PhtError(f"{name} is not installed (Debian package postgresql-client)")


def _pg_args(settings: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    args = ["--dbname", str(settings["NAME"])]
    if settings.get("HOST"):
        args += ["--host", str(settings["HOST"])]
    if settings.get("PORT"):
        args += ["--port", str(settings["PORT"])]
    if settings.get("USER"):
        args += ["--username", str(settings["USER"])]
    env = dict(os.environ)
    if settings.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings["PASSWORD"])
    return args, env


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # nosec B603
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise PhtError(f"{what} failed: {lines[-1] if lines else done.returncode}")


def _backup_app_db(folder: Path) -> dict[str, Any]:
    connection = _app_connection()
    applied = sorted(_migrations_applied(connection))
    if connection.vendor == "sqlite":
        import sqlite3

        target = sqlite3.connect(folder / APP_SQLITE)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
        _fsync(folder / APP_SQLITE)
        return {"engine": "sqlite", "file": APP_SQLITE, "migrations": applied}
    if connection.vendor == "postgresql":
        args, env = _pg_args(connection.settings_dict)
        out = folder / APP_PGDUMP
        cmd = [_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
        _run([*cmd, "--file", str(out), *args], env, "pg_dump")
        _fsync(out)
        return {"engine": "postgresql", "file": APP_PGDUMP, "migrations": applied}
    raise PhtError(f"backups of a {connection.vendor} database are not supported")


def _check_app_db(manifest: dict[str, Any]) -> tuple[Any, set[tuple[str, str]]]:
    """The app connection and the migrations the code has that the backup lacks; refuses a
    backup of another engine or with migrations this pht does not know."""
    part = manifest["app_db"]
    connection = _app_connection()
    if part["engine"] != connection.vendor:
        raise PhtError(
            f"the backup holds a {part['engine']} database; this app runs on {connection.vendor}"
        )
    in_backup = {(a, n) for a, n in part["migrations"]}
    on_disk = _migrations_on_disk(connection)
    unknown = sorted(in_backup - on_disk)
    if unknown:
        names = ", ".join(f"{a}.{n}" for a, n in unknown[:5])
        raise PhtError(
            f"the backup was made by a newer pht: its database has migrations this pht does not "
            f"know ({names}{' …' if len(unknown) > 5 else ''}); restore it with that version"
        )
    return connection, on_disk - in_backup


def _restore_app_db(folder: Path, manifest: dict[str, Any], connection: Any) -> None:
    part = manifest["app_db"]
    if part["engine"] == "sqlite":
        import sqlite3

        source = sqlite3.connect(folder / part["file"])
        try:
            source.backup(connection.connection)
        finally:
            source.close()
    else:
        args, env = _pg_args(connection.settings_dict)
        connection.close()  # pg_restore --clean drops tables this connection may hold locks on
        cmd = [
            _pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
        ]
        _run([*cmd, *args, str(folder / part["file"])], env, "pg_restore")
    connection.close()


# --- backup and restore -----------------------------------------------------------------------


@contextmanager
def _staging(final: Path) -> Iterator[Path]:
    """A hidden folder beside *final*, renamed to *final* when the block succeeds."""
    if final.exists():
        raise PhtError("a backup with this name exists already", where=str(final))
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.with_name(f".{final.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
        os.replace(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def create_backup(
    out: str | Path, *, warehouse: str | Path | None = None, app_db: bool = True
) -> BackupReport:
    """Back up the app database (when *app_db*) and the warehouse at *warehouse* into *out*."""
    if not app_db and warehouse is None:
        raise PhtError("nothing to back up: neither the app database nor a warehouse")
    started = time.perf_counter()
    final = Path(out)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "versions": {
            "pht": _version("pht"),
            "python": platform.python_version(),
            "django": _version("django"),
            "duckdb": duckdb.__version__,
        },
    }
    with _staging(final) as folder:
        if app_db:
            manifest["app_db"] = _backup_app_db(folder)
        if warehouse is not None:
            source = Path(warehouse)
            if not source.exists():
                raise PhtError("no warehouse here", where=str(source))
            from pht.registry.schema import SCHEMA_VERSION

            version = _snapshot_warehouse(source, folder / WAREHOUSE)
            manifest["warehouse"] = {
                "file": WAREHOUSE,
                "schema_version": version,
                "written_by_schema": SCHEMA_VERSION,
            }
        files = sorted(p for p in folder.iterdir() if p.is_file())
        manifest["files"] = {
            p.name: {"sha256": _sha256(p), "bytes": p.stat().st_size} for p in files
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _fsync(folder / MANIFEST)
        sizes = {name: meta["bytes"] for name, meta in manifest["files"].items()}
    return BackupReport(final, sizes, time.perf_counter() - started)


def verify_backup(path: str | Path) -> dict[str, Any]:
    """The backup's manifest, after checking that every file is there with its checksum."""
    folder = Path(path)
    where = str(folder / MANIFEST)
    try:
        manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PhtError("not a pht backup: manifest.json is missing", where=str(folder)) from None
    except json.JSONDecodeError as err:
        raise PhtError(
            f"manifest.json is damaged: {err.msg}", where=f"{where}:{err.lineno}:{err.colno}"
        ) from None
    if manifest.get("format") != FORMAT:
        raise PhtError(f"backup format {manifest.get('format')!r}; this pht reads {FORMAT}")
    for name, meta in manifest.get("files", {}).items():
        file = folder / name
        if not file.exists():
            raise PhtError(f"{name} is missing from the backup", where=str(folder))
        found = _sha256(file)
        if found != meta["sha256"]:
            raise PhtError(
                f"{name}: checksum {found[:12]}… differs from the manifest's "
                f"{meta['sha256'][:12]}…: the backup is damaged",
                where=str(file),
            )
    for part in ("app_db", "warehouse"):
        if part in manifest and manifest[part]["file"] not in manifest.get("files", {}):
            raise PhtError(f"the manifest names no checksum for {manifest[part]['file']}")
    return manifest


def restore_backup(
    path: str | Path, *, warehouse: str | Path | None = None, app_db: bool = True
) -> RestoreReport:
    """Restore the backup at *path*: the app database (when *app_db* and the backup has one)
    and the warehouse to *warehouse* (when given and the backup has one).

    Every check runs before anything changes: checksums, the backup's format, the database
    engine, migrations this pht does not know, the warehouse's schema version.
    """
    started = time.perf_counter()
    folder = Path(path)
    manifest = verify_backup(folder)
    want_app = app_db and "app_db" in manifest
    want_wh = warehouse is not None and "warehouse" in manifest
    if app_db and "app_db" not in manifest and warehouse is None:
        raise PhtError("the backup holds no app database", where=str(folder))
    if warehouse is not None and "warehouse" not in manifest:
        raise PhtError("the backup holds no warehouse", where=str(folder))
    if want_wh:
        from pht.registry.schema import SCHEMA_VERSION

        version = manifest["warehouse"]["schema_version"]
        if version != SCHEMA_VERSION:
            raise PhtError(
                f"the backup's warehouse has schema version {version}; this pht reads "
                f"{SCHEMA_VERSION}",
                where=str(folder),
            )
    connection = None
    missing: set[tuple[str, str]] = set()
    if want_app:
        connection, missing = _check_app_db(manifest)
    restored: list[str] = []
    migrated: list[str] = []
    if want_wh:
        _replace_warehouse(folder / manifest["warehouse"]["file"], Path(str(warehouse)))
        restored.append("warehouse")
    if want_app:
        _restore_app_db(folder, manifest, connection)
        restored.append("app_db")
        if missing:
            from django.core.management import call_command

            call_command("migrate", interactive=False, verbosity=0)
            migrated = [f"{a}.{n}" for a, n in sorted(missing)]
    return RestoreReport(folder, tuple(restored), tuple(migrated), time.perf_counter() - started)
