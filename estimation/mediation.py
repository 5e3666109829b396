"""Three-step mediation (eqs. 2-3) with Sobel test and a unit-cluster bootstrap of a*b.

For a spec with dependent Y, regressor X (the first regressor), mediator M and controls C:

a: coefficient of X in  M = a X + C + unit + time effects
b: coefficient of M in  Y = c' X + b M + C + unit + time effects
Indirect effect a*b; Sobel z = a b / sqrt(b^2 se_a^2 + a^2 se_b^2), p = 2 Phi(-|z|), with the
covariance of the spec (cluster-robust by default) for both fits.

Bootstrap: draw the G units with replacement (all their periods); every drawn copy gets its
own unit effect, time effects are re-estimated on the drawn sample; refit both
equations and keep a*b. Intervals: percentile (2.5%, 97.5% quantiles) and bias-corrected
(z0 = Phi^-1(share of draws below the estimate); quantiles Phi(2 z0 -/+ 1.96)).

Reusing work (balanced panels): after demeaning within unit, the two-way within
transform of a bootstrap sample is Z_i - Zbar_t(w), Zbar_t(w) = sum_i w_i Z_it / sum_i w_i,
w_i the number of copies of unit i. Hence the within cross-product matrix of *all*
variables is  sum_i w_i Z_i'Z_i - W Zbar(w)'Zbar(w)  -- per-unit cross-products
C_i = Z_i'Z_i are computed once and every draw is two matrix products and two small solves,
vectorised over draws. An unbalanced panel falls back to refitting each draw by projection.
"""
from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from estimation.design import build_design
from estimation.errors import SpecError
from estimation.absorb import FixedEffects
from estimation.linear import PanelOLSResult, fit_ols
from estimation.results import Result
from estimation.specs import Spec

log = logging.getLogger(__name__)
MEDIATION_COLUMNS = ("spec_id", "mediator", "a", "se_a", "b", "se_b", "indirect", "sobel_z", "sobel_p",
                     "method", "ci_low", "ci_high", "replications", "seed")


class MediationResult(Result):
    """Mediation of X on Y through M (module docstring): ``params`` a, b and indirect = a*b,
    with the fits' standard errors and the Sobel standard error of a*b; ``draws`` holds the
    bootstrap a*b, ``tidy()`` gives one ``results.mediation`` row per interval method."""

    estimator = "mediation"

    def __init__(self, spec_id: str, mediator: str, regressor: str, a: PanelOLSResult,
                 b: PanelOLSResult, draws: np.ndarray, seed: int):
        self.mediator, self.regressor = mediator, regressor
        self.a, self.b, self.draws, self.seed = a, b, draws, seed
        a_hat, b_hat = a.params[regressor], b.params[mediator]
        se_a, se_b = a.std_errors[regressor], b.std_errors[mediator]
        sobel_se = np.sqrt(b_hat ** 2 * se_a ** 2 + a_hat ** 2 * se_b ** 2)
        super().__init__(spec_id, pd.Series({"a": a_hat, "b": b_hat, "indirect": a_hat * b_hat}),
                         pd.Series({"a": se_a, "b": se_b, "indirect": sobel_se}), nobs=b.nobs,
                         cov_type=b.cov_type)

    @property
    def indirect(self) -> float:
        return float(self.a.params[self.regressor] * self.b.params[self.mediator])

    def sobel(self) -> tuple[float, float]:
        a, sa = self.a.params[self.regressor], self.a.std_errors[self.regressor]
        b, sb = self.b.params[self.mediator], self.b.std_errors[self.mediator]
        z = a * b / np.sqrt(b ** 2 * sa ** 2 + a ** 2 * sb ** 2)
        return float(z), float(2 * stats.norm.sf(abs(z)))

    def percentile_ci(self, level: float = 0.95) -> tuple[float, float]:
        return percentile_interval(self.draws, level)

    def bias_corrected_ci(self, level: float = 0.95) -> tuple[float, float]:
        return bias_corrected_interval(self.draws, self.indirect, level)

    def tidy(self) -> dict[str, pd.DataFrame]:
        return {"mediation": self.rows()}

    def rows(self) -> pd.DataFrame:
        """Rows of ``results.mediation``: one per CI method."""
        z, p = self.sobel()
        base = {
            "spec_id": self.spec_id, "mediator": self.mediator, "a": float(self.a.params[self.regressor]),
            "se_a": float(self.a.std_errors[self.regressor]), "b": float(self.b.params[self.mediator]),
            "se_b": float(self.b.std_errors[self.mediator]), "indirect": self.indirect,
            "sobel_z": z, "sobel_p": p, "replications": int(self.draws.size),
            "seed": int(self.seed),
        }
        out = []
        for method, (lo, hi) in (("percentile", self.percentile_ci()),
                                 ("bias_corrected", self.bias_corrected_ci())):
            out.append({**base, "method": method, "ci_low": lo, "ci_high": hi})
        return pd.DataFrame(out, columns=list(MEDIATION_COLUMNS))


