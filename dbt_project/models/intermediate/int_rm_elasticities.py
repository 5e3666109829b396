"""Unit-specific output elasticities of capital by LSDV (Bai & Liu 2018; paper eq. 15).

    ln(Y_it / L_it) = sum_i beta_Ki D_i ln(K_it / L_it) + mu_i + lambda_t + e_it,
    beta_Li = 1 - beta_Ki (constant returns to scale, eq. 14),

Y real GDP, K the perpetual-inventory capital stock, L employment (int_capital_stock).
The design matrix holds, for N units and T years, N slope columns D_i x_it, N unit
dummies and T - 1 year dummies (first year dropped); it is solved by least squares
(numpy.linalg.lstsq). A dbt Python model because SQL has no least-squares solver; the
estimates are checked against statsmodels OLS with formula-built dummies in
tests/test_rm_lsdv.py.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def lsdv_unit_slopes(frame: pd.DataFrame, unit: str = "unit_code", time: str = "year",
                         y: str = "y", x: str = "x") -> pd.DataFrame:
    """OLS of ``y`` on unit-specific slopes of ``x``, unit dummies and time dummies.

    Returns one row per unit: ``beta_k`` (its slope), ``std_error`` (classical OLS standard
    error, s^2 (X'X)^-1 with n - rank degrees of freedom) and ``nobs``.
    """
    data = frame[[unit, time, y, x]].dropna()
    units = np.sort(data[unit].unique())
    times = np.sort(data[time].unique())
    u = np.searchsorted(units, data[unit].to_numpy())
    t = np.searchsorted(times, data[time].to_numpy())
    n, n_units, n_times = len(data), len(units), len(times)
    design = np.zeros((n, 2 * n_units + n_times - 1))
    rows = np.arange(n)
    design[rows, u] = data[x].to_numpy()                 # D_i * x
    design[rows, n_units + u] = 1.0                      # mu_i
    later = t > 0
    design[rows[later], 2 * n_units + t[later] - 1] = 1.0  # lambda_t, first year dropped
    target = data[y].to_numpy()
    coef, _, rank, _ = np.linalg.lstsq(design, target, rcond=None)
    if rank < design.shape[1]:
        raise ValueError(f"LSDV design is rank-deficient ({rank} < {design.shape[1]} columns): "
                         "a unit needs variation in ln(K/L) over at least two years")
    resid = target - design @ coef
    sigma2 = resid @ resid / (n - rank)
    cov = sigma2 * np.linalg.inv(design.T @ design)
    nobs = np.bincount(u, minlength=n_units)
    return pd.DataFrame({unit: units, "beta_k": coef[:n_units],
                         "std_error": np.sqrt(np.diag(cov)[:n_units]), "nobs": nobs})


def model(dbt, session):
    dbt.config(materialized="table")
    k = dbt.ref("int_capital_stock").df()
    k["y"] = np.log(k["real_gdp"] / k["employment"])
    k["x"] = np.log(k["capital_stock"] / k["employment"])
    out = lsdv_unit_slopes(k)
    out["beta_l"] = 1.0 - out["beta_k"]
    out["unit_code"] = out["unit_code"].astype("int32")
    return out[["unit_code", "beta_k", "beta_l", "std_error", "nobs"]]
