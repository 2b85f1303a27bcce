"""Decisions: one per application, granted or declined with reasons, approved by a second officer.

A case officer proposes the decisions from a selection; a *different* officer, without a declared
conflict of interest for any application in the set, approves them (four eyes). Only approved
decisions are dated, can be sent as letters and make the granted practices pilot practices (rows
for the registry's ``practices`` table, with start date and financing model).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from pht.call.application import Application
from pht.call.assessment import ConflictOfInterest, has_conflict
from pht.call.rules import CallRules
from pht.call.selection import Selection
from pht.core.errors import PhtError
from pht.core.labels import FinancingModel, LabelledEnum
from pht.reference.municipalities import translate_code
from pht.reference.pilot import load_pilot

__all__ = [
    "Decision",
    "DecisionSet",
    "FourEyesError",
    "GrantedPractice",
    "Outcome",
    "approve_decisions",
    "pilot_practice_rows",
    "propose_decisions",
]


class FourEyesError(PhtError):
    """The approval broke the four-eyes rule (same officer, or a declared conflict)."""


class Outcome(LabelledEnum):
    """The outcome of an application."""

    GRANTED = "granted"
    DECLINED = "declined"

    @classmethod
    def _labels(cls) -> dict[str, tuple[str, str]]:
        return {"granted": ("innvilget", "granted"), "declined": ("avslått", "declined")}


class GrantedPractice(BaseModel):
    """A practice that becomes a pilot practice by a granted decision."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    orgnr: str
    name: str
    district: str | None
    gps: int
    start: dt.date
    financing_model: FinancingModel


class Decision(BaseModel):
    """The decision on one application."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    application_id: str
    applicant: str
    municipality_code: str
    synthetic: bool
    outcome: Outcome
    reasons: tuple[str, ...]
    gps: int
    practices: tuple[GrantedPractice, ...] = ()


class DecisionSet(BaseModel):
    """The decisions of a call: proposed by one officer, approved by another."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    call_id: str
    proposed_by: str
    proposed_on: dt.date
    approved_by: str | None = None
    approved_on: dt.date | None = None
    decisions: tuple[Decision, ...]
    note: str = ""

    @property
    def approved(self) -> bool:
        """True once a second officer has approved."""
        return self.approved_by is not None

    @property
    def decided_on(self) -> dt.date | None:
        """The date of the decisions (the approval day)."""
        return self.approved_on

    def decision(self, application_id: str) -> Decision:
        """The decision on one application."""
        for d in self.decisions:
            if d.application_id == application_id:
                return d
        raise PhtError(f"ingen vedtak for søknad {application_id!r}", where=self.call_id)

    @property
    def granted(self) -> tuple[Decision, ...]:
        """The granted decisions."""
        return tuple(d for d in self.decisions if d.outcome is Outcome.GRANTED)


def propose_decisions(
    selection: Selection,
    applications: Sequence[Application],
    rules: CallRules,
    *,
    officer: str,
    on: dt.date,
) -> DecisionSet:
    """Decisions for every application from *selection* (not yet approved)."""
    if not officer.strip():
        raise PhtError("saksbehandler mangler", where="vedtak")
    out: list[Decision] = []
    reasons: tuple[str, ...]
    for app in applications:
        exp = selection.explanation(app.id)
        if exp.selected:
            practices = tuple(
                GrantedPractice(
                    orgnr=p.orgnr,
                    name=p.name,
                    district=p.district,
                    gps=len(p.participating_gps),
                    start=rules.pilot_start,
                    financing_model=p.financing_model or FinancingModel.FEE,
                )
                for p in app.practices
            )
            reasons = (
                "Søknaden oppfyller kravene i utlysningen og er blant dem som samlet gir best "
                "forventet måloppnåelse innenfor fordelingen på kommunestørrelser og målet om "
                f"ca. {rules.gp_target} fastleger.",
                exp.text,
            )
            outcome = Outcome.GRANTED
        else:
            practices = ()
            reasons = (exp.text,)
            outcome = Outcome.DECLINED
        out.append(
            Decision(
                application_id=app.id,
                applicant=app.name,
                municipality_code=app.applicant.municipality_code,
                synthetic=app.synthetic,
                outcome=outcome,
                reasons=reasons,
                gps=app.gps if exp.selected else 0,
                practices=practices,
            )
        )
    return DecisionSet(call_id=rules.id, proposed_by=officer, proposed_on=on, decisions=tuple(out))


def approve_decisions(
    decisions: DecisionSet,
    *,
    officer: str,
    on: dt.date,
    conflicts: Iterable[ConflictOfInterest] = (),
) -> DecisionSet:
    """The decisions approved by *officer*, who must not be the proposer nor conflicted."""
    if decisions.approved:
        raise PhtError(
            f"vedtakene er allerede godkjent av {decisions.approved_by}", where=decisions.call_id
        )
    if officer == decisions.proposed_by:
        raise FourEyesError(
            f"{officer} foreslo vedtakene og kan ikke også godkjenne dem: en annen "
            "saksbehandler må godkjenne (fireøyneprinsippet)",
            where=decisions.call_id,
        )
    conflicts = tuple(conflicts)
    bad = [
        d.applicant
        for d in decisions.decisions
        if has_conflict(conflicts, officer=officer, application_id=d.application_id)
    ]
    if bad:
        raise FourEyesError(
            f"{officer} har meldt inhabilitet for {', '.join(bad)} og kan ikke godkjenne",
            where=decisions.call_id,
        )
    if on < decisions.proposed_on:
        raise PhtError("godkjenning kan ikke dateres før forslaget", where=decisions.call_id)
    return decisions.model_copy(update={"approved_by": officer, "approved_on": on})


def pilot_practice_rows(
    decisions: DecisionSet, rules: CallRules, *, codes_on: dt.date | None = None
) -> list[dict[str, Any]]:
    """Granted practices as rows of the registry's ``practices`` table.

    Municipality numbers are mapped with :func:`pht.reference.translate_code` to the numbers valid
    on *codes_on* (default: the pilot start); synthetic applicants keep their 99xx numbers.
    """
    if not decisions.approved:
        raise PhtError("vedtakene er ikke godkjent av en annen saksbehandler", where="vedtak")
    day = codes_on or rules.pilot_start
    districts = {d.name: d.code for d in load_pilot().districts}
    rows: list[dict[str, Any]] = []
    for d in decisions.granted:
        code = d.municipality_code if d.synthetic else translate_code(d.municipality_code, day)
        for p in d.practices:
            rows.append(
                {
                    "practice_id": p.orgnr,
                    "name": p.name,
                    "municipality_code": code,
                    "district": districts.get(p.district) if p.district else None,
                    "financing_model": p.financing_model.value,
                    "pht_start": p.start,
                    "pht_end": rules.pilot_last_day,
                }
            )
    return rows
