"""Assessment: scores per weighted criterion with a comment, interviews and visits, conflicts.

A case officer scores each criterion of the call for an application, with a comment that says
why. An officer who has declared a conflict of interest for an application cannot score it (nor
approve decisions on it, see :mod:`pht.call.decisions`). The weighted score is
Σ weightᵢ·scoreᵢ / Σ weightᵢ, on the call's scale; it is known only when every criterion is scored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pht.call.rules import CallRules
from pht.core.errors import PhtError

__all__ = [
    "Assessment",
    "ConflictOfInterest",
    "ConflictOfInterestError",
    "CriterionScore",
    "Meeting",
    "declare_conflict",
    "has_conflict",
    "missing_criteria",
    "record_meeting",
    "score_criterion",
    "weighted_score",
]


class ConflictOfInterestError(PhtError):
    """An officer with a declared conflict of interest tried to act on the application."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CriterionScore(_Model):
    """One officer's score of one criterion, with the reason."""

    criterion: str
    score: int
    comment: str
    officer: str
    scored_on: dt.date


class Meeting(_Model):
    """An interview or a visit to the municipality (kommunebesøk/intervju)."""

    kind: Literal["interview", "visit"]
    held_on: dt.date
    officers: tuple[str, ...]
    notes: str


class ConflictOfInterest(_Model):
    """An officer's declared conflict of interest (inhabilitet) for one application."""

    officer: str
    application_id: str
    declared_on: dt.date
    description: str


class Assessment(_Model):
    """The assessment of one application: the latest score per criterion, meetings."""

    application_id: str
    scores: tuple[CriterionScore, ...] = Field(default_factory=tuple)
    meetings: tuple[Meeting, ...] = Field(default_factory=tuple)

    def score_of(self, criterion: str) -> CriterionScore | None:
        """The latest score of *criterion*, or None."""
        found = [s for s in self.scores if s.criterion == criterion]
        return found[-1] if found else None


def has_conflict(
    conflicts: Iterable[ConflictOfInterest], *, officer: str, application_id: str
) -> bool:
    """True when *officer* has declared a conflict of interest for *application_id*."""
    return any(c.officer == officer and c.application_id == application_id for c in conflicts)


def declare_conflict(
    conflicts: Iterable[ConflictOfInterest],
    *,
    officer: str,
    application_id: str,
    on: dt.date,
    description: str,
) -> list[ConflictOfInterest]:
    """The conflicts with one more declared (a description is required)."""
    if not description.strip():
        raise PhtError("beskriv inhabiliteten", where=f"{application_id}: {officer}")
    return [
        *conflicts,
        ConflictOfInterest(
            officer=officer, application_id=application_id, declared_on=on, description=description
        ),
    ]


def score_criterion(
    assessment: Assessment,
    *,
    rules: CallRules,
    criterion: str,
    score: int,
    comment: str,
    officer: str,
    on: dt.date,
    conflicts: Iterable[ConflictOfInterest] = (),
) -> Assessment:
    """The assessment with *criterion* scored (replacing an earlier score of it)."""
    where = f"{assessment.application_id}: {criterion}"
    rules.criterion(criterion)
    if has_conflict(conflicts, officer=officer, application_id=assessment.application_id):
        raise ConflictOfInterestError(
            f"{officer} har meldt inhabilitet for denne søknaden og kan ikke gi poeng",
            where=where,
        )
    if not rules.min_score <= score <= rules.max_score:
        raise PhtError(
            f"poeng må være fra {rules.min_score} til {rules.max_score}, fikk {score}", where=where
        )
    if not comment.strip():
        raise PhtError("hver poengsum må begrunnes med en kommentar", where=where)
    new = CriterionScore(
        criterion=criterion, score=score, comment=comment, officer=officer, scored_on=on
    )
    kept = tuple(s for s in assessment.scores if s.criterion != criterion)
    return assessment.model_copy(update={"scores": (*kept, new)})


def record_meeting(
    assessment: Assessment,
    *,
    kind: Literal["interview", "visit"],
    held_on: dt.date,
    officers: Iterable[str],
    notes: str,
) -> Assessment:
    """The assessment with an interview or visit recorded."""
    meeting = Meeting(kind=kind, held_on=held_on, officers=tuple(officers), notes=notes)
    return assessment.model_copy(update={"meetings": (*assessment.meetings, meeting)})


def missing_criteria(assessment: Assessment | None, rules: CallRules) -> list[str]:
    """Keys of the criteria not yet scored."""
    return [
        c.key for c in rules.criteria if assessment is None or assessment.score_of(c.key) is None
    ]


def weighted_score(assessment: Assessment | None, rules: CallRules) -> Decimal | None:
    """Σ weight·score / Σ weight to 0.001, or None until every criterion is scored."""
    if assessment is None or missing_criteria(assessment, rules):
        return None
    num = Decimal(0)
    den = Decimal(0)
    for c in rules.criteria:
        s = assessment.score_of(c.key)
        assert s is not None
        num += c.weight * s.score
        den += c.weight
    return (num / den).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
