"""Leaders' figures over HTTP: a practice's financing under both models, its staffing plan, and
a municipality's project funds. The same figures and access rules as the pages
(:mod:`pht.app.dashboards.finance`, :mod:`pht.app.dashboards.figures`); amounts as exact decimal
strings of NOK and as whole øre. Published counts go through the one small-cell rule.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from pht.app.accounts.access import profile_of
from pht.app.accounts.models import AppRole, Municipality, Practice
from pht.app.accounts.permissions import Action, require
from pht.app.dashboards import figures, finance, municipality
from pht.app.dashboards.schemas import WhatIfQuery
from pht.evaluation.suppression import publish_count

router = Router(tags=["leaders"])


class Refusal(Schema):
    """A refusal: not signed in (401), not allowed (403), not found (404), too many (429)."""

    detail: str


class BadInput(Schema):
    """A rule broken by the input, naming its field."""

    field: str | None
    message: str


#: The answers besides 200 every operation here can give, documented in the schema.
REFUSED: dict[int, Any] = {401: Refusal, 403: Refusal, 404: Refusal, 422: BadInput, 429: Refusal}


class Amount(Schema):
    """An amount: exact NOK as a decimal string, and whole øre."""

    nok: str
    ore: int


def amount(value: Any) -> dict[str, Any]:
    """*value* (NOK) as an :class:`Amount`."""
    d = Decimal(str(getattr(value, "amount", value)))
    return {"nok": str(d), "ore": int((d * 100).to_integral_value())}


class ModelOut(Schema):
    """One model's total and components."""

    total: Amount
    components: dict[str, Amount]


class FinancingOut(Schema):
    """Both models of one practice in one year, with the drivers of the difference."""

    practice_id: str
    practice: str
    year: int
    financing_model: str
    fee: ModelOut
    grant: ModelOut
    difference: Amount
    drivers: dict[str, Amount]
    listed_person_years: str
    need_index: str
    claims: int
    nurse_share: str
    listed_by_age_band: dict[str, int | None]
    claims_by_code: dict[str, int | None]
    quality_goals: list[dict[str, Any]]
    project_funds: Amount
    whatif: dict[str, Any] | None = None


class FinancingQuery(WhatIfQuery):
    """The year, and optionally a what-if (the same schema as the page's form)."""

    year: int | None = None


@router.get(
    "/practices/{orgnr}/financing",
    response={200: FinancingOut, **REFUSED},
    summary="A practice's income under both financing models in a year, with drivers",
)
def practice_financing(request: HttpRequest, orgnr: str, q: Query[FinancingQuery]) -> Any:
    """Both models with their components and drivers; a what-if when changes are given."""
    practice = _financing_practice(request, orgnr)
    snaps = finance.snapshots(practice)
    snap = next((s for s in snaps if q.year is None or s.year == q.year), None)
    if q.year is None and snaps:
        snap = snaps[-1]
    if snap is None:
        raise HttpError(404, f"no financing figures for {orgnr} in {q.year}")
    d = snap.data
    fee_keys = ["per_capita", "refunds", "copay_patients", "copay_ceiling", "copay_children",
                "gp_work", "nurse_work", "target_group", "other_patients"]  # fmt: skip
    grant_keys = ["list_grant", "quality_grant", "copay_patients", "copay_ceiling",
                  "copay_children", "target_group", "other_patients"]  # fmt: skip
    bands = {
        (f"{lo}-{hi}" if hi < 200 else f"{lo}+"): publish_count(n)
        for (lo, hi), n in zip(d["age_bands"], d["listed_by_band"], strict=False)
    }
    out = {
        "practice_id": practice.pk,
        "practice": practice.name,
        "year": snap.year,
        "financing_model": practice.financing_model,
        "fee": {
            "total": amount(d["fee"]["total"]),
            "components": {k: amount(d["fee"][k]) for k in fee_keys},
        },
        "grant": {
            "total": amount(d["grant"]["total"]),
            "components": {k: amount(d["grant"][k]) for k in grant_keys},
        },
        "difference": amount(d["comparison"]["difference"]),
        "drivers": {k: amount(v) for k, v in d["drivers"].items()},
        "listed_person_years": d["comparison"]["listed_person_years"],
        "need_index": d["comparison"]["need_index"],
        "claims": d["fee"]["claims"],
        "nurse_share": d["comparison"]["nurse_share"],
        "listed_by_age_band": bands,
        "claims_by_code": {k: publish_count(v) for k, v in d["claims_by_code"].items()},
        "quality_goals": finance.published_goals(d["goals"]),
        "project_funds": amount(d["comparison"]["project_funds"]),
    }
    if q.is_change:
        w = finance.whatif(snap, WhatIfQuery(**q.model_dump(exclude={"year"})))
        out["whatif"] = {
            r["key"]: {
                "before": amount(r["before"]),
                "after": amount(r["after"]),
                "change": amount(r["change"]),
            }
            for r in w["rows"]
        } | {"extra_consultations": w["consultations"]}
    return out


