"""Lagrange-multiplier tests for a spatial lag or error in the non-spatial FE panel model.

Anselin (1988), Anselin et al. (1996) for the robust forms, panel versions as in
Elhorst (2014, sec. 3.5) and Debarsy & Ertur (2010). With e the residuals of the
within-transformed OLS y~ = X~ b + e, sigma2 = e'e/(NT), Wbar = I_T (x) W, T_W = tr(W'W + WW):

    R_lag = e'Wbar y / sigma2,  R_err = e'Wbar e / sigma2,  TT = T T_W,
    J     = [(Wbar X~ b)' M (Wbar X~ b) + TT sigma2] / sigma2,
    LM_lag = R_lag^2 / J,                     LM_err = R_err^2 / TT,
    RLM_lag = (R_lag - R_err)^2 / (J - TT),   RLM_err = (R_err - (TT/J) R_lag)^2 / (TT (1 - TT/J)),

each chi-squared(1) under its null.

**Which M.** The tests are derived in the model with its fixed effects as regressors (LSDV),
so M is the residual maker of [X, D], D the effect dummies. With Q the within transformation
(the residual maker of D), M_[X,D] = Q - X~(X~'X~)^-1 X~' = M_X~ Q, hence

    (Wbar X~ b)' M_[X,D] (Wbar X~ b) = (Q Wbar X~ b)' M_X~ (Q Wbar X~ b):

Wbar X~ b must be within-transformed ("re-demeaned") before the projection off X~. Time
demeaning commutes with Wbar, so with unit effects only this changes nothing; cross-section
demeaning does not commute with W unless W's columns also sum to 1, so with time effects the
part (I - Q) Wbar X~ b, which the year effects absorb, would otherwise inflate J. The same
argument with D = the constant gives Anselin's cross-section test, which spreg reports and
which only the re-demeaned form reproduces (tests/test_spatial_effects.py). The reported
``lm_lag``, ``rlm_lag``, ``rlm_err`` (and ``lm_err``, which has no J) are this form
(model_stats ``lm_wxb_redemeaned`` = 1 says so). splm's ``slmtest(model = "within")`` omits
Q; its values are reported as ``lm_lag_splm``, ``rlm_lag_splm``, ``rlm_err_splm`` (with their
``_p``) so that a reader with splm can match them (they differ by 0.1-34% on the reference
panels; tests/test_reference_r.py checks both against stored R output).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import sparse, stats

from .panel import spatial_lag, within
from .weights import SpatialWeights


def lm_statistics(y: np.ndarray, x: np.ndarray, w: np.ndarray,
                  transform: Callable[[np.ndarray], np.ndarray]) -> dict[str, float]:
    """LM tests on y (T, N), x (T, N, k), W dense or sparse; ``transform`` removes the fixed
    effects (or the constant)."""
    n_periods, n = y.shape
    yd = transform(y)
    xd = transform(x).reshape(n * n_periods, -1)
    b = np.linalg.lstsq(xd, yd.ravel(), rcond=None)[0]
    e = yd.ravel() - xd @ b
    sigma2 = e @ e / (n * n_periods)
    wy = spatial_lag(w, yd).ravel()
    we = spatial_lag(w, e.reshape(n_periods, n)).ravel()
    wxb = spatial_lag(w, (xd @ b).reshape(n_periods, n))
    if sparse.issparse(w):  # tr(W'W) + tr(WW), O(nnz)
        tt = n_periods * float(w.multiply(w).sum() + w.multiply(w.T).sum())
    else:
        tt = n_periods * (np.sum(w * w) + np.sum(w * w.T))  # O(N^2)
    r_lag, r_err = e @ wy / sigma2, e @ we / sigma2
    out: dict[str, float] = {"lm_err": r_err**2 / tt}
    for suffix, v in (("", transform(wxb).ravel()), ("_splm", wxb.ravel())):
        mv = v - xd @ np.linalg.lstsq(xd, v, rcond=None)[0]
        j = (v @ mv + tt * sigma2) / sigma2
        out[f"lm_lag{suffix}"] = r_lag**2 / j
        out[f"rlm_lag{suffix}"] = (r_lag - r_err) ** 2 / (j - tt)
        out[f"rlm_err{suffix}"] = (r_err - tt / j * r_lag) ** 2 / (tt * (1 - tt / j))
    for name in list(out):
        out[f"{name}_p"] = float(stats.chi2.sf(out[name], 1))
    out["lm_wxb_redemeaned"] = 1.0
    return {k: float(v) for k, v in out.items()}


def lm_tests(y: np.ndarray, x: np.ndarray, sw: SpatialWeights, effects: str = "twoways") -> dict[str, float]:
    """LM lag/error and robust versions on the two-way (or entity) FE model."""
    return lm_statistics(y, x, sw.matrix, lambda a: within(a, effects))
