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

from pht.app.care import checks
from pht.app.care.models import (
    RECALL_KINDS,
    AnnualCheck,
    Patient,
    Task,
    TaskStatus,
)
from pht.app.dashboards.figures import SMALL_CELL


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
    def small(self) -> bool:
        """Whether a count is a small cell (< 5) that a published figure suppresses."""
        return 0 < self.checked < SMALL_CELL


def check_indicators(practice: Any, today: dt.date) -> list[IndicatorRow]:
    """The practice's indicators from check values in the year up to *today*."""
    since = today - dt.timedelta(days=365)
    rows = []
    for ind in checks.indicators():
        patients = Patient.objects.filter(
            practice=practice, listed=True, conditions__contains=f"|{ind.condition}|"
        )
        declined = set(
            Task.objects.filter(
                patient__in=patients,
                kind__in=RECALL_KINDS,
                condition=ind.condition,
                status=TaskStatus.DECLINED,
                closed_at__date__gte=since,
            ).values_list("patient_id", flat=True)
        )
        latest: dict[int, dict[str, Any]] = {}
        for pid, values in (
            AnnualCheck.objects.filter(
                patient__in=patients, condition=ind.condition, date__gt=since, date__lte=today
            )
            .order_by("patient_id", "-date", "-at")
            .values_list("patient_id", "values")
        ):
            latest.setdefault(pid, values)
        met = checked = 0
        for pid, values in latest.items():
            if pid in declined:
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
                with_condition=patients.count(),
                checked=checked,
                met=met,
                declined=len(declined),
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
