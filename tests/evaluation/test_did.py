"""Difference-in-differences: equal to reference fits, exact on cells, valid under staggering."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
import statsmodels.formula.api as smf

from pht.core.errors import PhtError
from pht.evaluation import did
from pht.evaluation.indicators import indicator
from pht.evaluation.study import Study

warnings.filterwarnings("ignore", category=UserWarning)


def _panel(
    seed: int,
    *,
    effect: dict[int, float] | None = None,
    growth: float = 0.0,
    noise: float = 0.3,
    practices: int = 24,
) -> tuple[pd.DataFrame, float]:
    """Practice x quarter cells: 6 practices start in quarter 8, 4 in quarter 14, the rest never.

    Returns the cells (treatment attached) and the true ATT per person-quarter.
    """
    rng = np.random.default_rng(seed)
    effect = effect or {8: 0.5, 14: 0.5}
    rows = []
    for p in range(practices):
        g = 8 if p < 6 else (14 if p < 10 else None)
        a = rng.normal()
        for q in range(24):
            n = int(rng.integers(20, 80))
            tau = 0.0 if g is None or q < g else effect[g] + growth * (q - g)
            y = a + 0.05 * q + 0.2 * np.sin(q) + tau + rng.normal(0, noise)
            rows.append((f"p{p}", q, n, y, g, tau))
    df = pd.DataFrame(rows, columns=["practice_id", "q", "n", "y_mean", "start_q", "tau"])
    df["unit"] = df["practice_id"]
    df["y_sum"] = df["y_mean"] * df["n"]
    df["n_event"] = df["n"]
    info = df.groupby("practice_id", as_index=False).first()[["practice_id", "start_q"]]
    info["start_q"] = info["start_q"].astype("Int64")
    info["financing_model"] = np.where(info["start_q"].notna(), "fee", None)
    cells = did.attach_treatment(df.drop(columns=["start_q"]), info)
    treated = cells["treated"] > 0
    truth = float(
        (cells.loc[treated, "tau"] * cells.loc[treated, "n"]).sum() / cells.loc[treated, "n"].sum()
    )
    return cells, truth


def test_twfe_equals_a_statsmodels_reference_fit_to_1e6() -> None:
    cells, _ = _panel(1)
    ours = did.fit_twfe(cells)
    ref = smf.wls("y_mean ~ treated + C(unit) + C(q)", data=cells, weights=cells["n"]).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(cells["practice_id"])[0]}
    )
    assert ours.att == pytest.approx(float(ref.params["treated"]), abs=1e-6)
    # statsmodels multiplies by (N-1)/(N-K) as well as G/(G-1); we use G/(G-1) only
    n_obs, k = len(cells), len(ref.params)
    se_ref = float(ref.bse["treated"]) * np.sqrt((n_obs - k) / (n_obs - 1))
    assert ours.se == pytest.approx(se_ref, abs=1e-6)


def test_the_se_conventions_equal_statsmodels_cr1_and_pyfixests_default() -> None:
    cells, _ = _panel(1)
    ref = smf.wls("y_mean ~ treated + C(unit) + C(q)", data=cells, weights=cells["n"]).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(cells["practice_id"])[0]}
    )
    cr1 = did.fit_twfe(cells, se="cr1_statsmodels")
    assert cr1.se == pytest.approx(float(ref.bse["treated"]), abs=1e-6)
    default = pf.feols(
        "y_mean ~ treated | unit + q", data=cells, weights="n", vcov={"CRV1": "practice_id"}
    )
    assert did.fit_twfe(cells, se="pyfixest_default").se == pytest.approx(
        float(default.se()["treated"]), abs=1e-9
    )
    ours = did.fit_twfe(cells)  # crv1_g: G/(G-1) only
    n_obs, k = len(cells), len(ref.params)  # 576 cells, 48 coefficients
    assert ours.se / cr1.se == pytest.approx(np.sqrt((n_obs - k) / (n_obs - 1)), abs=1e-9)
    assert 1 - ours.se / cr1.se == pytest.approx(0.0418, abs=5e-4)  # 4.2 % below CR1 here
    assert did.fit(cells, "twfe", se="cr1_statsmodels").se == cr1.se
    with pytest.raises(PhtError, match="crv1_g"):
        did.fit_twfe(cells, se="hc3")


@pytest.mark.parametrize("estimator", ["twfe", "etwfe", "sun_abraham"])
def test_an_outcome_without_variation_is_not_estimable_never_0_with_se_0(estimator: str) -> None:
    cells, _ = _panel(3)
    cells["y_mean"] = 1.0  # like usual-provider continuity that is exactly 1 everywhere
    est = did.fit(cells, estimator)
    assert not est.estimable and "ingen variasjon" in est.note
    assert all(np.isnan(v) for v in (est.att, est.se, est.ci_low, est.ci_high, est.p_value))
    assert est.row()["note"] == est.note


def test_the_etwfe_pretrend_test_says_why_it_cannot_run() -> None:
    cells, _ = _panel(4)
    # keep only the quarters from 4 before each cohort's start: no reference quarters left
    starts = cells.groupby("practice_id")["cohort"].transform("first")
    early = (cells["cohort"] < did.NEVER) & (cells["q"] < starts - 4)
    est = did.fit_etwfe(cells[~early].reset_index(drop=True))
    assert est.estimable and est.event is not None and est.event.pretrend_p is None
    assert "ingen kvartaler mer enn 4" in est.event.pretrend_note
    assert est.row()["note"] == est.event.pretrend_note
    off = did.fit_etwfe(cells, pretrend=False)
    assert "slått av" in off.row()["note"]
    full = did.fit_etwfe(cells)
    assert full.event is not None and full.event.pretrend_p is not None
    assert full.event.pretrend_note == "" and full.row()["note"] == ""


def test_person_level_cells_give_exactly_the_person_fixed_effects_fit(small_study: Study) -> None:
    ind = indicator("home_visits")
    cells = small_study.cells(ind, level="person")
    panel = small_study.panel.to_pandas()
    persons = panel[panel["q"] >= panel["since_target"]].copy()
    persons["unit"] = persons["person_id"] + ":" + persons["spell_first"].astype(str)
    persons["y_mean"] = persons["m_home_visits"].astype(float)
    persons["n"] = 1
    persons = did.attach_treatment(persons, small_study.sample_practices())
    assert persons["n"].sum() == cells["n"].sum()
    assert len(cells) < len(persons) / 3  # the cells are much smaller than the persons' panel
    for fit in (did.fit_twfe, did.fit_etwfe):
        a, b = fit(cells), fit(persons)
        assert a.att == pytest.approx(b.att, abs=1e-9)
        assert a.se == pytest.approx(b.se, abs=1e-9)


def test_etwfe_recovers_a_staggered_growing_effect_where_static_twfe_is_biased() -> None:
    cells, truth = _panel(2, effect={8: 0.0, 14: 0.0}, growth=0.3, noise=0.02)
    etwfe = did.fit_etwfe(cells)
    twfe = did.fit_twfe(cells)
    assert etwfe.att == pytest.approx(truth, abs=0.02)
    assert truth - twfe.att > 0.3  # the static TWFE compares with already-treated practices
    assert etwfe.ci_low <= truth <= etwfe.ci_high
    # the event study traces the growth: quarter 4 after start is about 1.2 above quarter 0
    ev = etwfe.event.table.set_index("rel")["coef"]
    assert ev.loc[4] - ev.loc[0] == pytest.approx(1.2, abs=0.05)
    assert etwfe.event.pretrend_p is not None and etwfe.event.pretrend_p > 0.01


def test_intervals_cover_the_true_effect_in_repeated_panels() -> None:
    # covering the truth is not rejecting it: this is also the size of the test (make validate
    # runs the full Monte-Carlo on generated registry data)
    covered = 0
    runs = 20
    for seed in range(runs):
        cells, truth = _panel(100 + seed, practices=16)
        est = did.fit_etwfe(cells, pretrend=False)
        covered += est.ci_low <= truth <= est.ci_high
    assert covered / runs >= 0.8


def test_a_pretrend_is_detected() -> None:
    cells, _ = _panel(3, noise=0.05)
    # the early cohort drifts upwards before its start
    drift = (cells["cohort"] == 8) & (cells["q"] < 8)
    cells.loc[drift, "y_mean"] += 0.15 * cells.loc[drift, "q"]
    event = did.fit_etwfe(cells).event
    # with 10 treated practices the size-corrected joint test of 4 leads has little power (the
    # price of not rejecting 12-20% of true nulls): the drift shows in every lead, and the test
    # rejects at 5%
    leads = event.table.set_index("rel").loc[[-4, -3, -2, -1]]
    assert (leads["ci_low"] > 0).all()
    assert event.pretrend_df == 4 and event.pretrend_p < 0.05


def _survey_panel(seed: int) -> pd.DataFrame:
    """Survey-like cells without any effect: 13 practices start in quarter 9, 4 in quarter 17,
    40 never; about 1.5 respondents per practice-quarter (empty cells are missing)."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(57):
        g = 9 if p < 13 else (17 if p < 17 else did.NEVER)
        a = rng.normal(0, 0.2)
        for q in range(24):
            n = int(rng.poisson(1.5))
            if n:
                y = a + 0.05 * np.sin(q) + rng.normal(0, 1, n).mean()
                rows.append(
                    {
                        "practice_id": f"p{p}",
                        "unit": f"p{p}",
                        "q": q,
                        "n": n,
                        "cohort": g,
                        "y_mean": y,
                    }
                )
    df = pd.DataFrame(rows)
    df["rel"] = np.where(df["cohort"] < did.NEVER, df["q"] - df["cohort"], -did.NEVER)
    df["treated"] = (df["q"] >= df["cohort"]).astype("float64")
    return df


