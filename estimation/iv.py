"""Two-way fixed-effects 2SLS (``xtivreg2 ..., fe``-style) with weak-instrument diagnostics.

Estimator: the absorbed effects are partialled out of y, the regressors X = [endogenous,
controls] and the instruments Z = [excluded, controls]; then
b = (X'P_Z X)^-1 X'P_Z y on the within data, residuals e = y~ - X~ b. The cluster covariance
is c (Xh'Xh)^-1 [sum_g Xh_g'e_g e_g'Xh_g] (Xh'Xh)^-1 with Xh = P_Z X~ and the same small-sample
correction as :mod:`estimation.linear` (:mod:`estimation.covariance`).
No constant is reported (``xtivreg2, fe`` has none).

Diagnostics (``ivreg2`` names), computed by linearmodels' ``iv.common`` functions with the
dummies of the absorbed effects passed as exogenous regressors, so that their degrees of
freedom enter as ``ivreg2``'s ``dofminus``/``sdofminus`` do. Where that dummy matrix would be
large (a county panel), the same statistics come from the data with the effects absorbed
(Frisch-Waugh: the rank statistics are functions of the partialled data) and the two
F statistics are rescaled from N - L - c to N - L - (controls + rank of the effects), their
only dependence on the number of exogenous columns:

* ``cragg_donald_f``: (N - L - d)/k_excl * r2_min/(1 - r2_min); with one endogenous
  regressor the non-robust first-stage F of the excluded instruments.
* ``kp_rk_lm`` / ``kp_rk_lm_p``: Kleibergen-Paap (2006) rk LM statistic, robust like the
  spec's covariance (cluster by unit by default),
  chi2(k_excl - m + 1); with one endogenous regressor and one instrument
  (z~'x~)^2 / sum_g (z~_g'x~_g)^2.
* ``kp_rk_wald_f``: rk Wald F, W (N-L-d)(G-1) / ((N-1) G k_excl) -- the cluster-robust
  first-stage Wald of the excluded instruments with ivreg2's small-sample factor.
* Stock-Yogo (2005) maximal-IV-size critical values for one endogenous regressor and one
  instrument: 10% 16.38, 15% 8.96, 20% 6.66, 25% 5.53 (the paper compares Cragg-Donald F).

The first-stage coefficient, standard error and F (``first_stage_*``) are from the OLS first
stage with the spec's covariance (:func:`estimation.linear.fit_ols`).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from linearmodels.iv.common import cragg_donald_f, kleibergen_paap, kleibergen_paap_f

from estimation.absorb import FixedEffects
from estimation.covariance import sandwich
from estimation.design import Design
from estimation.errors import SpecError
from estimation.linear import fit_ols, small_sample_k
from estimation.results import Result


class FE2SLSResult(Result):
    """Fixed-effects 2SLS:  y~ = X~ b + e,  X~ = [endogenous, controls] instrumented by
    Z~ = [excluded instruments, controls] (~: effects partialled out); b = (X~'P_Z X~)^-1 X~'P_Z y~.

    No constant (``xtivreg2, fe`` has none). ``stats`` add the first stage (coefficient,
    standard error, F) and the weak-instrument diagnostics (module docstring).
    """

    estimator = "fe_2sls"

# The rank statistics follow the spec's covariance (linearmodels' names). Driscoll-Kraay has
# no counterpart there; a Bartlett kernel over the rows is not the same thing, so it is
# refused rather than approximated.
KP_COVARIANCE: dict[str, tuple[str, dict | None]] = {
    "cluster_unit_stata": ("clustered", None),
    "robust_hc1": ("robust", None),
    "unadjusted": ("unadjusted", None),
}

# Stock & Yogo (2005) Table 5.2, one endogenous regressor, one excluded instrument.
STOCK_YOGO_1_1: dict[int, float] = {10: 16.38, 15: 8.96, 20: 6.66, 25: 5.53}
# Cells of the dense [constant, controls, effect dummies] matrix above which the rank
# statistics are computed on the absorbed data instead (module docstring): 20 million cells
# is 160 MB; a province panel needs 270 x 45.
LSDV_CELLS = 20_000_000


def lsdv_exog(design: Design, controls: np.ndarray) -> np.ndarray:
    """Exogenous regressors incl. full-rank effect dummies (for the rank statistics)."""
    # A constant plus each effect's dummies without its first level: full rank for a connected
    # panel, so linearmodels counts the true number of exogenous regressors (ivreg2's
    # L + dofminus).
    cols = [np.ones((len(design.unit), 1)), controls]
    for name, codes in (("unit", design.unit), ("time", design.time)):
        if name in design.spec.effects:
            levels, idx = np.unique(codes, return_inverse=True)
            cols.append(np.eye(len(levels))[idx][:, 1:])
    return np.hstack(cols)


def rank_statistics(design: Design, endog: np.ndarray, instr: np.ndarray, controls: np.ndarray,
                    fe: FixedEffects, kp_cov: str, kp_config: dict | None) -> dict[str, float]:
    """KP rk LM (and p, df), Cragg-Donald F and KP rk Wald F of the excluded instruments."""
    n = len(endog)
    n_exog = controls.shape[1] + fe.rank  # the columns of lsdv_exog
    if n * n_exog <= LSDV_CELLS:
        exog, rescale = lsdv_exog(design, controls), 1.0
    else:
        endog, instr, exog = fe.demean(endog), fe.demean(instr), fe.demean(controls)
        k = instr.shape[1]
        rescale = (n - k - n_exog) / (n - k - exog.shape[1])
    lm = kleibergen_paap(endog, instr, exog, kp_cov, kp_config)
    return {"kp_rk_lm": float(lm.stat), "kp_rk_lm_p": float(lm.pval), "kp_rk_lm_df": float(lm.df),
            "cragg_donald_f": float(cragg_donald_f(endog, instr, exog)) * rescale,
            "kp_rk_wald_f": float(kleibergen_paap_f(endog, instr, exog, kp_cov, kp_config)) * rescale}


def fit_fe_2sls(design: Design, spec_id: str | None = None) -> FE2SLSResult:
    """FE-2SLS of ``design.y`` on ``design.X`` with ``spec.endogenous`` instrumented by Z."""
    spec = design.spec
    if spec.cov_type not in KP_COVARIANCE:
        raise SpecError(f"spec {spec.spec_id}: fe_2sls supports cov_type "
                         f"{sorted(KP_COVARIANCE)}, not {spec.cov_type!r}")
    endog = list(spec.endogenous)
    exog_names = [c for c in design.X.columns if c not in endog]
    y = design.y.to_numpy(dtype=float)
    X = design.X[endog + exog_names].to_numpy(dtype=float)
    Zx = design.Z.to_numpy(dtype=float)
    Z = np.hstack([Zx, design.X[exog_names].to_numpy(dtype=float)])
    n, p = X.shape
    fe = FixedEffects.of(design.unit, design.time, spec.effects)
    y_w, X_w, Z_w = fe.demean(y), fe.demean(X), fe.demean(Z)
    Xh = Z_w @ np.linalg.lstsq(Z_w, X_w, rcond=None)[0]
    bread_inv = np.linalg.inv(Xh.T @ Xh)
    beta = bread_inv @ (Xh.T @ y_w)
    resid = y_w - X_w @ beta
    k, k_all = small_sample_k(p, fe)
    cov, df_t = sandwich(bread_inv, Xh * resid[:, None], spec.cov_type, unit=design.unit,
                         time=design.time, resid=resid, n=n, k=k, k_all=k_all)
    terms = endog + exog_names

    # First stage: each endogenous regressor on the instruments, same FE and covariance.
    first = fit_ols(Design(spec=replace(spec, estimator="ols"), y=design.X[endog[0]],
                           X=pd.concat([design.Z, design.X[exog_names]], axis=1),
                           unit=design.unit, time=design.time))
    excl = list(design.Z.columns)
    kp_cov, kp_config = KP_COVARIANCE[spec.cov_type]
    if kp_cov == "clustered":
        kp_config = {"clusters": pd.factorize(design.unit)[0]}
    ranks = rank_statistics(design, X[:, :len(endog)], Zx, design.X[exog_names].to_numpy(dtype=float),
                            fe, kp_cov, kp_config)
    ssr, tss = float(resid @ resid), float(((y - y.mean()) ** 2).sum())
    st: dict[str, float] = {
        "nobs": n, "groups": design.groups,
        "r2": 1 - ssr / tss, "adj_r2": 1 - (ssr / tss) * (n - 1) / (n - k_all),
        "r2_within": 1 - ssr / float(y_w @ y_w),
        "sigma_e": np.sqrt(ssr / (n - k_all)), "df_resid": df_t, "k_small_sample": k,
        "first_stage_coef": float(first.params[excl[0]]),
        "first_stage_se": float(first.std_errors[excl[0]]),
        "first_stage_f": float(first.params[excl].to_numpy()
                               @ np.linalg.solve(first.cov.loc[excl, excl].to_numpy(),
                                                 first.params[excl].to_numpy())) / len(excl),
        **ranks,
    }
    if len(endog) == 1 and len(excl) == 1:
        for size, crit in STOCK_YOGO_1_1.items():
            st[f"stock_yogo_{size}pct"] = crit
    return FE2SLSResult(
        spec_id or spec.spec_id, pd.Series(beta, index=terms),
        pd.Series(np.sqrt(np.diag(cov)), index=terms), nobs=n, df_resid=df_t, stats=st,
        cov=pd.DataFrame(cov, index=terms, columns=terms), cov_type=spec.cov_type,
    )
