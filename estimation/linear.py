"""Pooled OLS and two-way fixed-effects OLS with Stata-convention covariances.

Fixed effects are absorbed by projecting every variable off the effect dummies (exact for
balanced and unbalanced panels; the panel is small, so the dense projection is cheap).
The constant of a fixed-effects model is Stata's ``_cons`` (``xtreg, fe``/``reghdfe``): the
grand mean is added back to the within-transformed data, y~ + ybar = (X~ + xbar) b + c, so
``const = ybar - xbar'b``; slopes and their covariance are unchanged by this.

Covariances (``cov_type`` label, then formula; X~ the within design incl. ``const``, e the
residuals, N rows, G provinces, K = number of slope terms + 1 + rank of the absorbed effects
that are *not* nested in the province clusters, i.e. the year dummies; K_lsdv counts all):

* ``cluster_province_stata``: V = c (X~'X~)^-1 [sum_g X~_g'e_g e_g'X~_g] (X~'X~)^-1,
  c = G/(G-1) (N-1)/(N-K); t with G-1 df. This is Stata's ``xtreg, fe vce(cluster)`` /
  ``reghdfe`` convention (effects nested in the clusters are not counted in K), and
  ``regress, vce(cluster)`` for pooled OLS.
* ``robust_hc1``: White with c = N/(N-K_lsdv); t with N-K_lsdv df.
* ``driscoll_kraay``: scores summed by year, Bartlett kernel with lag
  m = floor(4 (T/100)^(2/9)) (Hoechle's ``xtscc`` default), c = (N-1)/(N-K); t with T-1 df.
* ``unadjusted``: s^2 (X~'X~)^-1, s^2 = e'e/(N-K_lsdv); t with N-K_lsdv df.

Why our own code rather than linearmodels ``PanelOLS``: its ``count_effects`` counts all or no
absorbed effects in the small-sample factor, so Stata's "nested effects not counted" cannot be
expressed; tests check these numbers against statsmodels LSDV regressions.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from estimation.design import Design
from estimation.results import ModelResult


def effect_dummies(entity: np.ndarray, time: np.ndarray, effects: tuple[str, ...]) -> np.ndarray:
    """Dummy matrix of the absorbed effects, with a constant column (may be rank deficient)."""
    cols = [np.ones((len(entity), 1))]
    for name, codes in (("province", entity), ("year", time)):
        if name in effects:
            levels, idx = np.unique(codes, return_inverse=True)
            cols.append(np.eye(len(levels))[idx])
    unknown = set(effects) - {"province", "year"}
    if unknown:
        raise ValueError(f"unknown fixed effects {sorted(unknown)}")
    return np.hstack(cols)


def partial_out(A: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Residuals of the columns of ``A`` projected on the columns of ``D`` (M_D A)."""
    # Normal equations with a pseudo-inverse: D is a 0/1 dummy matrix (well conditioned up to
    # its exact collinearities, which pinv handles) and D'D is small.
    coef = np.linalg.pinv(D.T @ D, hermitian=True) @ (D.T @ A)
    return A - D @ coef


def small_sample_k(n_slopes: int, D: np.ndarray, entity: np.ndarray,
                   effects: tuple[str, ...]) -> tuple[int, int]:
    """(K, K_lsdv): K leaves out province effects (nested in the province clusters)."""
    rank_d = int(np.linalg.matrix_rank(D.T @ D, hermitian=True))
    k_lsdv = n_slopes + rank_d
    nested = len(np.unique(entity)) - 1 if "province" in effects else 0
    return k_lsdv - nested, k_lsdv


def sandwich(bread_inv: np.ndarray, scores: np.ndarray, cov_type: str, *, entity: np.ndarray,
             time: np.ndarray, resid: np.ndarray, n: int, k: int, k_lsdv: int
             ) -> tuple[np.ndarray, float]:
    """Covariance and t degrees of freedom for ``cov_type`` (formulas in the module doc).

    ``scores`` are the per-row score contributions x~_i e_i (n x p).
    """
    if cov_type == "cluster_province_stata":
        _, g_idx = np.unique(entity, return_inverse=True)
        G = g_idx.max() + 1
        sums = np.zeros((G, scores.shape[1]))
        np.add.at(sums, g_idx, scores)
        c = G / (G - 1) * (n - 1) / (n - k)
        return c * bread_inv @ (sums.T @ sums) @ bread_inv, float(G - 1)
    if cov_type == "robust_hc1":
        c = n / (n - k_lsdv)
        return c * bread_inv @ (scores.T @ scores) @ bread_inv, float(n - k_lsdv)
    if cov_type == "driscoll_kraay":
        years, t_idx = np.unique(time, return_inverse=True)
        T = len(years)
        h = np.zeros((T, scores.shape[1]))
        np.add.at(h, t_idx, scores)
        lags = int(np.floor(4 * (T / 100) ** (2 / 9)))
        S = h.T @ h
        for j in range(1, lags + 1):
            gamma = h[j:].T @ h[:-j]
            S += (1 - j / (lags + 1)) * (gamma + gamma.T)
        c = (n - 1) / (n - k)
        return c * bread_inv @ S @ bread_inv, float(T - 1)
    if cov_type == "unadjusted":
        s2 = float(resid @ resid) / (n - k_lsdv)
        return s2 * bread_inv, float(n - k_lsdv)
    raise ValueError(f"unknown cov_type {cov_type!r}")


