"""The main job behind ``make run``: the synthetic pilot, end to end, served in the browser.

1. generate the synthetic 2018 pilot (pilot and comparison practices) into ``$PHT_HOME/synth``
   (kept: the same scenario, years, seed and size are not generated twice);
2. load it into the registry warehouse (``$PHT_WAREHOUSE``);
3. run the population analytics and load the results into the app database
   (SQLite in ``$PHT_HOME/app.sqlite3``, or ``DATABASE_URL``);
4. create demo users for every role and print the logins of the first practice, its
   municipality and the directorate (all of them: ``pht app demo-users``);
5. serve the app on http://127.0.0.1:8000 (``--no-serve`` stops after step 4).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from pht.cli.output import Format, console, emit_rows
from pht.core.errors import PhtError
from pht.core.settings import get_settings
from pht.registry.warehouse import Warehouse

SCENARIO = "pilot"
DEFAULT_YEARS = "2016-2023"
DEFAULT_SEED = 2018


class _Bar:
    """The generator's stages as progress bars."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: object | None = None

    def stage(self, name: str, total: int) -> None:
        self.task = self.progress.add_task(name, total=total)

    def advance(self, steps: int = 1) -> None:
        if self.task is not None:
            self.progress.advance(self.task, steps)  # type: ignore[arg-type]


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def _generate(out: Path, *, years: str, seed: int, persons: int | None) -> str:
    """Generate the pilot into *out* unless the same one is there; its fingerprint."""
    from pht.synth import GENERATOR_VERSION, generate

    # the generator's identity too: a changed generator makes the pilot anew
    wanted = _fingerprint(SCENARIO, years, seed, persons, GENERATOR_VERSION)
    stamp = out / ".pht-run"
    if stamp.exists() and stamp.read_text() == wanted and (out / "manifest.json").exists():
        console.print(f"[bold]1/5[/] synthetic pilot already in {out}")
        return wanted
    console.print(f"[bold]1/5[/] generating the synthetic pilot ({years}, seed {seed}) …")
    with Progress(
        TextColumn("  {task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        generate(SCENARIO, years, seed, out, persons=persons, progress=_Bar(bar))
    stamp.write_text(wanted)
    return wanted


def _load_registry(warehouse: Path, extract: Path, fingerprint: str) -> None:
    """Load the extract into the warehouse unless this one was loaded already."""
    from pht.registry.load import load_extract

    stamp = warehouse.with_suffix(".loaded")
    if stamp.exists() and stamp.read_text() == fingerprint:
        console.print(f"[bold]2/5[/] registry warehouse {warehouse} already holds it")
        return
    console.print(f"[bold]2/5[/] loading the extract into the warehouse {warehouse} …")
    with console.status("  validating and loading …"), Warehouse.open(warehouse) as wh:
        wh.init()
        report = load_extract(wh, extract)
    if not report.imported:
        problems = report.validation.problems[:5]
        raise PhtError(
            "the synthetic extract did not load: "
            + "; ".join(f"{p.file}:{p.line} {p.column} {p.reason}" for p in problems)
        )
    stamp.write_text(fingerprint)


def run_main_job(
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the app when done.")
    ] = True,
    years: Annotated[str, typer.Option(help="Years of synthetic data.")] = DEFAULT_YEARS,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")] = DEFAULT_SEED,
    persons: Annotated[
        int | None, typer.Option(help="Listed persons (default: the pilot's real size).")
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
) -> None:
    """Build the synthetic pilot, run the analytics, load the app, create users, serve."""
    from pht.cli.web import load_warehouse, print_logins, serve_forever, setup_django

    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    extract = settings.home / "synth"
    fingerprint = _generate(extract, years=years, seed=seed, persons=persons)
    _load_registry(settings.warehouse, extract, fingerprint)

    console.print("[bold]3/5[/] running the population analytics and loading the app …")
    # the synthetic pilot's patients have made-up phone numbers and e-mail addresses, so the
    # demo's recalls and surveys can go by SMS and e-mail too (refused when PHT_ENV=production)
    os.environ.setdefault("PHT_SURVEY_CONTACTS", "synthetic")
    setup_django()
    from pht.app.care.models import LoadRun

    source = f"warehouse {settings.warehouse}"
    done = LoadRun.objects.filter(source=source).first()
    stamp = settings.warehouse.with_suffix(".app")
    if done is not None and stamp.exists() and stamp.read_text() == fingerprint:
        console.print(f"  the app already holds the analytics as of {done.as_of}")
    else:
        summary, as_of = load_warehouse(settings.warehouse, names=extract / "person_names.parquet")
        stamp.write_text(fingerprint)
        emit_rows(
            [
                {"what": "as of", "value": str(as_of)},
                {"what": "practices in the scheme", "value": summary.practices},
                {"what": "listed patients", "value": summary.patients},
                {"what": "on worklists", "value": summary.flagged},
                {"what": "timeline events", "value": summary.timeline},
            ],
            fmt=Format.TABLE,
            title="Loaded into the app",
        )

    console.print("[bold]4/5[/] demo users")
    from pht.app.accounts.demo import create_demo_users

    logins = create_demo_users()
    shown = [x for x in logins if x.username.endswith("-01") or "-" not in x.username]
    print_logins(shown)
    console.print(
        f"  … {len(logins)} demo users in all (every practice and municipality): "
        "[bold]pht app demo-users[/]"
    )
    from pht.app.care.demo import load_demo_recalls

    recalls = load_demo_recalls()
    if not recalls.skipped:
        console.print(
            f"  recalls: {recalls.recalls} overdue diabetes checks recalled, {recalls.invited} "
            f"invited by letter, {recalls.checked} checks recorded (their recalls closed), on "
            "the data's date: see /recalls/ as a health secretary"
        )
    from pht.app.call.demo import load_demo_call

    load_demo_call()
    console.print(
        "  the 2017 call with its 17 demo applications: log in as [bold]saksbehandler[/] "
        "(second officer for four eyes: [bold]saksbehandler-2[/]) and open /call/"
    )
    from pht.app.surveys.demo import load_demo_surveys
    from pht.registry.warehouse import Warehouse

    with Warehouse.open(settings.warehouse) as wh:
        surveys = load_demo_surveys(warehouse=wh)
    if not surveys.skipped:
        console.print(
            f"  patient surveys: {surveys.invitations} invitations sent ({surveys.reminders} "
            f"reminders), {surveys.answered} answered, {surveys.warehouse_rows} rows to the "
            f"warehouse ({surveys.batch}); messages in {settings.home / 'outbox'}, see /surveys/"
        )
    if serve:
        console.print(f"[bold]5/5[/] open [bold]http://{host}:{port}/[/] and log in")
        serve_forever(host=host, port=port)
