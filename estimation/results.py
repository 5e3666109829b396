"""A uniform result object for every model, and its conversion to ``results.*`` rows.

Each estimator returns a :class:`ModelResult`; :func:`coefficient_rows` and
:func:`model_stat_rows` turn it into rows shaped like ``estimation.store.RESULT_TABLES``
(``coefficients`` and ``model_stats``, without ``run_id``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats


@dataclass
class ModelResult:
    """Estimates of one specification.

    ``params``/``std_errors`` are indexed by term (panel column names, ``const``, ``l_<x>``
    for lags, ``dt_x_inf`` for the interaction). ``df_resid`` is the degrees of freedom of
    the t reference distribution (``None``: standard normal, as for maximum likelihood).
    ``stats`` holds the model statistics written to ``results.model_stats``.
    """

    spec_id: str
    estimator: str
    cov_type: str
    params: pd.Series
    std_errors: pd.Series
    nobs: int
    df_resid: float | None
    stats: dict[str, float] = field(default_factory=dict)
    cov: pd.DataFrame | None = None

    @property
    def tstats(self) -> pd.Series:
        return self.params / self.std_errors

    @property
    def pvalues(self) -> pd.Series:
        t = np.abs(self.tstats.to_numpy(dtype=float))
        if self.df_resid is None:
            p = 2 * stats.norm.sf(t)
        else:
            p = 2 * stats.t.sf(t, self.df_resid)
        return pd.Series(p, index=self.params.index)

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        q = 0.5 + level / 2
        crit = stats.norm.ppf(q) if self.df_resid is None else stats.t.ppf(q, self.df_resid)
        half = crit * self.std_errors
        return pd.DataFrame({"lower": self.params - half, "upper": self.params + half})


def coefficient_rows(result: ModelResult) -> pd.DataFrame:
    """Rows of ``results.coefficients`` for one model (95% intervals)."""
    ci = result.conf_int()
    return pd.DataFrame({
        "spec_id": result.spec_id,
        "term": result.params.index.astype(str),
        "estimate": result.params.to_numpy(dtype=float),
        "std_error": result.std_errors.to_numpy(dtype=float),
        "t_stat": result.tstats.to_numpy(dtype=float),
        "p_value": result.pvalues.to_numpy(dtype=float),
        "ci_low": ci["lower"].to_numpy(dtype=float),
        "ci_high": ci["upper"].to_numpy(dtype=float),
        "nobs": int(result.nobs),
        "estimator": result.estimator,
        "cov_type": result.cov_type,
    })


def model_stat_rows(spec_id: str, values: dict[str, float]) -> pd.DataFrame:
    """Rows of ``results.model_stats``: one per (stat, value); ``None`` values are skipped."""
    items = [(k, float(v)) for k, v in values.items() if v is not None]
    return pd.DataFrame({"spec_id": spec_id, "stat": [k for k, _ in items],
                         "value": [v for _, v in items]})
