"""Pooled OLS and two-way fixed-effects OLS with Stata-convention covariances.

Fixed effects are absorbed by projecting every variable off the effect dummies (exact for
balanced and unbalanced panels; the panel is small, so the dense projection is cheap).
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


def effect_dummies(unit: np.ndarray, time: np.ndarray, effects: tuple[str, ...]) -> np.ndarray:
    """Dummy matrix of the absorbed effects (``"unit"``, ``"time"``), with a constant column
    (may be rank deficient)."""
    cols = [np.ones((len(unit), 1))]
    for name, codes in (("unit", unit), ("time", time)):
        if name in effects:
            levels, idx = np.unique(codes, return_inverse=True)
            cols.append(np.eye(len(levels))[idx])
    unknown = set(effects) - {"unit", "time"}
    if unknown:
        raise ValueError(f"unknown fixed effects {sorted(unknown)}")
    return np.hstack(cols)


def partial_out(A: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Residuals of the columns of ``A`` projected on the columns of ``D`` (M_D A)."""
    # Normal equations with a pseudo-inverse: D is a 0/1 dummy matrix (well conditioned up to
    # its exact collinearities, which pinv handles) and D'D is small.
    coef = np.linalg.pinv(D.T @ D, hermitian=True) @ (D.T @ A)
    return A - D @ coef


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


def small_sample_k(n_slopes: int, D: np.ndarray, unit: np.ndarray,
                   effects: tuple[str, ...]) -> tuple[int, int]:
    """(K, K_all): K leaves out the unit effects (nested in the unit clusters)."""
    rank_d = int(np.linalg.matrix_rank(D.T @ D, hermitian=True))
    k_all = n_slopes + rank_d
    nested = len(np.unique(unit)) - 1 if "unit" in effects else 0
    return k_all - nested, k_all


def unit_effect_sd(resid_plus_effects: np.ndarray, D_other: np.ndarray,
                   unit: np.ndarray) -> float:
    """sigma_u: standard deviation (ddof=1) across units of the estimated unit effects.

    ``resid_plus_effects`` is y - X b - const; it is regressed on unit dummies and the
    other effect dummies ``D_other`` (time dummies without the first, or none).
    """
    levels, idx = np.unique(unit, return_inverse=True)
    P = np.eye(len(levels))[idx]
    coef, *_ = np.linalg.lstsq(np.hstack([P, D_other]), resid_plus_effects, rcond=None)
    u = coef[: len(levels)]
    return float(np.std(u - u.mean(), ddof=1))


def fit_ols(design: Design, spec_id: str | None = None, cov_type: str | None = None
            ) -> PanelOLSResult:
    """OLS of ``design.y`` on ``design.X`` with the spec's absorbed effects and covariance."""
    spec = design.spec
    cov_type = cov_type or spec.cov_type
    effects = spec.effects
    y = design.y.to_numpy(dtype=float)
    X = design.X.to_numpy(dtype=float)
    n, p = X.shape
    D = effect_dummies(design.unit, design.time, effects)
    if effects:
        y_w, X_w = partial_out(y, D), partial_out(X, D)
    else:
        y_w, X_w = y - y.mean(), X - X.mean(axis=0)
    # Mean-restoring design: same slopes, const = ybar - xbar'b (Stata's _cons).
    Xr = np.column_stack([X_w + X.mean(axis=0), np.ones(n)])
    beta, bread_inv = mean_restoring_fit(X_w, y_w, X.mean(axis=0), y.mean())
    resid = y_w + y.mean() - Xr @ beta
    k, k_all = small_sample_k(p, D, design.unit, effects)
    cov, df_t = sandwich(bread_inv, Xr * resid[:, None], cov_type, unit=design.unit,
                         time=design.time, resid=resid, n=n, k=k, k_all=k_all)
    terms = [*design.X.columns, "const"]
    se = np.sqrt(np.diag(cov))

    ssr = float(resid @ resid)
    tss = float(((y - y.mean()) ** 2).sum())
    r2 = 1 - ssr / tss
    slope_cov = cov[:p, :p]
    wald = float(beta[:p] @ np.linalg.solve(slope_cov, beta[:p]))
    f_stat = wald / p
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
    if "unit" in effects:
        time_d = effect_dummies(design.unit, design.time, ("time",))[:, 2:] \
            if "time" in effects else np.empty((n, 0))
        st["sigma_u"] = unit_effect_sd(y - X @ beta[:p] - beta[p], time_d, design.unit)
    return PanelOLSResult(
        spec_id or spec.spec_id, pd.Series(beta, index=terms), pd.Series(se, index=terms),
        nobs=n, df_resid=df_t, stats=st, cov=pd.DataFrame(cov, index=terms, columns=terms),
        cov_type=cov_type,
    )
