"""Who may do what: the permission table and the one function that applies it.

The table (``data/permissions.toml``, reference data with status and sources) says per action
which role may do it: ``yes``, ``no`` or ``grant`` (only where the practice has granted it to the
role, :class:`~pht.app.accounts.models.PracticeGrant`). :func:`allowed` answers the question for a
user (and, for a system client, the scopes of its token); :func:`require` raises and audits the
refusal; :func:`permission_required` is the decorator of pages. Pages, the API, the actions and
the command line all ask here, so a rule is changed in one place.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, wraps
from importlib import resources
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from pht.core.errors import ReferenceDataError

F = TypeVar("F", bound=Callable[..., HttpResponse])


class Action(StrEnum):
    """What a user may be allowed to do (the rows of the permission table)."""

    VIEW_WORKLIST = "worklist.view"
    VIEW_TASKS = "tasks.view"
    VIEW_PATIENT = "patient.view"
    CREATE_TASK = "task.create"
    ASSIGN_TASK = "task.assign"
    COMPLETE_TASK = "task.complete"
    INVITE = "task.invite"
    VIEW_CLINICAL = "clinical.view"
    SAVE_PLAN = "plan.save"
    LOG_ACTIVITY = "activity.log"
    VIEW_AUDIT = "audit.view"
    GRANT = "access.grant"
    MANAGE_CLIENTS = "clients.manage"
    LOAD_EXTRACTS = "extracts.load"
    VIEW_DASHBOARD = "dashboard.view"
    CALL_APPLY = "call.apply"
    CALL_ASSESS = "call.assess"


YES, NO, GRANT = "yes", "no", "grant"


@dataclass(frozen=True)
class Rule:
    """One row of the table: the value per role, its status and sources."""

    action: Action
    by_role: dict[str, str]
    status: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Scope:
    """An OAuth 2.0 scope of system clients and the actions it allows."""

    name: str
    actions: frozenset[Action]
    description: str


@dataclass(frozen=True)
class Table:
    """The permission table."""

    roles: tuple[str, ...]
    rules: dict[Action, Rule]
    scopes: dict[str, Scope]

    def value(self, role: str, action: Action) -> str:
        """``yes``, ``no`` or ``grant`` for *role* and *action* (``no`` for an unknown role)."""
        return self.rules[action].by_role.get(role, NO)


@cache
def table() -> Table:
    """The permission table, read and checked once."""
    name = "permissions.toml"
    try:
        text = (resources.files("pht.app.accounts") / "data" / name).read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ReferenceDataError(f"cannot read the permission table: {err}", where=name) from None
    roles = tuple(raw["roles"])
    rules: dict[Action, Rule] = {}
    for key, row in raw["actions"].items():
        try:
            action = Action(key)
        except ValueError:
            raise ReferenceDataError(f"unknown action {key!r}", where=name) from None
        values = row["roles"]
        if len(values) != len(roles) or set(values) - {YES, NO, GRANT}:
            raise ReferenceDataError(f"row {key!r}: one of yes/no/grant per role", where=name)
        if row.get("status") not in {"C", "D", "A"} or not row.get("sources"):
            raise ReferenceDataError(f"row {key!r} needs a status and sources", where=name)
        rules[action] = Rule(
            action, dict(zip(roles, values, strict=True)), row["status"], tuple(row["sources"])
        )
    missing = set(Action) - set(rules)
    if missing:
        raise ReferenceDataError(f"no row for {sorted(missing)}", where=name)
    scopes = {
        scope: Scope(scope, frozenset(Action(a) for a in row["actions"]), row["description"])
        for scope, row in raw["scopes"].items()
    }
    return Table(roles, rules, scopes)


def scopes() -> dict[str, str]:
    """The system clients' scopes with their descriptions (for the OAuth server's settings)."""
    return {name: s.description for name, s in table().scopes.items()}


def _granted(practice_id: Any, role: str, action: Action) -> bool:
    from pht.app.accounts.models import PracticeGrant

    return PracticeGrant.objects.filter(practice_id=practice_id, role=role, action=action).exists()


def allowed(
    user: Any,
    action: Action,
    *,
    practice_id: Any = None,
    token_scopes: Iterable[str] | None = None,
) -> bool:
    """Whether *user* may do *action* (in *practice_id*, when it concerns a practice's data).

    A user with a practice role acts in their own practice only; ``grant`` in the table holds
    when the user's practice has granted it to the role. A system client (role ``system``) may
    do only what the scopes of its token allow (*token_scopes*; None outside the API: what the
    client was registered for, see :class:`~pht.app.accounts.models.SystemClient`).
    """
    from pht.app.accounts.access import profile_of

    if user is None or not user.is_authenticated or not user.is_active:
        return False
    profile = profile_of(user)
    if profile is None:
        return False
    if practice_id is not None and str(profile.practice_id) != str(practice_id):
        return False
    value = table().value(profile.role, action)
    if value == GRANT:
        return profile.practice_id is not None and _granted(
            profile.practice_id, profile.role, action
        )
    if value != YES:
        return False
    if profile.role == "system":
        client = getattr(user, "system_client", None)
        if client is None or not client.active:
            return False
        granted = set(client.scope_list())
        if token_scopes is not None:
            granted &= set(token_scopes)
        return any(action in table().scopes[s].actions for s in granted if s in table().scopes)
    return True


def token_scopes_of(request: HttpRequest | None) -> list[str] | None:
    """The scopes of the OAuth token the request was authenticated with (None for a session)."""
    token = getattr(request, "oauth_token", None) if request is not None else None
    return None if token is None else token.scope.split()


def require(
    user: Any,
    action: Action,
    *,
    practice_id: Any = None,
    request: HttpRequest | None = None,
    patient: Any = None,
    what: dict[str, Any] | None = None,
) -> None:
    """Raise :class:`PermissionDenied` unless :func:`allowed`; the refusal is audited."""
    if allowed(user, action, practice_id=practice_id, token_scopes=token_scopes_of(request)):
        return
    from pht.app.audit.log import record_denied

    record_denied(
        user=user,
        request=request,
        patient=patient,
        detail={"action": str(action), **(what or {})},
    )
    if request is not None:
        request._pht_denied_audited = True  # type: ignore[attr-defined]
    raise PermissionDenied(str(action))


def permission_required(action: Action) -> Callable[[F], F]:
    """Decorator of a page: signed in and :func:`allowed` to do *action*, else 403 (audited)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            require(request.user, action, request=request, what={"view": view.__name__})
            return view(request, *args, **kwargs)

        return login_required(wrapper)  # type: ignore[return-value]

    return decorator
