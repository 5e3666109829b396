"""Pooled OLS and two-way fixed-effects OLS with Stata-convention covariances.

Fixed effects are absorbed by demeaning (:mod:`estimation.absorb`: exact for one-way effects
and balanced two-way panels, alternating projections to 1e-14 otherwise), never by forming the
dummy matrix, so a county panel (56,000 rows, 2,800 units) costs what a province panel does.
The constant of a fixed-effects model is Stata's ``_cons`` (``xtreg, fe``/``reghdfe``): the
grand mean is added back to the within-transformed data, y~ + ybar = (X~ + xbar) b + c, so
``const = ybar - xbar'b``; slopes and their covariance are unchanged by this.

Covariances and their small-sample corrections: :mod:`estimation.covariance`.

Why our own code rather than linearmodels ``PanelOLS``: its ``count_effects`` counts all or no
absorbed effects in the small-sample factor, so Stata's "nested effects not counted" cannot be
expressed; tests check these numbers against statsmodels LSDV regressions.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.linalg
from scipy import stats

from estimation.absorb import FixedEffects
from estimation.covariance import COVARIANCES, sandwich
from estimation.design import Design
from estimation.results import Result


class PanelOLSResult(Result):
    """Pooled or fixed-effects OLS:  y_it = x_it'b + [a_i] + [g_t] + c + e_it.

    ``params`` holds b and ``const`` (Stata's ``_cons`` = ybar - xbar'b for fixed-effects
    models); ``stats``: nobs, groups, r2 and adj_r2 (LSDV, dummies included), r2_within,
    f_stat/f_p, log_likelihood, sigma_e, sigma_u (unit effects), df_resid, k_small_sample.
    """

    estimator = "ols"


def mean_restoring_fit(X_w: np.ndarray, y_w: np.ndarray, x_mean: np.ndarray, y_mean: float
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(b, const) and (Xr'Xr)^-1 of the mean-restoring regression of y~ + ybar on
    Xr = [X~ + xbar', 1], computed from the within data alone.

    X~ has zero column sums (the absorbed effects include a constant), so
    (Xr'Xr)^-1 = A (X~'X~)^-1 A' + e e'/n with A = [I; -xbar'], e the last unit vector, and
    b is the within slope, const = ybar - xbar'b. Solving the mean-restoring normal equations
    directly would square the condition number of Xr, which the means inflate (Produc's logs
    have means ~10 and within spreads ~0.1): that lost four digits against R. Here b comes from
    a QR least-squares solve of the within data and (X~'X~)^-1 = R^-1 R^-T from its R factor.
    """
    n, p = X_w.shape
    q, r = np.linalg.qr(X_w)
    slopes = scipy.linalg.solve_triangular(r, q.T @ y_w)
    r_inv = scipy.linalg.solve_triangular(r, np.eye(p))
    a = np.vstack([np.eye(p), -x_mean[None, :]])
    bread_inv = a @ (r_inv @ r_inv.T) @ a.T
    bread_inv[p, p] += 1.0 / n
    return np.append(slopes, y_mean - x_mean @ slopes), bread_inv


def small_sample_k(n_slopes: int, fe: FixedEffects) -> tuple[int, int]:
    """(K, K_all): K_all counts the slopes, the constant and every absorbed effect (the rank of
    [1, dummies]); K leaves out the unit effects (nested in the unit clusters)."""
    k_all = n_slopes + fe.rank
    nested = fe.n_units - 1 if "unit" in fe.effects else 0
    return k_all - nested, k_all


def joint_f(slopes: np.ndarray, slope_cov: np.ndarray) -> float:
    """Wald F of all slopes = 0, b' V^-1 b / p; missing (NaN) when V is not of full rank, as
    Stata reports it: a cluster or Driscoll-Kraay covariance has rank at most the number of
    clusters or periods minus one, which can fall below p in a small subsample."""
    p = len(slopes)
    if np.linalg.matrix_rank(slope_cov) < p:
        return float("nan")
    return float(slopes @ np.linalg.solve(slope_cov, slopes)) / p


def fit_ols(design: Design, spec_id: str | None = None, cov_type: str | None = None
            ) -> PanelOLSResult:
    """OLS of ``design.y`` on ``design.X`` with the spec's absorbed effects and covariance."""
    spec = design.spec
    cov_type = cov_type or spec.cov_type
    effects = spec.effects
    y = design.y.to_numpy(dtype=float)
    X = design.X.to_numpy(dtype=float)
    n, p = X.shape
    fe = FixedEffects.of(design.unit, design.time, effects)
    y_w, X_w = fe.demean(y), fe.demean(X)
    # Mean-restoring design: same slopes, const = ybar - xbar'b (Stata's _cons).
    Xr = np.column_stack([X_w + X.mean(axis=0), np.ones(n)])
    beta, bread_inv = mean_restoring_fit(X_w, y_w, X.mean(axis=0), y.mean())
    resid = y_w + y.mean() - Xr @ beta
    k, k_all = small_sample_k(p, fe)
    cov, df_t = sandwich(bread_inv, Xr * resid[:, None], cov_type, unit=design.unit,
                         time=design.time, resid=resid, n=n, k=k, k_all=k_all)
    terms = [*design.X.columns, "const"]
    se = np.sqrt(np.diag(cov))

    ssr = float(resid @ resid)
    tss = float(((y - y.mean()) ** 2).sum())
    r2 = 1 - ssr / tss
    f_stat = joint_f(beta[:p], cov[:p, :p])
    f_df2 = df_t if COVARIANCES[cov_type].kind in ("cluster", "driscoll_kraay") else n - k_all
    st: dict[str, float] = {
        "nobs": n, "groups": design.groups, "r2": r2,
        "adj_r2": 1 - (1 - r2) * (n - 1) / (n - k_all),
        "f_stat": f_stat, "f_p": float(stats.f.sf(f_stat, p, f_df2)),
        "log_likelihood": -n / 2 * (np.log(2 * np.pi * ssr / n) + 1),
        "sigma_e": np.sqrt(ssr / (n - k_all)), "df_resid": df_t, "k_small_sample": k,
    }
    if effects:
        st["r2_within"] = 1 - ssr / float(y_w @ y_w)
    if "unit" in effects:  # sigma_u: SD across units of the estimated unit effects
        st["sigma_u"] = float(np.std(fe.unit_effects(y - X @ beta[:p] - beta[p]), ddof=1))
    return PanelOLSResult(
        spec_id or spec.spec_id, pd.Series(beta, index=terms), pd.Series(se, index=terms),
        nobs=n, df_resid=df_t, stats=st, cov=pd.DataFrame(cov, index=terms, columns=terms),
        cov_type=cov_type,
    )
