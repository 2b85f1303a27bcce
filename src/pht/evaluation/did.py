"""Difference-in-differences and event studies with standard errors clustered by practice.

Two estimators, both fitted with pyfixest on indicator cells (:func:`indicator_cells`):

* ``twfe`` — the static two-way fixed-effects regression ``y ~ treated | unit + quarter``;
* ``sun_abraham`` (the default) — Sun & Abraham's interaction-weighted estimator: the regression
  is saturated in start cohort x quarter relative to start (reference: the quarter before start),
  with practices outside the scheme as the never-treated comparison; the ATT and the event-study
  coefficients are averages of the cohort-specific coefficients weighted by each cohort's share of
  treated persons. It stays valid when practices start at different times (the 2018 pilot had
  practices joining in 2020) and effects differ between cohorts or grow over time, where the
  static TWFE weights can be negative.

Every regression is weighted by the persons in a cell, so the estimates are per person-quarter.
Cells of the person-level panel group the persons of one practice with the same observation
window; because every regressor is constant within such a group, the weighted regression on cell
means with one fixed effect per group gives exactly the coefficients and cluster-robust variance
of the regression on person-quarters with person(-spell) fixed effects (a test checks it). That is
how a national panel (5.5 million persons, 32 quarters) fits in minutes.

Standard errors are clustered by practice. The ATT and the post-start event-study coefficients of
the saturated estimators use Bell & McCaffrey's bias-reduced CR2 (:func:`cr2_vcov`): a start
cohort of a few practices identifies its own coefficients, and CRV1 understates their variance by
about the share of each practice in them (the Monte-Carlo validation showed nurse consultations,
which have no variance outside the pilot practices, with errors 13% below the spread of the
estimates). The static TWFE and the pre-trend leads use CRV1 with the G/(G-1) factor and no
(N-1)/(N-K) factor (it is ~1 on person-level data and would differ between the cell and person
forms); ``fit_twfe(se="cr1_statsmodels")`` gives statsmodels' CR1 (also (N-1)/(N-K), K counting
every fixed-effect level) and ``se="pyfixest_default"`` pyfixest's default (:data:`SE_CONVENTIONS`).
Confidence intervals and p-values refer to t with min(treated practices, comparison
practices) - 1 degrees of freedom: with few treated clusters, G - 1 would make the intervals too
narrow (the validation showed it); joint tests use the Hotelling T-squared form of F
(:func:`hotelling_p`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyfixest as pf
from scipy import stats

from pht.core.errors import PhtError
from pht.evaluation.indicators import quarter_label

__all__ = [
    "ESTIMATORS",
    "SE_CONVENTIONS",
    "Estimate",
    "EventStudy",
    "attach_treatment",
    "cr2_vcov",
    "fit",
    "fit_etwfe",
    "fit_sun_abraham",
    "fit_twfe",
    "inference_df",
]

ESTIMATORS = ("etwfe", "sun_abraham", "twfe")
NEVER = 10**6
_SSC = {"k_adj": False, "G_adj": True}
# The small-sample conventions the static TWFE offers (``fit_twfe(..., se=...)``):
# - "crv1_g" (pht's default): CRV1 x G/(G-1), no (N-1)/(N-K) factor — the same on the cell and
#   the person form of the panel;
# - "cr1_statsmodels": statsmodels' CR1 of a WLS with explicit dummies and cov_type="cluster":
#   G/(G-1) x (N-1)/(N-K) with K every coefficient including every fixed-effect level;
# - "pyfixest_default": pyfixest's own default (k_adj with K counting the fixed effects that are
#   not nested in the clusters, G/(G-1)).
SE_CONVENTIONS: dict[str, dict[str, Any] | None] = {
    "crv1_g": _SSC,
    "cr1_statsmodels": {"k_adj": True, "k_fixef": "full", "G_adj": True},
    "pyfixest_default": None,
}


@dataclass
class EventStudy:
    """Event-study coefficients by quarter relative to start (0 = first quarter in the scheme)."""

    table: pd.DataFrame  # rel, coef, se, ci_low, ci_high, n_treated
    pretrend_stat: float | None
    pretrend_df: int
    pretrend_p: float | None
    pretrend_note: str = ""  # why the pre-trend test did not run, when it did not


@dataclass
class Estimate:
    """One difference-in-differences estimate with its inference."""

    indicator: str
    estimator: str
    level: str
    split: str  # "all", "fee", "grant", or a target group
    att: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    clusters: int
    treated_practices: int
    comparison_practices: int
    treated_persons: int  # persons in treated cells after start (max over quarters)
    person_quarters: int
    event: EventStudy | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    note: str = ""  # why the estimate is not estimable ("" when it is)

    @property
    def estimable(self) -> bool:
        """False when the data cannot identify an effect (then every number is NaN)."""
        return not self.note

    def row(self) -> dict[str, Any]:
        """The estimate as a flat row (without the event study)."""
        return {
            "indicator": self.indicator,
            "estimator": self.estimator,
            "level": self.level,
            "split": self.split,
            "att": self.att,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_value": self.p_value,
            "pretrend_p": self.event.pretrend_p if self.event else None,
            "note": self.note or (self.event.pretrend_note if self.event else ""),
            "clusters": self.clusters,
            "treated_practices": self.treated_practices,
            "comparison_practices": self.comparison_practices,
            "treated_persons": self.treated_persons,
            "person_quarters": self.person_quarters,
        }


def attach_treatment(cells: pd.DataFrame, practices: pd.DataFrame) -> pd.DataFrame:
    """Add start cohort, relative quarter and the treated flag to indicator cells.

    *practices*: practice_id, start_q (first quarter in the scheme; missing for comparison
    practices), financing_model and optionally end_q (the last quarter in the scheme). Cells of
    practices not in *practices* are dropped (that is how the comparison set chosen by
    :mod:`.comparison` restricts the sample), and so are a pilot practice's quarters after it left
    the scheme: the effect is measured while a practice is in it.
    """
    cols = ["practice_id", "start_q", "financing_model"]
    cols += ["end_q"] if "end_q" in practices.columns else []
    df = cells.merge(practices[cols], on="practice_id", how="inner")
    if "end_q" in df.columns:
        left = df["end_q"].notna() & (df["q"] > df["end_q"].fillna(NEVER))
        df = df[~left].drop(columns=["end_q"])
    df["cohort"] = df["start_q"].fillna(NEVER).astype("int64")
    df["rel"] = np.where(df["cohort"] < NEVER, df["q"] - df["cohort"], -NEVER)
    df["treated"] = (df["q"] >= df["cohort"]).astype("float64")
    df = df[df["n"] > 0].copy()
    return df


def _check(df: pd.DataFrame, indicator: str) -> None:
    if df.empty:
        raise PhtError(f"{indicator}: no cells to estimate on")
    if not (df["cohort"] < NEVER).any():
        raise PhtError(f"{indicator}: no practice in the scheme among the cells")
    if not (df["cohort"] == NEVER).any():
        raise PhtError(f"{indicator}: no comparison practice among the cells")
    if df["practice_id"].nunique() < 3:
        raise PhtError(f"{indicator}: fewer than 3 practices; clustered errors are meaningless")


def _check_cohorts(df: pd.DataFrame, indicator: str) -> None:
    """The saturated estimators need two practices per start cohort for clustered errors."""
    per = df[df["cohort"] < NEVER].groupby("cohort")["practice_id"].nunique()
    if (per < 2).any():
        lone = ", ".join(quarter_label(int(g)) for g in per[per < 2].index)
        raise PhtError(
            f"{indicator}: only one practice started in {lone}; its effect cannot get a "
            "clustered standard error (use the static TWFE or a larger sample)"
        )


def _counts(df: pd.DataFrame) -> dict[str, int]:
    treated = df[df["treated"] > 0]
    return {
        "clusters": int(df["practice_id"].nunique()),
        "treated_practices": int(df.loc[df["cohort"] < NEVER, "practice_id"].nunique()),
        "comparison_practices": int(df.loc[df["cohort"] == NEVER, "practice_id"].nunique()),
        "treated_persons": int(treated.groupby("q")["n"].sum().max()) if len(treated) else 0,
        "person_quarters": int(df["n"].sum()),
    }


def inference_df(df: pd.DataFrame) -> int:
    """Degrees of freedom for t and F: the smaller arm's number of practices, minus one.

    Cluster-robust errors are too small when few clusters are treated; referring the statistics
    to t (or F) with (treated or comparison practices) - 1 degrees of freedom, rather than all
    practices - 1, keeps the intervals' coverage near nominal (docs/evaluation.md, validation).
    """
    treated = int(df.loc[df["cohort"] < NEVER, "practice_id"].nunique())
    comparison = int(df.loc[df["cohort"] == NEVER, "practice_id"].nunique())
    return max(min(treated, comparison) - 1, 1)


def _estimate(
    indicator: str,
    estimator: str,
    level: str,
    split: str,
    att: tuple[float, float, float, float, float],
    counts: dict[str, int],
    event: EventStudy | None = None,
) -> Estimate:
    est, se, lo, hi, p = att
    return Estimate(
        indicator,
        estimator,
        level,
        split,
        est,
        se,
        lo,
        hi,
        p,
        clusters=counts["clusters"],
        treated_practices=counts["treated_practices"],
        comparison_practices=counts["comparison_practices"],
        treated_persons=counts["treated_persons"],
        person_quarters=counts["person_quarters"],
        event=event,
    )


def _no_variation(df: pd.DataFrame) -> str:
    """Why *df*'s outcome cannot identify an effect, or "" when it can."""
    y = df["y_mean"].to_numpy(dtype=float)
    if y.size and float(np.nanmax(y) - np.nanmin(y)) == 0.0:
        return f"ikke estimerbar: indikatoren har ingen variasjon (alle verdier er {y[0]:g})"
    return ""


