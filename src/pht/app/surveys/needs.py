"""Reasons to act that patients' latest survey answers give, for the worklist (one query)."""

from __future__ import annotations

from collections.abc import Iterable

from pht.app.surveys.models import ResponseStatus, SurveyResponse


def survey_needs(patient_ids: Iterable[int]) -> dict[int, str]:
    """patient id -> the reasons of each instrument's latest submitted answers, joined."""
    ids = list(patient_ids)
    if not ids:
        return {}
    latest: dict[tuple[int, str], list[str]] = {}
    for r in (
        SurveyResponse.objects.filter(patient_id__in=ids, status=ResponseStatus.SUBMITTED)
        .order_by("patient_id", "instrument", "-submitted_at")
        .values("patient_id", "instrument", "needs")
    ):
        latest.setdefault((r["patient_id"], r["instrument"]), r["needs"])
    out: dict[int, list[str]] = {}
    for (pid, _), needs in latest.items():
        out.setdefault(pid, []).extend(needs)
    return {pid: "; ".join(n) for pid, n in out.items() if n}
