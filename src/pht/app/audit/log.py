"""Writing audit entries. Every view and change of patient-level data calls :func:`record`."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest

from pht.app.audit.models import AuditAction, AuditEntry


def record(
    *,
    user: Any,
    action: AuditAction,
    patient: Any = None,
    reason: str = "",
    detail: dict[str, Any] | str | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    """Append one audit entry for *user* doing *action* (to *patient*, when there is one).

    *user* may be None for the system itself (e.g. a recall closed by newly loaded data).
    """
    profile = getattr(user, "profile", None) if user is not None else None
    practice_id = ""
    if patient is not None:
        practice_id = patient.practice_id
    elif profile is not None and profile.practice_id:
        practice_id = profile.practice_id
    if isinstance(detail, dict):
        detail_text = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
    else:
        detail_text = detail or ""
    return AuditEntry.objects.create(
        user_id_at=None if user is None else user.pk,
        username="system" if user is None else user.get_username(),
        role="" if profile is None else profile.role,
        practice_id=practice_id,
        patient_uid=None if patient is None else patient.uid,
        person_id="" if patient is None else patient.person_id,
        patient_name="" if patient is None else patient.name,
        action=action,
        reason=reason[:200],
        detail=detail_text,
        path="" if request is None else request.get_full_path()[:300],
    )
