"""``pht registry``: create and inspect the warehouse; load, export and pseudonymise data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pht.cli.output import Format, console, emit_json, emit_rows
from pht.core.settings import get_settings
from pht.registry.load import Problem, ValidationReport, load_extract
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


def _problem_rows(problems: list[Problem]) -> list[dict[str, object]]:
    return [
        {"sted": f"{p.file}:{p.line}:{p.column}", "verdi": p.value, "årsak": p.reason}
        for p in problems
    ]


def _print_validation(report: ValidationReport, *, limit: int = 200) -> None:
    for note in report.notes:
        console.print(f"[yellow]merk:[/] {note}")
    if report.ok:
        return
    rows = _problem_rows(report.problems[:limit])
    emit_rows(rows, fmt=Format.TABLE, title=f"{report.problem_count} feil i uttrekket")
    if report.problem_count > limit:
        console.print(
            f"… og {report.problem_count - limit} til (alle med --format json, "
            "eller --accept-valid skriver avviste rader til en egen fil)"
        )


@app.command("load", help="Validate and load an extract (folder or file of CSV/Parquet tables).")
def load(
    path: Annotated[Path, typer.Argument(help="Folder with <table>.csv/.parquet, or one file.")],
    warehouse: WarehouseOption = None,
    fmt: FormatOption = Format.TABLE,
    accept_valid: Annotated[
        bool, typer.Option("--accept-valid", help="Load the valid rows; write the rest aside.")
    ] = False,
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="Side file for rejected rows (CSV).")
    ] = None,
) -> None:
    target = warehouse_path(warehouse)
    with Warehouse.open(target) as wh:
        wh.init()
        result = load_extract(wh, path, accept_valid=accept_valid, rejects_path=rejects)
    if fmt is Format.JSON:
        emit_json(result.as_dict())
    else:
        _print_validation(result.validation)
        if result.imported:
            rows = [{"tabell": t, "rader": n} for t, n in result.written.items()]
            emit_rows(rows, fmt=fmt, title=f"lastet inn i {target}")
            for table, (first, last) in result.replaced_periods.items():
                console.print(f"{table}: perioden {first} – {last} er erstattet")
            if result.rejects_path:
                console.print(f"avviste rader med årsak: {result.rejects_path}")
        else:
            console.print(
                "[bold red]ingenting er lastet inn[/] (rett feilene, eller bruk --accept-valid)"
            )
    if not result.imported:
        raise typer.Exit(1)
