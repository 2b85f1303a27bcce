"""``pht app clients``: register, list and revoke the systems that call the API.

Each change goes through :mod:`pht.app.accounts.actions` and is audited there. With ``--as`` the
change is made as that pht user (a superuser, or the practice's team lead: ``clients.manage``
in the permission table; anyone else is refused and the refusal audited); without it, as the
server's operator, recorded as ``os:<operating-system user>`` (whoever runs ``pht`` on the
server holds the app database already, as ``manage.py`` does). A new client's secret is printed
once and stored only hashed.
"""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer

from pht.cli.output import Format, console, emit_json, emit_rows
from pht.core.errors import PhtError

app = typer.Typer(no_args_is_help=True, add_completion=False)

AsOption = Annotated[
    str | None,
    typer.Option("--as", help="pht user making the change (default: the OS user, as operator)."),
]


def _setup() -> None:
    from pht.app.audit.cli import _setup as setup

    setup()


def _actor(as_user: str | None, command: str) -> tuple[Any, str, dict[str, str]]:
    """The pht user of ``--as`` (None: the operator), the name to audit, and the detail every
    entry of the command carries."""
    from django.contrib.auth import get_user_model

    from pht.app.audit.log import record_denied

    os_user = getpass.getuser()
    info = {"cli": f"pht app clients {command}", "os_user": os_user}
    if not as_user:
        return None, f"os:{os_user}", info
    user = get_user_model().objects.filter(username=as_user, is_active=True).first()
    if user is None:
        record_denied(
            user=None, request=None, username=as_user, detail={**info, "action": "clients.manage"}
        )
        raise PhtError(f"no active pht user {as_user!r}", where="--as")
    return user, "", info


def _run(as_user: str | None, command: str, change: Any) -> Any:
    """Run *change(user, by)* with the actor; a refusal by the permission table is a PhtError."""
    from django.core.exceptions import PermissionDenied

    from pht.app.audit.log import via

    user, by, info = _actor(as_user, command)
    try:
        with via(**info):
            return change(user, by)
    except PermissionDenied:
        raise PhtError(
            f"{as_user} may not manage this practice's systems (clients.manage)", where="--as"
        ) from None


@app.command("add", help="Register a system for a practice with scopes; prints its secret once.")
def add(
    name: Annotated[str, typer.Argument(help="The system's name (1–64 of a-z 0-9 . _ -).")],
    practice: Annotated[str, typer.Option("--practice", "-p", help="Organisation number.")],
    scope: Annotated[
        list[str],
        typer.Option("--scope", "-s", help="worklist:read, tasks:write, extracts:load (repeat)."),
    ],
    as_user: AsOption = None,
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.TABLE,
) -> None:
    _setup()
    from pht.app.accounts.actions import do_create_system_client
    from pht.app.accounts.models import Practice

    target = Practice.objects.filter(pk=practice).first()
    if target is None:
        raise PhtError("no such practice in the app database", where=practice)
    scopes = [s for value in scope for s in value.replace(",", " ").split()]
    new = _run(
        as_user,
        "add",
        lambda user, by: do_create_system_client(
            name=name, practice=target, scopes=scopes, by=by, user=user
        ),
    )
    out = {
        "name": new.client.name,
        "practice": target.pk,
        "scopes": new.client.scope_list(),
        "client_id": new.client_id,
        "client_secret": new.client_secret,
    }
    if fmt is Format.JSON:
        emit_json(out)
        return
    console.print(
        f"[bold]registered {new.client.name}[/] for {target.name} ({target.pk}): "
        f"{', '.join(out['scopes'])}\n"
        f"client_id     {new.client_id}\n"
        f"client_secret {new.client_secret}\n"
        "The secret is shown only now (it is stored hashed): hand it over securely."
    )


@app.command("list", help="The registered systems (of one practice with --practice).")
def list_cmd(
    practice: Annotated[
        str | None, typer.Option("--practice", "-p", help="Only this practice.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.TABLE,
) -> None:
    _setup()
    from pht.app.accounts.models import SystemClient

    clients = SystemClient.objects.select_related("practice").order_by("name")
    if practice:
        clients = clients.filter(practice_id=practice)
    rows = [
        {
            "name": c.name,
            "practice": c.practice_id,
            "scopes": " ".join(c.scope_list()),
            "active": c.active,
            "created": c.created_at.date().isoformat(),
            "revoked": c.revoked_at.date().isoformat() if c.revoked_at else None,
        }
        for c in clients
    ]
    emit_rows(rows, fmt=fmt, title="Systems (OAuth 2.0 client credentials)")


@app.command("revoke", help="Revoke a system: its tokens stop working at once.")
def revoke(
    name: Annotated[str, typer.Argument(help="The system's name.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (audited).")],
    as_user: AsOption = None,
) -> None:
    _setup()
    from pht.app.accounts.actions import do_revoke_system_client

    _run(
        as_user,
        "revoke",
        lambda user, by: do_revoke_system_client(name=name, reason=reason, by=by, user=user),
    )
    console.print(f"revoked {name}: its tokens are deleted and it gets no new ones")
