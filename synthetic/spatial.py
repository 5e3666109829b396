"""Seeded SYNTHETIC spatial panels from the two-way fixed-effects SDM (Lee & Yu 2010), for
testing and benchmarking the spatial estimators:

    y_t = (I - rho W)^-1 (X_t beta + W X_t theta + mu + alpha_t l + eps_t),  eps ~ N(0, sigma^2 I).

Weights are built with :mod:`estimation.spatial.weights` (the one definition of each formula).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from estimation.spatial import weights as W
from synthetic.panels import CONTROLS, study_provinces

REGRESSORS = ["dt", *CONTROLS]


def random_points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n random seats spread over China's rough bounding box (latitudes, longitudes)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(20, 48, n), rng.uniform(85, 125, n)


def decay_weights(n: int, seed: int, power: float = 2.0) -> np.ndarray:
    """Row-standardised 1/d^power W over n random points: with power 2 the weight is
    concentrated on near neighbours, so rho is well identified (unlike the dense 1/d W over
    30 provinces)."""
    return W.row_standardise(W.inverse_distance(*random_points(n, seed), power=power))


def province_weights() -> tuple[np.ndarray, np.ndarray]:
    """(codes, geographic W) of the 30 study provinces: 1/great-circle distance between capitals."""
    prov = study_provinces()
    w = W.row_standardise(W.inverse_distance(prov["capital_lat"], prov["capital_lon"]))
    return prov["province_code"].to_numpy(), w


def simulate_sdm(w: np.ndarray, n_periods: int, rho: float, beta, theta, seed: int,
                 sigma: float = 1.0, effect_scale: float = 1.0):
    """Return y (T, N), x (T, N, k) from the two-way FE SDM with planted parameters.

    The regressors are correlated with the unit effects (so pooled OLS would be biased) and
    carry their own period shocks, like real panel data.
    """
    rng = np.random.default_rng(seed)
    beta, theta = np.asarray(beta, float), np.asarray(theta, float)
    n, k = len(w), len(beta)
    mu = effect_scale * rng.normal(size=n)
    alpha = effect_scale * rng.normal(size=n_periods)
    x = rng.normal(size=(n_periods, n, k)) + 0.5 * mu[None, :, None] + 0.3 * rng.normal(size=(n_periods, 1, k))
    wx = np.einsum("ij,tjk->tik", w, x)
    rhs = x @ beta + wx @ theta + mu[None, :] + alpha[:, None] + sigma * rng.normal(size=(n_periods, n))
    y = np.linalg.solve(np.eye(n) - rho * w, rhs.T).T
    return y, x


def weights_long(w: np.ndarray, codes: np.ndarray, matrix: str) -> pd.DataFrame:
    """The non-zero entries of W as ``marts.spatial_weights`` rows (matrix, unit_code_i/_j, weight)."""
    i, j = np.nonzero(w)
    return pd.DataFrame({"matrix": matrix, "unit_code_i": codes[i], "unit_code_j": codes[j],
                         "weight": w[i, j]})


def simulated_inputs(seed: int = 7, n_periods: int = 9, first_year: int = 2013, rho: float = 0.4,
                     beta=(0.5, -0.2, 0.3, 0.1, -0.1, 0.2), theta=(0.3, 0.1, -0.2, 0.0, 0.1, -0.1)):
    """(analysis-panel-like frame, spatial-weights-like frame) for the 30 provinces: ``er``
    follows the SDM on the geographic W with regressors dt and the five controls; the economic
    W is 1/|x_i - x_j| of a random lognormal income."""
    prov = study_provinces()
    codes = prov["province_code"].to_numpy()
    w_geo = W.row_standardise(W.inverse_distance(prov["capital_lat"], prov["capital_lon"]))
    rng = np.random.default_rng(seed + 1000)
    w_eco = W.row_standardise(W.economic_distance(rng.lognormal(11, 0.4, len(codes))))
    y, x = simulate_sdm(w_geo, n_periods, rho, beta, theta, seed)
    frames = []
    for t, year in enumerate(range(first_year, first_year + n_periods)):
        frame = pd.DataFrame(x[t], columns=REGRESSORS)
        frame.insert(0, "er", y[t])
        frame.insert(0, "region", prov["region"].to_numpy())
        frame.insert(0, "year", year)
        frame.insert(0, "unit_name", prov["name_en"].to_numpy())
        frame.insert(0, "unit_code", codes)
        frames.append(frame)
    panel = pd.concat(frames, ignore_index=True)
    weights = pd.concat([weights_long(w_geo, codes, "geographic"), weights_long(w_eco, codes, "economic")],
                        ignore_index=True)
    return panel, weights