def _not_estimable(
    indicator: str, estimator: str, level: str, split: str, df: pd.DataFrame, note: str
) -> Estimate:
    nan = float("nan")
    est = _estimate(indicator, estimator, level, split, (nan, nan, nan, nan, nan), _counts(df))
    est.note = note
    return est


def _checked(est: Estimate, df: pd.DataFrame) -> Estimate:
    """An estimate whose standard error is 0 or not finite is not estimable: never 0 with SE 0."""
    if est.note or (math.isfinite(est.se) and est.se > 0):
        return est
    out = _not_estimable(
        est.indicator,
        est.estimator,
        est.level,
        est.split,
        df,
        "ikke estimerbar: standardfeilen er 0 eller ikke endelig (ingen variasjon å skille "
        "pilot fra sammenligning)",
    )
    out.event = est.event
    return out


def _inference(est: float, se: float, dfree: int) -> tuple[float, float, float]:
    dfree = max(dfree, 1)
    if se == 0 or not math.isfinite(se):
        return est, est, float("nan")
    t = stats.t.ppf(0.975, dfree)
    p = 2 * stats.t.sf(abs(est / se), dfree)
    return est - t * se, est + t * se, float(p)


def fit_twfe(
    df: pd.DataFrame,
    *,
    indicator: str = "",
    level: str = "",
    split: str = "all",
    se: str = "crv1_g",
) -> Estimate:
    """Static two-way fixed effects: y ~ treated | unit + quarter, weights = persons.

    *se* names the small-sample convention of the clustered standard error
    (:data:`SE_CONVENTIONS`): ``crv1_g`` (default), ``cr1_statsmodels`` or ``pyfixest_default``.
    """
    _check(df, indicator)
    if se not in SE_CONVENTIONS:
        raise PhtError(
            f"unknown standard-error convention {se!r}; known: {', '.join(SE_CONVENTIONS)}"
        )
    ssc = SE_CONVENTIONS[se]
    if note := _no_variation(df):
        return _not_estimable(indicator, "twfe", level, split, df, note)
    fit = pf.feols(
        "y_mean ~ treated | unit + q",
        data=df,
        weights="n",
        vcov={"CRV1": "practice_id"},
        **({"ssc": pf.ssc(**ssc)} if ssc is not None else {}),
    )
    coef = float(fit.coef()["treated"])
    std_err = float(fit.se()["treated"])
    c = _counts(df)
    lo, hi, p = _inference(coef, std_err, inference_df(df))
    return _checked(_estimate(indicator, "twfe", level, split, (coef, std_err, lo, hi, p), c), df)


