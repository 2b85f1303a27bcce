"""Population analytics: target groups, frailty, admission risk, expected need and worklists.

Every function takes *tables* (a :class:`pht.registry.Warehouse` or anything with
``.table(name)``) and returns an Ibis expression, so the same code runs on DuckDB and on PySpark.
The rules are reference data (``pht/reference/data/value_sets`` and ``models``); see
docs/population.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis.expr.types as ir

from pht.population._base import Tables
from pht.population.analytics import PopulationView
from pht.population.explain import explain
from pht.population.worklist import LANGUAGES, summary_table, worklist_table
from pht.reference.value_sets import Model, ValueSets

__all__ = [
    "LANGUAGES",
    "PopulationView",
    "Tables",
    "admission_risk",
    "annual_checks",
    "expected_need",
    "explain",
    "frailty",
    "risk_factors",
    "summary",
    "target_groups",
    "worklist",
]


def _view(tables: Tables, as_of: dt.date | str, **kw: Any) -> PopulationView:
    return PopulationView(tables, as_of, **kw)


# Every function below builds a PopulationView, which materialises its intermediate tables
# (temporary tables on DuckDB, cached DataFrames on Spark): the expressions stay small and each
# long table is computed once.


def target_groups(
    tables: Tables,
    as_of: dt.date | str,
    lookback_months: int = 24,
    *,
    value_sets: ValueSets | None = None,
    need_model: Model | None = None,
) -> ir.Table:
    """Every target-group membership on *as_of* with its evidence.

    Columns: person_id, target_group, condition, code, code_system, evidence_date, source,
    records (coded records in the look-back). One row per person and condition; frail elderly
    rows have condition "frailty" (code "eFI 0.31"), weak demanders "weak_demander"
    (code "need 1.8", evidence_date = last GP contact or null).
    """
    v = _view(
        tables, as_of, lookback_months=lookback_months, value_sets=value_sets, need_model=need_model
    )
    return v.target_groups


def frailty(
    tables: Tables, as_of: dt.date | str, *, value_sets: ValueSets | None = None
) -> ir.Table:
    """The eFI-style frailty index of every person alive on *as_of*.

    Columns: person_id, efi (0–1), band (fit/mild/moderate/severe), deficits, last_evidence.
    """
    return _view(tables, as_of, value_sets=value_sets).frailty


def admission_risk(
    tables: Tables,
    as_of: dt.date | str,
    *,
    model: Model | None = None,
    value_sets: ValueSets | None = None,
    lookback_months: int = 24,
) -> ir.Table:
    """Probability of an unplanned admission in the 12 months after *as_of*.

    Columns: person_id, risk, risk_band (low/medium/high/very_high).
    """
    v = _view(
        tables, as_of, risk_model=model, value_sets=value_sets, lookback_months=lookback_months
    )
    return v.risk


def expected_need(
    tables: Tables,
    as_of: dt.date | str,
    *,
    model: Model | None = None,
    value_sets: ValueSets | None = None,
    lookback_months: int = 24,
) -> ir.Table:
    """Expected GP contacts in the 12 months after *as_of* and the need weight (1.0 = average),
    the weight the operating-grant model pays by.

    Columns: person_id, expected_contacts, need_weight.
    """
    v = _view(
        tables, as_of, need_model=model, value_sets=value_sets, lookback_months=lookback_months
    )
    return v.need


def risk_factors(
    tables: Tables,
    as_of: dt.date | str,
    *,
    model: Model | None = None,
    which: str = "admission_risk",
    value_sets: ValueSets | None = None,
) -> ir.Table:
    """How each person's score is made: person_id, factor, coefficient (log-odds for the
    admission risk, log-rate for expected need). The score is the model's intercept plus the
    sum of the coefficients."""
    v = _view(tables, as_of, value_sets=value_sets)
    if model is None:
        model = v.risk_model if which == "admission_risk" else v.need_model
    return v.contributions(model)


def annual_checks(
    tables: Tables,
    as_of: dt.date | str,
    lookback_months: int = 24,
    *,
    value_sets: ValueSets | None = None,
) -> ir.Table:
    """The last annual check per person and chronic condition, and whether one is due.

    Columns: person_id, condition, last_check, months_since, status (ok/due/overdue).
    """
    return _view(
        tables, as_of, lookback_months=lookback_months, value_sets=value_sets
    ).annual_checks


def worklist(
    tables: Tables,
    practice_id: str | None,
    as_of: dt.date | str,
    member_id: str | None = None,
    *,
    language: str = "nb",
    lookback_months: int = 24,
    value_sets: ValueSets | None = None,
    risk_model: Model | None = None,
    need_model: Model | None = None,
    materialise: bool = False,
) -> ir.Table:
    """The practice's worklist on *as_of*: persons ranked by priority with reasons in words.

    *practice_id* None gives every practice's worklist (ranked within each practice).
    *member_id* narrows to one team member: a GP's own list, or for a nurse, secretary or
    psychologist the persons they had contact with in the last 12 months.
    Columns: person_id, practice_id, gp_id, priority, rank, reasons, target_groups (list),
    frailty_band, efi, risk, risk_band, need_weight, annual_check_due (list of conditions),
    annual_check_overdue (list), emergency_admissions, last_gp_contact.
    """
    v = _view(
        tables,
        as_of,
        lookback_months=lookback_months,
        value_sets=value_sets,
        risk_model=risk_model,
        need_model=need_model,
        materialise=materialise,
    )
    return worklist_table(v, practice_id=practice_id, member_id=member_id, language=language)


def summary(
    tables: Tables,
    as_of: dt.date | str,
    practice_id: str | None = None,
    *,
    lookback_months: int = 24,
    value_sets: ValueSets | None = None,
) -> ir.Table:
    """Counts per practice: listed, per target group, per condition, overdue annual checks, per
    frailty band and risk band. Columns: practice_id, measure, name, persons."""
    v = _view(tables, as_of, lookback_months=lookback_months, value_sets=value_sets)
    return summary_table(v, practice_id=practice_id)
