"""Costs against benefits of the scheme in the evaluated practices (the report's last section).

Costs, over the pilot practices' quarters in the scheme within the study window:

* **nurse FTEs**: each nurse of a pilot practice (``practitioners``, role nurse, ``fte``) for
  every quarter of the engagement, a quarter of the nurse cost per FTE and year of the financing
  reference data (``financing/<year>.toml``, ``[nurse]``);
* **project funds**: each GP of a pilot practice for every quarter in the funds' period, a
  quarter of the funds per GP and year to the practice and the municipality (``scheme.toml``).

Benefits, from the difference-in-differences estimates (ATT per person-quarter, with its 95%
interval) times the treated person-quarters of the indicator's population:

* **avoided admissions** (``acsc_admissions``; of which type 2 diabetes, ``acsc_diabetes``) at
  their DRG price (weight x unit price, ``evaluation/cost_benefit.toml``);
* **GP time freed** (``gp_hours``) at the value of a GP hour.

The benefits' intervals are the estimates' intervals carried through the (linear) valuation; the
prices are fixed figures with their status, not sampled. An estimate that is not estimable gives
a row without numbers and its reason; one with fewer than ``min_cell`` treated persons is
suppressed (:func:`cost_benefit_table`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import pandas as pd

from pht.core.errors import PhtError, ReferenceDataError
from pht.evaluation import did
from pht.evaluation.indicators import indicator, min_cell, quarter_start
from pht.evaluation.study import Study
from pht.evaluation.suppression import publish
from pht.reference.files import read_toml

__all__ = ["BENEFITS", "Figure", "cost_benefit", "cost_benefit_table", "figures"]

_FILE = "evaluation/cost_benefit.toml"

#: Benefit rows: (item, indicator, weight figure or None, price figure, quantity unit).
BENEFITS = (
    ("avoided_admissions", "acsc_admissions", "acsc_weight", "unit_price", "innleggelser"),
    (
        "avoided_admissions_diabetes",
        "acsc_diabetes",
        "diabetes_weight",
        "unit_price",
        "innleggelser",
    ),
    ("gp_hours_freed", "gp_hours", None, "gp_hour", "legetimer"),
)


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure of the cost-benefit section with its status and source."""

    name: str
    value: float
    unit: str
    status: str  # C, D or A
    source: str
    note: str = ""


@cache
def figures() -> dict[str, Figure]:
    """The figures of ``evaluation/cost_benefit.toml``, checked."""
    out = {}
    for name, raw in read_toml(_FILE).items():
        try:
            fig = Figure(
                name=name,
                value=float(raw["value"]),
                unit=str(raw["unit"]),
                status=str(raw["status"]),
                source=str(raw["source"]),
                note=str(raw.get("note", "")),
            )
        except (KeyError, TypeError, ValueError) as err:
            where = f"{_FILE}: {name}"
            raise ReferenceDataError(f"missing or invalid field {err}", where=where) from None
        if fig.status not in ("C", "D", "A") or fig.value < 0:
            where = f"{_FILE}: {name}"
            raise ReferenceDataError("status must be C, D or A, value >= 0", where=where)
        out[name] = fig
    return out


def _treated_quarters(study: Study) -> pd.DataFrame:
    """(practice_id, q) of the pilot practices' quarters in the scheme within the window."""
    sample = study.sample_practices()
    pilot = sample[sample["start_q"].notna()]
    rows = []
    for rec in pilot.to_dict(orient="records"):
        first = max(int(rec["start_q"]), study.first_quarter)
        end = rec.get("end_q")
        last = study.last_quarter
        if end is not None and not pd.isna(end):
            last = min(int(end), last)
        rows += [(rec["practice_id"], q) for q in range(first, last + 1)]
    return pd.DataFrame(rows, columns=["practice_id", "q"])


def _staff_quarters(study: Study, quarters: pd.DataFrame, role: str) -> pd.DataFrame:
    """Practitioners of *role* at the practice in each (practice_id, q): q, fte per row."""
    pr = study.tables.table("practitioners")
    staff = pr.filter(pr.role == role).select("practice_id", "fte", "start", "end").to_pandas()
    df = quarters.merge(staff, on="practice_id", how="inner")
    if df.empty:
        return df.assign(fte=pd.Series(dtype="float64"))
    q_first = pd.to_datetime(df["q"].map(quarter_start))
    q_last = pd.to_datetime((df["q"] + 1).map(quarter_start)) - pd.Timedelta(days=1)
    start = pd.to_datetime(df["start"])
    end = pd.to_datetime(df["end"])
    active = (start <= q_last) & (end.isna() | (end >= q_first))
    out = df[active.to_numpy()].copy()
    out["fte"] = out["fte"].astype("float64").fillna(1.0)
    return out