def _design(df: pd.DataFrame, keep: Any) -> tuple[pd.DataFrame, list[tuple[int, int, str]]]:
    """Add one dummy per (cohort, relative quarter) of the treated practices where *keep*(rel)."""
    treated = df[df["cohort"] < NEVER]
    pairs = sorted(
        {(int(g), int(e)) for g, e in zip(treated["cohort"], treated["rel"], strict=True)}
    )
    cols: list[tuple[int, int, str]] = []
    new: dict[str, np.ndarray] = {}
    cohort = df["cohort"].to_numpy()
    rel = df["rel"].to_numpy()
    for g, e in pairs:
        if not keep(e):
            continue
        name = f"d_{g}_{'m' if e < 0 else 'p'}{abs(e)}"
        new[name] = ((cohort == g) & (rel == e)).astype("float64")
        cols.append((g, e, name))
    out = pd.concat([df.reset_index(drop=True), pd.DataFrame(new, index=range(len(df)))], axis=1)
    return out, cols


@dataclass
class _Saturated:
    """A fitted regression saturated in cohort x relative quarter, ready to aggregate."""

    beta: np.ndarray
    vcov: np.ndarray
    pos: dict[str, int]
    mass: pd.Series  # persons per (cohort, rel) among treated practices
    dfree: int

    def weights(self, pairs: list[tuple[int, int, str]]) -> np.ndarray | None:
        usable = [(g, e, nm) for g, e, nm in pairs if nm in self.pos]
        if not usable:
            return None
        w = np.array([float(self.mass.loc[(g, e)]) for g, e, _ in usable])
        r = np.zeros(len(self.beta))
        for (_, _, nm), wi in zip(usable, w / w.sum(), strict=True):
            r[self.pos[nm]] = wi
        return r

    def combine(self, pairs: list[tuple[int, int, str]]) -> tuple[float, float] | None:
        r = self.weights(pairs)
        if r is None:
            return None
        return float(r @ self.beta), float(math.sqrt(max(float(r @ self.vcov @ r), 0.0)))

    def event_rows(self, cols: list[tuple[int, int, str]]) -> list[dict[str, Any]]:
        rows = []
        for e in sorted({e for _, e, _ in cols}):
            got = self.combine([x for x in cols if x[1] == e])
            if got is None:
                continue
            lo, hi, _ = _inference(got[0], got[1], self.dfree)
            rows.append(
                {
                    "rel": e,
                    "coef": got[0],
                    "se": got[1],
                    "ci_low": lo,
                    "ci_high": hi,
                    "n_treated": int(self.mass.xs(e, level="rel").sum()),
                }
            )
        return rows

    def wald(self, cols: list[tuple[int, int, str]]) -> tuple[float | None, int, float | None]:
        """Joint test that the per-quarter averages over *cols* are all zero (see hotelling_p)."""
        r_rows = [
            self.weights([x for x in cols if x[1] == e]) for e in sorted({e for _, e, _ in cols})
        ]
        rs = [r for r in r_rows if r is not None]
        if not rs:
            return None, 0, None
        rmat = np.vstack(rs)
        b = rmat @ self.beta
        v = rmat @ self.vcov @ rmat.T
        rank = int(np.linalg.matrix_rank(v))
        if rank == 0:
            return None, 0, None
        stat = float(b @ np.linalg.pinv(v) @ b) / rank
        return stat, rank, hotelling_p(stat, rank, self.dfree)


