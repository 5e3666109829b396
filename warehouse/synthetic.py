"""Seeded SYNTHETIC sample of raw extracts (``resilience sample``), in the real export formats.

Nobody on the project has the real yearbook/CNRDS extracts, so the system ships made-up
ones that exercise every part of it. Every number written here is synthetic; the files say
so in ``vintage.txt`` and ``sample/README.md`` documents the data-generating process.

Data-generating process (units i, years t; ``k = t - first_year``; N(0,1) draws are
seeded by ``SampleSpec.seed``):

* **Geography.** ``field_i`` is a smooth random field of the capital coordinates (random
  Fourier features of a Gaussian kernel, length scale ~6 degrees), ``east_i`` the
  standardised longitude. Provinces start from real-ish 2021 anchors of population and GDP
  (``_PROVINCE_ANCHORS``); ``dev_i`` = z-score of log GDP per capita.
* **Digital trade** (latent intensity): ``d_it = d0_i + s_i k + AR(1) noise`` with
  ``d0_i = 0.8 z(0.6 dev + 0.4 field + 0.3 east)`` (higher in the east, smooth in space)
  and a positive slope ``s_i = max(0.2 + 0.03 d0_i + 0.04 N, 0.05)`` (rising everywhere).
  The eleven volume-type Table 2 inputs are ``x = size_i a exp(DT_LOAD b d_it + noise)``
  (b > 0; size = population^DT_SIZE, or GDP^DT_SIZE, times a constant; broadband ports per
  person). **Digital-trade development** is their equal-weight volume index
  ``v_it = mean_j x_jit / mean_i x_ji,first`` -- the quantity a level-based index such as
  the paper's entropy DT measures; the mechanisms below respond to ``v``.
* **Transport infrastructure** ``inf_i`` (rail + highway per person, first year) scales
  what digital trade does: ``reach_i = max(1 + INF_REACH (inf_i / mean inf - 1), 0.2)``.
* **Industrial upgrading**: tertiary share ``ts = ts0_i + 0.004 k + TS_ON_V (v_it - v_i,first)
  + AR(1) noise`` (innovation SD ``TS_NOISE``).
* **Production and allocation** (Hsieh & Klenow 2009): output shares ``s_it`` follow smooth
  paths from the 2021 GDP anchors; planted relative wedges ``ln gamma_K = phi_i + e_i m_it``,
  ``ln gamma_L = phi_i - beta_i/(1-beta_i) e_i m_it`` with ``m_it = max(1 + PHI_M (v_i,2021 -
  v_it), 0.2)`` (trend of v), ``|e_i| = IMBALANCE``, ``phi_i`` from the labour wedge implied
  by the anchors; both wedges shrink in absolute value as digital trade grows, while ``beta
  ln gamma_K + (1-beta) ln gamma_L`` stays fixed up to a common shift, so TFP stays
  separable (``ln A = a_i + lambda_t + noise``, what the LSDV elasticities assume).
  Employment and capital follow: ``L_i ~ s_i (1-beta_i) gamma_Li``, ``K_i ~ s_i beta_i
  gamma_Ki`` (national totals given); ``Y = A K^beta L^(1-beta)``, ``beta_i ~ 0.45 + 0.04 N``.
  Investment solves the perpetual inventory (delta = 9.6%) with the warehouse's initial
  capital rule ``K_first = I_first / (g + delta)``, so the warehouse's capital stock equals
  the simulated one; GFCF = real investment x the FAI price level, nominal GDP = Y x the
  GDP deflator. ``rm`` (latent) is the Hsieh-Klenow RM of the simulated K, L, GDP and true
  beta -- what the warehouse measures with LSDV elasticities.
* **Resilience** (latent): ``r_it = r0_i + R_TREND k + [reach_i (R_ON_V v + R_ON_TS (ts -
  ts0_i)) - R_ON_RM rm]_rel + R_ON_WV (W v)_rel + noise``, ``[.]_rel`` = minus the year's
  study-unit mean (a year effect) and ``W v`` the inverse-distance average of the OTHER study
  units' v (spatial spillover). The resilience inputs (income, deposits, schooling, fiscal
  shares, unemployment (negative), urbanisation, R&D intensity, high-tech patents, ...) load
  on ``r_it``, additively for income, deposits, R&D and patents (same absolute response
  everywhere, so a level-based index moves alike in rich and poor units).
* **Consumption upgrading**: the development/enjoyment share of consumption (household
  goods, transport & communication, education & culture, health) rises with v
  (``CU_ON_V``) but does NOT enter ``r_it``.
* **Instrument**: 1984 telephones per capita rise with ``d0_i``; broadband ports load on
  ``d_it``, so ports(t-1) x telephones(1984) is correlated with d; d itself is exogenous
  to the resilience noise.

Accounting identities hold in the written (rounded) numbers: the three industries' value
added sum to GDP, the eight consumption categories sum to total consumption per capita,
tax revenue < fiscal revenue < fiscal expenditure.

Files (``units='province'``): one NBS export per yearbook series (GBK CSV with CRLF, three
UTF-8-with-BOM CSVs, two .xlsx), the CNRDS panel ``cnrds_panel.csv`` and
``cnrds_marketization.xlsx``, and ``vintage.txt``. The optional next vintage repeats the NBS
files for years ``first_year+1 .. last_year+1`` with a few last-year values revised
(``REVISIONS``) and CNRDS rows for ``last_year+1``. Other units (290 prefectures, 2,800
counties, made-up codes, names and coordinates) are written as one CNRDS panel with a
``units_reference.csv`` beside it; the loader only knows the 31 provinces.
"""
from __future__ import annotations

import csv
import io
import math
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from warehouse.paths import SEEDS_DIR

DEFAULT_SEED = 20240601
DELTA = 0.096  # depreciation rate of the perpetual inventory (Zhang Jun et al. 2004)
PIM_GROWTH_YEARS = 5  # the warehouse's initial-capital rule (dbt var pim_growth_years)
# Planted structure (see the module docstring and sample/README.md)
DT_SIZE = 0.3      # elasticity of the digital-trade inputs to population (GDP) size
DT_LOAD = 0.6      # scales the loadings of the digital-trade inputs on d
TS_ON_V = 0.035    # tertiary share per unit of digital-trade volume
TS_NOISE = 0.010   # innovation SD of the tertiary share's own AR(1) movement
IMBALANCE = 0.4    # size of the planted K/L imbalance e_i m_it at the anchor year
PHI_M = 0.4        # decay of the K/L imbalance per unit of digital-trade volume
R_ON_TS = 7.0      # resilience per unit of tertiary share
R_ON_RM = 1.0      # resilience lost per unit of Hsieh-Klenow misallocation
R_ON_V = 0.15      # resilience per unit of digital-trade reach (direct effect)
INF_REACH = 1.0    # reach = volume x (1 + INF_REACH x relative transport infrastructure)
CU_ON_V = 0.02     # development share of consumption per unit of volume (does not enter r)
R_TREND = 0.08     # common resilience trend per year
R_ON_WV = 0.5      # resilience per unit of the neighbours' digital-trade volume (spillover)
UNIT_COUNTS = {"prefecture": 290, "county": 2800}

