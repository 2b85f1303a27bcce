"""``pht backup`` / ``pht restore``: backups of the app database and the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pht.cli.output import console
from pht.core.settings import get_settings


def _setup_django() -> None:
    from pht.cli.web import setup_django

    setup_django()


def backup(
    out: Annotated[
        Path | None,
        typer.Option(help="Folder to create (default: $PHT_HOME/backups/pht-backup-<UTC time>)."),
    ] = None,
    warehouse: Annotated[
        Path | None, typer.Option(help="Warehouse file (default: $PHT_WAREHOUSE).")
    ] = None,
    app_db: Annotated[bool, typer.Option("--app-db/--no-app-db", help="The app database.")] = True,
    include_warehouse: Annotated[
        bool, typer.Option("--warehouse-too/--no-warehouse", help="The warehouse.")
    ] = True,
) -> None:
    """Back up the app database and the warehouse into one folder with a manifest."""
    from pht.ops.backup import create_backup, default_backup_dir

    settings = get_settings()
    target = out or default_backup_dir(settings.home)
    wh = (warehouse or settings.warehouse) if include_warehouse else None
    if wh is not None and not Path(wh).exists() and warehouse is None:
        wh = None  # no warehouse made yet: back up the app database alone
    if app_db:
        _setup_django()
    report = create_backup(target, warehouse=wh, app_db=app_db)
    parts = ", ".join(f"{name} ({size:,} bytes)" for name, size in report.files.items())
    console.print(f"[bold]pht backup[/]: {report.path} in {report.seconds:.1f} s: {parts}")


def restore(
    path: Annotated[Path, typer.Argument(help="A backup folder made by `pht backup`.")],
    warehouse: Annotated[
        Path | None, typer.Option(help="Warehouse file to replace (default: $PHT_WAREHOUSE).")
    ] = None,
    app_db: Annotated[bool, typer.Option("--app-db/--no-app-db", help="The app database.")] = True,
    include_warehouse: Annotated[
        bool, typer.Option("--warehouse-too/--no-warehouse", help="The warehouse.")
    ] = True,
) -> None:
    """Check a backup (checksums, schema versions) and restore it; stop the app first."""
    from pht.ops.backup import restore_backup, verify_backup

    manifest = verify_backup(path)
    wh = (warehouse or get_settings().warehouse) if include_warehouse else None
    if wh is not None and "warehouse" not in manifest and warehouse is None:
        wh = None
    if app_db and "app_db" in manifest:
        _setup_django()
    report = restore_backup(path, warehouse=wh, app_db=app_db)
    line = f"[bold]pht restore[/]: {', '.join(report.restored)} from {report.path}"
    if report.migrated:
        line += f"; then applied {len(report.migrated)} newer migrations"
    console.print(f"{line} in {report.seconds:.1f} s")
