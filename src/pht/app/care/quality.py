"""Practice quality indicators from the annual checks recorded in the app, and how recalls end.

For each indicator of ``annual_checks.toml`` (e.g. diabetes with HbA1c ≤ 53 mmol/mol): among
the practice's listed patients with the condition, those whose latest check in the 12 months up
to the app's today meets the target, over those with such a check that recorded the value.
Patients who declined ("reservert seg", informed dissent) on a recall of the condition in that
year are left out of the denominator and counted apart; "ikke svart" stays in (not done).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count
from django.utils.translation import get_language

from pht.app.care import checks
from pht.app.care.models import (
    RECALL_KINDS,
    AnnualCheck,
    Patient,
    Task,
    TaskStatus,
)
from pht.app.dashboards.figures import SMALL_CELL
from pht.core.labels import SourceStatus


@dataclass(frozen=True)
class IndicatorRow:
    """One indicator's figures for a practice."""

    key: str
    label: str
    status: str
    source: str
    with_condition: int
    checked: int
    met: int
    declined: int

    @property
    def share(self) -> float | None:
        """met / checked (None for an empty denominator)."""
        return None if self.checked == 0 else self.met / self.checked

    @property
    def status_label(self) -> str:
        """The source status in the user's language (bekreftet, avledet, antatt)."""
        return SourceStatus.of(self.status).label(get_language() or "nb")

    @property
    def small(self) -> bool:
        """Whether a count is a small cell (< 5) that a published figure suppresses."""
        return 0 < self.checked < SMALL_CELL


def check_indicators(practice: Any, today: dt.date) -> list[IndicatorRow]:
    """The practice's indicators from check values in the year up to *today*.

    Three queries whatever the number of indicators: the listed patients' conditions, the
    recalls they declined and their checks in the year (they were three per indicator)."""
    since = today - dt.timedelta(days=365)
    inds = checks.indicators()
    wanted = {ind.condition for ind in inds}
    with_condition: dict[str, set[int]] = {c: set() for c in wanted}
    for pid, conditions in Patient.objects.filter(practice=practice, listed=True).values_list(
        "id", "conditions"
    ):
        for c in (conditions or "").split("|"):
            if c in with_condition:
                with_condition[c].add(pid)
    declined: dict[str, set[int]] = {c: set() for c in wanted}
    for pid, condition in Task.objects.filter(
        patient__practice=practice,
        patient__listed=True,
        kind__in=RECALL_KINDS,
        condition__in=wanted,
        status=TaskStatus.DECLINED,
        closed_at__date__gte=since,
    ).values_list("patient_id", "condition"):
        if pid in with_condition[condition]:
            declined[condition].add(pid)
    latest: dict[str, dict[int, dict[str, Any]]] = {c: {} for c in wanted}
    for pid, condition, values in (
        AnnualCheck.objects.filter(
            patient__practice=practice,
            patient__listed=True,
            condition__in=wanted,
            date__gt=since,
            date__lte=today,
        )
        .order_by("patient_id", "condition", "-date", "-at")
        .values_list("patient_id", "condition", "values")
    ):
        if pid in with_condition[condition]:
            latest[condition].setdefault(pid, values)
    rows = []
    for ind in inds:
        met = checked = 0
        for pid, values in latest[ind.condition].items():
            if pid in declined[ind.condition]:
                continue
            result = ind.met(values)
            if result is None:
                continue
            checked += 1
            met += int(result)
        rows.append(
            IndicatorRow(
                key=ind.key,
                label=ind.label(),
                status=ind.status,
                source=checks.source_text(ind.source),
                with_condition=len(with_condition[ind.condition]),
                checked=checked,
                met=met,
                declined=len(declined[ind.condition]),
            )
        )
    return rows


def recall_outcomes(practice: Any, today: dt.date) -> dict[str, int]:
    """How the practice's recalls closed in the year up to *today*, by status (done, closed by
    data, no answer, declined) — "done" and "not done" are never added together."""
    since = today - dt.timedelta(days=365)
    counts = dict(
        Task.objects.filter(
            patient__practice=practice,
            kind__in=RECALL_KINDS,
            closed_at__isnull=False,
            closed_at__date__gte=since,
        )
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return {s.value: counts.get(s.value, 0) for s in TaskStatus if s not in ("open", "invited")}