# Real-ish 2021 anchors (year-end population in 万人, nominal GDP in 亿元), rounded; they only
# set magnitudes, the synthetic values wander around them.
_PROVINCE_ANCHORS = {
    11: (2189, 40270), 12: (1373, 15695), 13: (7448, 40391), 14: (3480, 22590),
    15: (2400, 20514), 21: (4229, 27584), 22: (2375, 13236), 23: (3125, 14879),
    31: (2489, 43215), 32: (8505, 116364), 33: (6540, 73516), 34: (6113, 42959),
    35: (4187, 48810), 36: (4517, 29620), 37: (10170, 83096), 41: (9883, 58887),
    42: (5830, 50013), 43: (6622, 46063), 44: (12684, 124370), 45: (5037, 24741),
    46: (1020, 6475), 50: (3212, 27894), 51: (8372, 53851), 52: (3852, 19586),
    53: (4690, 27147), 54: (366, 2080), 61: (3954, 29801), 62: (2490, 10243),
    63: (594, 3347), 64: (725, 4522), 65: (2589, 15984),
}
_ANCHOR_YEAR = 2021

# National year effects (real-ish): real GDP growth, GDP deflator inflation, fixed-asset
# investment price index (previous year = 100), CNY per 100 USD. Other years use defaults.
_REAL_GROWTH = {2012: .078, 2013: .077, 2014: .073, 2015: .069, 2016: .067, 2017: .069,
                2018: .067, 2019: .060, 2020: .022, 2021: .081, 2022: .030}
_INFLATION = {2013: .020, 2014: .008, 2015: .001, 2016: .012, 2017: .041, 2018: .035,
              2019: .013, 2020: .005, 2021: .046, 2022: .022}
_FAI_PRICE = {2013: 100.3, 2014: 100.5, 2015: 98.2, 2016: 99.4, 2017: 105.8, 2018: 105.4,
              2019: 102.6, 2020: 100.2, 2021: 104.9, 2022: 103.5}
_EXCHANGE = {2013: 619.32, 2014: 614.28, 2015: 622.84, 2016: 664.23, 2017: 675.18,
             2018: 661.74, 2019: 689.85, 2020: 689.76, 2021: 645.15, 2022: 672.61}

# How each series is written: reported unit (a known variant where it differs from the
# dictionary's canonical unit), decimals in the reported unit, and the NBS file format.
# Formats: "gbk" (GBK CSV, CRLF), "bom" (UTF-8 with BOM), "xlsx", "cnrds" (panel CSV),
# "cnrds_xlsx" (separate panel workbook).
_REPORTED_UNIT = {"rd_expenditure": "万元", "fdi": "万美元", "trade_total": "万美元",
                  "railway_length": "公里"}
_DECIMALS = {
    "gdp": 2, "gdp_per_capita": 0, "gdp_index": 1, "va_primary": 2, "va_secondary": 2,
    "va_tertiary": 2, "population": 0, "urbanization_rate": 2, "employment": 1,
    "disposable_income_pc": 1, "consumption_pc": 1, "fiscal_revenue": 2,
    "fiscal_expenditure": 2, "fiscal_exp_social_security": 2, "fiscal_exp_science": 2,
    "fiscal_exp_education": 2, "tax_revenue": 2, "deposits": 2, "avg_years_schooling": 2,
    "unemployment_rate": 1, "gfcf": 2, "fai_price_index": 1, "rd_expenditure": 2,
    "hightech_patent_applications": 0, "mobile_phone_penetration": 2,
    "optical_cable_length": 0, "broadband_ports": 1, "domain_names": 2,
    "domestic_patent_applications": 0, "it_employment": 2, "industrial_rd_expenditure": 2,
    "ecommerce_sales": 2, "ecommerce_enterprise_share": 1, "broadband_users": 1,
    "software_revenue": 2, "telecom_volume": 2, "trade_total": -1, "retail_sales": 2,
    "postal_route_length": 0, "express_volume": 2, "express_revenue": 1,
    "exchange_rate": 2, "fdi": 2, "library_holdings": 1, "health_institutions": 0,
    "electricity_consumption": 2, "railway_length": 4, "highway_length": 4,
    "fixed_telephones_1984": 2, "marketization_index": 2,
}
_CONS_CATEGORIES = ("cons_food", "cons_clothing", "cons_housing", "cons_household",
                    "cons_transport_comm", "cons_education_culture", "cons_health", "cons_other")
for _c in _CONS_CATEGORIES:
    _DECIMALS[_c] = 1
_UTF8_BOM_SERIES = ("gdp_index", "urbanization_rate", "express_revenue")
_XLSX_SERIES = ("deposits", "fiscal_exp_education")
_CNRDS_XLSX_SERIES = ("marketization_index",)
_NO_MISSING = {"gdp", "gdp_index", "va_primary", "va_secondary", "va_tertiary", "population",
               "employment", "gfcf", "fai_price_index", "exchange_rate",
               "fixed_telephones_1984", "consumption_pc", *_CONS_CATEGORIES}

# Revised last-year values in the next vintage: (indicator, province code, relative change).
REVISIONS = (("retail_sales", 32, 0.004), ("express_volume", 33, -0.006),
             ("deposits", 41, 0.003), ("library_holdings", 51, 0.012),
             ("gdp_per_capita", 44, -0.002))

NBS_ORDER_NOTE = "注：本数据为合成样本（synthetic），仅用于测试，不是国家统计局的真实数据。"


@dataclass(frozen=True)
class SampleSpec:
    """What to generate: the seed, the unit level and the years (inclusive)."""

    seed: int = DEFAULT_SEED
    units: str = "province"
    first_year: int = 2013
    last_year: int = 2021

    def __post_init__(self):
        if self.units not in ("province", *UNIT_COUNTS):
            raise ValueError(f"units must be province, prefecture or county, not {self.units!r}")
        if self.last_year < self.first_year + 2:
            raise ValueError("need at least three years (first_year + 2 <= last_year)")


# ---------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------

