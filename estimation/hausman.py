"""Hausman (1978) test of fixed against random unit effects on a spec's regressors.

H = (b_FE - b_RE)' [V_FE - V_RE]^-1 (b_FE - b_RE) ~ chi2(k), with unadjusted covariances,
over the k slopes of the spec (dt and the controls). When the spec has time effects both
models carry time dummies as regressors (``xtreg y x i.year, fe`` / ``, re``), so the test
concerns the unit effects only; the time dummies are left out of the comparison (as
``hausman fe re`` users do to avoid the non-positive-definite V_FE - V_RE they cause), by
giving them model-specific names: linearmodels compares same-named coefficients only.
Computed by linearmodels ``RandomEffectsResults.hausman``. The reported ``statistic``/
``df``/``p_value`` are the ``sigmamore`` variant (both covariances based on the RE error
variance, Stata's ``hausman fe re, sigmamore``): with separate variances V_FE - V_RE is often
not positive definite on panels where the effects dominate (the statistic goes negative and
is undefined). The plain variant is written as ``statistic_plain``/``p_value_plain`` (NaN
when undefined).
"""
from __future__ import annotations

import warnings

import pandas as pd
from linearmodels import PanelOLS, RandomEffects
from linearmodels.shared.hypotheses import WaldTestStatistic

from estimation.design import Design
from estimation.results import Result


class HausmanResult(Result):
    """Hausman test: H = (b_FE - b_RE)' [V_FE - V_RE]^-1 (b_FE - b_RE) ~ chi2(k).

    A test, not a model: no ``params``; ``stats`` hold nobs, ``statistic``/``df``/``p_value``
    (sigmamore) and ``statistic_plain``/``df_plain``/``p_value_plain``.
    """

    estimator = "hausman"

    def __init__(self, spec_id: str, nobs: int, stats: dict[str, float]):
        empty = pd.Series(dtype=float)
        super().__init__(spec_id, empty, empty, nobs=nobs, stats=stats, cov_type="unadjusted")


def fit_fe_re(design: Design):
    """(FE results, RE results) from linearmodels with unadjusted covariances."""
    idx = pd.MultiIndex.from_arrays([design.unit, design.time], names=["unit", "time"])
    y = design.y.set_axis(idx)

    def regressors(prefix: str) -> pd.DataFrame:
        X = design.X.set_axis(idx)
        if "time" in design.spec.effects:
            years = pd.get_dummies(pd.Series(design.time, index=idx), prefix=prefix,
                                   drop_first=True, dtype=float)
            X = pd.concat([X, years], axis=1)
        return X.assign(const=1.0)

    fe = PanelOLS(y, regressors("fe_time"), entity_effects=True).fit(cov_type="unadjusted")
    re = RandomEffects(y, regressors("re_time")).fit(cov_type="unadjusted")
    return fe, re


def hausman_fe_re(design: Design, spec_id: str | None = None) -> HausmanResult:
    """The test with ``statistic``, ``df``, ``p_value`` (sigmamore) and the ``_plain`` variant."""
    fe, re = fit_fe_re(design)
    k = float(design.X.shape[1])
    out: dict[str, float] = {"nobs": design.nobs}
    for suffix, sigmamore in (("", True), ("_plain", False)):
        with warnings.catch_warnings():
            # A non-positive-definite difference is reported through the NaN, not a warning.
            warnings.simplefilter("ignore", UserWarning)
            stat = re.hausman(fe, sigmamore=sigmamore).statistic
        valid = isinstance(stat, WaldTestStatistic)
        out[f"statistic{suffix}"] = float(stat.stat) if valid else float("nan")
        out[f"df{suffix}"] = float(stat.df) if valid else k
        out[f"p_value{suffix}"] = float(stat.pval) if valid else float("nan")
    return HausmanResult(spec_id or design.spec.spec_id, design.nobs, out)
