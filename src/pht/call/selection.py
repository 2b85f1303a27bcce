"""Selection: the set of applications with the highest total score within quotas and GP band.

An integer program (``scipy.optimize.milp``, solved by HiGHS): one 0/1 variable per eligible
application; maximise the total weighted score subject to

* at most the quota of municipalities in each size class (small, medium, large), and
* a total number of participating GPs within the call's target ± band.

Ties are broken in favour of the earlier submission, so the choice is deterministic. Every
application gets an explanation: why it is out before the optimisation (withdrawn, late, invalid,
not fully assessed, overridden), or — by solving again with its choice flipped — what including
or leaving it out would cost and whom it would displace. Case officers can force an application
in or out with a reason (manual override); quotas, target and band can be changed for what-if
runs with :meth:`pht.call.rules.CallRules.with_what_if`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy.optimize import Bounds, LinearConstraint, milp

from pht.call.application import Application, ApplicationStatus
from pht.call.assessment import Assessment, weighted_score
from pht.call.rules import CallRules
from pht.call.validation import errors_of, validate
from pht.core.errors import PhtError
from pht.core.labels import SizeClass

__all__ = [
    "Candidate",
    "Explanation",
    "Override",
    "Selection",
    "SelectionInfeasible",
    "candidates_of",
    "select",
]

_CLASS_NB = {
    SizeClass.SMALL: "små kommuner",
    SizeClass.MEDIUM: "mellomstore kommuner",
    SizeClass.LARGE: "store kommuner",
}


class Override(BaseModel):
    """A case officer's manual decision to force an application in or out, with the reason."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    application_id: str
    include: bool
    reason: str
    officer: str
    on: dt.date


class SelectionInfeasible(PhtError):
    """No selection satisfies the quotas and the GP band (the message says what is possible)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """An application as the selection sees it."""

    application_id: str
    name: str
    size_class: SizeClass | None
    gps: int
    score: Decimal | None
    submitted_at: dt.datetime | None
    excluded: str | None  # reason code when it cannot be selected (None: eligible)
    excluded_text: str | None
    forced: bool | None  # True forced in, False forced out, None free


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why one application is in or out of the selection."""

    application_id: str
    name: str
    size_class: SizeClass | None
    gps: int
    score: Decimal | None
    selected: bool
    reason: str  # chosen, essential, override_in, override_out, quota_full, gp_band, ...
    text: str  # the explanation in Norwegian
    displaced: tuple[str, ...] = ()  # ids the flip would swap (in for out, or out for in)
    score_change: Decimal | None = None  # total score with the flip minus the optimum


@dataclass(frozen=True, slots=True)
class Selection:
    """The proposed selection and the explanation of every application."""

    call_id: str
    quotas: Mapping[SizeClass, int]
    gp_range: tuple[int, int]
    selected: tuple[str, ...]
    total_score: Decimal
    total_gps: int
    per_class: Mapping[SizeClass, int]
    explanations: tuple[Explanation, ...]
    overrides: tuple[Override, ...]

    def explanation(self, application_id: str) -> Explanation:
        """The explanation for one application."""
        for e in self.explanations:
            if e.application_id == application_id:
                return e
        raise PhtError(f"ukjent søknad {application_id!r}", where="selection")

    def is_selected(self, application_id: str) -> bool:
        """True when the application is in the selection."""
        return application_id in self.selected


