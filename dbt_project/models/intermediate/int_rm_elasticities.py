"""Unit-specific output elasticities of capital by LSDV (Bai & Liu 2018; paper eq. 15).

    ln(Y_it / L_it) = sum_i beta_Ki D_i ln(K_it / L_it) + mu_i + lambda_t + e_it,
    beta_Li = 1 - beta_Ki (constant returns to scale, eq. 14),

Y real GDP, K the perpetual-inventory capital stock, L employment (int_capital_stock).
The normal equations are solved exactly by block elimination rather than on the dense
design (N slope columns D_i x_it, N unit dummies, T - 1 year dummies): each unit's two
columns [x, 1] touch only its own rows, so they are eliminated unit by unit (2 x 2 blocks)
and a (T - 1) x (T - 1) system gives the year effects. The dense design of a county panel
(2,800 units x 20 years) would need 2.6 GB; this needs O(N T). Own code because no library
we use fits unit-specific slopes with absorbed effects (linearmodels absorbs effects but
cannot interact them with a regressor at this size). A dbt Python model because SQL has no
least-squares solver; the estimates are checked against statsmodels OLS with formula-built
dummies in tests/test_rm_lsdv.py.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def lsdv_unit_slopes(frame: pd.DataFrame, unit: str = "unit_code", time: str = "year",
                     y: str = "y", x: str = "x") -> pd.DataFrame:
    """OLS of ``y`` on unit-specific slopes of ``x``, unit dummies and time dummies.

    Returns one row per unit: ``beta_k`` (its slope), ``std_error`` (classical OLS standard
    error, s^2 (X'X)^-1 with n - (2N + T - 1) degrees of freedom) and ``nobs``.

    Partitioned least squares: A = the units' blocks [D_i x, D_i], B = the year dummies.
    With G_i = (A_i'A_i)^-1, the year effects solve S lambda = B'y - sum_i (A_i'B)' G_i A_i'y,
    S = B'B - sum_i (A_i'B)' G_i (A_i'B); then (beta_i, mu_i) = G_i (A_i'y - A_i'B lambda),
    and the (beta, mu) block of (X'X)^-1 is G_i + G_i A_i'B S^-1 B'A_i G_i.
    """
    data = frame[[unit, time, y, x]].dropna()
    units = np.sort(data[unit].unique())
    times = np.sort(data[time].unique())
    u = np.searchsorted(units, data[unit].to_numpy())
    t = np.searchsorted(times, data[time].to_numpy())
    n, n_units, n_years = len(data), len(units), len(times)
    xv, yv = data[x].to_numpy(float), data[y].to_numpy(float)

    def unit_sum(values: np.ndarray) -> np.ndarray:
        return np.bincount(u, weights=values, minlength=n_units)

    nobs = np.bincount(u, minlength=n_units)
    sx, sxx, sy, sxy = unit_sum(xv), unit_sum(xv * xv), unit_sum(yv), unit_sum(xv * yv)
    det = sxx * nobs - sx * sx  # n_i x the within sum of squares of x
    flat = det <= 1e-12 * np.maximum(sxx * nobs, 1e-300)
    if n_years < 2:
        raise ValueError("LSDV design is rank-deficient: the panel needs at least two years")
    if flat.any():
        raise ValueError(f"LSDV design is rank-deficient: unit(s) {units[flat].tolist()[:10]} have no "
                         "variation in ln(K/L) over at least two years")
    g = np.stack([np.stack([nobs, -sx], -1), np.stack([-sx, sxx], -1)], -2) / det[:, None, None]  # G_i
    later = t > 0
    ab = np.zeros((n_units, 2, n_years - 1))  # A_i'B: x and count of unit i in each later year
    np.add.at(ab, (u[later], 0, t[later] - 1), xv[later])
    np.add.at(ab, (u[later], 1, t[later] - 1), 1.0)
    ay = np.stack([sxy, sy], -1)                                   # A_i'y
    g_ab = g @ ab                                                  # G_i A_i'B
    s_mat = np.diag(np.bincount(t[later] - 1, minlength=n_years - 1).astype(float))
    s_mat -= np.einsum("ikt,iks->ts", ab, g_ab)
    rhs = np.bincount(t[later] - 1, weights=yv[later], minlength=n_years - 1)
    rhs -= np.einsum("ikt,ik->t", ab, np.einsum("ikl,il->ik", g, ay))
    lam = np.linalg.solve(s_mat, rhs)
    theta = np.einsum("ikl,il->ik", g, ay - ab @ lam)              # (beta_i, mu_i)
    fitted = theta[u, 0] * xv + theta[u, 1] + np.concatenate([[0.0], lam])[t]
    resid = yv - fitted
    rank = 2 * n_units + n_years - 1
    sigma2 = resid @ resid / (n - rank)
    s_inv_ba = np.linalg.solve(s_mat, g_ab[:, 0, :].T)            # S^-1 (G_i A_i'B)'_beta row
    var_beta = g[:, 0, 0] + np.einsum("it,ti->i", g_ab[:, 0, :], s_inv_ba)
    return pd.DataFrame({unit: units, "beta_k": theta[:, 0],
                         "std_error": np.sqrt(sigma2 * var_beta), "nobs": nobs})


def model(dbt, session):
    dbt.config(materialized="table")
    k = dbt.ref("int_capital_stock").df()
    k["y"] = np.log(k["real_gdp"] / k["employment"])
    k["x"] = np.log(k["capital_stock"] / k["employment"])
    out = lsdv_unit_slopes(k)
    out["beta_l"] = 1.0 - out["beta_k"]
    out["unit_code"] = out["unit_code"].astype("int32")
    return out[["unit_code", "beta_k", "beta_l", "std_error", "nobs"]]