def hotelling_p(stat: float, k: int, dfree: int) -> float:
    """p-value of a cluster-robust Wald statistic *stat* (F form: chi-square / *k*).

    With G = *dfree* + 1 clusters the cluster-robust covariance is itself estimated from G
    scores, so the Wald statistic behaves like Hotelling's T-squared, not like chi-square:
    (G - k) / (k (G - 1)) T^2 follows F(k, G - k). Referring stat to F(k, G - 1) instead made the
    4-lead pre-trend test reject 12-20% of null runs at 5% (docs/evaluation.md). For k = 1 this
    is the t test with G - 1 degrees of freedom.
    """
    g = dfree + 1
    d2 = max(g - k, 1)
    return float(stats.f.sf(stat * d2 / max(g - 1, 1), k, d2))


def _leads(
    untreated: pd.DataFrame, pre_quarters: int
) -> tuple[list[dict[str, Any]], float | None, int, float | None]:
    """Pre-trend test on untreated cells: one lead per quarter before start, common to cohorts.

    Borusyak, Jaravel & Spiess's test: on cells before start only, ``y ~ lead_1..lead_k | unit +
    quarter`` where lead_j marks a pilot practice's j-th quarter before start (reference: its
    earlier quarters), tested jointly (:func:`hotelling_p`). The leads are pooled over start
    cohorts: a lead per cohort and quarter is identified by a handful of practices, whose
    cluster-robust variance is far too small (a Monte-Carlo run rejected a true null in up to 24%
    of runs on the survey items, where a practice-quarter has one or two respondents).
    Returns the event-study rows of the leads and (F, k, p).
    """
    data = untreated.reset_index(drop=True)
    pilot = (data["cohort"] < NEVER).to_numpy()
    rel = data["rel"].to_numpy()
    names: dict[int, str] = {}
    cols: dict[str, np.ndarray] = {}
    for e in range(-pre_quarters, 0):
        hit = pilot & (rel == e)
        if hit.any():
            names[e] = f"lead_m{-e}"
            cols[names[e]] = hit.astype("float64")
    if not names or not (pilot & (rel < -pre_quarters)).any():
        return [], None, 0, None
    data = pd.concat([data, pd.DataFrame(cols, index=data.index)], axis=1)
    fml = "y_mean ~ " + " + ".join(names.values()) + " | unit + q"
    model = pf.feols(fml, data=data, weights="n", vcov={"CRV1": "practice_id"}, ssc=pf.ssc(**_SSC))
    coef, vcov = model.coef(), np.asarray(model._vcov)
    pos = {n: i for i, n in enumerate(coef.index)}
    dfree = inference_df(data)
    mass = data[pilot].groupby("rel")["n"].sum()
    rows, kept = [], []
    for e, name in names.items():
        if name not in pos:
            continue
        i = pos[name]
        b, se = float(coef.iloc[i]), float(math.sqrt(max(vcov[i, i], 0.0)))
        lo, hi, _ = _inference(b, se, dfree)
        rows.append(
            {"rel": e, "coef": b, "se": se, "ci_low": lo, "ci_high": hi, "n_treated": int(mass[e])}
        )
        kept.append(i)
    if not kept:
        return [], None, 0, None
    b = coef.to_numpy()[kept]
    v = vcov[np.ix_(kept, kept)]
    k = int(np.linalg.matrix_rank(v))
    if k == 0:
        return rows, None, 0, None
    stat = float(b @ np.linalg.pinv(v) @ b) / k
    return rows, stat, k, hotelling_p(stat, k, dfree)


