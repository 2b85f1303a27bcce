"""Changes to who may do what, each audited in the same transaction.

* :func:`do_create_system_client` registers a system (client credentials) for one practice
  and the scopes it may ask for; the client secret is shown once, stored only hashed.
* :func:`do_revoke_system_client` revokes it: inactive, its tokens deleted, refused from then on.
  Both are done by a superuser or the practice's team lead (``clients.manage``; a refusal is
  audited), or by the operator on the server's command line (``pht app clients``).
* :func:`do_grant` / :func:`do_revoke_grant`: the team lead grants (or takes back) what the
  permission table leaves to the practice (``grant``), e.g. clinical notes for the psychologist.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken

from pht.app.accounts.models import SYSTEM_ROLE, Practice, PracticeGrant, Profile, SystemClient
from pht.app.accounts.permissions import GRANT, Action, allowed, require, table
from pht.app.audit.log import record
from pht.app.audit.models import AuditAction
from pht.core.errors import PhtError

#: A system's name: it is also the source of the load batches it writes (the registry's source
#: names, :data:`pht.registry.batches.SOURCE_FORM`), so the same form.
CLIENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")


@dataclass(frozen=True)
class NewClient:
    """A registered system: its record and the credentials to give its owner (once)."""

    client: SystemClient
    client_id: str
    client_secret: str


def may_manage_clients(user: Any, practice_id: Any) -> bool:
    """Whether *user* may register and revoke the system clients of *practice_id*: a superuser,
    or whom the permission table allows ``clients.manage`` there (the practice's team lead)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_superuser) or allowed(user, Action.MANAGE_CLIENTS, practice_id=practice_id)


def _check_manager(user: Any, practice_id: Any, request: Any, what: dict[str, Any]) -> None:
    """403 (audited) unless *user* may manage the practice's clients. No *user*: the operator
    of the server's command line, named by the caller's ``by``."""
    if user is None or (user.is_active and user.is_superuser):
        return
    require(
        user,
        Action.MANAGE_CLIENTS,
        practice_id=practice_id,
        request=request,
        what={"practice": str(practice_id), **what},
    )


def _who(by: str, user: Any) -> str:
    if user is None and not by.strip():
        raise PhtError("say who registers or revokes the system", where="by")
    return by


def do_create_system_client(
    *,
    name: str,
    practice: Practice,
    scopes: list[str],
    by: str = "",
    user: Any = None,
    request: Any = None,
) -> NewClient:
    """Register the system *name* for *practice* with *scopes*, done by *user* (a superuser or
    the practice's team lead; checked and audited) or, without one, by the operator *by*."""
    by = _who(by, user)
    _check_manager(user, practice.pk, request, {"client": name[:100], "change": "register"})
    name = name.strip()
    if not CLIENT_NAME.match(name):
        raise PhtError(
            "give the system a name of 1–64 letters, digits, '-', '_' or '.', starting with a "
            "letter or digit",
            where=name[:100],
        )
    unknown = sorted(set(scopes) - set(table().scopes))
    if unknown or not scopes:
        raise PhtError(f"unknown scopes {unknown}; known: {sorted(table().scopes)}", where=name)
    secret = secrets.token_urlsafe(40)
    with transaction.atomic():
        if (
            SystemClient.objects.filter(name=name).exists()
            or get_user_model().objects.filter(username=f"system:{name}").exists()
        ):
            raise PhtError("a system of that name exists", where=name)
        service = get_user_model().objects.create(username=f"system:{name}", first_name=name)
        service.set_unusable_password()
        service.save(update_fields=["password"])
        Profile.objects.create(user=service, role=SYSTEM_ROLE, practice=practice)
        app = Application.objects.create(
            name=name,
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            client_secret=secret,
            hash_client_secret=True,
            user=None,
        )
        client = SystemClient.objects.create(
            name=name, practice=practice, user=service, application=app, scopes=" ".join(scopes)
        )
        record(
            user=user,
            username=by,
            action=AuditAction.SYSTEM_CLIENT,
            reason="systemklient registrert",
            detail={"client": name, "practice": practice.pk, "scopes": sorted(scopes)},
            request=request,
            practice_id=practice.pk,
        )
    return NewClient(client, app.client_id, secret)


def do_revoke_system_client(
    *, name: str, reason: str, by: str = "", user: Any = None, request: Any = None
) -> SystemClient:
    """Revoke the system *name*: inactive from now on and every token of it deleted (by *user*,
    a superuser or its practice's team lead, checked and audited; or the operator *by*)."""
    by = _who(by, user)
    if not reason.strip():
        raise PhtError("say why the system is revoked", where=name)
    known = SystemClient.objects.filter(name=name).first()
    if known is None:
        raise PhtError("no such system", where=name)
    # checked (and a refusal audited) outside the change's transaction, which would undo it
    _check_manager(user, known.practice_id, request, {"client": name, "change": "revoke"})
    with transaction.atomic():
        client = SystemClient.objects.select_for_update().get(pk=known.pk)
        if not client.active:
            raise PhtError("the system is revoked already", where=name)
        client.active = False
        client.revoked_at = timezone.now()
        client.save(update_fields=["active", "revoked_at"])
        service = client.user
        service.is_active = False
        service.save(update_fields=["is_active"])
        RefreshToken.objects.filter(application=client.application).delete()
        deleted, _ = AccessToken.objects.filter(application=client.application).delete()
        record(
            user=user,
            username=by,
            action=AuditAction.SYSTEM_CLIENT_REVOKE,
            reason=reason[:200],
            detail={"client": name, "tokens_deleted": deleted},
            request=request,
            practice_id=client.practice_id,
        )
    return client


def do_grant(*, user: Any, role: str, action: Action, request: Any = None) -> PracticeGrant:
    """The team lead grants *action* to *role* in the lead's practice (only where the table
    says ``grant``)."""
    from pht.app.accounts.access import profile_of

    require(user, Action.GRANT, request=request, what={"grant": str(action), "role": role})
    profile = profile_of(user)
    assert profile is not None and profile.practice_id is not None
    if table().value(role, action) != GRANT:
        raise PhtError(f"{action} is not the practice's to grant to {role}", where="role")
    with transaction.atomic():
        grant, _ = PracticeGrant.objects.get_or_create(
            practice_id=profile.practice_id,
            role=role,
            action=str(action),
            defaults={"granted_by": user.get_username()},
        )
        record(
            user=user,
            action=AuditAction.GRANT,
            reason="tilgang gitt",
            detail={"role": role, "grant": str(action)},
            request=request,
        )
    return grant


def do_revoke_grant(*, user: Any, role: str, action: Action, request: Any = None) -> None:
    """Take back a grant of the lead's practice."""
    from pht.app.accounts.access import profile_of

    require(user, Action.GRANT, request=request, what={"revoke": str(action), "role": role})
    profile = profile_of(user)
    assert profile is not None
    with transaction.atomic():
        PracticeGrant.objects.filter(
            practice_id=profile.practice_id, role=role, action=str(action)
        ).delete()
        record(
            user=user,
            action=AuditAction.GRANT_REVOKE,
            reason="tilgang tatt tilbake",
            detail={"role": role, "grant": str(action)},
            request=request,
        )