def province_effect_sd(resid_plus_effects: np.ndarray, D_other: np.ndarray,
                       entity: np.ndarray) -> float:
    """sigma_u: standard deviation (ddof=1) across provinces of the estimated province effects.

    ``resid_plus_effects`` is y - X b - const; it is regressed on province dummies and the
    other effect dummies ``D_other`` (year dummies without the first, or none).
    """
    levels, idx = np.unique(entity, return_inverse=True)
    P = np.eye(len(levels))[idx]
    coef, *_ = np.linalg.lstsq(np.hstack([P, D_other]), resid_plus_effects, rcond=None)
    u = coef[: len(levels)]
    return float(np.std(u - u.mean(), ddof=1))


def fit_ols(design: Design, spec_id: str | None = None, cov_type: str | None = None
            ) -> ModelResult:
    """OLS of ``design.y`` on ``design.X`` with the spec's absorbed effects and covariance."""
    spec = design.spec
    cov_type = cov_type or spec.cov_type
    effects = spec.effects
    y = design.y.to_numpy(dtype=float)
    X = design.X.to_numpy(dtype=float)
    n, p = X.shape
    D = effect_dummies(design.entity, design.time, effects)
    if effects:
        y_w, X_w = partial_out(y, D), partial_out(X, D)
    else:
        y_w, X_w = y - y.mean(), X - X.mean(axis=0)
    # Mean-restoring design: same slopes, const = ybar - xbar'b (Stata's _cons).
    Xr = np.column_stack([X_w + X.mean(axis=0), np.ones(n)])
    yr = y_w + y.mean()
    bread_inv = np.linalg.inv(Xr.T @ Xr)
    beta = bread_inv @ (Xr.T @ yr)
    resid = yr - Xr @ beta
    k, k_lsdv = small_sample_k(p, D, design.entity, effects)
    cov, df_t = sandwich(bread_inv, Xr * resid[:, None], cov_type, entity=design.entity,
                         time=design.time, resid=resid, n=n, k=k, k_lsdv=k_lsdv)
    terms = [*design.X.columns, "const"]
    se = np.sqrt(np.diag(cov))

    ssr = float(resid @ resid)
    tss = float(((y - y.mean()) ** 2).sum())
    r2 = 1 - ssr / tss
    slope_cov = cov[:p, :p]
    wald = float(beta[:p] @ np.linalg.solve(slope_cov, beta[:p]))
    f_stat = wald / p
    f_df2 = df_t if cov_type in ("cluster_province_stata", "driscoll_kraay") else n - k_lsdv
    st: dict[str, float] = {
        "nobs": n, "groups": len(np.unique(design.entity)), "r2": r2,
        "adj_r2": 1 - (1 - r2) * (n - 1) / (n - k_lsdv),
        "f_stat": f_stat, "f_p": float(stats.f.sf(f_stat, p, f_df2)),
        "log_likelihood": -n / 2 * (np.log(2 * np.pi * ssr / n) + 1),
        "sigma_e": np.sqrt(ssr / (n - k_lsdv)), "df_resid": df_t, "k_small_sample": k,
    }
    if effects:
        st["r2_within"] = 1 - ssr / float(y_w @ y_w)
    if "province" in effects:
        year_d = effect_dummies(design.entity, design.time, ("year",))[:, 2:] \
            if "year" in effects else np.empty((n, 0))
        st["sigma_u"] = province_effect_sd(y - X @ beta[:p] - beta[p], year_d, design.entity)
    return ModelResult(
        spec_id=spec_id or spec.spec_id, estimator="ols", cov_type=cov_type,
        params=pd.Series(beta, index=terms), std_errors=pd.Series(se, index=terms),
        nobs=n, df_resid=df_t, stats=st, cov=pd.DataFrame(cov, index=terms, columns=terms),
    )
