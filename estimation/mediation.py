"""Three-step mediation (eqs. 2-3) with Sobel test and a province-cluster bootstrap of a*b.

a: coefficient of dt in  M  = a dt + controls + province + year effects     (spec ``_a``)
b: coefficient of M  in  er = c' dt + b M + controls + province + year      (spec ``_b``)
Indirect effect a*b; Sobel z = a b / sqrt(b^2 se_a^2 + a^2 se_b^2), p = 2 Phi(-|z|), with the
cluster-robust standard errors of the two fits.

Bootstrap: draw 30 provinces with replacement (all their years); every drawn copy gets its
own province effect, year effects are re-estimated on the drawn sample; refit both
equations and keep a*b. Intervals: percentile (2.5%, 97.5% quantiles) and bias-corrected
(z0 = Phi^-1(share of draws below the estimate); quantiles Phi(2 z0 -/+ 1.96)).

Reusing work (balanced panels): after demeaning within province, the two-way within
transform of a bootstrap sample is Z_i - Zbar_t(w), Zbar_t(w) = sum_i w_i Z_it / sum_i w_i,
w_i the number of copies of province i. Hence the within cross-product matrix of *all*
variables is  sum_i w_i Z_i'Z_i - W Zbar(w)'Zbar(w)  -- per-province cross-products
C_i = Z_i'Z_i are computed once and every draw is two matrix products and two small solves,
vectorised over draws. An unbalanced panel falls back to refitting each draw by projection.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from estimation.design import build_design
from estimation.linear import effect_dummies, fit_ols, partial_out
from estimation.results import ModelResult
from estimation.specs import CONTROLS, mediation_specs

log = logging.getLogger(__name__)


@dataclass
class MediationResult:
    mediator: str
    a: ModelResult
    b: ModelResult
    draws: np.ndarray          # bootstrap a*b, one per replication
    seed: int

    @property
    def indirect(self) -> float:
        return float(self.a.params["dt"] * self.b.params[self.mediator])

    def sobel(self) -> tuple[float, float]:
        a, sa = self.a.params["dt"], self.a.std_errors["dt"]
        b, sb = self.b.params[self.mediator], self.b.std_errors[self.mediator]
        z = a * b / np.sqrt(b ** 2 * sa ** 2 + a ** 2 * sb ** 2)
        return float(z), float(2 * stats.norm.sf(abs(z)))

    def percentile_ci(self, level: float = 0.95) -> tuple[float, float]:
        return percentile_interval(self.draws, level)

    def bias_corrected_ci(self, level: float = 0.95) -> tuple[float, float]:
        return bias_corrected_interval(self.draws, self.indirect, level)

    def rows(self) -> pd.DataFrame:
        """Rows of ``results.mediation``: one per CI method."""
        z, p = self.sobel()
        base = {
            "mediator": self.mediator, "a": float(self.a.params["dt"]),
            "se_a": float(self.a.std_errors["dt"]), "b": float(self.b.params[self.mediator]),
            "se_b": float(self.b.std_errors[self.mediator]), "indirect": self.indirect,
            "sobel_z": z, "sobel_p": p, "replications": int(self.draws.size),
            "seed": int(self.seed),
        }
        out = []
        for method, (lo, hi) in (("percentile", self.percentile_ci()),
                                 ("bias_corrected", self.bias_corrected_ci())):
            out.append({**base, "method": method, "ci_low": lo, "ci_high": hi})
        return pd.DataFrame(out)


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


def _province_blocks(panel: pd.DataFrame, columns: list[str]):
    """(codes, Z) with Z[i] the T x p province-demeaned block of province i, or None if the
    complete-case panel is not balanced."""
    df = panel.dropna(subset=columns).sort_values(["province_code", "year"])
    counts = df.groupby("province_code")["year"].agg(["size", "min", "max"])
    years = np.sort(df["year"].unique())
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
    """R x N matrix: how many copies of each province each bootstrap sample holds."""
    idx = rng.integers(0, n_groups, size=(replications, n_groups))
    counts = np.zeros((replications, n_groups))
    np.add.at(counts, (np.repeat(np.arange(replications), n_groups), idx.ravel()), 1.0)
    return counts


def bootstrap_indirect_fast(Z: np.ndarray, counts: np.ndarray, mediator_col: int,
                            y_col: int, x_cols: list[int], chunks: int = 10) -> np.ndarray:
    """a*b per draw from province blocks Z (N x T x p) and copy counts (R x N)."""
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


def bootstrap_indirect_refit(df: pd.DataFrame, counts: np.ndarray, mediator: str,
                             controls: tuple[str, ...] = CONTROLS) -> np.ndarray:
    """a*b per draw by rebuilding each bootstrap sample and refitting (any panel shape)."""
    codes = np.sort(df["province_code"].unique())
    blocks = {c: g for c, g in df.groupby("province_code")}
    out = np.empty(counts.shape[0])
    step = max(1, counts.shape[0] // 10)
    for r, w in enumerate(counts):
        parts, copy_id = [], []
        for j, c in enumerate(codes):
            for copy in range(int(w[j])):
                parts.append(blocks[c])
                copy_id.append(np.full(len(blocks[c]), len(copy_id)))
        sample = pd.concat(parts, ignore_index=True)
        D = effect_dummies(np.concatenate(copy_id), sample["year"].to_numpy(),
                           ("province", "year"))
        Xa = partial_out(sample[["dt", *controls]].to_numpy(dtype=float), D)
        m = partial_out(sample[mediator].to_numpy(dtype=float), D)
        yv = partial_out(sample["er"].to_numpy(dtype=float), D)
        a = np.linalg.lstsq(Xa, m, rcond=None)[0][0]
        Xb = np.column_stack([Xa[:, 0], m, Xa[:, 1:]])
        b = np.linalg.lstsq(Xb, yv, rcond=None)[0][1]
        out[r] = a * b
        if (r + 1) % step == 0:
            log.info("bootstrap (refit): %d/%d replications", r + 1, counts.shape[0])
    return out


def mediation_analysis(panel: pd.DataFrame, mediator: str, *, replications: int = 1000,
                       seed: int = 12345, fits: tuple[ModelResult, ModelResult] | None = None
                       ) -> MediationResult:
    """Point estimates (or the given ``fits`` of the _a and _b specs) plus the bootstrap."""
    spec_a, spec_b = mediation_specs(mediator)
    if fits is None:
        fits = (fit_ols(build_design(panel, spec_a)), fit_ols(build_design(panel, spec_b)))
    controls = spec_a.controls
    columns = ["dt", *controls, mediator, "er"]
    Z, df = _province_blocks(panel, columns)
    counts = _draw_counts(np.random.default_rng(seed), df["province_code"].nunique(),
                          replications)
    log.info("mediation %s: %d province-cluster bootstrap replications (seed %d)",
             mediator, replications, seed)
    if Z is not None:
        p = len(columns)
        draws = bootstrap_indirect_fast(Z, counts, mediator_col=p - 2, y_col=p - 1,
                                        x_cols=list(range(len(controls) + 1)))
    else:
        draws = bootstrap_indirect_refit(df, counts, mediator, controls)
    return MediationResult(mediator, fits[0], fits[1], draws, seed)
