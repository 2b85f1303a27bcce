"""The ``pht`` command. Each sub-command is a thin call into a room; no logic lives here."""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Annotated

import typer

from pht.cli.output import err_console
from pht.core.errors import PhtError

__all__ = ["COMMANDS", "build", "main"]

# Every sub-command: (name, module, attribute, help); a Typer attribute is a group of commands,
# a function a single command. The table lets `pht X` import only X's module (the rooms behind
# the others pull in pandas, statsmodels, altair, scipy and ibis: seconds of start-up).
COMMANDS: tuple[tuple[str, str, str, str], ...] = (
    ("registry", "registry", "app", "The registry warehouse: create, inspect, load."),
    ("pilot", "pilot", "app", "The 2018 pilot as reference data: practices, funds."),
    ("population", "population", "app", "Target groups, frailty, risk, worklists."),
    ("finance", "finance", "app", "Financing: both models, what-if, roll-out."),
    ("call", "call", "app", "The national call: applications to payments."),
    ("synth", "synth", "app", "Synthetic registry data with a planted team effect."),
    ("app", "web", "app", "The team's web app: load analytics, demo users, serve."),
    ("evaluate", "evaluate", "app", "Evaluation: indicators, DiD, the published report."),
    ("pipeline", "pipeline", "app", "The pipeline on DuckDB or Spark; Parquet export."),
    ("backup", "ops", "backup", "Back up the app database and the warehouse, with a manifest."),
    ("restore", "ops", "restore", "Check a backup and restore it (app database, warehouse)."),
    (
        "run",
        "main_job",
        "run_main_job",
        "The main job: synthetic pilot, analytics, app database, demo users, serve.",
    ),
)


def _tune(
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


def build(only: str | None = None) -> typer.Typer:
    """The ``pht`` command with every sub-command, or only *only* when it names one."""
    cli = typer.Typer(
        name="pht",
        help="pht: primary health teams in Norwegian GP practices.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    cli.callback()(_tune)
    for name, module, attribute, text in COMMANDS:
        if only is not None and name != only:
            continue
        target = getattr(import_module(f"pht.cli.{module}"), attribute)
        if isinstance(target, typer.Typer):
            cli.add_typer(target, name=name, help=text)
        else:
            cli.command(name, help=text)(target)
    return cli


def __getattr__(name: str) -> typer.Typer:
    # ``from pht.cli import app``: the whole command, built on first use
    if name == "app":
        built = build()
        globals()["app"] = built
        return built
    raise AttributeError(name)


def _invoked(argv: list[str]) -> str | None:
    """The sub-command *argv* names (its first word that is not an option), if it is one."""
    names = {c[0] for c in COMMANDS}
    for word in argv:
        if word.startswith("-"):
            continue
        return word if word in names else None
    return None


def main() -> None:
    """Entry point: run the app; a user's error prints one clear line and exits with 2."""
    try:
        build(_invoked(sys.argv[1:]))()
    except PhtError as err:
        err_console.print(f"[bold red]error:[/] {err}")
        raise SystemExit(2) from None
