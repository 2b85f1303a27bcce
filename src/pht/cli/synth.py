"""``pht synth``: write synthetic registry data (the extract format) with a planted team effect."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from pht.cli.output import Format, console, emit_json, emit_rows
from pht.synth import generate

app = typer.Typer(no_args_is_help=False, invoke_without_command=True)


class _RichProgress:
    """Shows each stage of the generator as its own progress bar."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def stage(self, name: str, total: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[-1].total)
        self.task = self.progress.add_task(name, total=total)

    def advance(self, steps: int = 1) -> None:
        if self.task is not None:
            self.progress.advance(self.task, steps)


@app.callback(invoke_without_command=True)
def synth(
    scenario: Annotated[
        str,
        typer.Option(
            "--scenario",
            "-s",
            help="pilot (17 pilot + comparison practices), national, or panel (small, stylised).",
        ),
    ] = "pilot",
    years: Annotated[
        str, typer.Option("--years", "-y", help="Years, e.g. 2015-2023.")
    ] = "2015-2023",
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same files.")] = 1,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder to write the tables into.")
    ] = Path("var/synth"),
    persons: Annotated[
        int | None,
        typer.Option("--persons", "-n", help="Listed persons (scales the scenario down)."),
    ] = None,
    file_format: Annotated[
        str, typer.Option("--format", help="File format of the tables: parquet or csv.")
    ] = "parquet",
    effects: Annotated[
        str,
        typer.Option(
            "--effects",
            help="Planted effects: published (the published findings) or power (larger).",
        ),
    ] = "published",
    report: Annotated[Format, typer.Option("--report", help="Summary format.")] = Format.TABLE,
) -> None:
    """Generate a synthetic registry extract (every table, manifest.json and truth/)."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=report is not Format.TABLE,
    ) as bar:
        result = generate(
            scenario,
            years,
            seed,
            out,
            persons=persons,
            fmt=file_format,
            progress=_RichProgress(bar),
            effects=effects,
        )
    if report is Format.JSON:
        emit_json(
            {"out": str(result.out), "rows": result.rows, "effects": result.manifest["effects"]}
        )
        return
    emit_rows(
        [{"table": t, "rows": n} for t, n in result.rows.items()],
        fmt=report,
        title=(
            f"{result.scenario} {result.years[0]}-{result.years[1]}, "
            f"seed {result.seed} -> {result.out}"
        ),
    )
