"""The ``pht`` command. Each sub-command is a thin call into a room; no logic lives here."""

from __future__ import annotations

from typing import Annotated

import typer

from pht.cli import app as app_cli
from pht.cli import call as call_cli
from pht.cli import evaluate as evaluate_cli
from pht.cli import finance, pilot, registry
from pht.cli import ops as ops_cli
from pht.cli import pipeline as pipeline_cli
from pht.cli import population as population_cli
from pht.cli import synth as synth_cli
from pht.cli.main_job import run_main_job
from pht.cli.output import err_console
from pht.core.errors import PhtError

__all__ = ["app", "main"]

app = typer.Typer(
    name="pht",
    help="pht: primary health teams in Norwegian GP practices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _process(
    tune_memory: Annotated[
        bool,
        typer.Option(
            "--tune-memory/--no-tune-memory",
            help="Tune this process's memory use for large arrays (glibc, numpy, Arrow).",
        ),
    ] = True,
) -> None:
    """pht: primary health teams in Norwegian GP practices."""
    if tune_memory:
        from pht.tuning import tune_process

        tune_process()


app.add_typer(registry.app, name="registry", help="The registry warehouse: create, inspect, load.")
app.add_typer(pilot.app, name="pilot", help="The 2018 pilot as reference data: practices, funds.")
app.add_typer(
    population_cli.app, name="population", help="Target groups, frailty, risk, worklists."
)
app.add_typer(finance.app, name="finance", help="Financing: both models, what-if, roll-out.")
app.add_typer(call_cli.app, name="call", help="The national call: applications to payments.")
app.add_typer(
    synth_cli.app, name="synth", help="Synthetic registry data with a planted team effect."
)
app.add_typer(
    app_cli.app, name="app", help="The team's web app: load analytics, demo users, serve."
)
app.add_typer(
    evaluate_cli.app, name="evaluate", help="Evaluation: indicators, DiD, the published report."
)
app.add_typer(
    pipeline_cli.app, name="pipeline", help="The pipeline on DuckDB or Spark; Parquet export."
)
app.command("backup", help="Back up the app database and the warehouse, with a manifest.")(
    ops_cli.backup
)
app.command("restore", help="Check a backup and restore it (app database, warehouse).")(
    ops_cli.restore
)
app.command(
    "run", help="The main job: synthetic pilot, analytics, app database, demo users, serve."
)(run_main_job)


def main() -> None:
    """Entry point: run the app; a user's error prints one clear line and exits with 2."""
    try:
        app()
    except PhtError as err:
        err_console.print(f"[bold red]error:[/] {err}")
        raise SystemExit(2) from None
