"""Lagrange-multiplier tests for a spatial lag or error in the non-spatial FE panel model.

Anselin (1988), Anselin et al. (1996) for the robust forms, panel versions as in
Elhorst (2014, sec. 3.5) and Debarsy & Ertur (2010). With e the residuals of the
within-transformed OLS, sigma2 = e'e/(NT), Wbar = I_T (x) W, T_W = tr(W'W + WW):

    R_lag = e'Wbar y / sigma2,  R_err = e'Wbar e / sigma2,  TT = T T_W,
    J     = [(Wbar X b)' M (Wbar X b) + TT sigma2] / sigma2,
    LM_lag = R_lag^2 / J,                     LM_err = R_err^2 / TT,
    RLM_lag = (R_lag - R_err)^2 / (J - TT),   RLM_err = (R_err - (TT/J) R_lag)^2 / (TT (1 - TT/J)),

each chi-squared(1) under its null. M is the residual maker of X *and* the fixed
effects: Wbar X b is within-transformed before the projection off X~.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import stats

from .panel import spatial_lag, within
from .weights import SpatialWeights


def lm_statistics(y: np.ndarray, x: np.ndarray, w: np.ndarray,
                  transform: Callable[[np.ndarray], np.ndarray]) -> dict[str, float]:
    """LM tests on y (T, N), x (T, N, k); ``transform`` removes the fixed effects (or the constant)."""
    n_periods, n = y.shape
    yd = transform(y)
    xd = transform(x).reshape(n * n_periods, -1)
    b = np.linalg.lstsq(xd, yd.ravel(), rcond=None)[0]
    e = yd.ravel() - xd @ b
    sigma2 = e @ e / (n * n_periods)
    wy = spatial_lag(w, yd).ravel()
    we = spatial_lag(w, e.reshape(n_periods, n)).ravel()
    wxb = transform(spatial_lag(w, (xd @ b).reshape(n_periods, n))).ravel()
    mwxb = wxb - xd @ np.linalg.lstsq(xd, wxb, rcond=None)[0]
    tt = n_periods * (np.sum(w * w) + np.sum(w * w.T))  # tr(W'W) + tr(WW), O(N^2)
    r_lag, r_err = e @ wy / sigma2, e @ we / sigma2
    j = (wxb @ mwxb + tt * sigma2) / sigma2
    out = {
        "lm_lag": r_lag**2 / j,
        "rlm_lag": (r_lag - r_err) ** 2 / (j - tt),
        "lm_err": r_err**2 / tt,
        "rlm_err": (r_err - tt / j * r_lag) ** 2 / (tt * (1 - tt / j)),
    }
    for name in list(out):
        out[f"{name}_p"] = float(stats.chi2.sf(out[name], 1))
    return {k: float(v) for k, v in out.items()}


def lm_tests(y: np.ndarray, x: np.ndarray, sw: SpatialWeights, effects: str = "twoways") -> dict[str, float]:
    """LM lag/error and robust versions on the two-way (or entity) FE model."""
    return lm_statistics(y, x, sw.matrix, lambda a: within(a, effects))
