"""Simulated inputs for the spatial tests: provinces, inverse-distance W, two-way FE SDM panels.

The data-generating process is the two-way fixed-effects SDM of Lee & Yu (2010):
y_t = (I - rho W)^-1 (X_t beta + W X_t theta + mu + alpha_t l + eps_t), eps ~ N(0, sigma^2 I).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEEDS = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "provinces.csv"
CONTROLS = ["medical", "ec", "open", "tax", "culture"]
REGRESSORS = ["dt", *CONTROLS]
EARTH_RADIUS_KM = 6371.0


def study_provinces() -> pd.DataFrame:
    """The 30 study provinces (Tibet excluded) with capital coordinates, ordered by code."""
    seeds = pd.read_csv(SEEDS)
    keep = seeds["in_study_sample"].astype(str).str.lower() == "true"
    return seeds.loc[keep].sort_values("province_code").reset_index(drop=True)


def haversine_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    phi, lam = np.radians(lat), np.radians(lon)
    dphi = phi[:, None] - phi[None, :]
    dlam = lam[:, None] - lam[None, :]
    a = np.sin(dphi / 2) ** 2 + np.cos(phi[:, None]) * np.cos(phi[None, :]) * np.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def row_standardise(c: np.ndarray) -> np.ndarray:
    c = np.array(c, dtype=float)
    np.fill_diagonal(c, 0.0)
    return c / c.sum(axis=1, keepdims=True)


def inverse_distance_weights(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Dense 1/d W between points (great-circle km), zero diagonal, row-standardised."""
    d = haversine_km(np.asarray(lat, float), np.asarray(lon, float))
    with np.errstate(divide="ignore"):
        c = np.where(d > 0, 1.0 / d, 0.0)
    return row_standardise(c)


def decay_weights(n: int, seed: int, power: float = 2.0) -> np.ndarray:
    """1/d^power W over n random points: with power 2 the weight is concentrated on near
    neighbours, so rho is well identified (unlike the dense 1/d W over 30 provinces)."""
    d = haversine_km(*random_points(n, seed))
    safe = np.where(d > 0, d, 1.0)
    return row_standardise(np.where(d > 0, safe ** -power, 0.0))


def random_points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n random capitals spread over China's rough bounding box (for larger simulated panels)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(20, 48, n), rng.uniform(85, 125, n)


def province_weights() -> tuple[np.ndarray, np.ndarray]:
    """(codes, geographic W) for the 30 study provinces."""
    prov = study_provinces()
    return prov["province_code"].to_numpy(), inverse_distance_weights(prov["capital_lat"], prov["capital_lon"])


def economic_weights(gdp_per_capita: np.ndarray) -> np.ndarray:
    """1/|Y_i - Y_j| (METHODS.md), zero diagonal, row-standardised."""
    diff = np.abs(gdp_per_capita[:, None] - gdp_per_capita[None, :])
    with np.errstate(divide="ignore"):
        c = np.where(diff > 0, 1.0 / diff, 0.0)
    return row_standardise(c)


def simulate_sdm(w: np.ndarray, n_periods: int, rho: float, beta, theta, seed: int, sigma: float = 1.0,
                 effect_scale: float = 1.0):
    """Return y (T, N), x (T, N, k) from the two-way FE SDM with planted parameters.

    The regressors are correlated with the province effects (so pooled OLS would be biased)
    and carry their own year shocks, like real panel data.
    """
    rng = np.random.default_rng(seed)
    beta, theta = np.asarray(beta, float), np.asarray(theta, float)
    n, k = len(w), len(beta)
    mu = effect_scale * rng.normal(size=n)
    alpha = effect_scale * rng.normal(size=n_periods)
    x = rng.normal(size=(n_periods, n, k)) + 0.5 * mu[None, :, None] + 0.3 * rng.normal(size=(n_periods, 1, k))
    wx = np.einsum("ij,tjk->tik", w, x)
    rhs = x @ beta + wx @ theta + mu[None, :] + alpha[:, None] + sigma * rng.normal(size=(n_periods, n))
    a = np.eye(n) - rho * w
    y = np.linalg.solve(a, rhs.T).T
    return y, x


def weights_long(w: np.ndarray, codes: np.ndarray, matrix: str) -> pd.DataFrame:
    """The marts.spatial_weights long frame (off-diagonal rows) for one matrix."""
    i, j = np.nonzero(~np.eye(len(codes), dtype=bool))
    return pd.DataFrame({"matrix": matrix, "province_code_i": codes[i], "province_code_j": codes[j],
                         "weight": w[i, j]})


def simulated_inputs(seed: int = 7, n_periods: int = 9, first_year: int = 2013, rho: float = 0.4,
                     beta=(0.5, -0.2, 0.3, 0.1, -0.1, 0.2), theta=(0.3, 0.1, -0.2, 0.0, 0.1, -0.1)):
    """(analysis_panel-like frame, spatial_weights-like frame) for the 30 provinces.

    ``er`` follows the SDM on the geographic W with regressors dt, medical, ec, open, tax, culture.
    """
    prov = study_provinces()
    codes = prov["province_code"].to_numpy()
    w_geo = inverse_distance_weights(prov["capital_lat"], prov["capital_lon"])
    rng = np.random.default_rng(seed + 1000)
    w_eco = economic_weights(rng.lognormal(11, 0.4, len(codes)))
    y, x = simulate_sdm(w_geo, n_periods, rho, beta, theta, seed)
    years = np.arange(first_year, first_year + n_periods)
    rows = []
    for t, year in enumerate(years):
        frame = pd.DataFrame(x[t], columns=REGRESSORS)
        frame.insert(0, "er", y[t])
        frame.insert(0, "region", prov["region"].to_numpy())
        frame.insert(0, "year", year)
        frame.insert(0, "province", prov["name_en"].to_numpy())
        frame.insert(0, "province_code", codes)
        rows.append(frame)
    panel = pd.concat(rows, ignore_index=True)
    weights = pd.concat([weights_long(w_geo, codes, "geographic"), weights_long(w_eco, codes, "economic")],
                        ignore_index=True)
    return panel, weights


def write_marts(path, panel: pd.DataFrame, weights: pd.DataFrame) -> None:
    """A DuckDB file holding just the two marts estimation reads (analysis panel, weights)."""
    import duckdb

    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.register("p", panel)
        con.register("w", weights)
        con.execute("create table marts.analysis_panel as select * from p")
        con.execute("create table marts.spatial_weights as select * from w")