def test_the_pretrend_test_keeps_its_size_with_few_respondents() -> None:
    # 60 survey-like panels without a pre-trend: the 5% test rejects in at most 5 (8%); the
    # former test (a lead per cohort and quarter, F with G - 1 df) rejected 6 of these 60, and
    # 12-24% of the survey items' runs in make validate
    rejected = 0
    for seed in range(60):
        p = did.fit_etwfe(_survey_panel(seed)).event.pretrend_p
        rejected += p is not None and p < 0.05
    assert rejected <= 5


def test_the_study_estimates_planted_effects_by_financing_model(small_study: Study) -> None:
    ests = small_study.estimate(indicator("nurse_consultations"), by="financing_model")
    assert [e.split for e in ests] == ["all", "fee", "grant"]
    truth = 0.6
    for e in ests:
        assert abs(e.att - truth) < 4 * e.se + 0.02
    assert ests[0].treated_practices == 6 and ests[2].treated_practices == 2


def test_a_start_cohort_of_one_practice_is_refused_by_the_saturated_estimators() -> None:
    from pht.core.errors import PhtError

    cells, _ = _panel(4)
    lone = cells[(cells["cohort"] != 14) | (cells["practice_id"] == "p6")]
    with pytest.raises(PhtError, match="only one practice started"):
        did.fit_etwfe(lone)
    assert did.fit_twfe(lone).se > 0


