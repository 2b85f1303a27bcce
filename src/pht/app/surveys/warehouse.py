"""Answers collected through the app become ``survey_responses`` in the registry warehouse, as
one load batch with provenance (source ``pht-app``), so the evaluation's survey indicators use
them like any registry extract.

Each submitted response gives one row per scored item (``who5/index``, ``prem/satisfaction``
…, what the indicators read) and one per answered question (``q1`` …); the ids are
``app-<response uid>-<item>``. A response is marked with the batch that carried it, so a second
run writes only new answers; writing the same rows again changes nothing in the warehouse.

With the warehouse's load batches (:mod:`pht.registry.batches`) the rows go through
``write_batch`` (validated like an extract, undoable). A warehouse without that module gets the
same rows through the extract loader (:func:`pht.registry.load.load_extract`): the extract then
also carries the warehouse's other ``survey_responses`` rows of the same days, because an
extract replaces its period.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from django.db import transaction
from django.utils import timezone

from pht.app.audit.log import record
from pht.app.audit.models import AuditAction
from pht.app.surveys.models import ResponseStatus, SurveyResponse
from pht.core.errors import PhtError
from pht.registry.schema import TABLES

SOURCE = "pht-app"
COLUMNS = [c.name for c in TABLES["survey_responses"].columns]


@dataclass(frozen=True)
class LoadSummary:
    """What one transfer did."""

    responses: int
    rows: int
    batch: str


def rows_of(responses: list[SurveyResponse]) -> pd.DataFrame:
    """The ``survey_responses`` rows of *responses* (extract format)."""
    out: list[dict[str, Any]] = []
    for r in responses:
        day = timezone.localdate(r.submitted_at)
        base = {
            "person_id": r.patient.person_id,
            "practice_id": r.practice_id,
            "date": day,
            "instrument": r.instrument,
        }
        values = {**{k: v for k, v in r.scores.items()}, **r.answers}
        for item, value in sorted(values.items()):
            if value is None:
                continue
            out.append(
                {
                    "response_id": f"app-{r.uid.hex}-{item}",
                    **base,
                    "item": item,
                    "value": float(value),
                }
            )
    frame = pd.DataFrame(out, columns=COLUMNS)
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    return frame


def _write_batch(warehouse: Any, frame: pd.DataFrame, user: str) -> str:
    import pyarrow as pa

    from pht.registry.batches import write_batch

    report = write_batch(
        warehouse,
        {"survey_responses": pa.Table.from_pandas(frame, preserve_index=False)},
        source=SOURCE,
        user=user,
        kind="app-surveys",
    )
    if not report.applied:
        problems = "; ".join(str(p) for p in report.problems[:5])
        raise PhtError(f"the warehouse refused the survey answers: {report.refused} {problems}")
    return f"batch {report.batch_id}"


def _write_extract(warehouse: Any, frame: pd.DataFrame) -> str:
    from pht.registry.load import iter_problem_lines, load_extract

    first, last = min(frame["date"]), max(frame["date"])
    stored = warehouse.table("survey_responses")
    stored = stored.filter((stored.date >= first) & (stored.date <= last)).to_pandas()
    stored = stored[~stored["response_id"].isin(frame["response_id"])]
    if len(stored):
        stored["date"] = pd.to_datetime(stored["date"]).dt.date
    full = pd.concat([stored[COLUMNS], frame], ignore_index=True) if len(stored) else frame
    with tempfile.TemporaryDirectory(prefix="pht-survey-extract-") as tmp:
        full.to_csv(Path(tmp) / "survey_responses.csv", index=False)
        report = load_extract(warehouse, tmp)
        if not report.imported:
            lines = list(iter_problem_lines(report.validation))[:5]
            raise PhtError("the warehouse refused the survey answers: " + "; ".join(lines))
    return f"extract {dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"


def batches_available() -> bool:
    """Whether the warehouse has load batches (:mod:`pht.registry.batches`)."""
    try:
        from pht.registry import batches  # noqa: F401
    except ImportError:
        return False
    return True


def load_answers(warehouse: Any, *, user: Any = None) -> LoadSummary:
    """Write every submitted, not yet transferred response into *warehouse* (one batch) and
    mark them, with the audit entry, in one app transaction."""
    pending = list(
        SurveyResponse.objects.filter(status=ResponseStatus.SUBMITTED, loaded_batch="")
        .select_related("patient")
        .order_by("submitted_at", "id")
    )
    if not pending:
        return LoadSummary(0, 0, "")
    frame = rows_of(pending)
    who = "system" if user is None else user.get_username()
    batch = (
        _write_batch(warehouse, frame, who)
        if batches_available()
        else _write_extract(warehouse, frame)
    )
    with transaction.atomic():
        SurveyResponse.objects.filter(pk__in=[r.pk for r in pending]).update(loaded_batch=batch)
        record(
            user=user,
            action=AuditAction.SURVEY_LOAD,
            reason="spørreskjemasvar til datavarehuset",
            detail={"responses": len(pending), "rows": len(frame), "batch": batch},
        )
    return LoadSummary(len(pending), len(frame), batch)