def _costs(study: Study, quarters: pd.DataFrame) -> list[dict[str, Any]]:
    from pht.reference.financing import load_financing_rates
    from pht.reference.scheme import load_scheme_rules

    nurses = _staff_quarters(study, quarters, "nurse")
    nurse_nok, fte_years, statuses = 0.0, 0.0, set()
    for year, part in nurses.groupby(nurses["q"] // 4):
        try:
            rate = load_financing_rates(int(year)).nurse
        except (PhtError, FileNotFoundError) as err:
            raise PhtError(f"no nurse cost per FTE for {year}: {err}") from None
        fte = float(part["fte"].sum()) / 4
        fte_years += fte
        nurse_nok += fte * float(rate.cost_per_fte)
        statuses.add(rate.status)
    gps = _staff_quarters(study, quarters, "gp")
    rules = load_scheme_rules()
    funds_nok, gp_years = 0.0, 0.0
    for q in gps["q"]:
        try:
            funds = rules.project_funds_rate(quarter_start(int(q)))
        except PhtError:
            continue  # outside the funds' period
        gp_years += 0.25
        funds_nok += (float(funds.to_practice_per_gp) + float(funds.to_municipality_per_gp)) / 4
    worst = "A" if "A" in statuses else ("D" if "D" in statuses else "C")
    return [
        {
            "item": "nurse_fte",
            "kind": "cost",
            "quantity": fte_years,
            "quantity_low": fte_years,
            "quantity_high": fte_years,
            "unit": "sykepleierårsverk",
            "nok": nurse_nok,
            "nok_low": nurse_nok,
            "nok_high": nurse_nok,
            "status": worst if len(nurses) else "C",
            "source": "financing/<year>.toml [nurse]; practitioners",
        },
        {
            "item": "project_funds",
            "kind": "cost",
            "quantity": gp_years,
            "quantity_low": gp_years,
            "quantity_high": gp_years,
            "unit": "legeårsverk med prosjektmidler",
            "nok": funds_nok,
            "nok_low": funds_nok,
            "nok_high": funds_nok,
            "status": "C",
            "source": "scheme.toml [[project_funds]] (seed000)",
        },
    ]


def _benefit(
    study: Study,
    item: str,
    name: str,
    weight: str | None,
    price: str,
    unit: str,
    est: did.Estimate,
) -> dict[str, Any]:
    figs = figures()
    per_unit = figs[price].value * (figs[weight].value if weight else 1.0)
    status = "A" if any(figs[f].status == "A" for f in (weight, price) if f) else "D"
    cells = study.cells(indicator(name), level="practice")
    treated_pq = float(cells.loc[cells["treated"] > 0, "n"].sum())
    row: dict[str, Any] = {
        "item": item,
        "kind": "benefit",
        "unit": unit,
        "status": status,
        "source": ", ".join(figs[f].source for f in (weight, price) if f),
        "treated_persons": est.treated_persons,
        "treated_person_quarters": treated_pq,
        "note": est.note,
    }
    if not est.estimable:
        return (
            row
            | {k: None for k in ("quantity", "quantity_low", "quantity_high")}
            | {k: None for k in ("nok", "nok_low", "nok_high")}
        )
    # a negative effect (fewer admissions, fewer GP hours) is a benefit
    q, lo, hi = -est.att * treated_pq, -est.ci_high * treated_pq, -est.ci_low * treated_pq
    return row | {
        "quantity": q,
        "quantity_low": lo,
        "quantity_high": hi,
        "nok": q * per_unit,
        "nok_low": lo * per_unit,
        "nok_high": hi * per_unit,
    }


def cost_benefit(study: Study, estimates: dict[str, did.Estimate] | None = None) -> pd.DataFrame:
    """Costs, benefits and the net benefit (benefits of admissions and GP time minus costs).

    *estimates* (indicator name -> the overall estimate) are used where given; the others are
    estimated here. Columns: item, kind (cost, benefit, net), quantity (with _low/_high), unit,
    nok (with _low/_high), status, source, treated_persons, treated_person_quarters, note.
    """
    estimates = dict(estimates or {})
    quarters = _treated_quarters(study)
    rows = _costs(study, quarters)
    for item, name, weight, price, unit in BENEFITS:
        if name not in estimates:
            estimates[name] = study.estimate(indicator(name))[0]
        rows.append(_benefit(study, item, name, weight, price, unit, estimates[name]))
    costs = sum(r["nok"] for r in rows if r["kind"] == "cost")
    # the diabetes admissions are part of all ACSC admissions: counted once
    counted = [r for r in rows if r["item"] in ("avoided_admissions", "gp_hours_freed")]
    missing = [r for r in counted if r["nok"] is None]
    net: dict[str, Any] = {
        "item": "net_benefit",
        "kind": "net",
        "unit": "",
        "status": "A" if any(r["status"] == "A" for r in rows) else "D",
        "source": "",
        "treated_persons": min(int(r["treated_persons"]) for r in counted),
        "note": "; ".join(r["note"] for r in missing if r["note"]),
    }
    if missing:
        net |= {"nok": None, "nok_low": None, "nok_high": None}
    else:
        net |= {
            "nok": sum(r["nok"] for r in counted) - costs,
            "nok_low": sum(r["nok_low"] for r in counted) - costs,
            "nok_high": sum(r["nok_high"] for r in counted) - costs,
        }
    rows.append(net)
    df = pd.DataFrame(rows)
    for col in ("quantity", "quantity_low", "quantity_high", "nok", "nok_low", "nok_high"):
        df[col] = df[col].astype("object").where(df[col].notna(), None)
    df["note"] = df["note"].fillna("")
    return df


def cost_benefit_table(df: pd.DataFrame) -> pd.DataFrame:
    """The section as published: a benefit (and the net benefit) resting on fewer than
    ``min_cell`` treated persons loses its numbers, like the estimates it comes from."""
    persons = pd.to_numeric(df["treated_persons"], errors="coerce")
    mask = (df["kind"] != "cost") & persons.notna() & (persons < min_cell())
    numbers = [
        "quantity",
        "quantity_low",
        "quantity_high",
        "nok",
        "nok_low",
        "nok_high",
        "treated_persons",
        "treated_person_quarters",
    ]
    return publish(df.reset_index(drop=True), mask.reset_index(drop=True), numbers=numbers, drop=())