def cr2_vcov(model: Any, cluster: str = "practice_id") -> np.ndarray:
    """Bell & McCaffrey's CR2 cluster-robust covariance of a fitted pyfixest ``feols`` model.

    With Z the weighted, fixed-effect-demeaned regressors, e the weighted residuals and
    A = (Z'Z)^-1, CR2 is A (sum_g Z_g' M_g e_g e_g' M_g Z_g) A with M_g = (I - Z_g A Z_g')^-1/2:
    each practice's residuals are scaled up by its leverage, which CRV1 ignores. Z_g' M_g equals
    A^-1/2 (I - S_g)^-1/2 A^1/2 Z_g' with S_g = A^1/2 Z_g'Z_g A^1/2 (a k x k matrix), so a
    practice costs O(rows x k^2), and the result depends on the rows only through Z_g'Z_g and
    Z_g'e_g: cells of persons and the persons themselves give the same covariance. The leverage
    of the absorbed fixed effects is left out (units are nested in practices; Pustejovsky &
    Tipton 2018 work with the demeaned regressors the same way).
    """
    z = np.asarray(model._X, dtype=np.float64)
    e = np.asarray(model._u_hat, dtype=np.float64).ravel()
    groups = pd.factorize(model._data[cluster].to_numpy())[0]
    if z.shape[0] != groups.size:
        raise PhtError("CR2: the model's rows and its cluster column differ in length")
    a = np.linalg.inv(z.T @ z)
    lam, vec = np.linalg.eigh((a + a.T) / 2)
    lam = np.clip(lam, 1e-300, None)
    a_half = (vec * np.sqrt(lam)) @ vec.T
    a_neg_half = (vec / np.sqrt(lam)) @ vec.T
    order = np.argsort(groups, kind="stable")
    bounds = np.flatnonzero(np.diff(groups[order])) + 1
    meat = np.zeros_like(a)
    for rows in np.split(order, bounds):
        zg = z[rows]
        s_g = a_half @ (zg.T @ zg) @ a_half
        mu, u = np.linalg.eigh((s_g + s_g.T) / 2)
        # a leverage of 1 means one practice alone identifies a coefficient (refused earlier)
        scale = 1.0 / np.sqrt(np.clip(1.0 - mu, 1e-12, None))
        score = a_neg_half @ ((u * scale) @ (u.T @ (a_half @ (zg.T @ e[rows]))))
        meat += np.outer(score, score)
    return np.asarray(a @ meat @ a)