def _financing_practice(request: HttpRequest, orgnr: str) -> Practice:
    try:
        return finance.practice_for_financing(request, orgnr)
    except Http404:
        raise HttpError(404, "not found") from None
    except PermissionDenied:
        raise HttpError(403, "forbidden") from None


class NormOut(Schema):
    """The staffing norm under both readings."""

    primary_reading: str
    reading_used: str
    required_fte: str
    meets_norm: bool
    required_fte_by_listed: str | None
    meets_by_listed: bool | None
    required_fte_by_lists: str
    meets_by_lists: bool
    sources: list[str]
    status: str


class StaffingOut(Schema):
    """A practice's nurse staffing: need, what it has, the norm."""

    practice_id: str
    gp_lists: int
    listed: int | None
    nurse_fte: str
    hours_needed: str
    fte_needed: str
    lines: list[dict[str, Any]]
    norm: NormOut


@router.get(
    "/practices/{orgnr}/staffing",
    response={200: StaffingOut, **REFUSED},
    summary="Nurse hours a practice's patients need, against its FTE and the staffing norm",
)
def practice_staffing(request: HttpRequest, orgnr: str) -> Any:
    """The need-based plan and both readings of the norm (the primary one decides)."""
    practice = get_object_or_404(Practice, pk=orgnr)
    _may_see_practice(request, practice)
    plan = figures.staffing_plan(practice)
    n = plan.norm
    from pht.reference import load_scheme_rules

    rules = load_scheme_rules()
    return {
        "practice_id": practice.pk,
        "gp_lists": n.gp_lists,
        "listed": n.listed,
        "nurse_fte": str(n.nurse_fte),
        "hours_needed": str(plan.hours),
        "fte_needed": str(plan.fte_needed),
        "lines": [
            {
                "key": x.key,
                "label": x.label,
                "count": str(x.count),
                "minutes": x.minutes,
                "hours": str(x.hours),
            }
            for x in plan.lines
        ],
        "norm": {
            "primary_reading": rules.staffing_norm.primary,
            "reading_used": n.reading,
            "required_fte": str(n.required_fte),
            "meets_norm": n.meets_norm,
            "required_fte_by_listed": None
            if n.required_fte_by_listed is None
            else str(n.required_fte_by_listed),
            "meets_by_listed": n.meets_by_listed,
            "required_fte_by_lists": str(n.required_fte_by_lists),
            "meets_by_lists": n.meets_by_lists,
            "sources": list(rules.staffing_primary_sources),
            "status": rules.staffing_primary_status,
        },
    }


def _may_see_practice(request: HttpRequest, practice: Practice) -> None:
    """Team of the practice, its municipality's lead, the directorate; 404 for other teams.
    The permission table's ``dashboard.view`` first (a system client has it not: 403)."""
    if request.user.is_superuser:
        return
    require(request.user, Action.VIEW_DASHBOARD, request=request, what={"api": True})
    profile = profile_of(request.user)
    if profile is None:
        raise HttpError(403, "forbidden")
    if profile.practice_id is not None:
        if profile.practice_id != practice.pk:
            raise HttpError(404, "not found")
        return
    if (
        profile.role == AppRole.MUNICIPAL_LEAD
        and profile.municipality_id != practice.municipality_id
    ):
        raise HttpError(404, "not found")


class FundsOut(Schema):
    """A municipality's project funds in a year: per practice and its own."""

    municipality: str
    code: str
    year: int
    practices: list[dict[str, Any]]
    to_practices: Amount
    to_municipality: Amount
    total: Amount
    payments: list[dict[str, Any]]


@router.get(
    "/municipalities/{code}/funds",
    response={200: FundsOut, **REFUSED},
    summary="Project funds per practice and the municipality's own funds in a year",
)
def municipality_funds(request: HttpRequest, code: str, year: int) -> Any:
    """The scheme's per-GP rule, pro rata by whole months, and the payments made."""
    muni = get_object_or_404(Municipality, pk=code)
    try:
        municipality.check_access(request, muni)
    except Http404:
        raise HttpError(404, "not found") from None
    except PermissionDenied:
        raise HttpError(403, "forbidden") from None
    f = municipality.funds(muni, year)
    return {
        "municipality": muni.name,
        "code": muni.code,
        "year": year,
        "practices": [
            {
                "practice_id": r["practice_id"],
                "practice": r["practice"],
                "gp_months": r["gp_months"],
                "to_practice": amount(r["to_practice"]),
                "to_municipality": amount(r["to_municipality"]),
            }
            for r in f["practices"]
        ],
        "to_practices": amount(f["to_practices"]),
        "to_municipality": amount(f["to_municipality"]),
        "total": amount(f["total"]),
        "payments": [
            {**p, "amount": amount(p["amount"])} for p in municipality.payments(muni, year)
        ],
    }
