"""One result shape for every model, and its rows for the results tables.

Every estimator returns a :class:`Result` (or a subclass documenting its model): read-only
``params``, ``std_errors``, ``tstats``, ``pvalues``, ``conf_int()``, ``cov``, ``nobs`` and
``stats`` (the model statistics), and ``tidy()``, which turns it into rows of the results
tables -- ``{"coefficients": frame, "model_stats": frame, ...}``, without ``run_id``; the
application's results store stamps the run and checks the columns.

Terms (``params`` index) are panel column names, ``const`` (for fixed-effects models Stata's
mean-restoring ``_cons``), ``l_<x>`` for a one-period lag, ``<a>_x_<b>`` for an interaction,
``w_<x>`` for a spatial lag of a regressor and ``rho``/``lambda`` for the spatial parameters.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
from scipy import stats as st

STAT_COLUMNS = ("spec_id", "stat", "value")


class Result:
    """Estimates of one specification.

    ``df_resid`` is the degrees of freedom of the t reference distribution of the p-values
    and intervals; ``None`` means the standard normal (maximum likelihood, Sobel).
    """

    estimator = "result"

    def __init__(self, spec_id: str, params: pd.Series, std_errors: pd.Series, *, nobs: int,
                 cov: pd.DataFrame | None = None, stats: Mapping[str, float] | None = None,
                 df_resid: float | None = None, cov_type: str | None = None,
                 estimator: str | None = None):
        self._spec_id = spec_id
        self._params = params.astype(float)
        self._std_errors = std_errors.astype(float)
        self._nobs = int(nobs)
        self._cov = cov
        self._stats = dict(stats or {})
        self._df_resid = df_resid
        self._cov_type = cov_type
        if estimator is not None:
            self.estimator = estimator

    spec_id = property(lambda self: self._spec_id, doc="The specification's id.")
    params = property(lambda self: self._params.copy(), doc="Estimates by term.")
    std_errors = property(lambda self: self._std_errors.copy(), doc="Standard errors by term.")
    nobs = property(lambda self: self._nobs, doc="Observations used.")
    cov_type = property(lambda self: self._cov_type, doc="Covariance label (estimation.covariance).")
    df_resid = property(lambda self: self._df_resid, doc="t reference df; None = normal.")

    @property
    def cov(self) -> pd.DataFrame | None:
        """Covariance of ``params`` (None where the estimator has none)."""
        return None if self._cov is None else self._cov.copy()

    @property
    def stats(self) -> dict[str, float]:
        """Model statistics (written to ``results.model_stats``)."""
        return dict(self._stats)

    @property
    def tstats(self) -> pd.Series:
        return self._params / self._std_errors

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values from t(df_resid), or the standard normal."""
        t = np.abs(self.tstats.to_numpy(dtype=float))
        p = 2 * (st.norm.sf(t) if self._df_resid is None else st.t.sf(t, self._df_resid))
        return pd.Series(p, index=self._params.index)

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        q = 0.5 + level / 2
        crit = st.norm.ppf(q) if self._df_resid is None else st.t.ppf(q, self._df_resid)
        half = crit * self._std_errors
        return pd.DataFrame({"lower": self._params - half, "upper": self._params + half})

    def tidy(self) -> dict[str, pd.DataFrame]:
        """Rows of the results tables for this estimate (no ``run_id``)."""
        out = {}
        if len(self._params):
            out["coefficients"] = self._coefficient_rows()
        if self._stats:
            out["model_stats"] = stat_rows(self._spec_id, self._stats)
        return out

    def _coefficient_rows(self) -> pd.DataFrame:
        ci = self.conf_int()
        return pd.DataFrame({
            "spec_id": self._spec_id,
            "term": self._params.index.astype(str),
            "estimate": self._params.to_numpy(dtype=float),
            "std_error": self._std_errors.to_numpy(dtype=float),
            "t_stat": self.tstats.to_numpy(dtype=float),
            "p_value": self.pvalues.to_numpy(dtype=float),
            "ci_low": ci["lower"].to_numpy(dtype=float),
            "ci_high": ci["upper"].to_numpy(dtype=float),
            "nobs": self._nobs,
            "estimator": self.estimator,
            "cov_type": self._cov_type,
        })

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._spec_id!r}, nobs={self._nobs})"


def stat_rows(spec_id: str, values: Mapping[str, float | None]) -> pd.DataFrame:
    """Rows of ``results.model_stats``: one per (stat, value); ``None`` values are skipped."""
    items = [(k, float(v)) for k, v in values.items() if v is not None]
    return pd.DataFrame({"spec_id": spec_id, "stat": [k for k, _ in items],
                         "value": [v for _, v in items]}, columns=list(STAT_COLUMNS))


def concat_tidy(results) -> dict[str, pd.DataFrame]:
    """Concatenate the ``tidy()`` frames of several results by table."""
    parts: dict[str, list[pd.DataFrame]] = {}
    for result in results:
        for name, frame in result.tidy().items():
            parts.setdefault(name, []).append(frame)
    return {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}
