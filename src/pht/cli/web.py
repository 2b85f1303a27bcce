"""``pht app``: the team's web app — load the analytics into its database, demo users, serve."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from pht.cli import app_call, app_clients
from pht.cli.output import Format, console, emit_rows
from pht.core.settings import get_settings

app = typer.Typer(no_args_is_help=True, add_completion=False)
app.add_typer(
    app_call.app,
    name="call",
    help="Change the call stored in the app database, as a pht user (--as), audited.",
)
app.add_typer(
    app_clients.app,
    name="clients",
    help="Systems calling the API (client credentials): add, list, revoke; audited.",
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def setup_django() -> None:
    """Configure Django for a command-line process and bring the app database up to date."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pht.app.project.settings")
    get_settings().home.mkdir(parents=True, exist_ok=True)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def load_warehouse(
    warehouse: Path, *, as_of: dt.date | None = None, names: Path | None = None
) -> Any:
    """Build the bundle from *warehouse* and load it into the app database; the summary."""
    setup_django()
    from pht.app.care.loading import load_bundle
    from pht.app.care.pipeline import bundle_from_warehouse, read_names
    from pht.app.dashboards import loading as leaders
    from pht.registry.warehouse import Warehouse

    with (
        console.status("Beregner arbeidslister, målgrupper og indikatorer …"),
        Warehouse.open(warehouse) as wh,
    ):
        bundle = bundle_from_warehouse(wh, as_of=as_of, names=read_names(names))
        with console.status("Beregner begge finansieringsmodeller og prosjektmidler …"):
            figures = leaders.compute(wh, leaders.financing_years(bundle.as_of))
    with console.status("Laster inn i appens database …"):
        summary = load_bundle(bundle)
        leaders.store(figures)
        return summary, bundle.as_of


def print_logins(
    logins: list[Any], *, fmt: Format = Format.TABLE, limit: int | None = None
) -> None:
    """The demo logins as a table."""
    rows = [
        {"username": x.username, "password": x.password, "role": x.role, "where": x.where}
        for x in logins
    ]
    emit_rows(rows if limit is None else rows[:limit], fmt=fmt, title="Demo logins")


@app.command("load", help="Load the analytics of a registry warehouse into the app database.")
def load(
    warehouse: Annotated[Path | None, typer.Option(help="Warehouse file.")] = None,
    as_of: Annotated[str | None, typer.Option(help="As-of date (default: latest data).")] = None,
    names: Annotated[
        Path | None, typer.Option(help="person_names file of a synthetic extract.")
    ] = None,
) -> None:
    """Load the analytics into the app."""
    path = warehouse or get_settings().warehouse
    day = dt.date.fromisoformat(as_of) if as_of else None
    summary, used = load_warehouse(path, as_of=day, names=names)
    console.print(
        f"[bold]pht app[/]: loaded as of {used}: {summary.patients} listed patients in "
        f"{summary.practices} practices, {summary.flagged} on worklists, "
        f"{summary.timeline} timeline events; {summary.recalls_closed} recalls closed by the data"
    )


@app.command("demo-users", help="Create demo users for every role and print their logins.")
def demo_users(fmt: Annotated[Format, typer.Option("--format")] = Format.TABLE) -> None:
    """Create the demo users."""
    setup_django()
    from pht.app.accounts.demo import create_demo_users

    print_logins(create_demo_users(), fmt=fmt)


@app.command("send-outbox", help="Send the outbox's due messages (SMS, e-mail, letters).")
def send_outbox(
    limit: Annotated[int | None, typer.Option(help="Send at most this many.")] = None,
) -> None:
    """Send every queued message that is due, each by its channel's configured sender."""
    setup_django()
    from pht.app.outbox.actions import send_pending

    s = send_pending(limit=limit)
    console.print(
        f"[bold]pht app[/]: outbox sent {s.sent}, to retry {s.retry}, failed {s.failed}, "
        f"interrupted {s.stale}"
    )
    for pk, why in s.failures:
        console.print(f"  #{pk}: {why}")


@app.command("serve", help="Serve the web app (gunicorn) on http://127.0.0.1:8000.")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port.")] = DEFAULT_PORT,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 0,
    threads: Annotated[int, typer.Option(help="Threads per worker.")] = 4,
) -> None:
    """Run the app under gunicorn until interrupted."""
    setup_django()
    serve_forever(host=host, port=port, workers=workers, threads=threads)


def gunicorn_args(*, bind: str, workers: int, threads: int) -> list[str]:
    """gunicorn's arguments for the app, the same for ``pht app serve`` and the benchmarks
    (``deploy/gunicorn.conf.py`` sets the same for a deployment).

    ``--preload``: the master imports and warms the app once (:mod:`pht.app.project.warmup`)
    and forks warm workers, so neither the first request nor a replaced worker waits seconds
    for the imports, templates and reference data.

    ``--keep-alive 75``: a browser (or the load bench) that talks to gunicorn directly keeps its
    connection between clicks; with gunicorn's default of 2 s the server closes it while the
    next request may already be on its way, and that request fails with "connection reset".
    75 s is nginx's own default. Behind the proxy of docs/deploy.md it does not matter: nginx
    opens a new upstream connection per request.
    """
    return [
        "pht.app.project.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--preload",
        "--keep-alive",
        "75",
        "--log-level",
        "warning",
    ]


def serve_forever(*, host: str, port: int, workers: int = 0, threads: int = 4) -> None:
    """Replace this process with gunicorn serving the app."""
    n = workers or max(2, (os.cpu_count() or 1) + 1)
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        *gunicorn_args(bind=f"{host}:{port}", workers=n, threads=threads),
        "--access-logfile",
        "-",
    ]
    console.print(f"[bold]pht app[/]: serving on http://{host}:{port}/ (Ctrl-C stops)")
    sys.stdout.flush()
    os.execv(sys.executable, args)