def _saturated(df: pd.DataFrame, keep: Any) -> tuple[_Saturated, list[tuple[int, int, str]]]:
    data, cols = _design(df, keep)
    if not cols:
        raise PhtError("no treated quarters to estimate")
    fml = "y_mean ~ " + " + ".join(name for _, _, name in cols) + " | unit + q"
    model = pf.feols(fml, data=data, weights="n", vcov={"CRV1": "practice_id"}, ssc=pf.ssc(**_SSC))
    treated = data[data["cohort"] < NEVER]
    sat = _Saturated(
        beta=model.coef().to_numpy(),
        vcov=cr2_vcov(model),
        pos={n: i for i, n in enumerate(model.coef().index)},
        mass=treated.groupby(["cohort", "rel"])["n"].sum(),
        dfree=inference_df(data),
    )
    return sat, cols


def fit_etwfe(
    df: pd.DataFrame,
    *,
    indicator: str = "",
    level: str = "",
    split: str = "all",
    pre_quarters: int = 4,
    pretrend: bool = True,
) -> Estimate:
    """Extended TWFE (Wooldridge 2021): saturated in start cohort x quarter since start.

    The ATT and the post-start event-study coefficients come from one regression saturated in
    start cohort x quarter since start (every quarter before start is the reference), weighted by
    each cohort's persons. The pre-trend test follows Borusyak, Jaravel & Spiess (:func:`_leads`):
    on the untreated cells only, leads for the *pre_quarters* quarters before start, common to
    the cohorts (reference: the earlier quarters), are tested jointly; their coefficients are the
    plot's pre-start points.
    """
    _check(df, indicator)
    _check_cohorts(df, indicator)
    if not (df["treated"] > 0).any():
        raise PhtError(f"{indicator}: no quarter after start in the data")
    if note := _no_variation(df):
        return _not_estimable(indicator, "etwfe", level, split, df, note)
    sat, cols = _saturated(df, lambda e: e >= 0)
    att = sat.combine(cols)
    assert att is not None
    c = _counts(df)
    lo, hi, p = _inference(att[0], att[1], inference_df(df))
    rows = sat.event_rows(cols)
    stat, k, pval = None, 0, None
    untreated = df[df["treated"] == 0]
    has_ref = (untreated["cohort"] < NEVER) & (untreated["rel"] < -pre_quarters)
    why = ""
    if not pretrend:
        why = "før-trendtesten er slått av for dette utvalget"
    elif not has_ref.any():
        why = (
            f"før-trendtesten kan ikke kjøres: pilotkontorene har ingen kvartaler mer enn "
            f"{pre_quarters} kvartaler før start å sammenligne med"
        )
    else:
        pre_rows, stat, k, pval = _leads(untreated, pre_quarters)
        rows = pre_rows + rows
        if pval is None:
            why = "før-trendtesten kan ikke kjøres: ledd før start har ingen variasjon"
    event = EventStudy(pd.DataFrame(rows), stat, k, pval, why)
    est = _estimate(indicator, "etwfe", level, split, (att[0], att[1], lo, hi, p), c, event)
    return _checked(est, df)