def candidates_of(
    applications: Sequence[Application],
    assessments: Mapping[str, Assessment],
    rules: CallRules,
    *,
    overrides: Iterable[Override] = (),
    late_accepted: Mapping[str, str] | None = None,
) -> list[Candidate]:
    """Every application with its score, GPs, size class and whether it can be selected."""
    forced = {o.application_id: o.include for o in overrides}
    accepted = late_accepted or {}
    out: list[Candidate] = []
    for app in applications:
        cls = app.size_class(rules)
        score = weighted_score(assessments.get(app.id), rules)
        reason: str | None = None
        text: str | None = None
        if app.status is ApplicationStatus.WITHDRAWN:
            reason, text = "withdrawn", "Søknaden er trukket."
        elif app.status is not ApplicationStatus.SUBMITTED:
            reason, text = "not_submitted", "Søknaden er ikke sendt inn."
        elif app.late and app.id not in accepted:
            reason = "late"
            day = app.submitted_at.date().isoformat() if app.submitted_at else "?"
            text = (
                f"Søknaden kom inn {day}, etter fristen {rules.deadline.isoformat()}, "
                "og er ikke godtatt som for sen."
            )
        else:
            errors = errors_of(validate(app, rules))
            if errors or cls is None:
                fields = ", ".join(dict.fromkeys(m.field for m in errors))
                reason, text = "invalid", f"Søknaden har {len(errors)} feil ({fields})."
            elif score is None:
                reason, text = "not_assessed", "Søknaden er ikke ferdig vurdert på alle kriterier."
        fo = forced.get(app.id)
        if fo is True and reason in ("withdrawn", "not_submitted"):
            raise PhtError(
                "en søknad som ikke er sendt inn eller er trukket kan ikke tas med", where=app.id
            )
        out.append(
            Candidate(
                application_id=app.id,
                name=app.name,
                size_class=cls,
                gps=app.gps,
                score=score,
                submitted_at=app.submitted_at,
                excluded=reason,
                excluded_text=text,
                forced=fo,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class _Problem:
    ids: list[str]
    cls: list[SizeClass]
    gps: np.ndarray
    coef: np.ndarray  # integer objective: thousandths of score × M + tie-break
    score: list[Decimal]
    lb: np.ndarray
    ub: np.ndarray
    quota: dict[SizeClass, int]
    lo: int
    hi: int


def _solve(
    p: _Problem, lb: np.ndarray | None = None, ub: np.ndarray | None = None
) -> list[int] | None:
    """Indices chosen by the optimum, or None when infeasible."""
    n = len(p.ids)
    lb = p.lb if lb is None else lb
    ub = p.ub if ub is None else ub
    if n == 0:
        return [] if p.lo <= 0 <= p.hi else None
    rows = []
    caps = []
    for c in SizeClass:
        rows.append([1.0 if k is c else 0.0 for k in p.cls])
        caps.append(float(p.quota[c]))
    constraints = [
        LinearConstraint(np.array(rows), -np.inf, np.array(caps)),
        LinearConstraint(p.gps.reshape(1, -1).astype(float), float(p.lo), float(p.hi)),
    ]
    res = milp(
        c=-p.coef.astype(float),
        constraints=constraints,
        integrality=np.ones(n),
        bounds=Bounds(lb, ub),
        options={"mip_rel_gap": 0.0},
    )
    if res.status != 0 or res.x is None:
        return None
    return [i for i in range(n) if res.x[i] > 0.5]


def _fmt(score: Decimal) -> str:
    return f"{score:.3f}".replace(".", ",")


def _names(ids: Iterable[str], by_id: Mapping[str, Candidate]) -> str:
    parts = [f"{by_id[i].name} ({_fmt(by_id[i].score or Decimal(0))})" for i in ids]
    return " og ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else "".join(parts)


def select(
    applications: Sequence[Application],
    assessments: Mapping[str, Assessment],
    rules: CallRules,
    *,
    overrides: Iterable[Override] = (),
    late_accepted: Mapping[str, str] | None = None,
) -> Selection:
    """The selection with the highest total score within the quotas and the GP band.

    Raises :class:`SelectionInfeasible` when no set of eligible applications satisfies them,
    saying which GP totals the quotas allow.
    """
    overrides = tuple(overrides)
    override_by_id = {o.application_id: o for o in overrides}
    cands = candidates_of(
        applications, assessments, rules, overrides=overrides, late_accepted=late_accepted
    )
    by_id = {c.application_id: c for c in cands}
    pool = [
        c
        for c in cands
        if c.forced is not False and (c.excluded is None or c.forced is True) and c.size_class
    ]
    # earliest submission gets the largest tie-break; tie-breaks sum to less than one thousandth
    order = sorted(
        range(len(pool)),
        key=lambda i: (pool[i].submitted_at or dt.datetime.max, pool[i].application_id),
    )
    n = len(pool)
    tiebreak = np.zeros(n, dtype=np.int64)
    for rank, i in enumerate(order):
        tiebreak[i] = n - 1 - rank
    big = max(1, n * n)
    score = [c.score or Decimal(0) for c in pool]
    coef = np.array([int(s * 1000) for s in score], dtype=np.int64) * big + tiebreak
    forced_in = [c.forced is True for c in pool]
    quota = {c: rules.quotas.of(c) for c in SizeClass}
    for c in SizeClass:  # a manual override may exceed a quota; it never makes it infeasible
        quota[c] = max(
            quota[c],
            sum(1 for k, f in zip(pool, forced_in, strict=True) if f and k.size_class is c),
        )
    lo, hi = rules.gp_range
    problem = _Problem(
        ids=[c.application_id for c in pool],
        cls=[c.size_class for c in pool if c.size_class],
        gps=np.array([c.gps for c in pool], dtype=np.int64),
        coef=coef,
        score=score,
        lb=np.array([1.0 if f else 0.0 for f in forced_in]),
        ub=np.ones(n),
        quota=quota,
        lo=lo,
        hi=hi,
    )
    best = _solve(problem)
    if best is None:
        raise SelectionInfeasible(_infeasible_text(problem, rules), where=rules.id)
    chosen = set(best)
    total = sum((score[i] for i in best), Decimal(0))
    explanations: list[Explanation] = []
    index = {cid: i for i, cid in enumerate(problem.ids)}
    for cand in cands:
        at = index.get(cand.application_id)
        if at is None:
            explanations.append(_excluded(cand, override_by_id.get(cand.application_id)))
        else:
            explanations.append(_explain(problem, at, chosen, total, by_id, override_by_id, rules))
    per_class = {c: sum(1 for i in best if problem.cls[i] is c) for c in SizeClass}
    return Selection(
        call_id=rules.id,
        quotas={c: rules.quotas.of(c) for c in SizeClass},
        gp_range=(lo, hi),
        selected=tuple(problem.ids[i] for i in sorted(best, key=lambda i: problem.ids[i])),
        total_score=total,
        total_gps=int(sum(problem.gps[i] for i in best)),
        per_class=per_class,
        explanations=tuple(explanations),
        overrides=overrides,
    )


def _excluded(cand: Candidate, override: Override | None) -> Explanation:
    if override is not None and not override.include:
        reason, text = "override_out", f"Tatt ut manuelt av {override.officer}: {override.reason}"
    else:
        reason, text = cand.excluded or "excluded", cand.excluded_text or "Kan ikke velges."
    return Explanation(
        application_id=cand.application_id,
        name=cand.name,
        size_class=cand.size_class,
        gps=cand.gps,
        score=cand.score,
        selected=False,
        reason=reason,
        text=text,
    )


def _explain(
    p: _Problem,
    i: int,
    chosen: set[int],
    total: Decimal,
    by_id: Mapping[str, Candidate],
    overrides: Mapping[str, Override],
    rules: CallRules,
) -> Explanation:
    cand = by_id[p.ids[i]]
    cls = p.cls[i]
    selected = i in chosen
    lb, ub = p.lb.copy(), p.ub.copy()
    if selected:
        lb[i] = ub[i] = 0.0
    else:
        lb[i] = ub[i] = 1.0
    override = overrides.get(cand.application_id)
    alt = None if (selected and override is not None) else _solve(p, lb, ub)
    lo, hi = p.lo, p.hi
    base = dict(
        application_id=cand.application_id,
        name=cand.name,
        size_class=cls,
        gps=cand.gps,
        score=cand.score,
        selected=selected,
    )
    if selected and override is not None:
        text = f"Tatt med manuelt av {override.officer}: {override.reason}"
        if cand.excluded_text:
            text += f" (ellers utelatt: {cand.excluded_text})"
        return Explanation(**base, reason="override_in", text=text)  # type: ignore[arg-type]
    if alt is None:
        if selected:
            return Explanation(
                **base,  # type: ignore[arg-type]
                reason="essential",
                text=(
                    f"Valgt: uten denne søknaden kan ingen utvelgelse innenfor kvotene gi "
                    f"{lo}–{hi} fastleger."
                ),
            )
        if p.quota[cls] == 0:
            return Explanation(
                **base,  # type: ignore[arg-type]
                reason="quota_zero",
                text=f"Ikke valgt: kvoten for {_CLASS_NB[cls]} er 0.",
            )
        return Explanation(
            **base,  # type: ignore[arg-type]
            reason="gp_band",
            text=(
                f"Ikke valgt: med denne søknaden ({cand.gps} fastleger) kan ingen utvelgelse "
                f"innenfor kvotene gi {lo}–{hi} fastleger."
            ),
        )
    alt_set = set(alt)
    alt_total = sum((p.score[k] for k in alt), Decimal(0))
    change = alt_total - total
    if selected:
        swapped_in = tuple(p.ids[k] for k in sorted(alt_set - chosen))
        who = _names(swapped_in, by_id) if swapped_in else "ingen"
        return Explanation(
            **base,  # type: ignore[arg-type]
            reason="chosen",
            text=(
                f"Valgt: gir høyest samlet poengsum innenfor kvotene og {lo}–{hi} fastleger. "
                f"Uten den ville beste alternativ ta med {who}, og samlet poengsum endres med "
                f"{_fmt(change)}."
            ),
            displaced=swapped_in,
            score_change=change,
        )
    displaced = tuple(p.ids[k] for k in sorted(chosen - alt_set))
    same_class = [k for k in chosen if p.cls[k] is cls]
    who = _names(displaced, by_id) if displaced else "ingen"
    if len(same_class) >= p.quota[cls]:
        holders = _names(sorted((p.ids[k] for k in same_class), key=lambda x: by_id[x].name), by_id)
        text = (
            f"Ikke valgt: kvoten for {_CLASS_NB[cls]} ({p.quota[cls]}) er fylt av {holders}. "
            f"Å ta den med ville fortrenge {who}, og samlet poengsum endres med {_fmt(change)}."
        )
        reason = "quota_full"
    else:
        text = (
            f"Ikke valgt: for å holde {lo}–{hi} fastleger måtte {who} tas ut for denne "
            f"({cand.gps} fastleger), og samlet poengsum endres med {_fmt(change)}."
        )
        reason = "gp_band"
    return Explanation(
        **base,  # type: ignore[arg-type]
        reason=reason,
        text=text,
        displaced=displaced,
        score_change=change,
    )


def _infeasible_text(p: _Problem, rules: CallRules) -> str:
    """Which GP totals are possible within the quotas (for the message when none fits)."""
    n = len(p.ids)
    quotas = ", ".join(f"{rules.quotas.of(c)} {_CLASS_NB[c]}" for c in SizeClass)
    if n == 0:
        return f"ingen søknad kan velges, og {p.lo}–{p.hi} fastleger kan ikke nås"
    extremes = []
    for sign in (1.0, -1.0):
        rows = [[1.0 if k is c else 0.0 for k in p.cls] for c in SizeClass]
        caps = [float(p.quota[c]) for c in SizeClass]
        res = milp(
            c=sign * p.gps.astype(float),
            constraints=[LinearConstraint(np.array(rows), -np.inf, np.array(caps))],
            integrality=np.ones(n),
            bounds=Bounds(p.lb, p.ub),
        )
        extremes.append(round(sign * res.fun) if res.status == 0 else 0)
    low, high = extremes
    return (
        f"ingen utvelgelse innenfor kvotene ({quotas}) gir {p.lo}–{p.hi} fastleger; "
        f"søknadene som kan velges gir fra {low} til {high} fastleger. "
        "Endre kvotene, målet eller båndet (hva-hvis), eller vurder flere søknader."
    )
