"""The financing page's figures: both models per year from the stored snapshots, the what-if
from their coefficients (no warehouse at request time), the chart, and who may see what.

Access: the GP team lead (also the daily leader) sees their own practice; the municipal lead
the municipality's practices; the directorate (case officer, analyst) the scheme in aggregate
only. Everyone else is refused.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import altair as alt
import pandas as pd
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from pht.app.accounts.access import profile_of
from pht.app.accounts.models import AppRole, Practice
from pht.app.dashboards.models import FinancingSnapshot
from pht.app.dashboards.schemas import WhatIfQuery
from pht.evaluation.suppression import publish_count, publish_share
from pht.financing.snapshot import AGE_BANDS, apply_whatif
from pht.reference.staffing import load_need_parameters

#: The components of both models: key, label, the models that have it.
ROWS = [
    ("per_capita", "Basistilskudd", ("fee",)),
    ("list_grant", "Listetilskudd (behovsvektet)", ("grant",)),
    ("quality_grant", "Kvalitetstilskudd", ("grant",)),
    ("refunds", "Refusjoner (takster)", ("fee",)),
    ("copay_patients", "Egenandeler betalt av pasientene", ("fee", "grant")),
    ("copay_ceiling", "Egenandeler over frikortgrensen (staten)", ("fee", "grant")),
    ("copay_children", "Egenandeler for barn (staten)", ("fee", "grant")),
]
SPLIT_ROWS = [
    ("gp_work", "Legearbeid (aktivitet)", ("fee",)),
    ("nurse_work", "Sykepleierarbeid (aktivitet)", ("fee",)),
    ("target_group", "Pasienter i målgruppene", ("fee", "grant")),
    ("other_patients", "Andre pasienter", ("fee", "grant")),
]
DRIVERS = [
    ("list_and_need", "Listetilskudd − basistilskudd (listestørrelse og behov)"),
    ("activity", "Egenandeler − refusjoner og egenandeler (aktivitet)"),
    ("quality", "Kvalitetstilskudd"),
]
MODEL_LABEL = {"fee": "Honorarmodell", "grant": "Driftstilskuddsmodell"}


def practice_for_financing(request: HttpRequest, practice_id: str) -> Practice:
    """The practice, if the user may see its financing (404/403 otherwise)."""
    practice: Practice = get_object_or_404(
        Practice.objects.select_related("municipality"), pk=practice_id
    )
    if request.user.is_superuser:
        return practice
    profile = profile_of(request.user)
    if profile is None:
        raise PermissionDenied
    if profile.practice_id is not None:
        if profile.practice_id != practice.pk:
            raise Http404
        if profile.role != AppRole.GP_TEAM_LEAD:
            raise PermissionDenied
        return practice
    if profile.role == AppRole.MUNICIPAL_LEAD:
        if profile.municipality_id != practice.municipality_id:
            raise Http404
        return practice
    raise PermissionDenied  # the directorate sees the aggregate


def sees_aggregate(request: HttpRequest) -> bool:
    """The directorate (and superusers) see the scheme's financing in aggregate."""
    profile = profile_of(request.user)
    return request.user.is_superuser or (
        profile is not None and profile.role in (AppRole.CASE_OFFICER, AppRole.ANALYST)
    )


def snapshots(practice: Practice) -> list[FinancingSnapshot]:
    """The stored years of the practice, oldest first."""
    return list(FinancingSnapshot.objects.filter(practice=practice).order_by("year"))


def _ore(value: Any) -> int | None:
    if value is None:
        return None
    return int((Decimal(str(value)) * 100).to_integral_value())


def table(snaps: list[FinancingSnapshot]) -> dict[str, Any]:
    """Both models of each year side by side, as rows of cells (amount, øre, element id)."""
    columns = [(s.year, m) for s in snaps for m in ("fee", "grant")]

    def row(label: str, per: dict[tuple[int, str], Any], key: str, *, total: bool = False) -> Any:
        cells = []
        for year, model in columns:
            value = per.get((year, model))
            cells.append({"value": value, "ore": _ore(value), "id": f"{model}-{year}-{key}"})
        return {"label": label, "cells": cells, "total": total}

    by = {s.year: s.data for s in snaps}
    rows = [
        row(label, {(y, m): d[m][key] for y, d in by.items() for m in models}, key)
        for key, label, models in ROWS
    ]
    rows.append(
        row(
            "Sum",
            {(y, m): d[m]["total"] for y, d in by.items() for m in ("fee", "grant")},
            "total",
            total=True,
        )
    )
    splits = [
        row(label, {(y, m): d[m][key] for y, d in by.items() for m in models}, "split-" + key)
        for key, label, models in SPLIT_ROWS
    ]
    return {
        "columns": [{"year": y, "model": m, "label": MODEL_LABEL[m]} for y, m in columns],
        "years": [s.year for s in snaps],
        "rows": rows,
        "splits": splits,
    }


