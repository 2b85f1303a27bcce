"""Comparison practices: practices outside the scheme that resemble the pilot practices.

Each practice is described by pre-period features (before the first pilot start): list size,
share aged 67 and over, share in a target group, centrality of its municipality, GP consultations
and daytime contacts per listed person. Every pilot practice gets its nearest neighbours among the
other practices on the standardised features (Mahalanobis distance with a diagonal covariance),
without replacement; the pilot practice hardest to match (farthest from the others) chooses
first. A logistic propensity score is reported beside each practice.
Balance is reported as standardised mean differences before (pilot against every other
practice) and after matching (pilot against the chosen comparisons).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis.expr.types as ir
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from pht.core.errors import PhtError
from pht.evaluation.indicators import Tables, _data, quarter_index

__all__ = [
    "Comparison",
    "balance_table",
    "choose_comparison",
    "first_start",
    "practice_features",
    "practice_info",
]


@dataclass
class Comparison:
    """The chosen comparison practices and the balance they give."""

    practices: pd.DataFrame  # practice_id, arm (pilot/comparison), matched_to, score
    balance: pd.DataFrame  # feature, pilot, others, comparison, smd_before, smd_after

    @property
    def ids(self) -> set[str]:
        """Practice ids of the pilot and its comparisons (the estimation sample)."""
        return set(self.practices["practice_id"])


def practice_info(tables: Tables) -> pd.DataFrame:
    """practice_id, name, municipality_code, financing_model, start_q, pilot, centrality.

    start_q is the first quarter whose first day is on or after pht_start (the practice's first
    full quarter in the scheme); missing for practices outside the scheme. end_q is the quarter
    of pht_end (missing: still in the scheme).
    """
    pr = tables.table("practices").to_pandas()
    mun = tables.table("municipalities").select("municipality_code", "centrality").to_pandas()
    pr = pr.merge(mun, on="municipality_code", how="left")
    start = pd.to_datetime(pr["pht_start"])
    first = [
        quarter_index((d - pd.Timedelta(days=1)).date()) + 1 if pd.notna(d) else None for d in start
    ]
    pr["start_q"] = pd.array(first, dtype="Int64")
    end = pd.to_datetime(pr["pht_end"])
    pr["end_q"] = pd.array(
        [quarter_index(d.date()) if pd.notna(d) else None for d in end], dtype="Int64"
    )
    pr["pilot"] = pr["start_q"].notna()
    pr["financing_model"] = pr["financing_model"].where(pr["pilot"], None)
    return pr[
        [
            "practice_id",
            "name",
            "municipality_code",
            "financing_model",
            "start_q",
            "end_q",
            "pilot",
            "centrality",
        ]
    ]


def practice_features(
    tables: Tables, panel: ir.Table, practices: pd.DataFrame, *, before_quarter: int
) -> pd.DataFrame:
    """Pre-period features per practice (quarters before *before_quarter*)."""
    persons = tables.table("persons").select("person_id", "birth_date")
    pre = panel.filter(panel.q < before_quarter)
    pre = pre.join(persons, "person_id")
    age = pre.q // 4 - pre.birth_date.year()
    feats = pre.group_by("practice_id").aggregate(
        person_quarters=pre.count(),
        quarters=pre.q.nunique(),
        share_67_plus=(age >= 67).cast("float64").mean(),
        share_target=(pre.q >= pre.since_target).cast("float64").mean(),
        gp_consultations=pre.m_gp_consultations.cast("float64").mean(),
        contacts=pre.m_all_contacts.cast("float64").mean(),
    )
    df = feats.to_pandas()
    if df.empty:
        raise PhtError(
            "no list data before the first pilot start: comparison practices are chosen on "
            "the pre-period"
        )
    df["listed"] = df["person_quarters"] / df["quarters"]
    df = df.merge(practices[["practice_id", "pilot", "centrality"]], on="practice_id")
    df["centrality"] = df["centrality"].astype("float64")
    df["centrality"] = df["centrality"].fillna(df["centrality"].median())
    return df


def _smd(a: pd.Series, b: pd.Series) -> float:
    pooled = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2) if len(a) > 1 and len(b) > 1 else 0.0
    if not pooled or not np.isfinite(pooled):
        return 0.0
    return float((a.mean() - b.mean()) / pooled)


def balance_table(features: pd.DataFrame, chosen: set[str], names: list[str]) -> pd.DataFrame:
    """Means and standardised mean differences before and after choosing comparisons."""
    pilot = features[features["pilot"]]
    others = features[~features["pilot"]]
    comp = others[others["practice_id"].isin(chosen)]
    rows = []
    for f in names:
        rows.append(
            {
                "feature": f,
                "pilot": float(pilot[f].mean()),
                "others": float(others[f].mean()),
                "comparison": float(comp[f].mean()) if len(comp) else float("nan"),
                "smd_before": _smd(pilot[f], others[f]),
                "smd_after": _smd(pilot[f], comp[f]) if len(comp) else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def choose_comparison(
    features: pd.DataFrame, *, matches_per_pilot: int | None = None
) -> Comparison:
    """Nearest-neighbour matching on standardised features, without replacement."""
    cfg = _data()["comparison"]
    k = int(matches_per_pilot or cfg["matches_per_pilot"])
    names = [str(f) for f in cfg["features"]]
    pilot = features[features["pilot"]]
    others = features[~features["pilot"]]
    if pilot.empty or others.empty:
        raise PhtError("need practices both in and outside the scheme to choose comparisons")
    x = StandardScaler().fit_transform(features[names].fillna(0.0).to_numpy())
    ids = features["practice_id"].to_numpy()
    y = features["pilot"].to_numpy().astype(int)
    model = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
    p = np.clip(model.predict_proba(x)[:, 1], 1e-6, 1 - 1e-6)
    score = pd.Series(np.log(p / (1 - p)), index=ids)
    pos = {pid: i for i, pid in enumerate(ids)}
    dist = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2))
    other_idx = np.array([pos[o] for o in others["practice_id"]])
    nearest_other = {
        pid: float(np.sort(dist[pos[pid], other_idx])[: max(k, 1)].mean())
        for pid in pilot["practice_id"]
    }
    free = set(others["practice_id"])
    rows = []
    for pid in sorted(nearest_other, key=lambda q: (-nearest_other[q], q)):
        rows.append({"practice_id": pid, "arm": "pilot", "matched_to": None, "score": score[pid]})
        for _ in range(k):
            if not free:
                break
            row = dist[pos[pid]]

            def distance(other: str, row: np.ndarray = row) -> float:
                return float(row[pos[other]])

            best = min(sorted(free), key=distance)
            free.remove(best)
            rows.append(
                {"practice_id": best, "arm": "comparison", "matched_to": pid, "score": score[best]}
            )
    chosen = pd.DataFrame(rows)
    balance = balance_table(
        features, set(chosen.loc[chosen["arm"] == "comparison", "practice_id"]), names
    )
    return Comparison(chosen, balance)


def first_start(practices: pd.DataFrame) -> int:
    """The first quarter any practice is in the scheme."""
    starts = practices["start_q"].dropna()
    if starts.empty:
        raise PhtError("no practice in the warehouse has a pht_start: nothing to evaluate")
    return int(starts.min())