def percentile_interval(draws: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Quantiles (1-level)/2 and (1+level)/2 of the bootstrap draws."""
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def bias_corrected_interval(draws: np.ndarray, estimate: float, level: float = 0.95
                            ) -> tuple[float, float]:
    """Efron's bias-corrected interval: quantiles Phi(2 z0 -/+ z_c), z0 = Phi^-1(P(draw <
    estimate)), z_c = Phi^-1((1+level)/2)."""
    z0 = stats.norm.ppf(np.mean(draws < estimate))
    zc = stats.norm.ppf(0.5 + level / 2)
    lo, hi = np.quantile(draws, stats.norm.cdf([2 * z0 - zc, 2 * z0 + zc]))
    return float(lo), float(hi)


def _unit_blocks(panel: pd.DataFrame, columns: list[str], unit: str, time: str):
    """(Z, df) with Z[i] the T x p unit-demeaned block of unit i (None if the complete-case
    panel is not balanced) and df the complete-case rows."""
    df = panel.dropna(subset=columns).sort_values([unit, time])
    counts = df.groupby(unit)[time].agg(["size", "min", "max"])
    years = np.sort(df[time].unique())
    if not ((counts["size"] == len(years)).all()):
        return None, df
    values = df[columns].to_numpy(dtype=float).reshape(len(counts), len(years), len(columns))
    return values - values.mean(axis=1, keepdims=True), df


def _ab_from_crossproducts(XX: np.ndarray, ia: list[int], ib: list[int], im: int, iy: int,
                           pos_m_in_b: int) -> np.ndarray:
    """a*b for a stack of within cross-product matrices XX (R x p x p)."""
    Aa = XX[:, ia][:, :, ia]
    a = np.linalg.solve(Aa, XX[:, ia, im][..., None])[:, 0, 0]      # dt is first in ia
    Ab = XX[:, ib][:, :, ib]
    b = np.linalg.solve(Ab, XX[:, ib, iy][..., None])[:, pos_m_in_b, 0]
    return a * b


def _draw_counts(rng: np.random.Generator, n_groups: int, replications: int) -> np.ndarray:
    """R x N matrix: how many copies of each unit each bootstrap sample holds."""
    idx = rng.integers(0, n_groups, size=(replications, n_groups))
    counts = np.zeros((replications, n_groups))
    np.add.at(counts, (np.repeat(np.arange(replications), n_groups), idx.ravel()), 1.0)
    return counts


def bootstrap_indirect_fast(Z: np.ndarray, counts: np.ndarray, mediator_col: int,
                            y_col: int, x_cols: list[int], chunks: int = 10) -> np.ndarray:
    """a*b per draw from unit blocks Z (N x T x p) and copy counts (R x N)."""
    N, T, p = Z.shape
    C = np.einsum("itp,itq->ipq", Z, Z).reshape(N, p * p)      # once
    Zflat = Z.reshape(N, T * p)
    ia = x_cols                                                # [dt, controls]
    ib = [x_cols[0], mediator_col, *x_cols[1:]]
    out = np.empty(counts.shape[0])
    bounds = np.linspace(0, counts.shape[0], chunks + 1).astype(int)
    for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:]), start=1):
        w = counts[lo:hi]
        W = w.sum(axis=1)
        A = (w @ C).reshape(-1, p, p)
        M = (w @ Zflat).reshape(-1, T, p) / W[:, None, None]
        XX = A - W[:, None, None] * np.einsum("rtp,rtq->rpq", M, M)
        out[lo:hi] = _ab_from_crossproducts(XX, ia, ib, mediator_col, y_col, 1)
        log.info("bootstrap: %d/%d replications (%d%%)", hi, counts.shape[0],
                 round(100 * k / chunks))
    return out


def bootstrap_indirect_refit(df: pd.DataFrame, counts: np.ndarray, spec: Spec, unit: str,
                             time: str) -> np.ndarray:
    """a*b per draw by rebuilding each bootstrap sample and refitting (any panel shape)."""
    mediator, regressor, controls = spec.mediator, spec.regressors[0], spec.controls
    codes = np.sort(df[unit].unique())
    blocks = {c: g for c, g in df.groupby(unit)}
    out = np.empty(counts.shape[0])
    step = max(1, counts.shape[0] // 10)
    for r, w in enumerate(counts):
        parts, copy_id = [], []
        for j, c in enumerate(codes):
            for copy in range(int(w[j])):
                parts.append(blocks[c])
                copy_id.append(np.full(len(blocks[c]), len(copy_id)))
        sample = pd.concat(parts, ignore_index=True)
        fe = FixedEffects.of(np.concatenate(copy_id), sample[time].to_numpy(), ("unit", "time"))
        Xa = fe.demean(sample[[regressor, *controls]].to_numpy(dtype=float))
        m = fe.demean(sample[mediator].to_numpy(dtype=float))
        yv = fe.demean(sample[spec.dependent].to_numpy(dtype=float))
        a = np.linalg.lstsq(Xa, m, rcond=None)[0][0]
        Xb = np.column_stack([Xa[:, 0], m, Xa[:, 1:]])
        b = np.linalg.lstsq(Xb, yv, rcond=None)[0][1]
        out[r] = a * b
        if (r + 1) % step == 0:
            log.info("bootstrap (refit): %d/%d replications", r + 1, counts.shape[0])
    return out


def path_specs(spec: Spec) -> tuple[Spec, Spec]:
    """The a-path (mediator on the regressor) and b-path (dependent on regressor and mediator)
    specifications of a mediation spec, with its controls, effects, sample and covariance."""
    if spec.effects != ("unit", "time") or len(spec.regressors) != 1:
        raise SpecError(f"spec {spec.spec_id}: mediation needs effects 'unit time' and one regressor")
    common = dict(estimator="ols", mediator=None)
    regressor = spec.regressors[0]
    return (replace(spec, spec_id=f"{spec.spec_id}_a", dependent=spec.mediator, **common),
            replace(spec, spec_id=f"{spec.spec_id}_b", regressors=(regressor, spec.mediator), **common))


def mediation_analysis(panel: pd.DataFrame, spec: Spec, *, unit: str, time: str,
                       replications: int = 1000, seed: int = 12345) -> MediationResult:
    """Both paths and the unit-cluster bootstrap of a*b (``replications`` draws, ``seed``)."""
    spec_a, spec_b = path_specs(spec)
    fits = (fit_ols(build_design(panel, spec_a, unit=unit, time=time)),
            fit_ols(build_design(panel, spec_b, unit=unit, time=time)))
    sample = panel[spec.sample.mask(panel)] if spec.sample else panel
    regressor = spec.regressors[0]
    columns = [regressor, *spec.controls, spec.mediator, spec.dependent]
    Z, df = _unit_blocks(sample, columns, unit, time)
    counts = _draw_counts(np.random.default_rng(seed), df[unit].nunique(), replications)
    log.info("mediation %s: %d unit-cluster bootstrap replications (seed %d)",
             spec.mediator, replications, seed)
    if Z is not None:
        p = len(columns)
        draws = bootstrap_indirect_fast(Z, counts, mediator_col=p - 2, y_col=p - 1,
                                        x_cols=list(range(len(spec.controls) + 1)))
    else:
        draws = bootstrap_indirect_refit(df, counts, spec, unit, time)
    return MediationResult(spec.spec_id, spec.mediator, regressor, fits[0], fits[1], draws, seed)
