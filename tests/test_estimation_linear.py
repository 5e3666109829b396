"""Pooled OLS / two-way FE against statsmodels LSDV, and recovery of planted coefficients."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.sandwich_covariance import cov_cluster

from estimation_helpers import make_design, spec
from estimation.linear import fit_ols
from synthetic.panels import CONTROLS
from synthetic.panels import PLANTED, simulate_panel


def _statsmodels_lsdv(panel: pd.DataFrame, terms: list[str], effects: bool):
    X = panel[terms].astype(float)
    if effects:
        dums = pd.get_dummies(panel[["unit_code", "year"]].astype(str), drop_first=True,
                              dtype=float)
        X = pd.concat([X, dums], axis=1)
    X = sm.add_constant(X)
    return sm.OLS(panel["er"].astype(float), X).fit()


@pytest.mark.parametrize("effects", [(), ("unit", "time")])
def test_cluster_matches_statsmodels_with_stata_correction(effects):
    panel = simulate_panel(seed=3)
    terms = ["dt", *CONTROLS]
    ours = fit_ols(make_design(panel, spec("t", "er", ("dt",), effects=effects)))
    sm_res = _statsmodels_lsdv(panel, terms, bool(effects))
    # Raw CRV sandwich from statsmodels, then Stata's factor computed here, explicitly:
    # K = slopes + constant + (T-1) year dummies; province dummies nested in clusters excluded.
    raw = cov_cluster(sm_res, panel["unit_code"].to_numpy(), use_correction=False)
    n, G, T = len(panel), 30, 9
    K = len(terms) + 1 + (T - 1 if effects else 0)
    c = G / (G - 1) * (n - 1) / (n - K)
    sm_se = pd.Series(np.sqrt(np.diag(raw) * c), index=sm_res.params.index)
    np.testing.assert_allclose(ours.params[terms], sm_res.params[terms], rtol=1e-8)
    np.testing.assert_allclose(ours.std_errors[terms], sm_se[terms], rtol=1e-8)
    if not effects:
        np.testing.assert_allclose(ours.params["const"], sm_res.params["const"], rtol=1e-8)
        np.testing.assert_allclose(ours.std_errors["const"], sm_se["const"], rtol=1e-8)
        np.testing.assert_allclose(ours.stats["r2"], sm_res.rsquared, rtol=1e-8)
    else:
        # LSDV R2 and adjusted R2 (incl. the dummies) are statsmodels' on the dummy regression.
        np.testing.assert_allclose(ours.stats["r2"], sm_res.rsquared, rtol=1e-8)
        np.testing.assert_allclose(ours.stats["adj_r2"], sm_res.rsquared_adj, rtol=1e-8)
        # Stata's _cons: grand mean of y minus grand means of x times b.
        xbar = panel[terms].mean()
        np.testing.assert_allclose(ours.params["const"],
                                   panel["er"].mean() - xbar @ ours.params[terms], rtol=1e-8)
    # p-values from t(G-1)
    from scipy import stats
    t = ours.params["dt"] / ours.std_errors["dt"]
    np.testing.assert_allclose(ours.pvalues["dt"], 2 * stats.t.sf(abs(t), G - 1), rtol=1e-10)


def test_robust_and_unadjusted_match_statsmodels():
    panel = simulate_panel(seed=4)
    terms = ["dt", *CONTROLS]
    sm_res = _statsmodels_lsdv(panel, terms, True)
    hc1 = fit_ols(make_design(panel, spec("t", "er", ("dt",), cov_type="robust_hc1")))
    plain = fit_ols(make_design(panel, spec("t", "er", ("dt",), cov_type="unadjusted")))
    np.testing.assert_allclose(hc1.std_errors[terms], sm_res.HC1_se[terms], rtol=1e-8)
    np.testing.assert_allclose(plain.std_errors[terms], sm_res.bse[terms], rtol=1e-8)


def test_driscoll_kraay_matches_statsmodels_hac_groupsum():
    from statsmodels.stats.sandwich_covariance import cov_nw_groupsum
    panel = simulate_panel(seed=5)
    terms = ["dt", *CONTROLS]
    sm_res = _statsmodels_lsdv(panel, terms, True)
    ours = fit_ols(make_design(panel, spec("t", "er", ("dt",), cov_type="driscoll_kraay")))
    lags = int(np.floor(4 * (9 / 100) ** (2 / 9)))
    raw = cov_nw_groupsum(sm_res, lags, panel["year"].to_numpy() - 2013, use_correction=False)
    n, K = len(panel), len(terms) + 1 + 8
    sm_se = pd.Series(np.sqrt(np.diag(raw) * (n - 1) / (n - K)), index=sm_res.params.index)
    np.testing.assert_allclose(ours.std_errors[terms], sm_se[terms], rtol=1e-8)


def test_twfe_recovers_planted_coefficients():
    panel = simulate_panel(seed=11, n_provinces=300)
    design = make_design(panel, spec("t", "er", ("dt", "isu", "rm", "cu")))
    res = fit_ols(design)
    for term, truth in (("dt", PLANTED["beta_dt"]), ("isu", PLANTED["b_isu"]),
                        ("rm", PLANTED["b_rm"]), ("ec", PLANTED["gamma_ec"])):
        z = (res.params[term] - truth) / res.std_errors[term]
        assert abs(z) < 4, (term, res.params[term], truth, res.std_errors[term])
    assert res.std_errors["dt"] < 0.02


def test_lag_and_interaction_terms():
    panel = simulate_panel(seed=6)
    lagged = make_design(panel, spec("lag", "er", ("dt",), lag=True))
    assert list(lagged.X.columns) == ["l_dt", *(f"l_{c}" for c in CONTROLS)]
    assert lagged.nobs == 240
    row = lagged.X.iloc[0]
    src = panel.sort_values(["unit_code", "year"]).iloc[0]
    assert row["l_dt"] == pytest.approx(src["dt"])
    mod = make_design(panel, spec("m", "er", ("dt", "dt_x_inf", "inf"),
                                   interaction=("dt", "inf"), centre=True))
    assert abs(mod.X["dt"].mean()) < 1e-12
    np.testing.assert_allclose(mod.X["dt_x_inf"], mod.X["dt"] * mod.X["inf"])


def test_joint_f_is_missing_when_the_covariance_has_fewer_periods_than_slopes():
    """Driscoll-Kraay with year effects has rank at most T - 1: on 6 years and 6 slopes the
    joint F is missing (as Stata prints it), the per-coefficient SEs stay those of the
    statsmodels sandwich and the full-rank case is still b' V^-1 b / p."""
    from statsmodels.stats.sandwich_covariance import cov_nw_groupsum
    panel = simulate_panel(seed=5)
    short = panel[panel["year"] <= 2018].reset_index(drop=True)
    terms = ["dt", *CONTROLS]
    ours = fit_ols(make_design(short, spec("t", "er", ("dt",), cov_type="driscoll_kraay")))
    assert np.isnan(ours.stats["f_stat"]) and np.isnan(ours.stats["f_p"])
    sm_res = _statsmodels_lsdv(short, terms, True)
    lags = int(np.floor(4 * (6 / 100) ** (2 / 9)))
    raw = cov_nw_groupsum(sm_res, lags, short["year"].to_numpy() - 2013, use_correction=False)
    n, K = len(short), len(terms) + 1 + 5
    sm_se = np.sqrt(np.diag(raw) * (n - 1) / (n - K))[1:len(terms) + 1]
    np.testing.assert_allclose(ours.std_errors[terms], sm_se, rtol=1e-8)

    full = fit_ols(make_design(panel, spec("t", "er", ("dt",), cov_type="driscoll_kraay")))
    b, V = full.params[terms].to_numpy(), full.cov.loc[terms, terms].to_numpy()
    assert full.stats["f_stat"] == pytest.approx(b @ np.linalg.inv(V) @ b / len(terms), rel=1e-10)
