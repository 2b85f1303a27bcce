"""``pht registry``: create and inspect the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pht.cli.output import Format, console, emit_json, emit_rows
from pht.core.settings import get_settings
from pht.registry.warehouse import Warehouse

app = typer.Typer(no_args_is_help=True)

WarehouseOption = Annotated[
    Path | None,
    typer.Option("--warehouse", "-w", help="Warehouse file (default: $PHT_WAREHOUSE)."),
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


def warehouse_path(path: Path | None) -> Path:
    """The warehouse file to use: the option, else the settings."""
    return path or get_settings().warehouse


@app.command("init", help="Create the warehouse tables (idempotent) and record the schema version.")
def init(warehouse: WarehouseOption = None) -> None:
    path = warehouse_path(warehouse)
    with Warehouse.open(path) as wh:
        created = wh.init()
        version = wh.schema_version()
    state = "created" if created else "already up to date"
    console.print(f"warehouse {path}: {state} (schema version {version})")


@app.command("info", help="Show the warehouse's schema version and rows per table.")
def info(warehouse: WarehouseOption = None, fmt: FormatOption = Format.TABLE) -> None:
    path = warehouse_path(warehouse)
    with Warehouse.open(path, read_only=True) as wh:
        wh.require_initialised()
        data = wh.info()
    rows = [{"table": t.name, "rows": t.rows} for t in data.tables]
    if fmt is Format.JSON:
        emit_json(
            {
                "path": data.path,
                "schema_version": data.schema_version,
                "created": data.created,
                "tables": {t.name: t.rows for t in data.tables},
            }
        )
        return
    emit_rows(
        rows,
        fmt=fmt,
        title=f"{data.path} — schema version {data.schema_version}, created {data.created}",
    )
