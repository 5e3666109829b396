"""FE-2SLS against a hand-computed two-stage solution; weak-IV statistics against formulas."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from estimation_helpers import make_design, spec
from estimation.iv import fit_fe_2sls
from synthetic.panels import CONTROLS
from synthetic.panels import simulate_panel

SPEC = spec("iv_2sls", "er", ("dt",), estimator="fe_2sls", endogenous=("dt",),
            instruments=("iv",))


def _within(a: np.ndarray, entity, time) -> np.ndarray:
    """Two-way within transform of a balanced panel: a - a_i. - a_.t + a.."""
    df = pd.DataFrame(a)
    gi = df.groupby(entity).transform("mean").to_numpy()
    gt = df.groupby(time).transform("mean").to_numpy()
    return a - gi - gt + a.mean(axis=0)


@pytest.fixture(scope="module")
def case():
    panel = simulate_panel(seed=21)
    design = make_design(panel, SPEC)
    return design, fit_fe_2sls(design)


def test_2sls_equals_explicit_two_stages(case):
    design, res = case
    e, t = design.unit, design.time
    y = _within(design.y.to_numpy()[:, None], e, t)[:, 0]
    X = _within(design.X[["dt", *CONTROLS]].to_numpy(), e, t)
    Z = _within(np.column_stack([design.Z["iv"], design.X[list(CONTROLS)]]), e, t)
    # Stage 1: fitted dt from OLS on the instruments; stage 2: OLS of y on [dt_hat, controls].
    pi = np.linalg.solve(Z.T @ Z, Z.T @ X[:, 0])
    X2 = X.copy()
    X2[:, 0] = Z @ pi
    b = np.linalg.solve(X2.T @ X2, X2.T @ y)
    np.testing.assert_allclose(res.params[["dt", *CONTROLS]], b, rtol=1e-8)
    # Cluster SE with residuals from the *structural* equation (not the second stage's).
    u = y - X @ b
    G, n, K = 30, len(y), 6 + 1 + 7
    S = sum(np.outer(X2[e == g].T @ u[e == g], X2[e == g].T @ u[e == g]) for g in np.unique(e))
    A = np.linalg.inv(X2.T @ X2)
    V = G / (G - 1) * (n - 1) / (n - K) * A @ S @ A
    np.testing.assert_allclose(res.std_errors[["dt", *CONTROLS]], np.sqrt(np.diag(V)),
                               rtol=1e-8)


def test_weak_iv_statistics_match_textbook_formulas(case):
    design, res = case
    e, t = design.unit, design.time
    n, G, T = design.nobs, 30, 8
    W = _within(np.column_stack([design.X["dt"], design.Z["iv"],
                                 design.X[list(CONTROLS)]]), e, t)
    # Partial the controls out of dt and iv too (after the fixed effects).
    C = W[:, 2:]
    x = W[:, 0] - C @ np.linalg.lstsq(C, W[:, 0], rcond=None)[0]
    z = W[:, 1] - C @ np.linalg.lstsq(C, W[:, 1], rcond=None)[0]
    pi = (z @ x) / (z @ z)
    v = x - pi * z
    # Degrees of freedom of the first-stage LSDV: z, controls, 30 province and T-1 year dummies.
    df_resid = n - (1 + len(CONTROLS) + G + T - 1)
    cd_f = pi ** 2 / ((v @ v) / df_resid / (z @ z))           # non-robust first-stage F
    assert res.stats["cragg_donald_f"] == pytest.approx(cd_f, rel=1e-8)
    score_sums = lambda s: np.array([s[e == g].sum() for g in np.unique(e)])
    lm = (z @ x) ** 2 / np.sum(score_sums(z * x) ** 2)       # KP rk LM, k = m = 1
    assert res.stats["kp_rk_lm"] == pytest.approx(lm, rel=1e-8)
    assert res.stats["kp_rk_lm_p"] == pytest.approx(stats.chi2.sf(lm, 1), rel=1e-8)
    v_raw = np.sum(score_sums(z * v) ** 2) / (z @ z) ** 2    # CRV0 variance of pi
    c_ivreg2 = G / (G - 1) * (n - 1) / df_resid
    assert res.stats["kp_rk_wald_f"] == pytest.approx(pi ** 2 / (c_ivreg2 * v_raw), rel=1e-8)
    assert res.stats["first_stage_coef"] == pytest.approx(pi, rel=1e-8)
    assert res.stats["stock_yogo_10pct"] == 16.38
    assert res.stats["first_stage_f"] > 10


def test_iv_recovers_planted_effect():
    panel = simulate_panel(seed=22, n_provinces=120)
    res = fit_fe_2sls(make_design(panel, SPEC))
    assert abs(res.params["dt"] - 0.45) < 4 * res.std_errors["dt"]
    assert res.nobs == 120 * 8
