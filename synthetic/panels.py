"""Seeded SYNTHETIC analysis panels with planted coefficients, for testing and benchmarking the
estimators without the warehouse (``marts.analysis_panel`` columns and types).

Data-generating process (two-way FE), for unit i and year t::

    dt_it  = 0.08 + 0.5 e_i + 0.02 (t - t0) + a_it,  a_it AR(1) with rho 0.8 (e_i endowment)
    iv_it  = dt_{i,t-1} x phones_i + noise (null in the first year: the lag is missing)
    M_it   = a_M dt_it + unit/year effects + noise      for M in isu, rm, cu
    er_it  = beta_dt dt_it + sum_M b_M M_it + gamma' controls + mu_i + delta_t + eps_it
             + beta_inf_x_dt (inf - mean)(dt - mean) + beta_inf (inf - mean)
    er_pca = 2 er - 0.5 + noise,  dt_pca = 3 dt - 0.4 + noise  (PCA-like rescaling)

The planted values are in :data:`PLANTED`, so tests can check recovery. The units are the 30
study provinces of the seed ``provinces`` (more units repeat them with new codes).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from warehouse.seeds import seed_rows

CONTROLS = ("medical", "ec", "open", "tax", "culture")

PLANTED: dict[str, float] = {
    "beta_dt": 0.45,
    "b_isu": 0.20, "b_rm": -0.04, "b_cu": 0.0,      # cu is the null mediator
    "a_isu": 0.15, "a_rm": -0.60, "a_cu": 0.07,
    "gamma_medical": -0.0005, "gamma_ec": -0.15, "gamma_open": -0.002, "gamma_tax": -0.05,
    "gamma_culture": 0.03,
    "beta_inf_x_dt": 5.0, "beta_inf": 0.5,
}
PANEL_COLUMNS = ["unit_code", "unit_name", "unit_level", "province_code", "province", "year",
                 "region", "is_municipality", "market_group", "er", "dt", "er_pca", "dt_pca",
                 "isu", "rm", "cu", "inf", *CONTROLS, "iv"]


def study_provinces() -> pd.DataFrame:
    """The 30 study provinces of the seed (Tibet excluded), by code, with typed columns."""
    rows = [r for r in seed_rows("provinces") if r["in_study_sample"] == "true"]
    frame = pd.DataFrame(rows)
    frame["province_code"] = frame["province_code"].astype(int)
    frame["is_municipality"] = frame["is_municipality"] == "true"
    for c in ("capital_lat", "capital_lon"):
        frame[c] = frame[c].astype(float)
    return frame.sort_values("province_code").reset_index(drop=True)


def simulate_panel(
    seed: int = 0,
    n_provinces: int = 30,
    years: range = range(2013, 2022),
    sigma_e: float = 0.01,
    sigma_u: float = 0.05,
    planted: dict[str, float] | None = None,
    effects_on_endowment: float = 0.0,
) -> pd.DataFrame:
    """Return a balanced unit-year panel with the ``marts.analysis_panel`` columns.

    ``n_provinces`` above 30 repeats the province list with new codes (for large-sample
    recovery tests); the first 30 are the study provinces. ``effects_on_endowment`` makes
    the unit effects of er correlated with dt (a random-effects model is then inconsistent
    and the Hausman test should reject).
    """
    p = dict(PLANTED if planted is None else planted)
    provinces = study_provinces()
    rng = np.random.default_rng(seed)
    years = list(years)
    T = len(years)
    rows = []
    for i in range(n_provinces):
        prov = provinces.iloc[i % len(provinces)]
        code, name = int(prov["province_code"]), str(prov["name_en"])
        if i >= len(provinces):
            code, name = code + 100 * (i // 30), f"{name} {i // 30}"
        rows.extend((code, name, y, prov["region"], bool(prov["is_municipality"])) for y in years)
    df = pd.DataFrame(rows, columns=["unit_code", "unit_name", "year", "region", "is_municipality"])
    df["unit_level"] = "province"
    df["province_code"], df["province"] = df["unit_code"], df["unit_name"]
    n = len(df)
    unit = np.repeat(np.arange(n_provinces), T)
    tt = np.tile(np.arange(T), n_provinces)

    endow = rng.uniform(0.0, 0.3, n_provinces)
    mu = rng.normal(0.0, sigma_u, n_provinces)       # unit effects in er
    mu = mu + effects_on_endowment * (endow - endow.mean())
    delta = rng.normal(0.0, 0.01, T)                 # year effects in er
    # Persistent (AR(1), rho = 0.8) idiosyncratic part, so that last year's dt predicts this
    # year's within unit: the lagged-dt instrument is relevant after the fixed effects.
    shocks = rng.normal(0.0, 0.03, (n_provinces, T))
    ar = np.zeros_like(shocks)
    ar[:, 0] = shocks[:, 0]
    for t in range(1, T):
        ar[:, t] = 0.8 * ar[:, t - 1] + shocks[:, t]
    dt = np.clip(0.08 + 0.5 * endow[unit] + 0.02 * tt + ar.ravel(), 0.005, None)
    controls = {
        "medical": 70 + 20 * rng.normal(size=n_provinces)[unit] + 2 * tt + rng.normal(0, 3, n),
        "ec": np.abs(0.1 + 0.05 * rng.normal(size=n_provinces)[unit] + rng.normal(0, 0.01, n)),
        "open": np.abs(0.1 + 0.3 * rng.normal(size=n_provinces)[unit] + rng.normal(0, 0.05, n)),
        "tax": 0.08 + 0.02 * rng.normal(size=n_provinces)[unit] + rng.normal(0, 0.005, n),
        "culture": np.abs(0.7 + 0.4 * rng.normal(size=n_provinces)[unit] + rng.normal(0, 0.1, n)),
    }
    mediators = {}
    for m, base, spread in (("isu", 2.4, 0.1), ("rm", 0.6, 0.3), ("cu", 0.88, 0.05)):
        fe_i = rng.normal(0, spread, n_provinces)[unit]
        fe_t = rng.normal(0, spread / 10, T)[tt]
        mediators[m] = base + p[f"a_{m}"] * dt + fe_i + fe_t + rng.normal(0, spread / 5, n)
    inf = np.abs(0.01 + 0.005 * rng.normal(size=n_provinces)[unit] + 0.0005 * tt
                 + rng.normal(0, 0.0005, n))
    er = (0.2 + p["beta_dt"] * dt + mu[unit] + delta[tt] + rng.normal(0, sigma_e, n)
          + sum(p[f"b_{m}"] * (mediators[m] - mediators[m].mean()) for m in mediators)
          + sum(p[f"gamma_{c}"] * (controls[c] - controls[c].mean()) for c in CONTROLS)
          + p["beta_inf_x_dt"] * (inf - inf.mean()) * (dt - dt.mean())
          + p["beta_inf"] * (inf - inf.mean()))

    df["er"] = er
    df["dt"] = dt
    df["er_pca"] = 2.0 * er - 0.5 + rng.normal(0, 0.01, n)
    df["dt_pca"] = 3.0 * dt - 0.4 + rng.normal(0, 0.01, n)
    for m, v in mediators.items():
        df[m] = v
    df["inf"] = inf
    for c, v in controls.items():
        df[c] = v
    # Instrument: last year's dt times a 1984 cross-section, plus noise; null in the first year.
    phones_1984 = rng.uniform(0.5, 1.5, n_provinces)[unit]
    lag_dt = pd.Series(dt).groupby(unit).shift(1).to_numpy()
    df["iv"] = lag_dt * phones_1984 + rng.normal(0, 0.01, n)
    df["market_group"] = np.where(endow[unit] >= np.median(endow), "high", "low")
    return df[PANEL_COLUMNS]
