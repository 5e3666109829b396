"""Direct, indirect and total effects of a spatial lag/Durbin model (LeSage & Pace 2009, ch. 2.7).

With S_k = (I - rho W)^-1 (beta_k I + theta_k W) and W's eigenvalues w_i:

    direct_k   = tr(S_k)/N = beta_k (1/N) sum_i 1/(1 - rho w_i) + theta_k (1/N) sum_i w_i/(1 - rho w_i)
    total_k    = l'S_k l/N = (beta_k + theta_k)/(1 - rho)          (row-standardised W)
    indirect_k = total_k - direct_k

Each evaluation is O(N) given the eigenvalues; for a large sparse W without eigenvalues the
two traces come from :class:`~.logdet.TraceMultipliers` (exact at the estimate, a trace
series at the draws; no N x N inverse is formed). The reported effect (``estimate``) is this
exact value at the ML estimates -- what spatialreg's ``impacts`` prints, and equal to it to
~1e-12 (tests/test_reference_r.py). Inference follows LeSage & Pace (2009, sec. 2.7) and
Stata's xsmle: draw (beta, theta, rho) from their estimated asymptotic normal distribution,
redrawing any rho outside the admissible interval, evaluate the effects per draw; the
standard deviation of the draws is the standard error, ``p_value`` the normal p of
estimate/std_error, and the draws' mean, median and 2.5%/97.5% quantiles are reported
beside it (``sim_mean``, ``sim_median``, ``sim_q025``, ``sim_q975``). The point effect, not
the draws' mean, is printed because the effects are non-linear in rho: with a weakly
identified rho the mean of the draws drifts away from the effect at the estimates (by up to
17% for the indirect effects of the bundled synthetic sample). :func:`delta_method` gives the
analytic alternative to the simulated standard error.

**rho near 1.** The total effect has the factor 1/(1 - rho). Draws are restricted to the
admissible interval (a truncated normal for rho), but when that truncated density is not
negligible at the upper bound, E[1/(1 - rho)] is infinite (the integral of 1/(1 - rho)
diverges logarithmically): the simulated mean and SD of the total and indirect effects are
then set by the few draws closest to 1 and grow with the number of draws. They are reported
as computed, not trimmed; :func:`rho_near_bound_share` (model_stats
``effects_rho_near_bound_share``) says how much of the draw distribution lies within
``NEAR_BOUND`` of the bound, so a reader can tell when those moments are meaningless.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats

logger = logging.getLogger(__name__)
EFFECTS = ("direct", "indirect", "total")
CHUNK = 250  # draws evaluated (and logged) per block; bounds memory at CHUNK x N
NEAR_BOUND = 0.01  # rho within this of the upper bound multiplies the total effect by >= 100


def effect_multipliers(rho, eigenvalues) -> tuple[np.ndarray, np.ndarray]:
    """(1/N) sum 1/(1 - rho w) and (1/N) sum w/(1 - rho w), for each rho (real also for
    complex eigenvalues, which come in conjugate pairs). ``eigenvalues`` are W's, or, for a
    large sparse W without them, a :class:`~.logdet.TraceMultipliers` that returns the same
    two traces (exact at the estimate, from the trace series at the draws)."""
    if callable(eigenvalues):
        return eigenvalues(rho)
    inv = 1.0 / (1.0 - np.outer(np.atleast_1d(rho), eigenvalues))
    return inv.mean(axis=1).real, (inv * eigenvalues).mean(axis=1).real


def effects(beta, theta, rho, eigenvalues) -> dict[str, np.ndarray]:
    """Effects per regressor; beta, theta shaped (k,) or (draws, k), rho scalar or (draws,);
    ``eigenvalues`` as in :func:`effect_multipliers`."""
    beta, theta = np.asarray(beta, float), np.asarray(theta, float)
    rho_arr = np.atleast_1d(np.asarray(rho, float))
    m1, m2 = effect_multipliers(rho_arr, eigenvalues)
    if beta.ndim == 1:
        m1, m2, rho_arr = m1[0], m2[0], rho_arr[0]
    else:
        m1, m2, rho_arr = m1[:, None], m2[:, None], rho_arr[:, None]
    direct = beta * m1 + theta * m2
    total = (beta + theta) / (1.0 - rho_arr)
    return {"direct": direct, "indirect": total - direct, "total": total}


def delta_method(beta, theta, rho: float, cov: np.ndarray, eigenvalues: np.ndarray) -> dict[str, np.ndarray]:
    """Delta-method standard errors; ``cov`` is the covariance of (beta, theta, rho) in that order."""
    beta, theta = np.asarray(beta, float), np.asarray(theta, float)
    k = len(beta)
    inv = 1.0 / (1.0 - rho * eigenvalues)
    m1, m2 = inv.mean().real, (eigenvalues * inv).mean().real
    dm1, dm2 = (eigenvalues * inv**2).mean().real, (eigenvalues**2 * inv**2).mean().real
    out = {name: np.empty(k) for name in EFFECTS}
    eye = np.eye(k)
    for j in range(k):
        grad = {
            "direct": np.concatenate([m1 * eye[j], m2 * eye[j], [beta[j] * dm1 + theta[j] * dm2]]),
            "total": np.concatenate([eye[j] / (1 - rho), eye[j] / (1 - rho),
                                     [(beta[j] + theta[j]) / (1 - rho) ** 2]]),
        }
        grad["indirect"] = grad["total"] - grad["direct"]
        for name in EFFECTS:
            out[name][j] = np.sqrt(grad[name] @ cov @ grad[name])
    return out


def draw_parameters(mean: np.ndarray, cov: np.ndarray, draws: int, bounds: tuple[float, float],
                    rng: np.random.Generator) -> np.ndarray:
    """``draws`` rows from N(mean, cov) whose last element (rho) lies inside ``bounds``."""
    lo, hi = bounds
    kept = np.empty((0, len(mean)))
    for _ in range(1000):
        batch = rng.multivariate_normal(mean, cov, size=draws, method="cholesky")
        batch = batch[(batch[:, -1] > lo) & (batch[:, -1] < hi)]
        kept = np.vstack([kept, batch])
        if len(kept) >= draws:
            return kept[:draws]
    raise RuntimeError(f"could not draw rho inside {bounds} (estimate {mean[-1]}, sd {np.sqrt(cov[-1, -1])})")


def rho_near_bound_share(rho: float, sd: float, bounds: tuple[float, float], width: float = NEAR_BOUND) -> float:
    """P(hi - width < r < hi | lo < r < hi) for r ~ N(rho, sd^2): the share of the effect draws
    of rho (see :func:`draw_parameters`) in which 1/(1 - r) exceeds 1/width."""
    lo, hi = bounds
    dist = stats.norm(rho, sd)
    inside = dist.cdf(hi) - dist.cdf(lo)
    return float((dist.cdf(hi) - dist.cdf(max(hi - width, lo))) / inside)


def simulate_effects(mean: np.ndarray, cov: np.ndarray, eigenvalues, terms: list[str],
                     bounds: tuple[float, float], *, durbin: bool, draws: int = 1000,
                     seed: int = 12345) -> pd.DataFrame:
    """Point effects with simulated inference: columns term, effect, estimate (the exact effect
    at ``mean``), std_error (sd of the draws), p_value (normal, estimate/std_error), sim_mean,
    sim_median, sim_q025, sim_q975 and draws (module docstring).

    ``mean``/``cov``: estimates and covariance of (beta, theta, rho) for an SDM
    (``durbin=True``) or of (beta, rho) for a spatial lag model (theta = 0).
    """
    k = len(terms)
    mean = np.asarray(mean, float)
    point = effects(mean[:k], mean[k:2 * k] if durbin else np.zeros(k), mean[-1], eigenvalues)
    rng = np.random.default_rng(seed)
    sample = draw_parameters(mean, cov, draws, bounds, rng)
    blocks = []
    for start in range(0, draws, CHUNK):
        part = sample[start:start + CHUNK]
        theta = part[:, k:2 * k] if durbin else np.zeros((len(part), k))
        blocks.append(effects(part[:, :k], theta, part[:, -1], eigenvalues))
        logger.info("spatial effects: %d of %d draws", min(start + CHUNK, draws), draws)
    rows = []
    for name in EFFECTS:
        values = np.vstack([b[name] for b in blocks])
        sd = values.std(axis=0, ddof=1)
        p = 2 * stats.norm.sf(np.abs(point[name] / sd))
        q025, median, q975 = np.quantile(values, [0.025, 0.5, 0.975], axis=0)
        rows += [{"term": t, "effect": name, "estimate": point[name][j], "std_error": sd[j],
                  "p_value": p[j], "sim_mean": values[:, j].mean(), "sim_median": median[j],
                  "sim_q025": q025[j], "sim_q975": q975[j], "draws": draws}
                 for j, t in enumerate(terms)]
    return pd.DataFrame(rows)