def fit_sun_abraham(
    df: pd.DataFrame,
    *,
    indicator: str = "",
    level: str = "",
    split: str = "all",
    pre_quarters: int = 8,
    pretrend: bool = True,
) -> Estimate:
    """Sun & Abraham's interaction-weighted estimator, reference quarter -1.

    Saturated in cohort x every relative quarter but -1; valid under staggered starts but
    noisier than :func:`fit_etwfe` (one reference quarter). Pre-trend: the joint test of the
    *pre_quarters* leads.
    """
    _check(df, indicator)
    _check_cohorts(df, indicator)
    if not (df["treated"] > 0).any():
        raise PhtError(f"{indicator}: no quarter after start in the data")
    if note := _no_variation(df):
        return _not_estimable(indicator, "sun_abraham", level, split, df, note)
    sat, cols = _saturated(df, lambda e: e != -1)
    post = [x for x in cols if x[1] >= 0]
    att = sat.combine(post)
    assert att is not None
    c = _counts(df)
    lo, hi, p = _inference(att[0], att[1], inference_df(df))
    rows = sat.event_rows(cols)
    rows.append({"rel": -1, "coef": 0.0, "se": 0.0, "ci_low": 0.0, "ci_high": 0.0, "n_treated": 0})
    stat, k, pval = (
        sat.wald([x for x in cols if -pre_quarters <= x[1] < -1]) if pretrend else (None, 0, None)
    )
    table = pd.DataFrame(rows).sort_values("rel").reset_index(drop=True)
    why = ""
    if not pretrend:
        why = "før-trendtesten er slått av for dette utvalget"
    elif pval is None:
        why = "før-trendtesten kan ikke kjøres: ingen ledd før start med variasjon"
    event = EventStudy(table, stat, k, pval, why)
    est = _estimate(indicator, "sun_abraham", level, split, (att[0], att[1], lo, hi, p), c, event)
    return _checked(est, df)


def fit(df: pd.DataFrame, estimator: str, **kw: Any) -> Estimate:
    """Fit *estimator* (``sun_abraham`` or ``twfe``) on prepared cells."""
    if estimator == "etwfe":
        return fit_etwfe(df, **kw)
    if estimator == "sun_abraham":
        return fit_sun_abraham(df, **kw)
    if estimator == "twfe":
        return fit_twfe(df, **kw)
    raise PhtError(f"unknown estimator {estimator!r}; known: {', '.join(ESTIMATORS)}")
