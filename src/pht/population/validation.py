"""How well the target groups recover a known truth (the synthetic generator's ``truth/``).

Sensitivity = true conditions found / true conditions; precision = found conditions that are
true / found conditions; both per condition, over the persons alive on the as-of date who were on
a list in the look-back window (the population whose contacts the registry can see).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from pht.core.errors import PhtError
from pht.population._base import Tables
from pht.population.analytics import PopulationView
from pht.reference.value_sets import CONDITIONS_OF_TRUTH

__all__ = ["condition_recovery"]


def condition_recovery(
    tables: Tables, truth_dir: Path | str, as_of: dt.date | str, *, lookback_months: int = 24
) -> pd.DataFrame:
    """Per condition: true, found, true_positives, sensitivity, precision, and the sensitivity
    among true cases with at least one GP contact in the window (sensitivity_with_contact)."""
    path = Path(truth_dir) / "conditions.parquet"
    if not path.exists():
        raise PhtError("no truth/conditions.parquet here", where=str(truth_dir))
    view = PopulationView(tables, as_of, lookback_months=lookback_months)
    persons = set(view.persons.select("person_id").execute()["person_id"])
    m = tables.table("list_memberships")
    m = m.filter((m.start < view.as_of) & (m.end.isnull() | (m.end >= view.start)))
    persons &= set(m.select("person_id").distinct().execute()["person_id"])
    truth = pd.read_parquet(path)
    truth = truth[pd.to_datetime(truth["onset_date"]) < pd.Timestamp(view.as_of)]
    truth = truth[truth["person_id"].isin(persons)]
    c = tables.table("contacts")
    c = c.filter((c.date >= view.start) & (c.date < view.as_of))
    seen = set(c.select("person_id").distinct().execute()["person_id"])
    found = view.condition_evidence.select("person_id", "condition").execute()
    found = found[found["person_id"].isin(persons)]
    rows = []
    for cond in CONDITIONS_OF_TRUTH:
        t = set(truth.loc[truth["condition"] == cond, "person_id"])
        f = set(found.loc[found["condition"] == cond, "person_id"])
        tp = len(t & f)
        tv = t & seen
        rows.append(
            {
                "condition": cond,
                "true": len(t),
                "found": len(f),
                "true_positives": tp,
                "sensitivity": round(tp / len(t), 4) if t else None,
                "precision": round(tp / len(f), 4) if f else None,
                "true_with_contact": len(tv),
                "sensitivity_with_contact": round(len(tv & f) / len(tv), 4) if tv else None,
            }
        )
    return pd.DataFrame(rows)
