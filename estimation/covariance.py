"""Covariance estimators of the linear models and their small-sample corrections.

A covariance is a *kind* (how the score outer products are summed) and an explicit
:class:`SmallSampleCorrection` (the scalar in front), after pyfixest's ``ssc``. The labels
written to ``results.coefficients.cov_type`` name both:

==========================  =================  =================================================
label                       kind               correction c, t degrees of freedom
==========================  =================  =================================================
``cluster_unit_stata``      cluster by unit    G/(G-1) (N-1)/(N-K), K without nested effects; G-1
``robust_hc1``              heteroskedastic    N/(N-K_all); N-K_all
``driscoll_kraay``          sum by period,     (N-1)/(N-K), K without nested effects; T-1
                            Bartlett kernel
``unadjusted``              classical s^2      s^2 = e'e/(N-K_all); N-K_all
==========================  =================  =================================================

N rows, G units (clusters), T periods; K_all = slopes + rank of the absorbed effects and the
constant; K leaves out the unit effects, which are nested in the unit clusters (Stata's
``xtreg, fe vce(cluster)`` and ``reghdfe`` convention, ``regress, vce(cluster)`` for pooled
OLS). Driscoll-Kraay uses the lag m = floor(4 (T/100)^(2/9)) (Hoechle's ``xtscc`` default).

With X~ the design after absorbing the effects and e the residuals,
V = c (X~'X~)^-1 M (X~'X~)^-1 with M = sum_g X~_g'e_g e_g'X~_g (cluster), sum_i x~_i'x~_i e_i^2
(robust), or the kernel-weighted sum of the per-period score autocovariances (DK).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SmallSampleCorrection:
    """The scalar c of V = c (X'X)^-1 M (X'X)^-1 and the t reference's degrees of freedom.

    ``fixef_k``: which absorbed effects count in K -- ``"nonnested"`` (effects nested in the
    clusters left out: the unit effects) or ``"all"``. ``n_adj``: ``"n-1"`` for (N-1)/(N-K),
    ``"n"`` for N/(N-K). ``cluster_adj``: multiply by G/(G-1).
    """

    fixef_k: str = "nonnested"
    n_adj: str = "n-1"
    cluster_adj: bool = True

    @classmethod
    def stata(cls) -> "SmallSampleCorrection":
        """reghdfe / xtreg, fe vce(cluster): G/(G-1) (N-1)/(N-K), nested effects not counted."""
        return cls("nonnested", "n-1", True)

    @classmethod
    def hc1(cls) -> "SmallSampleCorrection":
        """White's HC1: N/(N-K) with every absorbed effect counted."""
        return cls("all", "n", False)

    def factor(self, n: int, k: int, k_all: int, groups: int | None = None) -> float:
        k_used = k if self.fixef_k == "nonnested" else k_all
        c = (n - 1) / (n - k_used) if self.n_adj == "n-1" else n / (n - k_used)
        if self.cluster_adj and groups is not None:
            c *= groups / (groups - 1)
        return c


@dataclass(frozen=True)
class Covariance:
    """A covariance kind with its small-sample correction."""

    kind: str  # "cluster" | "robust" | "driscoll_kraay" | "unadjusted"
    ssc: SmallSampleCorrection | None = None


#: The covariance labels a specification may name (module docstring).
COVARIANCES: dict[str, Covariance] = {
    "cluster_unit_stata": Covariance("cluster", SmallSampleCorrection.stata()),
    "robust_hc1": Covariance("robust", SmallSampleCorrection.hc1()),
    "driscoll_kraay": Covariance("driscoll_kraay", SmallSampleCorrection("nonnested", "n-1", False)),
    "unadjusted": Covariance("unadjusted"),
}
#: Labels of the maximum-likelihood estimators (not sandwich covariances).
ML_COVARIANCES = ("oim", "information_matrix")


def driscoll_kraay_lags(periods: int) -> int:
    """Bartlett-kernel lag m = floor(4 (T/100)^(2/9)) (Hoechle 2007, ``xtscc``)."""
    return int(np.floor(4 * (periods / 100) ** (2 / 9)))


def sandwich(bread_inv: np.ndarray, scores: np.ndarray, label: str, *, unit: np.ndarray,
             time: np.ndarray, resid: np.ndarray, n: int, k: int, k_all: int
             ) -> tuple[np.ndarray, float]:
    """Covariance and t degrees of freedom for the covariance ``label`` (module docstring).

    ``scores`` are the per-row score contributions x~_i e_i (n x p); ``k`` counts the slopes,
    the constant and the absorbed effects not nested in the unit clusters, ``k_all`` all of them.
    """
    cov = COVARIANCES.get(label)
    if cov is None:
        raise ValueError(f"unknown covariance {label!r}; known: {sorted(COVARIANCES)}")
    if cov.kind == "cluster":
        _, g_idx = np.unique(unit, return_inverse=True)
        groups = int(g_idx.max()) + 1
        sums = np.zeros((groups, scores.shape[1]))
        np.add.at(sums, g_idx, scores)
        c = cov.ssc.factor(n, k, k_all, groups)
        return c * bread_inv @ (sums.T @ sums) @ bread_inv, float(groups - 1)
    if cov.kind == "robust":
        c = cov.ssc.factor(n, k, k_all)
        return c * bread_inv @ (scores.T @ scores) @ bread_inv, float(n - k_all)
    if cov.kind == "driscoll_kraay":
        periods, t_idx = np.unique(time, return_inverse=True)
        h = np.zeros((len(periods), scores.shape[1]))
        np.add.at(h, t_idx, scores)
        meat = h.T @ h
        lags = driscoll_kraay_lags(len(periods))
        for j in range(1, lags + 1):
            gamma = h[j:].T @ h[:-j]
            meat += (1 - j / (lags + 1)) * (gamma + gamma.T)
        c = cov.ssc.factor(n, k, k_all)
        return c * bread_inv @ meat @ bread_inv, float(len(periods) - 1)
    s2 = float(resid @ resid) / (n - k_all)
    return s2 * bread_inv, float(n - k_all)