def _read_seed(name: str) -> list[dict]:
    with open(SEEDS_DIR / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def indicator_dictionary() -> pd.DataFrame:
    """The dictionary seed ``indicators.csv`` (code, name_zh, unit, source, ...)."""
    return pd.DataFrame(_read_seed("indicators.csv"))


def _unit_factor(reported: str, canonical: str) -> float:
    if reported == canonical:
        return 1.0
    for row in _read_seed("units.csv"):
        if row["unit"] == reported and row["canonical_unit"] == canonical:
            return float(row["factor"])
    raise KeyError(f"units.csv has no conversion {reported} -> {canonical}")


def generate_units(spec: SampleSpec) -> pd.DataFrame:
    """The units of ``spec``: unit_code, unit_name, parent_code, lat, lon, pop_anchor,
    gdp_anchor (2021-level anchors), is_municipality, in_study_sample."""
    provinces = pd.DataFrame(_read_seed("provinces.csv"))
    prov = pd.DataFrame({
        "unit_code": provinces["province_code"].astype(int),
        "unit_name": provinces["name_zh"],
        "short": provinces["name_short_zh"],
        "parent_code": provinces["province_code"].astype(int),
        "lat": provinces["capital_lat"].astype(float),
        "lon": provinces["capital_lon"].astype(float),
        "is_municipality": provinces["is_municipality"] == "true",
        "in_study_sample": provinces["in_study_sample"] == "true",
    })
    prov["pop_anchor"] = [float(_PROVINCE_ANCHORS[c][0]) for c in prov["unit_code"]]
    prov["gdp_anchor"] = [float(_PROVINCE_ANCHORS[c][1]) for c in prov["unit_code"]]
    if spec.units == "province":
        return prov.drop(columns="short")

    # Made-up sub-provincial units: each province gets units in proportion to its
    # population; coordinates scatter around the capital; population shares are lognormal;
    # GDP per capita follows a smooth field so that neighbours stay similar.
    rng = np.random.default_rng([spec.seed, 7])
    n = UNIT_COUNTS[spec.units]
    weights = prov["pop_anchor"].to_numpy() ** 0.8
    counts = np.maximum(1, np.floor(n * weights / weights.sum())).astype(int)
    while counts.sum() < n:
        counts[np.argmax(n * weights / weights.sum() - counts)] += 1
    while counts.sum() > n:
        counts[np.argmax(counts)] -= 1
    rows = []
    field = _smooth_field(np.random.default_rng([spec.seed, 8]))
    suffix = "市" if spec.units == "prefecture" else "县"
    for p, m in zip(prov.itertuples(), counts):
        lat = p.lat + rng.normal(0, 1.2, m)
        lon = p.lon + rng.normal(0, 1.5, m)
        share = rng.lognormal(0, 0.6, m)
        share /= share.sum()
        rel = np.exp(0.35 * field(lat, lon) + rng.normal(0, 0.1, m))
        rel /= np.average(rel, weights=share)
        for j in range(m):
            code = p.unit_code * 10000 + (j + 1) * (100 if spec.units == "prefecture" else 1)
            pop = p.pop_anchor * share[j]
            rows.append((code, f"{p.short}第{j + 1}{suffix}", p.unit_code, lat[j], lon[j],
                         False, p.in_study_sample, pop, p.gdp_anchor * share[j] * rel[j]))
    return pd.DataFrame(rows, columns=["unit_code", "unit_name", "parent_code", "lat", "lon",
                                       "is_municipality", "in_study_sample", "pop_anchor",
                                       "gdp_anchor"])


def _smooth_field(rng: np.random.Generator, length_deg: float = 6.0, features: int = 64):
    """A standardised smooth random field f(lat, lon): random Fourier features of a Gaussian
    kernel (Rahimi & Recht 2007). Written here because it is ten lines; O(n) for any n."""
    omega = rng.normal(0, 1 / length_deg, size=(features, 2))
    phase = rng.uniform(0, 2 * np.pi, features)

    def field(lat, lon):
        xy = np.column_stack([np.asarray(lon) * math.cos(math.radians(35)), np.asarray(lat)])
        return math.sqrt(2 / features) * np.cos(xy @ omega.T + phase).sum(axis=1)

    return field


def _inverse_distance_weights(lat, lon, neighbours: np.ndarray) -> np.ndarray:
    """Row-standardised inverse great-circle distance weights onto the ``neighbours`` units
    (zero diagonal), as the warehouse's geographic matrix."""
    la, lo = np.radians(np.asarray(lat)), np.radians(np.asarray(lon))
    h = (np.sin((la[:, None] - la[None, :]) / 2) ** 2
         + np.cos(la[:, None]) * np.cos(la[None, :]) * np.sin((lo[:, None] - lo[None, :]) / 2) ** 2)
    dist = 2 * 6371.0 * np.arcsin(np.sqrt(h))
    with np.errstate(divide="ignore"):
        w = np.where(dist > 0, 1.0 / dist, 0.0) * neighbours[None, :]
    return w / w.sum(axis=1, keepdims=True)


def _imbalance_signs(wedge_l, beta, share, pull) -> np.ndarray:
    """Signs of the K/L imbalances e_i. Units with a positive labour wedge get e_i < 0 (then
    |tau_K| + |tau_L| falls as the imbalance shrinks); units with a negative labour wedge
    shrink either way, and get e_i > 0 one by one (largest first) until the shrinking no
    longer moves the aggregate sum_i s_i beta_i gamma_Ki one way, to first order: the
    Hsieh-Klenow reference point then stays put and each unit's measured distortion follows
    its own wedges rather than everybody else's."""
    sign = -np.ones(len(wedge_l))
    def drift(sign):
        ln_gamma_k = wedge_l + sign * IMBALANCE / (1 - beta)
        return (share * beta * np.exp(ln_gamma_k) * pull * sign).sum()
    for i in np.argsort(-(share * pull))[: int((wedge_l < 0).sum())]:
        if wedge_l[i] >= 0 or drift(sign) >= 0:
            continue
        trial = sign.copy()
        trial[i] = 1.0
        if abs(drift(trial)) < abs(drift(sign)):
            sign = trial
    return sign


def _hsieh_klenow_rm(capital, labour, output, beta, study) -> np.ndarray:
    """RM = |1/gamma_K - 1| + |1/gamma_L - 1| per unit-year with the true elasticities
    (Hsieh & Klenow 2009; paper eqs. 12-13): gamma_K = (K_i/K) / (s_i beta_i / beta_bar),
    gamma_L likewise with 1 - beta; s the output share, aggregates over the study units."""
    w = study[:, None]
    s = output / (output * w).sum(axis=0)
    b = beta[:, None]
    b_bar = (s * b).sum(axis=0)
    gamma_k = capital / (capital * w).sum(axis=0) / (s * b / b_bar)
    gamma_l = labour / (labour * w).sum(axis=0) / (s * (1 - b) / (1 - b_bar))
    return np.abs(1 / gamma_k - 1) + np.abs(1 / gamma_l - 1)


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / x.std()


# ---------------------------------------------------------------------------------------
# Simulation
# ---------------------------------------------------------------------------------------

@dataclass
class Simulation:
    """All series on years ``first_year - 1 .. last_year + 1`` in canonical units, rounded to
    the written decimals; ``missing`` marks cells written as missing; ``latent`` holds the
    planted quantities (d, v, wv, r, tertiary share, rm, wedges, ...) for tests and
    documentation."""

    units: pd.DataFrame
    years: np.ndarray
    values: dict[str, np.ndarray]
    missing: dict[str, np.ndarray]
    latent: dict[str, np.ndarray]
    telephones_1984: np.ndarray


def simulate(spec: SampleSpec) -> Simulation:
    """Run the data-generating process of the module docstring."""
    units = generate_units(spec)
    rng = np.random.default_rng(spec.seed)
    U = len(units)
    years = np.arange(spec.first_year - 1, spec.last_year + 2)
    T = len(years)
    k = (years - spec.first_year)[None, :].astype(float)
    anchor_year = min(max(_ANCHOR_YEAR, spec.first_year), spec.last_year)
    ia = int(np.where(years == anchor_year)[0][0])
    i0 = 1  # first study year
    noise = lambda sd=1.0: rng.normal(0, sd, (U, T))  # noqa: E731
    unit_noise = lambda sd=1.0: rng.normal(0, sd, U)[:, None]  # noqa: E731

    lat, lon = units["lat"].to_numpy(), units["lon"].to_numpy()
    field = _z(_smooth_field(np.random.default_rng([spec.seed, 1]))(lat, lon))
    infra_field = _z(_smooth_field(np.random.default_rng([spec.seed, 2]), 8.0)(lat, lon))
    east = _z(lon)
    rich = (units["gdp_anchor"] / units["pop_anchor"]).to_numpy() > 10  # GDP per capita > 10万元
    muni_rich = (units["is_municipality"].to_numpy() & rich).astype(float)[:, None]
    tibet = (units["unit_code"] == 54).to_numpy().astype(float)[:, None]

    gdppc_anchor = units["gdp_anchor"].to_numpy() * 1e8 / (units["pop_anchor"].to_numpy() * 1e4)
    dev = _z(np.log(gdppc_anchor))[:, None]

    # population (万人): unit-specific growth, richer places grow faster
    g_pop = 0.003 + 0.004 * dev + unit_noise(0.003)
    pop = units["pop_anchor"].to_numpy()[:, None] * np.exp(g_pop * (years - anchor_year)[None, :])
    pop = np.round(pop * np.exp(noise(0.001)), 0)
    if spec.units != "province":
        pop = np.maximum(pop, 1.0)

    # latent digital trade
    d0 = 0.8 * _z(0.6 * dev[:, 0] + 0.4 * field + 0.3 * east)[:, None]
    slope = np.maximum(0.2 + 0.03 * d0 + unit_noise(0.04), 0.05)
    ar = np.zeros((U, T))
    shocks = noise(0.10)
    for t in range(1, T):
        ar[:, t] = 0.5 * ar[:, t - 1] + shocks[:, t]
    d = d0 + slope * k + ar
    d_first = d[:, [i0]]
    # volume-type digital-trade inputs (log x = log size + a + b d + noise, b > 0) and their
    # equal-weight volume index v: "digital-trade development" as the yearbooks record it,
    # the quantity the mechanisms below respond to; v_trend is the same index of the trend
    # d0 + slope k without the yearly noise
    # sizes: digital inputs scale much less than one-for-one with population and GDP, so that
    # the volume reflects the intensity d more than the sheer size of a province
    size_dt = pop ** DT_SIZE * pop[:, i0].mean() ** (1 - DT_SIZE)
    gdp_first = units["gdp_anchor"].to_numpy()[:, None] * np.exp(-0.075 * (ia - i0))  # ~first-year GDP
    gdp_size = gdp_first ** DT_SIZE * gdp_first.mean() ** (1 - DT_SIZE)
    infra_level = np.exp(0.3 * infra_field)[:, None]
    digital_specs = {  # name: (size, base, loading on d, year SD, level SD, extra level factor)
        "optical_cable_length": (size_dt, 150, 0.35, 0.05, 0.2, infra_level),
        "broadband_ports": (pop, 0.3, 0.7, 0.03, 0.2, 1.0),  # ports per person: no size discount
        "domain_names": (size_dt, 0.005, 0.8, 0.1, 0.2, 1.0),
        "domestic_patent_applications": (size_dt, 3.0, 0.7, 0.05, 0.2, np.exp(0.5 * dev)),
        "it_employment": (size_dt, 0.002, 0.5, 0.05, 0.2, np.exp(0.3 * dev)),
        "ecommerce_sales": (gdp_size, 0.12, 0.35, 0.05, 0.2, 1.0),
        "broadband_users": (size_dt, 0.12, 0.35, 0.03, 0.2, 1.0),
        "software_revenue": (gdp_size, 0.01, 0.9, 0.08, 0.4, 1.0),
        "telecom_volume": (size_dt, 0.05, 0.6, 0.05, 0.2, 1.0),
        "postal_route_length": (size_dt, 5.0, 0.1, 0.05, 0.2, infra_level),
        "express_volume": (size_dt, 15.0, 1.0, 0.05, 0.3, 1.0),
    }
    study_units = units["in_study_sample"].to_numpy()
    digital, digital_trend = {}, {}
    for name, (by, base, load, sd, level_sd, extra) in digital_specs.items():
        level = by * base * extra * np.exp(unit_noise(level_sd))
        digital_trend[name] = level * np.exp(DT_LOAD * load * (d0 + slope * k))
        digital[name] = level * np.exp(DT_LOAD * load * d + noise(sd))
    def volume(series):
        return sum(x / x[study_units, i0].mean() for x in series.values()) / len(series)
    v, v_trend = volume(digital), volume(digital_trend)
    # the spillover regressor: inverse-distance average of the other study units' volume
    wv = _inverse_distance_weights(lat, lon, units["in_study_sample"].to_numpy()) @ v

    # transport infrastructure (万公里): rail and highway grow slowly
    size = (units["pop_anchor"].to_numpy()[:, None] / 1000) ** 0.6
    railway = 0.12 * size * np.exp(0.15 * infra_field[:, None] + unit_noise(0.3)) * (1 + 0.035 * (k + 1))
    highway = 4.5 * size * np.exp(0.2 * infra_field[:, None] + unit_noise(0.3)) * (1 + 0.02 * (k + 1))
    railway, highway = np.round(railway, 4), np.round(highway, 4)
    inf_per_capita = ((railway[:, i0] + highway[:, i0]) / pop[:, i0])[:, None]
    # transport infrastructure scales what digital trade does (moderation): the mechanisms
    # respond to reach = v (1 + INF_REACH (inf / mean inf - 1)), not to v itself
    inf_rel = inf_per_capita / inf_per_capita[units["in_study_sample"].to_numpy()].mean() - 1
    reach = np.maximum(1 + INF_REACH * inf_rel, 0.2)
    inf_z = _z(np.log(inf_per_capita[:, 0]))[:, None]

    # industrial structure
    prim0 = np.clip(0.09 - 0.045 * dev + unit_noise(0.025), 0.004, 0.25) * (1 - 0.85 * muni_rich)
    prim_share = prim0 * np.exp(-0.03 * k)
    ts0 = 0.43 + 0.04 * dev + 0.22 * muni_rich + unit_noise(0.02)
    ts_ar = np.zeros((U, T))
    ts_shocks = noise(TS_NOISE)
    for t in range(1, T):
        ts_ar[:, t] = 0.6 * ts_ar[:, t - 1] + ts_shocks[:, t]
    tert_share = ts0 + 0.004 * k + TS_ON_V * (v - v[:, [i0]]) + ts_ar

    # production and allocation (Hsieh-Klenow). Planted relative distortions
    #   ln gamma_K = phi_i + e_i m_it,  ln gamma_L = phi_i - beta_i/(1-beta_i) e_i m_it,
    # m_it = max(1 + PHI_M (v_i,anchor - v_it), 0.2): the K/L imbalance e_i m_it shrinks as digital
    # trade grows while beta ln gamma_K + (1-beta) ln gamma_L = phi_i stays fixed, so TFP can
    # stay separable (ln A = a_i + lambda_t + noise, what the LSDV elasticities assume).
    beta = np.clip(0.45 + unit_noise(0.04), 0.35, 0.55)
    emp_rate = np.clip(0.55 + unit_noise(0.04), 0.42, 0.68) - 0.002 * k
    labour = pop * emp_rate * np.exp(noise(0.002))
    growth = np.array([_REAL_GROWTH.get(int(y), 0.06) for y in years])[None, :]
    # m: linear in the trend of the volume, 1 at the anchor year
    m_alloc = np.maximum(1 + PHI_M * (v_trend[:, [ia]] - v_trend), 0.2)
    # at the anchor year: labour wedge G_i implied by the GDP anchors and employment
    s_anchor = units["gdp_anchor"].to_numpy()[:, None] / units["gdp_anchor"].sum()
    l_share = labour[:, [ia]] / labour[:, ia].sum()
    wedge_l = np.log(l_share / ((1 - beta) * s_anchor))
    wedge_l = wedge_l - np.average(wedge_l[:, 0], weights=s_anchor[:, 0])
    # the K/L imbalance has the same size everywhere; its sign: see _imbalance_signs
    sign = _imbalance_signs(wedge_l[:, 0], beta[:, 0], s_anchor[:, 0],
                            (m_alloc[:, i0] - m_alloc[:, ia]) * study_units)
    imbalance = (sign * IMBALANCE)[:, None] / m_alloc[:, [ia]]
    phi = wedge_l + beta / (1 - beta) * imbalance * m_alloc[:, [ia]]
    ln_gamma_k = phi + imbalance * m_alloc
    ln_gamma_l = phi - beta / (1 - beta) * imbalance * m_alloc
    # output shares follow the 2021 anchors with a small unit-specific drift
    share = s_anchor * np.exp(unit_noise(0.006) * (years - anchor_year)[None, :])
    share = share / share.sum(axis=0)
    # Hsieh-Klenow distortions are relative to the aggregate: shift each year's wedges by a
    # common amount (absorbed by the year effect of TFP) so that the aggregates stay put and
    # the planted wedges are the relative ones the warehouse measures
    for ln_gamma, weight in ((ln_gamma_k, share * beta), (ln_gamma_l, share * (1 - beta))):
        level = np.log((weight * np.exp(ln_gamma))[study_units].sum(axis=0))
        ln_gamma -= level - level[ia]
    # allocation implied by the wedges: employment and capital follow from the output shares
    # and the wedges, so allocation moves factors (workers migrate) rather than output
    labour_national = labour.sum(axis=0)
    labour = share * (1 - beta) * np.exp(ln_gamma_l)
    labour = labour / labour.sum(axis=0) * labour_national * np.exp(noise(0.002))
    k_national = 2.6 * np.exp(np.cumsum(0.095 - 0.003 * k, axis=1) - 0.095 * ia)
    capital = share * beta * np.exp(ln_gamma_k)
    capital = capital / capital.sum(axis=0) * k_national
    # separable TFP calibrated at the anchor year, so Y = share x national output there
    lam = np.cumsum(growth - 0.045, axis=1)
    lam = lam - lam[:, [ia]]
    ln_a_level = (np.log(share[:, [ia]]) - beta * np.log(capital[:, [ia]])
                  - (1 - beta) * np.log(labour[:, [ia]]))
    y_real = np.exp(ln_a_level + lam + noise(0.004)) * capital ** beta * labour ** (1 - beta)
    # perpetual inventory: the first study year's capital is I / (g + delta) with g the mean
    # growth of the next years' investment (the warehouse's initial-capital rule), so the
    # measured capital stock equals this one; the pre-sample capital follows from it.
    investment_real = capital[:, 1:] - (1 - DELTA) * capital[:, :-1]
    # I0 = (g + delta) K0 with g = ((I1/I0 - 1) + c) / 4 is a quadratic in I0: one positive root
    n_growth = PIM_GROWTH_YEARS - 1
    later = investment_real[:, 1:PIM_GROWTH_YEARS]
    c_rest = (later[:, 1:] / later[:, :-1] - 1).sum(axis=1)
    b_lin = ((c_rest - 1) / n_growth + DELTA) * capital[:, i0]
    inv0 = (b_lin + np.sqrt(b_lin ** 2 + 4 * later[:, 0] * capital[:, i0] / n_growth)) / 2
    investment_real[:, 0] = inv0
    capital_pre = (capital[:, i0] - inv0) / (1 - DELTA)
    # pre-sample investment (never written): as if capital had grown by 10% a year before
    investment_real = np.column_stack([capital_pre * (1 - (1 - DELTA) / np.exp(0.1)), investment_real])
    employment = np.round(labour, 1)
    inflation = np.array([_INFLATION.get(int(y), 0.02) for y in years])[None, :]
    # price level, 1 in the pre-sample year up to a small province-specific start
    deflator = np.exp(np.cumsum(inflation + noise(0.004), axis=1) - inflation[:, [0]])
    gdp_nominal = y_real * deflator
    scale = units["gdp_anchor"].sum() / gdp_nominal[:, ia].sum()  # one national factor: shares unchanged
    y_real, gdp_nominal = y_real * scale, gdp_nominal * scale
    capital, investment_real = capital * scale, investment_real * scale
    capital[:, 0] = capital_pre * scale
    # planted resource misallocation (what the warehouse measures, with the true elasticities)
    study_w = units["in_study_sample"].to_numpy().astype(float)[:, None]
    rm_true = _hsieh_klenow_rm(capital, employment, gdp_nominal, beta[:, 0], study_w[:, 0])

    gdp = np.round(gdp_nominal, 2)
    va_primary = np.round(gdp * prim_share, 2)
    va_tertiary = np.round(gdp * tert_share, 2)
    va_secondary = np.round(gdp - va_primary - va_tertiary, 2)
    gdp_index = np.round(100 * y_real / np.concatenate([y_real[:, [0]] / (1 + growth[:, [0]]), y_real[:, :-1]], axis=1), 1)
    fai_index = np.round(np.array([_FAI_PRICE.get(int(y), 102.0) for y in years])[None, :] + noise(0.5), 1)
    fai_level = np.cumprod(fai_index / 100, axis=1)
    fai_level = fai_level / fai_level[:, [i0]]  # base: first study year = 1
    gfcf = np.round(investment_real * fai_level, 2)
    gdp_pc = np.round(gdp * 1e8 / (pop * 1e4), 0)

    # latent resilience: digital-trade volume raises r directly (more with better transport),
    # through upgrading and lower misallocation, and through the neighbours' volume (spillover)
    r0 = 0.5 * dev + unit_noise(0.3)
    wv_rel = wv - wv[units["in_study_sample"].to_numpy()].mean(axis=0)  # level: year effect
    # the mechanisms enter relative to the year's study-unit mean (a common level per year is
    # a year effect): r stays within plausible bounds while the within-unit contrasts are large
    mechanisms = reach * (R_ON_V * v + R_ON_TS * (tert_share - ts0)) - R_ON_RM * rm_true
    mechanisms = mechanisms - mechanisms[study_units].mean(axis=0)
    r = r0 + R_TREND * k + mechanisms + R_ON_WV * wv_rel + noise(0.025)
    dr = r - r[:, [i0]]

    # the resilience inputs respond to r additively (the same absolute amount per unit of r
    # everywhere), so that an index of their levels moves alike in rich and poor units
    study = units["in_study_sample"].to_numpy()
    income_base = np.clip(0.46 - 0.04 * dev + unit_noise(0.02), 0.35, 0.6) * gdp_pc[:, [i0]]
    income = income_base * np.exp(noise(0.01)) + income_base[study].mean() * (0.04 * k + 0.6 * dr)
    covid = (years == 2020)[None, :].astype(float)
    propensity = np.clip(0.71 - 0.03 * dev + unit_noise(0.02), 0.6, 0.8) - 0.004 * k - 0.04 * covid
    consumption_total = income * propensity
    cu_share = np.clip(0.36 + CU_ON_V * (v - v[:, [i0]]) + 0.01 * dev + noise(0.01), 0.25, 0.55)
    dev_split = np.array([0.18, 0.38, 0.26, 0.18])  # household, transport&comm, edu&culture, health
    basic_split = np.array([0.47, 0.10, 0.39, 0.04])  # food, clothing, housing, other
    tenths = {}
    for name, share in zip(("cons_household", "cons_transport_comm", "cons_education_culture", "cons_health"), dev_split):
        tenths[name] = np.round(10 * consumption_total * cu_share * share * np.exp(noise(0.02)))
    for name, share in zip(("cons_food", "cons_clothing", "cons_housing", "cons_other"), basic_split):
        tenths[name] = np.round(10 * consumption_total * (1 - cu_share) * share * np.exp(noise(0.02)))
    cons = {name: tenths[name] / 10 for name in _CONS_CATEGORIES}
    consumption_pc = sum(tenths[name] for name in _CONS_CATEGORIES) / 10

    fe_ratio = np.clip(0.2 * np.exp(-0.25 * dev - 0.25 * east[:, None] + unit_noise(0.15)), 0.09, 0.6) * (1 + 2.0 * tibet)
    fiscal_exp = np.round(gdp * fe_ratio * np.exp(0.05 * dr + noise(0.01)), 2)
    self_suff = np.clip(0.45 + 0.12 * dev + unit_noise(0.05) + 0.03 * dr + noise(0.01), 0.08, 0.92)
    fiscal_rev = np.round(fiscal_exp * self_suff, 2)
    tax = np.round(fiscal_rev * np.clip(0.73 + unit_noise(0.04) + noise(0.01), 0.6, 0.86), 2)
    social = np.round(fiscal_exp * np.clip(0.13 + unit_noise(0.02) + 0.01 * dr + noise(0.003), 0.07, 0.22), 2)
    science_share = np.clip(0.02 * np.exp(0.45 * dev + noise(0.03)) + 0.003 * (d - d_first), 0.003, 0.08)
    science = np.round(fiscal_exp * science_share, 2)
    education = np.round(fiscal_exp * np.clip(0.16 + unit_noise(0.015) + 0.005 * dr + noise(0.003), 0.11, 0.21), 2)
    deposits = np.round(gdp * (1.9 * np.exp(0.35 * dev + unit_noise(0.2) + noise(0.01)) + 0.25 * dr), 2)
    schooling = np.round(np.clip(9.2 + 0.6 * dev + 0.8 * muni_rich + unit_noise(0.3) + 0.4 * dr + noise(0.03), 5.0, 13.5), 2)
    unemployment = np.round(np.clip(5.0 - 0.4 * dr - 0.2 * dev + unit_noise(0.3) + 0.4 * covid + noise(0.1), 3.0, 6.0), 1)
    urban = np.round(np.clip(100 / (1 + np.exp(-(0.4 + 0.6 * dev + 0.5 * muni_rich + unit_noise(0.15) + 0.15 * dr + 0.03 * k))), 20, 90), 2)
    rd_int = np.clip(0.017 * np.exp(0.5 * dev + unit_noise(0.25) + noise(0.02)) + 0.004 * dr, 0.003, 0.07)
    rd = np.round(gdp * rd_int, 2)
    hightech_pat = np.round(pop * np.maximum(0.3 * np.exp(0.5 * dev + unit_noise(0.2) + noise(0.03)) + 0.25 * dr, 0.01), 0)

    mobile = np.round(95 * np.exp(0.07 * d + 0.1 * dev + noise(0.02)), 2)
    optical = np.round(digital["optical_cable_length"], 0)
    ports = np.round(digital["broadband_ports"], 1)
    domains = np.round(digital["domain_names"], 2)
    dom_patents = np.round(digital["domestic_patent_applications"], 0)
    it_emp = np.round(digital["it_employment"], 2)
    ind_rd = np.round(rd * np.clip(0.6 * np.exp(0.05 * (d - d_first) + unit_noise(0.08)), 0.3, 0.85), 2)
    ecommerce = np.round(digital["ecommerce_sales"], 2)
    ecom_share = np.round(np.clip(7 + 2.5 * d + unit_noise(1.0) + noise(0.3), 1.5, 30), 1)
    bb_users = np.round(digital["broadband_users"], 1)
    software = np.round(digital["software_revenue"], 2)
    telecom = np.round(digital["telecom_volume"], 2)
    exchange = np.array([_EXCHANGE.get(int(y), 650.0) for y in years])[None, :] * np.ones((U, 1))
    openness = 0.1 * np.exp(0.5 * dev + 0.25 * d + 0.3 * east[:, None] + unit_noise(0.3) + noise(0.04))
    trade = np.round(gdp * 1e8 * openness / (exchange / 100) / 1000, -1)  # 千美元, written in 万美元
    retail = np.round(gdp * np.clip(0.38 * np.exp(0.04 * (d - d_first) + unit_noise(0.1) + noise(0.02) - 0.05 * covid), 0.2, 0.6), 2)
    postal = np.round(digital["postal_route_length"], 0)
    express = np.round(digital["express_volume"], 2)
    express_rev = np.round(express * 12 * np.exp(-0.05 * k + noise(0.02)), 1)
    fdi = np.round(gdp * 1e8 * 0.015 * np.exp(0.3 * dev + 0.3 * east[:, None] + unit_noise(0.4) + noise(0.08)) / (exchange / 100) / 1e6, 2)
    library = np.round(pop * 0.5 * np.exp(0.3 * dev + unit_noise(0.15) + 0.04 * k + noise(0.03)), 1)
    health = np.round(pop * 7 * np.exp(unit_noise(0.15) + noise(0.03)), 0)
    electricity = np.round(gdp * 0.08 * np.exp(-0.3 * dev - 0.2 * east[:, None] + unit_noise(0.3) - 0.02 * k + noise(0.02)), 2)
    market = np.round(np.clip(6.2 + 1.8 * dev[:, [0]] + unit_noise(0.4) + 0.15 * k + noise(0.1), 2.0, 12.5), 2)
    tel1984 = np.round(units["pop_anchor"].to_numpy() * 0.005 * np.exp(0.6 * d0[:, 0] + rng.normal(0, 0.2, U)), 2)

    values = {
        "gdp": gdp, "gdp_per_capita": gdp_pc, "gdp_index": gdp_index, "va_primary": va_primary,
        "va_secondary": va_secondary, "va_tertiary": va_tertiary, "population": pop,
        "urbanization_rate": urban, "employment": employment,
        "disposable_income_pc": np.round(income, 1), "consumption_pc": consumption_pc, **cons,
        "fiscal_revenue": fiscal_rev, "fiscal_expenditure": fiscal_exp,
        "fiscal_exp_social_security": social, "fiscal_exp_science": science,
        "fiscal_exp_education": education, "tax_revenue": tax, "deposits": deposits,
        "avg_years_schooling": schooling, "unemployment_rate": unemployment, "gfcf": gfcf,
        "fai_price_index": fai_index, "rd_expenditure": rd,
        "hightech_patent_applications": hightech_pat, "mobile_phone_penetration": mobile,
        "optical_cable_length": optical, "broadband_ports": ports, "domain_names": domains,
        "domestic_patent_applications": dom_patents, "it_employment": it_emp,
        "industrial_rd_expenditure": ind_rd, "ecommerce_sales": ecommerce,
        "ecommerce_enterprise_share": ecom_share, "broadband_users": bb_users,
        "software_revenue": software, "telecom_volume": telecom, "trade_total": trade,
        "retail_sales": retail, "postal_route_length": postal, "express_volume": express,
        "express_revenue": express_rev, "exchange_rate": exchange, "fdi": fdi,
        "library_holdings": library, "health_institutions": health,
        "electricity_consumption": electricity, "railway_length": railway,
        "highway_length": highway, "marketization_index": market,
    }
    missing = _missing_cells(spec, units, years, values)
    latent = {"d": d, "v": v, "wv": wv, "r": r, "tert_share": tert_share, "rm": rm_true,
              "ln_gamma_k": ln_gamma_k, "ln_gamma_l": ln_gamma_l, "beta": beta[:, 0],
              "inf_z": inf_z[:, 0], "cu_share": cu_share, "capital": capital, "y_real": y_real}
    return Simulation(units, years, values, missing, latent, tel1984)


def _missing_cells(spec, units, years, values) -> dict[str, np.ndarray]:
    """Sparse holes like real yearbooks: in study units at most one interior study year per
    series (never the first two or the last study year, never the next-vintage year), ~4% of
    unit-series; Tibet (outside the study) has about 15% of its cells missing."""
    rng = np.random.default_rng([spec.seed, 3])
    study = units["in_study_sample"].to_numpy()
    tibet = (units["unit_code"] == 54).to_numpy()
    # years first_year+2 .. last_year-1: never an end of the base or the next-vintage file
    interior = np.arange(3, len(years) - 2)
    out = {}
    for code in sorted(values):
        mask = np.zeros(values[code].shape, dtype=bool)
        if code not in _NO_MISSING and len(interior):
            hit = study & (rng.random(len(units)) < 0.04)
            cols = rng.choice(interior, size=len(units))
            mask[np.where(hit)[0], cols[hit]] = True
            mask[tibet, :] |= rng.random((int(tibet.sum()), len(years))) < 0.15
        out[code] = mask
    return out


def generate_panel(spec: SampleSpec) -> pd.DataFrame:
    """The sample as one long frame over ``first_year .. last_year``, canonical units:
    indicator_code, unit_code, unit_name, year, value (NaN where the extract has a hole).
    Coordinates and anchors are in :func:`generate_units`."""
    sim = simulate(spec)
    study = slice(1, len(sim.years) - 1)
    yrs = sim.years[study]
    frames = []
    for code in sorted(sim.values):
        v = sim.values[code][:, study].astype(float).copy()
        v[sim.missing[code][:, study]] = np.nan
        frames.append(pd.DataFrame({
            "indicator_code": code,
            "unit_code": np.repeat(sim.units["unit_code"].to_numpy(), len(yrs)),
            "unit_name": np.repeat(sim.units["unit_name"].to_numpy(), len(yrs)),
            "year": np.tile(yrs, len(sim.units)),
            "value": v.ravel(),
        }))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------

def _fmt(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def _reported(code: str, canonical_unit: str) -> tuple[str, float, int]:
    """Reported unit, factor canonical -> reported, decimals in the reported unit."""
    unit = _REPORTED_UNIT.get(code, canonical_unit)
    to_canonical = _unit_factor(unit, canonical_unit)
    decimals = _DECIMALS[code] + round(math.log10(to_canonical)) if unit != canonical_unit else _DECIMALS[code]
    return unit, 1 / to_canonical, max(decimals, 0)


def _nbs_rows(sim, row, years_desc, overrides, is_1984=False) -> list[list[str]]:
    code, name, canonical = row["code"], row["name_zh"], row["unit"]
    unit, factor, decimals = _reported(code, canonical)
    lines = [["数据库：分省年度数据"], [f"指标：{name}({unit})"],
             ["时间：1984年" if is_1984 else f"时间：最近{len(years_desc)}年"],
             ["地区", *[f"{y}年" for y in years_desc]]]
    for u, p in enumerate(sim.units.itertuples()):
        cells = [p.unit_name]
        for y in years_desc:
            if is_1984:
                cells.append(_fmt(sim.telephones_1984[u] * factor, decimals))
                continue
            t = int(np.where(sim.years == y)[0][0])
            if sim.missing[code][u, t]:
                # mostly the NBS ellipsis, sometimes an empty cell, as in real downloads
                cells.append("" if (u + t) % 5 == 0 else "…")
            else:
                v = overrides.get((code, p.unit_code, int(y)), sim.values[code][u, t])
                cells.append(_fmt(v * factor, decimals))
        lines.append(cells)
    lines.append(["注：1984年数据按现行行政区划整理。" if is_1984 else NBS_ORDER_NOTE])
    lines.append(["数据来源：国家统计局"])
    return lines


def _write_csv(path: Path, rows: list[list[str]], encoding: str, newline: str) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=newline).writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


_FIXED_ZIP_TIME = (2024, 6, 1, 0, 0, 0)
_FIXED_DOC_TIME = datetime(2024, 6, 1, 0, 0, 0)


def _write_xlsx(path: Path, rows: list[list], sheet: str = "Sheet1") -> None:
    """An .xlsx whose bytes depend only on ``rows``: fixed document properties and fixed zip
    entry timestamps (openpyxl stamps both with the current time; nothing exposes an option,
    so we write through ExcelWriter and re-pack the archive)."""
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(r)
    wb.properties.creator = "resilience synthetic sample"
    wb.properties.created = _FIXED_DOC_TIME
    wb.properties.modified = _FIXED_DOC_TIME
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            info = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            dst.writestr(info, src.read(name))
    path.write_bytes(out.getvalue())


def _numeric_xlsx_rows(rows: list[list[str]]) -> list[list]:
    """CSV-style text rows with numbers as numbers and empty cells as empty (xlsx style)."""
    out = []
    for r in rows:
        cells = []
        for c in r:
            if c == "":
                cells.append(None)
            else:
                try:
                    cells.append(float(c) if "." in c else int(c))
                except ValueError:
                    cells.append(c)
        out.append(cells)
    return out


def _nbs_file(sim, row, years_desc, out_dir, overrides) -> Path:
    code = row["code"]
    is_1984 = code == "fixed_telephones_1984"
    rows = _nbs_rows(sim, row, [1984] if is_1984 else years_desc, overrides, is_1984)
    if code in _XLSX_SERIES:
        path = out_dir / f"nbs_{code}.xlsx"
        _write_xlsx(path, _numeric_xlsx_rows(rows))
    elif code in _UTF8_BOM_SERIES:
        path = out_dir / f"nbs_{code}.csv"
        _write_csv(path, rows, "utf-8-sig", "\r\n")
    else:
        path = out_dir / f"nbs_{code}.csv"
        _write_csv(path, rows, "gbk", "\r\n")
    return path


def _cnrds_rows(sim, dictionary, codes, years, overrides, name_col="省份") -> list[list[str]]:
    specs = [(c, *_reported(c, dictionary.loc[c, "unit"])) for c in codes]
    rows = [["Prvcnm", "Sgnyea", *codes],
            [name_col, "年份", *[f"{dictionary.loc[c, 'name_zh']}({unit})" for c, unit, _, _ in specs]]]
    for u, p in enumerate(sim.units.itertuples()):
        for y in years:
            t = int(np.where(sim.years == y)[0][0])
            cells = [p.unit_name, str(int(y))]
            for c, _, factor, decimals in specs:
                if sim.missing[c][u, t]:
                    cells.append("")
                else:
                    v = overrides.get((c, p.unit_code, int(y)), sim.values[c][u, t])
                    cells.append(_fmt(v * factor, decimals))
            rows.append(cells)
    return rows


def _revision_overrides(sim: Simulation, year: int) -> dict:
    """Revised values of the next vintage, rounded like the series."""
    out = {}
    for code, unit_code, change in REVISIONS:
        u = int(np.where(sim.units["unit_code"] == unit_code)[0][0])
        t = int(np.where(sim.years == year)[0][0])
        out[(code, unit_code, year)] = round(sim.values[code][u, t] * (1 + change), _DECIMALS[code])
    return out


def write_sample(out_dir: Path, spec: SampleSpec = SampleSpec(), next_vintage_dir: Path | None = None) -> list[Path]:
    """Write the synthetic extracts of ``spec`` into ``out_dir`` (and the next vintage into
    ``next_vintage_dir``); returns the files written. Same spec, same bytes.

    The next vintage holds what the following yearbook would: NBS files for
    ``first_year+1 .. last_year+1`` (identical overlapping values except ``REVISIONS`` of
    ``last_year``) and CNRDS rows for ``last_year+1`` only."""
    sim = simulate(spec)
    dictionary = indicator_dictionary().set_index("code", drop=False)
    written = []
    base = (Path(out_dir), list(range(spec.first_year, spec.last_year + 1)), False,
            f"yearbooks {spec.first_year + 1}-{spec.last_year + 1}")
    targets = [base]
    if next_vintage_dir is not None:
        targets.append((Path(next_vintage_dir), list(range(spec.first_year + 1, spec.last_year + 2)), True,
                        f"yearbook {spec.last_year + 2} (data to {spec.last_year + 1})"))
    for folder, years, is_next, label in targets:
        folder.mkdir(parents=True, exist_ok=True)
        cnrds_years = [spec.last_year + 1] if is_next else years
        if spec.units == "province":
            overrides = _revision_overrides(sim, spec.last_year) if is_next else {}
            for _, row in dictionary.iterrows():
                if row["source"] != "yearbook" or (is_next and row["code"] == "fixed_telephones_1984"):
                    continue
                written.append(_nbs_file(sim, row, years[::-1], folder, overrides))
            panel_codes = [c for c in dictionary.index
                           if dictionary.loc[c, "source"] == "cnrds" and c not in _CNRDS_XLSX_SERIES]
            path = folder / "cnrds_panel.csv"
            _write_csv(path, _cnrds_rows(sim, dictionary, panel_codes, cnrds_years, overrides), "utf-8-sig", "\n")
            written.append(path)
            path = folder / "cnrds_marketization.xlsx"
            _write_xlsx(path, _numeric_xlsx_rows(
                _cnrds_rows(sim, dictionary, list(_CNRDS_XLSX_SERIES), cnrds_years, overrides)))
            written.append(path)
        else:
            codes = [c for c in dictionary.index if c != "fixed_telephones_1984"]
            path = folder / "cnrds_panel.csv"
            _write_csv(path, _cnrds_rows(sim, dictionary, codes, cnrds_years, {}, name_col="单位"), "utf-8-sig", "\n")
            written.append(path)
            ref = sim.units[["unit_code", "unit_name", "parent_code", "lat", "lon"]].copy()
            ref["lat"], ref["lon"] = ref["lat"].round(4), ref["lon"].round(4)
            ref["fixed_telephones_1984"] = sim.telephones_1984
            path = folder / "units_reference.csv"
            ref.to_csv(path, index=False, lineterminator="\n")
            written.append(path)
        path = folder / "vintage.txt"
        path.write_text(f"synthetic sample, {label} (seed {spec.seed})\n", encoding="utf-8")
        written.append(path)
    return written
