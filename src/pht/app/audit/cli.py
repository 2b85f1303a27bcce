"""Audit entries for the command line: who ran a command that shows or exports patient data.

The user is the pht user named by ``--as`` (then the permission table applies to them, as on
the pages) or else the operating-system user running the command. An export needs a purpose.
The entry is written in the same transaction as whatever the caller does inside
:func:`audited` (an export file is written there, so a failed write leaves no entry claiming it).
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pht.core.errors import PhtError


def _setup() -> None:
    """Django for a command-line process (already set up when the app itself runs)."""
    from django.apps import apps

    if not apps.ready:
        from pht.cli.web import setup_django

        setup_django()


@contextmanager
def audited(
    *,
    action: str,
    practice_id: str,
    as_user: str | None,
    purpose: str = "",
    purpose_required: bool = False,
    detail: dict[str, Any] | None = None,
) -> Iterator[None]:
    """Check and audit a command-line access to *practice_id*'s patient data (see module)."""
    if purpose_required and not purpose.strip():
        raise PhtError("say why the data are exported: --purpose TEXT", where="--purpose")
    _setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from pht.app.accounts.permissions import Action, allowed
    from pht.app.audit.log import record, record_denied
    from pht.app.audit.models import AuditAction

    os_user = getpass.getuser()
    user = None
    if as_user:
        user = get_user_model().objects.filter(username=as_user, is_active=True).first()
        if user is None:
            raise PhtError(f"no active pht user {as_user!r}", where="--as")
        if not allowed(user, Action.VIEW_WORKLIST, practice_id=practice_id):
            record_denied(
                user=user,
                request=None,
                detail={"cli": action, "practice": practice_id, "os_user": os_user},
            )
            raise PhtError(f"{as_user} may not see the patients of {practice_id}", where="--as")
    info = {"cli": True, "practice": practice_id, "os_user": os_user, **(detail or {})}
    with transaction.atomic():
        record(
            user=user,
            username=f"os:{os_user}",
            action=AuditAction(action),
            reason=(purpose or "kommandolinjen")[:200],
            detail=info,
            practice_id=practice_id,
        )
        yield


@contextmanager
def acting(*, as_user: str | None, action: Any, command: str) -> Iterator[Any]:
    """The pht user a command that changes the app's data acts as, checked and audited.

    The user is the active pht user named by *as_user*, or else the one whose user name is the
    operating-system user's (``getpass.getuser()``). Nobody by that name, or a user the
    permission table does not allow *action* (:func:`pht.app.accounts.permissions.allowed`),
    is refused with an ``access.denied`` entry saying what was tried. Inside the block every
    audit entry (the actions write their own, in their own transaction) also records the
    command and the operating-system user (:func:`pht.app.audit.log.via`).
    """
    _setup()
    from django.contrib.auth import get_user_model

    from pht.app.accounts.access import profile_of
    from pht.app.accounts.permissions import allowed
    from pht.app.audit.log import record_denied, via

    os_user = getpass.getuser()
    name = as_user or os_user
    info = {"cli": command, "os_user": os_user}
    user = get_user_model().objects.filter(username=name, is_active=True).first()
    if user is None:
        record_denied(
            user=None,
            request=None,
            username=name if as_user else f"os:{os_user}",
            detail={**info, "action": str(action), "as": name},
        )
        raise PhtError(
            f"no active pht user {name!r}" + ("" if as_user else ": name one with --as"),
            where="--as",
        )
    if not allowed(user, action):
        record_denied(user=user, request=None, detail={**info, "action": str(action)})
        profile = profile_of(user)
        role = profile.role if profile is not None else "no role"
        raise PhtError(f"{name} ({role}) may not do {action}", where="--as")
    with via(**info):
        yield user