def test_a_split_by_target_group_and_a_bad_split_is_refused(small_study: Study) -> None:
    ests = small_study.estimate(indicator("home_visits"), by="target_group")
    assert ests[0].split == "all"
    assert "chronic_disease" in {e.split for e in ests}
    from pht.core.errors import PhtError

    with pytest.raises(PhtError, match="cannot split"):
        small_study.estimate(indicator("home_visits"), by="municipality")
    with pytest.raises(PhtError, match="survey"):
        small_study.estimate(indicator("satisfaction"), by="target_group")


def test_cr2_equals_the_dense_textbook_formula_and_exceeds_crv1() -> None:
    # CR2 (Bell-McCaffrey): residuals of each practice scaled by (I - H_gg)^-1/2, computed here
    # with the whole n_g x n_g hat block; did.cr2_vcov works on k x k matrices instead
    cells, _ = _panel(4, practices=16)
    data, cols = did._design(cells, lambda e: e >= 0)
    fml = "y_mean ~ " + " + ".join(name for _, _, name in cols) + " | unit + q"
    model = pf.feols(fml, data=data, weights="n", vcov={"CRV1": "practice_id"})
    z = np.asarray(model._X)
    e = np.asarray(model._u_hat).ravel()
    a = np.linalg.inv(z.T @ z)
    groups = model._data["practice_id"].to_numpy()
    meat = np.zeros_like(a)
    plain = np.zeros_like(a)
    for g in np.unique(groups):
        zg, eg = z[groups == g], e[groups == g]
        lam, vec = np.linalg.eigh(np.eye(len(eg)) - zg @ a @ zg.T)
        m = (vec / np.sqrt(lam)) @ vec.T
        score = zg.T @ m @ eg
        meat += np.outer(score, score)
        plain += np.outer(zg.T @ eg, zg.T @ eg)
    dense = a @ meat @ a
    ours = did.cr2_vcov(model)
    assert np.allclose(ours, dense, rtol=1e-8, atol=1e-14)
    # larger than the uncorrected sandwich: every practice's leverage is above zero
    assert np.all(np.diag(ours) > np.diag(a @ plain @ a))