def drivers(snaps: list[FinancingSnapshot]) -> list[dict[str, Any]]:
    """Per year: the difference and its drivers, listed persons by band, claims by type."""
    out = []
    for s in snaps:
        d = s.data
        codes = sorted(d["claims_by_code"].items(), key=lambda kv: (-kv[1], kv[0]))
        out.append(
            {
                "year": s.year,
                "difference": d["comparison"]["difference"],
                "difference_ore": _ore(d["comparison"]["difference"]),
                "drivers": [
                    {
                        "key": k,
                        "label": label,
                        "value": d["drivers"][k],
                        "ore": _ore(d["drivers"][k]),
                    }
                    for k, label in DRIVERS
                ],
                "listed_person_years": d["comparison"]["listed_person_years"],
                "need_index": d["comparison"]["need_index"],
                "claims": d["fee"]["claims"],
                "claims_per_person_year": d["comparison"]["claims_per_person_year"],
                "nurse_share": d["comparison"]["nurse_share"],
                "project_funds": d["comparison"]["project_funds"],
                "bands": [
                    {"label": f"{lo}–{hi}" if hi < 200 else f"{lo}+", "n": publish_count(n)}
                    for (lo, hi), n in zip(AGE_BANDS, d["listed_by_band"], strict=False)
                ],
                "codes": [(code, publish_count(n)) for code, n in codes[:10]],
                "goals": published_goals(d["goals"]),
                "base_rate": d["base_rate"],
            }
        )
    return out


def published_goals(goals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The quality goals with their counts and shares through the small-cell rule."""
    out = []
    for g in goals:
        patients, done = int(g["patients"]), int(g["with_annual_check"])
        out.append(
            {
                **g,
                "patients": publish_count(patients),
                "with_annual_check": None if publish_share(done, patients) is None else done,
                "share": publish_share(done, patients),
            }
        )
    return out


def whatif(snap: FinancingSnapshot, query: WhatIfQuery) -> dict[str, Any]:
    """Both models of the snapshot's year after the change, with the changes."""
    d = snap.data
    params = load_need_parameters()
    listed_py = Decimal(d["comparison"]["listed_person_years"] or 0)
    list_size = Decimal(1)
    if query.listed and listed_py:
        list_size = Decimal(query.listed) / listed_py
    extra = query.nurse_fte * params.consultations_per_fte
    if extra and Decimal(d["target_person_years"]) == 0:
        extra = Decimal(0)
    answer = apply_whatif(
        d,
        nurse_consultations=query.nurse_consultations,
        extra_consultations=extra,
        list_size=list_size,
    )
    return {
        "year": snap.year,
        "query": query,
        "consultations": round(float(answer.consultations)),
        "consultations_per_fte": params.consultations_per_fte,
        "list_size": list_size,
        "rows": [
            {
                "model": MODEL_LABEL[m],
                "key": m,
                "before": getattr(answer, m),
                "after": getattr(answer, f"{m}_whatif"),
                "change": getattr(answer, f"{m}_change"),
            }
            for m in ("fee", "grant")
        ],
    }


def chart(snaps: list[FinancingSnapshot]) -> dict[str, Any]:
    """Grouped bars: both models' totals per year (NOK)."""
    frame = pd.DataFrame(
        [
            {"År": str(s.year), "Modell": MODEL_LABEL[m], "Kroner": float(s.data[m]["total"])}
            for s in snaps
            for m in ("fee", "grant")
        ],
        columns=["År", "Modell", "Kroner"],
    )
    spec = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("År:N", title=None),
            xOffset="Modell:N",
            y=alt.Y("Kroner:Q", axis=alt.Axis(format=",.0f"), title="Kroner"),
            color=alt.Color("Modell:N", legend=alt.Legend(orient="bottom", title=None)),
            tooltip=["År", "Modell", alt.Tooltip("Kroner:Q", format=",.0f")],
        )
        .properties(width=360, height=220)
    )
    return spec.to_dict()


def aggregate(year: int | None = None) -> dict[str, Any]:
    """The scheme in aggregate: per year and model the total and the number of practices."""
    qs = FinancingSnapshot.objects.select_related("practice__municipality")
    years = sorted(set(qs.values_list("year", flat=True)))
    out = []
    for y in years:
        items = [s for s in qs if s.year == y]
        fee = sum((Decimal(s.data["fee"]["total"]) for s in items), Decimal(0))
        grant = sum((Decimal(s.data["grant"]["total"]) for s in items), Decimal(0))
        by_model: dict[str, dict[str, Any]] = {}
        for s in items:
            m = s.practice.financing_model or "—"
            agg = by_model.setdefault(m, {"practices": 0, "fee": Decimal(0), "grant": Decimal(0)})
            agg["practices"] += 1
            agg["fee"] += Decimal(s.data["fee"]["total"])
            agg["grant"] += Decimal(s.data["grant"]["total"])
        out.append(
            {
                "year": y,
                "practices": len(items),
                "fee": fee,
                "grant": grant,
                "difference": grant - fee,
                "by_model": sorted(by_model.items()),
            }
        )
    return {"years": out}
