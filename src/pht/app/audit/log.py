"""Writing audit entries. Every view and change of patient-level data calls :func:`record`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest

from pht.app.audit.models import AuditAction, AuditEntry

#: What every entry recorded in the current context adds to its detail (see :func:`via`).
_VIA: ContextVar[dict[str, Any] | None] = ContextVar("pht_audit_via", default=None)


@contextmanager
def via(**detail: Any) -> Iterator[None]:
    """Entries recorded inside the block carry *detail* as well (e.g. the command line that ran
    the action and the operating-system user behind ``--as``), whatever action records them."""
    token = _VIA.set({**(_VIA.get() or {}), **detail})
    try:
        yield
    finally:
        _VIA.reset(token)


def record(
    *,
    user: Any,
    action: AuditAction,
    patient: Any = None,
    reason: str = "",
    detail: dict[str, Any] | str | None = None,
    request: HttpRequest | None = None,
    username: str = "",
    patient_uid: Any = None,
    practice_id: str = "",
) -> AuditEntry:
    """Append one audit entry for *user* doing *action* (to *patient*, when there is one).

    *user* may be None for the system itself (e.g. a recall closed by newly loaded data) or for
    someone not signed in (then *username* is the name they tried, if any). A system client
    acts as its service user, whose user name is the client's name. *patient_uid* records the
    patient asked for when there is no patient object (a refused request).
    """
    profile = None
    if user is not None:
        from pht.app.accounts.access import profile_of

        profile = profile_of(user) if user.is_authenticated else None
    if patient is not None:
        practice_id = patient.practice_id
    elif profile is not None and profile.practice_id and not practice_id:
        practice_id = profile.practice_id
    extra = _VIA.get()
    if extra and (detail is None or isinstance(detail, dict)):
        detail = {**extra, **(detail or {})}
    if isinstance(detail, dict):
        detail_text = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
    else:
        detail_text = detail or ""
    return AuditEntry.objects.create(
        user_id_at=None if user is None else user.pk,
        username=(username or "system") if user is None else user.get_username(),
        role="" if profile is None else profile.role,
        practice_id=practice_id,
        patient_uid=patient_uid if patient is None else patient.uid,
        person_id="" if patient is None else patient.person_id,
        patient_name="" if patient is None else patient.name,
        action=action,
        reason=reason[:200],
        detail=detail_text,
        path="" if request is None else request.get_full_path()[:300],
    )


def client_address(request: HttpRequest | None) -> str:
    """The address the request came from (REMOTE_ADDR; a proxy in front sets it right)."""
    if request is None:
        return ""
    return str(request.META.get("REMOTE_ADDR", ""))[:45]


def record_denied(
    *,
    user: Any,
    request: HttpRequest | None,
    detail: dict[str, Any],
    patient: Any = None,
    patient_uid: Any = None,
    username: str = "",
) -> AuditEntry | None:
    """Audit a refused access (``access.denied``) with what was tried and from where.

    A patient uid that is not a uid is kept in the detail only; the entry never fails the
    request it describes.
    """
    import uuid

    if patient_uid is not None and patient is None:
        try:
            patient_uid = uuid.UUID(str(patient_uid))
        except ValueError:
            detail = {**detail, "uid": str(patient_uid)[:64]}
            patient_uid = None
    if request is not None:
        detail = {**detail, "address": client_address(request)}
        if "path" not in detail:
            detail["method"] = detail.get("method", request.method)
    if patient is not None and user is not None:
        # the person number and name of a patient the user may not see are not copied
        patient_uid, patient = patient.uid, None
    return record(
        user=user,
        action=AuditAction.DENIED,
        detail=detail,
        request=request,
        username=username or ("anonymous" if user is None else ""),
        patient_uid=patient_uid,
    )
