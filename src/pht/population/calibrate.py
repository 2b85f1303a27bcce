"""Estimate the admission-risk and expected-need coefficients from a warehouse, with a time split.

Training: factors as of T1 = T − 12 months, outcome in [T1, T). Validation (out of sample, later
in time): factors as of T, outcome in [T, T + 12 months). T defaults to 12 months before the end
of the contact data. The models are GLMs from statsmodels (logit; Poisson) on the binary factors
of :class:`pht.population.analytics.PopulationView`; the factor matrix is built by the same
Ibis expressions that score, so estimation and scoring cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from sklearn.metrics import roc_auc_score

from pht.core.errors import PhtError
from pht.population._base import Tables, add_months, gp_contacts
from pht.population.analytics import PopulationView
from pht.reference.value_sets import (
    Model,
    load_model,
    load_value_sets,
    model_versions,
    write_model,
)

__all__ = ["Calibration", "calibrate", "data_end"]


@dataclass(frozen=True)
class Calibration:
    """New model versions and their out-of-sample figures."""

    risk: Model
    need: Model
    figures: dict[str, Any]
    written: tuple[Path, ...]


def data_end(tables: Tables) -> dt.date:
    """The day after the last contact in the warehouse."""
    c = tables.table("contacts")
    last = c.date.max().execute()
    if last is None or pd.isna(last):
        raise PhtError("the warehouse has no contacts to estimate from")
    day: dt.date = pd.Timestamp(last).date()
    return day + dt.timedelta(days=1)


def _matrix(view: PopulationView, factors: list[str]) -> pd.DataFrame:
    f = view.features.execute()
    persons = view.persons.select("person_id").execute()["person_id"]
    f = f[f["factor"].isin(factors)].drop_duplicates()
    x = pd.crosstab(f["person_id"], f["factor"]).clip(upper=1)
    x = x.reindex(index=persons, columns=factors, fill_value=0).fillna(0)
    return x.astype(float)


def _outcomes(tables: Tables, start: dt.date, end: dt.date) -> tuple[pd.Series, pd.Series]:
    a = tables.table("admissions")
    a = a.filter(a.acute & (a.admitted >= start) & (a.admitted < end))
    admitted = set(a.select("person_id").distinct().execute()["person_id"])
    g = gp_contacts(tables, start, end)
    counts = g.group_by("person_id").aggregate(n=g.count()).execute()
    return (
        pd.Series(1.0, index=sorted(admitted)),
        pd.Series(counts["n"].to_numpy(float), index=counts["person_id"]),
    )


def _deciles(pred: np.ndarray, obs: np.ndarray) -> list[dict[str, float]]:
    order = np.argsort(pred, kind="stable")
    rows = []
    for part in np.array_split(order, 10):
        if len(part):
            rows.append(
                {
                    "predicted": float(pred[part].mean()),
                    "observed": float(obs[part].mean()),
                    "persons": len(part),
                }
            )
    return rows


def calibrate(
    tables: Tables,
    *,
    split: dt.date | None = None,
    models_dir: Path | None = None,
    write: bool = True,
    estimated_from: str = "warehouse",
) -> Calibration:
    """Estimate both models with a time split, report AUC and calibration, write new versions."""
    end = data_end(tables)
    t = split or add_months(end, -12)
    t1 = add_months(t, -12)
    t_end = add_months(t, 12)
    if t_end > end:
        raise PhtError(
            f"validation needs outcomes up to {t_end}, the contacts end {end - dt.timedelta(1)}; "
            "choose an earlier split date"
        )
    vs = load_value_sets()
    old_risk = load_model("admission_risk", directory=models_dir)
    old_need = load_model("expected_need", directory=models_dir)
    risk_factors = list(old_risk.coefficients)
    need_factors = list(old_need.coefficients)
    all_factors = sorted(set(risk_factors) | set(need_factors))

    def sample(as_of: dt.date) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
        view = PopulationView(
            tables, as_of, value_sets=vs, risk_model=old_risk, need_model=old_need
        )
        x = _matrix(view, all_factors)
        adm, gp = _outcomes(tables, as_of, add_months(as_of, 12))
        y_adm = adm.reindex(x.index, fill_value=0.0)
        y_gp = gp.reindex(x.index, fill_value=0.0)
        return x, y_adm, y_gp

    x_train, adm_train, gp_train = sample(t1)
    x_test, adm_test, gp_test = sample(t)

    def fit(x: pd.DataFrame, y: pd.Series, factors: list[str], family: Any) -> Any:
        cols = [c for c in factors if 0 < x[c].sum() < len(x)]
        design = sm.add_constant(x[cols], has_constant="add")
        result = sm.GLM(y, design, family=family).fit_regularized(
            alpha=1e-4, L1_wt=0.0, maxiter=200
        )
        return cols, result

    r_cols, r_fit = fit(x_train, adm_train, risk_factors, sm.families.Binomial())
    n_cols, n_fit = fit(x_train, gp_train, need_factors, sm.families.Poisson())

    def predict(result: Any, cols: list[str], x: pd.DataFrame, link: str) -> np.ndarray:
        params = np.asarray(result.params)
        lp = np.asarray(params[0] + x[cols].to_numpy() @ params[1:], dtype=float)
        out: np.ndarray = 1 / (1 + np.exp(-lp)) if link == "logit" else np.exp(lp)
        return out

    p_test = predict(r_fit, r_cols, x_test, "logit")
    mu_train = predict(n_fit, n_cols, x_train, "log")
    mu_test = predict(n_fit, n_cols, x_test, "log")
    y = adm_test.to_numpy()
    auc = float(roc_auc_score(y, p_test)) if 0 < y.sum() < len(y) else float("nan")
    gp_auc_target = (gp_test.to_numpy() >= np.quantile(gp_test.to_numpy(), 0.9)).astype(int)
    need_auc = (
        float(roc_auc_score(gp_auc_target, mu_test))
        if 0 < gp_auc_target.sum() < len(gp_auc_target)
        else float("nan")
    )
    figures: dict[str, Any] = {
        "split": t.isoformat(),
        "train_persons": len(x_train),
        "test_persons": len(x_test),
        "admission_risk": {
            "auc": round(auc, 4),
            "observed_rate": round(float(y.mean()), 5),
            "predicted_rate": round(float(p_test.mean()), 5),
            "observed_over_expected": round(float(y.sum() / p_test.sum()), 4),
            "deciles": _deciles(p_test, y),
        },
        "expected_need": {
            "auc_top_decile": round(need_auc, 4),
            "observed_mean": round(float(gp_test.mean()), 4),
            "predicted_mean": round(float(mu_test.mean()), 4),
            "observed_over_expected": round(float(gp_test.sum() / mu_test.sum()), 4),
            "deciles": _deciles(mu_test, gp_test.to_numpy()),
        },
    }
    period = {
        "features_before": t1,
        "outcome_from": t1,
        "outcome_until": t - dt.timedelta(days=1),
        "validated_features_before": t,
        "validated_outcome_until": t_end - dt.timedelta(days=1),
    }
    today = dt.date.today().isoformat()

    def model(
        old: Model, cols: list[str], result: Any, normaliser: float, val: dict[str, Any]
    ) -> Model:
        params = np.asarray(result.params)
        coefs = {c: round(float(v), 4) for c, v in zip(cols, params[1:], strict=True)}
        version = max(model_versions(old.name, models_dir), default=0) + 1
        flat = {k: v for k, v in val.items() if k != "deciles"}
        return Model(
            name=old.name,
            version=version,
            kind=old.kind,
            outcome=old.outcome,
            intercept=round(float(params[0]), 4),
            normaliser=round(normaliser, 4),
            coefficients=coefs,
            data_period=period,  # type: ignore[arg-type]
            estimated_from=estimated_from,
            estimated_at=today,
            status="D",
            source="pht population calibrate",
            validation={**flat, "train_persons": len(x_train), "test_persons": len(x_test)},
        )

    risk = model(old_risk, r_cols, r_fit, 1.0, figures["admission_risk"])
    need = model(old_need, n_cols, n_fit, float(mu_train.mean()), figures["expected_need"])
    written: tuple[Path, ...] = ()
    if write:
        note = f"Estimated by `pht population calibrate` from {estimated_from}; time split {t}."
        written = (
            write_model(risk, models_dir, comment=note),
            write_model(need, models_dir, comment=note),
        )
    return Calibration(risk=risk, need=need, figures=figures, written=written)
