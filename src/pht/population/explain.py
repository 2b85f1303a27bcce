"""One person's scores, explained factor by factor: the same tables as the population-wide
expressions, filtered to one person (what a team member sees on the patient page, and the test
oracle for the set-based scores)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

from pht.core.errors import NotFound
from pht.population._base import Tables
from pht.population.analytics import PopulationView
from pht.reference.value_sets import Model

__all__ = ["explain"]


def _records(table: Any) -> list[dict[str, Any]]:
    df = table.execute()
    out: list[dict[str, Any]] = []
    for row in df.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for k, v in row.items():
            if v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
                v = None
            elif isinstance(v, pd.Timestamp):
                v = v.date()
            elif hasattr(v, "item") and not isinstance(v, (list, tuple)):
                v = v.item()
            clean[k] = v
        out.append(clean)
    return out


def _score(view: PopulationView, model: Model, person_id: str, language: str) -> dict[str, Any]:
    c = view.contributions(model)
    rows = _records(c.filter(c.person_id == person_id).order_by("factor"))
    lp = model.intercept + sum(r["coefficient"] for r in rows)
    factors = [
        {
            "factor": r["factor"],
            "label": view.vs.factor_label(r["factor"], language),
            "coefficient": r["coefficient"],
        }
        for r in rows
    ]
    out: dict[str, Any] = {
        "model": f"{model.name} v{model.version}",
        "intercept": model.intercept,
        "linear_predictor": lp,
        "factors": factors,
    }
    if model.kind == "logistic":
        out["risk"] = 1.0 / (1.0 + math.exp(-lp))
    else:
        out["expected_contacts"] = math.exp(lp)
        out["need_weight"] = math.exp(lp) / model.normaliser
    return out


def explain(
    tables: Tables,
    person_id: str,
    as_of: dt.date | str,
    *,
    language: str = "nb",
    lookback_months: int = 24,
    view: PopulationView | None = None,
) -> dict[str, Any]:
    """Everything the population room says about one person on *as_of*, with its evidence:
    target groups (code, date, source), frailty deficits, each model factor and its coefficient,
    annual checks. Raises NotFound for a person not alive on *as_of*."""
    v = view or PopulationView(tables, as_of, lookback_months=lookback_months)
    p = v.persons
    person = _records(p.filter(p.person_id == person_id))
    if not person:
        raise NotFound(f"no person {person_id} alive on {v.as_of}")
    tg = v.target_groups
    d = v.deficit_evidence
    f = v.frailty
    ac = v.annual_checks
    frail = _records(f.filter(f.person_id == person_id))[0]
    deficits = _records(d.filter(d.person_id == person_id).order_by("deficit"))
    return {
        "person_id": person_id,
        "as_of": v.as_of,
        "age": person[0]["age"],
        "sex": person[0]["sex"],
        "target_groups": _records(
            tg.filter(tg.person_id == person_id).order_by(["target_group", "condition"])
        ),
        "frailty": {
            "efi": frail["efi"],
            "band": frail["band"],
            "deficits": [
                {
                    "deficit": r["deficit"],
                    "label": getattr(
                        v.vs.deficits[r["deficit"]], "label_nb" if language == "nb" else "label_en"
                    ),
                    "code": r["code"],
                    "date": r["date"],
                    "source": r["source"],
                }
                for r in deficits
            ],
            "of": len(v.vs.deficits),
        },
        "admission_risk": _score(v, v.risk_model, person_id, language),
        "expected_need": _score(v, v.need_model, person_id, language),
        "annual_checks": _records(ac.filter(ac.person_id == person_id).order_by("condition")),
    }
