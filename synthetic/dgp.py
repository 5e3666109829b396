"""Data-generating process of the SYNTHETIC sample: :func:`simulate` draws every series of
the bundled raw extracts; ``synthetic.sample`` writes them in the real export formats.

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

:func:`simulate` runs the process as a list of steps, one function each, following the bullets
above; the written series that load on the latent quantities (income and consumption, fiscal
series, the other resilience inputs, the remaining series) come after latent resilience, the
instrument last. The steps draw in turn from one generator seeded by ``SampleSpec.seed`` (the
smooth fields, the sub-provincial units and the holes have generators of their own), so the
order of the steps and the order and shapes of the draws inside each fix every number:
reordering them changes the sample's bytes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from pathlib import Path

import numpy as np
import pandas as pd

from estimation.spatial.weights import inverse_distance, row_standardise
from warehouse.reference import LEVELS
from warehouse.seeds import seed_rows

DEFAULT_SEED = 20240601
MAX_PRIMARY_TERTIARY = 0.92  # ceiling of the primary plus tertiary share of GDP
MIN_INVESTMENT_RATE = 0.03   # floor of gross real investment over last year's capital
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
BASE_SPAN = 8  # years from the base sample's first to last year (2013-2021)
# cpca's placeholder entries (the districts of a city taken together, and so on): not units
PLACEHOLDER_NAMES = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}

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

_CONS_CATEGORIES = ("cons_food", "cons_clothing", "cons_housing", "cons_household",
                    "cons_transport_comm", "cons_education_culture", "cons_health", "cons_other")
# Series the extracts never leave missing (see _missing_cells)
_NO_MISSING = {"gdp", "gdp_index", "va_primary", "va_secondary", "va_tertiary", "population",
               "employment", "gfcf", "fai_price_index", "exchange_rate",
               "fixed_telephones_1984", "consumption_pc", *_CONS_CATEGORIES}


@dataclass(frozen=True)
class SampleSpec:
    """What to generate: the seed, the unit level and the years (inclusive)."""

    seed: int = DEFAULT_SEED
    units: str = "province"
    first_year: int = 2013
    last_year: int = 2021

    def __post_init__(self):
        if self.units not in LEVELS:
            raise ValueError(f"units must be province, prefecture or county, not {self.units!r}")
        if self.last_year < self.first_year + 2:
            raise ValueError("need at least three years (first_year + 2 <= last_year)")


# ---------------------------------------------------------------------------------------
# Units and helpers
# ---------------------------------------------------------------------------------------

def generate_units(spec: SampleSpec) -> pd.DataFrame:
    """The units of ``spec``: unit_code, unit_name, parent_code, lat, lon, pop_anchor,
    gdp_anchor (2021-level anchors), is_municipality, in_study_sample."""
    provinces = pd.DataFrame(seed_rows("provinces"))
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

    # Real sub-provincial units (GB/T 2260 codes, names and seats from cpca's registry), with
    # made-up sizes: each province's population and GDP anchors are split over its units by
    # lognormal shares; GDP per capita follows a smooth field so that neighbours stay similar.
    units = real_units(spec.units).merge(prov.drop(columns=["unit_code", "unit_name", "lat", "lon"]),
                                         on="parent_code")
    rng = np.random.default_rng([spec.seed, 7])
    field = _smooth_field(np.random.default_rng([spec.seed, 8]))
    share = rng.lognormal(0, 0.6, len(units))
    share /= units.assign(s=share).groupby("parent_code")["s"].transform("sum").to_numpy()
    rel = np.exp(0.35 * field(units["lat"], units["lon"]) + rng.normal(0, 0.1, len(units)))
    rel /= units.assign(w=share * rel).groupby("parent_code")["w"].transform("sum").to_numpy()
    units["pop_anchor"] = units["pop_anchor"] * share
    units["gdp_anchor"] = units["gdp_anchor"] * share * rel
    return units[["unit_code", "unit_name", "parent_code", "lat", "lon", "is_municipality",
                  "in_study_sample", "pop_anchor", "gdp_anchor"]]


def real_units(level: str) -> pd.DataFrame:
    """The prefecture-level or county-level units of mainland China from cpca's ``adcodes.csv``
    (MIT; GB/T 2260 codes, names, seat coordinates): unit_code (6 digits), unit_name,
    parent_code (2 digits), lat, lon. The four municipalities are prefecture-level units of
    their own (code PP0100, the province's name and capital); cpca's placeholder entries and
    units without coordinates are left out. Sorted by code."""
    import importlib.util

    # the file only: importing cpca itself runs its address matcher's set-up (and needs the
    # deprecated pkg_resources)
    package = Path(importlib.util.find_spec("cpca").submodule_search_locations[0])
    registry = pd.read_csv(package / "resources" / "adcodes.csv", dtype={"adcode": str})
    code = registry["adcode"].str[:6]
    registry = registry.assign(unit_code=code.astype(int), parent_code=code.str[:2].astype(int),
                               lat=registry["latitude"], lon=registry["longitude"], unit_name=registry["name"])
    is_province = code.str[2:] == "0000"
    is_prefecture = ~is_province & (code.str[4:] == "00")
    provinces = pd.DataFrame(seed_rows("provinces"))
    mainland = registry["parent_code"].isin(provinces["province_code"].astype(int))
    chosen = registry[mainland & (is_prefecture if level == "prefecture" else ~is_province & ~is_prefecture)]
    chosen = chosen[~chosen["unit_name"].isin(PLACEHOLDER_NAMES) & chosen["lat"].notna()]
    if level == "prefecture":
        municipal = provinces[provinces["is_municipality"] == "true"]
        chosen = pd.concat([chosen, pd.DataFrame({
            "unit_code": municipal["province_code"].astype(int) * 10000 + 100,
            "unit_name": municipal["name_zh"], "parent_code": municipal["province_code"].astype(int),
            "lat": municipal["capital_lat"].astype(float), "lon": municipal["capital_lon"].astype(float)})])
    columns = ["unit_code", "unit_name", "parent_code", "lat", "lon"]
    return chosen[columns].drop_duplicates("unit_code").sort_values("unit_code").reset_index(drop=True)


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
    (zero diagonal): the warehouse's geographic matrix (estimation.spatial.weights)."""
    return row_standardise(inverse_distance(lat, lon) * neighbours[None, :])


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
    """Run the data-generating process of the module docstring, step by step."""
    g = _grid(spec)
    geo = _population_and_geography(g)
    dt = _digital_trade(g, geo)
    tr = _transport(g, geo)
    ind = _industrial_structure(g, geo, dt)
    w = _hsieh_klenow_wedges(g, geo, dt)
    prod = _production(g, w)
    acc = _prices_and_gdp_accounts(g, geo, ind, w, prod)
    r, dr = _latent_resilience(g, geo, dt, tr, ind, acc.rm)
    household, cu_share = _income_and_consumption(g, geo, dt, acc, dr)
    fiscal = _fiscal_series(g, geo, dt, acc, dr)
    inputs = _resilience_inputs(g, geo, acc, dr)
    other = _digital_and_other_series(g, geo, dt, tr, acc, inputs["rd_expenditure"])
    tel1984 = _instrument(g, dt)

    values = {  # in the dictionary's order
        "gdp": acc.gdp, "gdp_per_capita": acc.gdp_pc, "gdp_index": acc.gdp_index,
        "va_primary": acc.va_primary, "va_secondary": acc.va_secondary,
        "va_tertiary": acc.va_tertiary, "population": geo.pop,
        "urbanization_rate": inputs["urbanization_rate"], "employment": prod.employment,
        **household, **fiscal, "deposits": inputs["deposits"],
        "avg_years_schooling": inputs["avg_years_schooling"],
        "unemployment_rate": inputs["unemployment_rate"], "gfcf": acc.gfcf,
        "fai_price_index": acc.fai_index, "rd_expenditure": inputs["rd_expenditure"],
        "hightech_patent_applications": inputs["hightech_patent_applications"], **other,
    }
    missing = _missing_cells(spec, g.units, g.years, values)
    latent = {"d": dt.d, "v": dt.v, "wv": dt.wv, "r": r, "tert_share": ind.tert_share, "rm": acc.rm,
              "ln_gamma_k": w.ln_gamma_k, "ln_gamma_l": w.ln_gamma_l, "beta": w.beta[:, 0],
              "inf_z": tr.inf_z[:, 0], "cu_share": cu_share, "capital": acc.capital, "y_real": acc.y_real}
    return Simulation(g.units, g.years, values, missing, latent, tel1984)


@dataclass(frozen=True)
class _Grid:
    """What every step shares: the units, the years ``first_year - 1 .. last_year + 1``, the
    one seeded generator all steps draw from, and the national year effects."""

    spec: SampleSpec
    units: pd.DataFrame
    rng: np.random.Generator
    years: np.ndarray
    k: np.ndarray          # trend time: years since first_year, paced (see _grid), (1, T)
    anchor_year: int
    ia: int                # column of the anchor year
    i0: int                # column of the first study year
    study: np.ndarray      # in_study_sample, (U,) bool
    growth: np.ndarray     # national real GDP growth, (1, T)
    covid: np.ndarray      # 1 in 2020, (1, T)

    @property
    def U(self) -> int:
        return len(self.units)

    @property
    def T(self) -> int:
        return len(self.years)

    def noise(self, sd: float = 1.0) -> np.ndarray:
        """Unit-year N(0, sd) draws, (U, T)."""
        return self.rng.normal(0, sd, (self.U, self.T))

    def unit_noise(self, sd: float = 1.0) -> np.ndarray:
        """Unit N(0, sd) draws, (U, 1)."""
        return self.rng.normal(0, sd, self.U)[:, None]


def _grid(spec: SampleSpec) -> _Grid:
    units = generate_units(spec)
    rng = np.random.default_rng(spec.seed)
    years = np.arange(spec.first_year - 1, spec.last_year + 2)
    anchor_year = min(max(_ANCHOR_YEAR, spec.first_year), spec.last_year)
    # Trend time: the planted trends grow over any panel as much as over the base sample's
    # nine years (2013-2021), so that a 20-year panel stays within plausible ranges (a factor
    # of exactly 1 for nine years or fewer: the base sample's bytes do not change).
    pace = min(1.0, BASE_SPAN / (spec.last_year - spec.first_year))
    return _Grid(spec, units, rng, years,
                 k=(years - spec.first_year)[None, :].astype(float) * pace,
                 anchor_year=anchor_year,
                 ia=int(np.where(years == anchor_year)[0][0]),
                 i0=1,
                 study=units["in_study_sample"].to_numpy(),
                 growth=np.array([_REAL_GROWTH.get(int(y), 0.06) for y in years])[None, :],
                 covid=(years == 2020)[None, :].astype(float))


@dataclass(frozen=True)
class _Geography:
    lat: np.ndarray
    lon: np.ndarray
    field: np.ndarray        # smooth random field, standardised, (U,)
    infra_field: np.ndarray  # a smoother one behind transport infrastructure, (U,)
    east: np.ndarray         # standardised longitude, (U,)
    muni_rich: np.ndarray    # rich municipalities, (U, 1)
    tibet: np.ndarray        # (U, 1)
    dev: np.ndarray          # z-score of log GDP per capita at the anchors, (U, 1)
    pop: np.ndarray          # year-end population (万人), as written


def _population_and_geography(g: _Grid) -> _Geography:
    """Geography: the smooth fields of the capital coordinates, east and development from the
    anchors; population: unit-specific growth around the anchors."""
    units, years, noise, unit_noise = g.units, g.years, g.noise, g.unit_noise
    lat, lon = units["lat"].to_numpy(), units["lon"].to_numpy()
    field = _z(_smooth_field(np.random.default_rng([g.spec.seed, 1]))(lat, lon))
    infra_field = _z(_smooth_field(np.random.default_rng([g.spec.seed, 2]), 8.0)(lat, lon))
    east = _z(lon)
    rich = (units["gdp_anchor"] / units["pop_anchor"]).to_numpy() > 10  # GDP per capita > 10万元
    muni_rich = (units["is_municipality"].to_numpy() & rich).astype(float)[:, None]
    tibet = (units["unit_code"] == 54).to_numpy().astype(float)[:, None]

    gdppc_anchor = units["gdp_anchor"].to_numpy() * 1e8 / (units["pop_anchor"].to_numpy() * 1e4)
    dev = _z(np.log(gdppc_anchor))[:, None]

    # population (万人): unit-specific growth, richer places grow faster
    g_pop = 0.003 + 0.004 * dev + unit_noise(0.003)
    pop = units["pop_anchor"].to_numpy()[:, None] * np.exp(g_pop * (years - g.anchor_year)[None, :])
    pop = np.round(pop * np.exp(noise(0.001)), 0)
    if g.spec.units != "province":
        pop = np.maximum(pop, 1.0)
    return _Geography(lat, lon, field, infra_field, east, muni_rich, tibet, dev, pop)


@dataclass(frozen=True)
class _DigitalTrade:
    d0: np.ndarray       # starting level of the latent intensity, (U, 1)
    d: np.ndarray        # latent intensity d_it
    d_first: np.ndarray  # d in the first study year, (U, 1)
    digital: dict[str, np.ndarray]  # the eleven volume-type inputs, canonical units, unrounded
    v: np.ndarray        # digital-trade development: their equal-weight volume index
    v_trend: np.ndarray  # the same index of the trend d0 + slope k
    wv: np.ndarray       # inverse-distance average of the other study units' v


def _digital_trade(g: _Grid, geo: _Geography) -> _DigitalTrade:
    """Latent digital trade d, the eleven volume-type inputs that load on it, their volume
    index v (what the mechanisms respond to) and its spatial lag wv."""
    units, k, i0, ia, study_units = g.units, g.k, g.i0, g.ia, g.study
    noise, unit_noise = g.noise, g.unit_noise
    dev, pop = geo.dev, geo.pop
    d0 = 0.8 * _z(0.6 * dev[:, 0] + 0.4 * geo.field + 0.3 * geo.east)[:, None]
    slope = np.maximum(0.2 + 0.03 * d0 + unit_noise(0.04), 0.05)
    ar = np.zeros((g.U, g.T))
    shocks = noise(0.10)
    for t in range(1, g.T):
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
    infra_level = np.exp(0.3 * geo.infra_field)[:, None]
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
    digital, digital_trend = {}, {}
    for name, (by, base, load, sd, level_sd, extra) in digital_specs.items():
        level = by * base * extra * np.exp(unit_noise(level_sd))
        digital_trend[name] = level * np.exp(DT_LOAD * load * (d0 + slope * k))
        digital[name] = level * np.exp(DT_LOAD * load * d + noise(sd))
    def volume(series):
        return sum(x / x[study_units, i0].mean() for x in series.values()) / len(series)
    v, v_trend = volume(digital), volume(digital_trend)
    # the spillover regressor: inverse-distance average of the other study units' volume
    wv = _inverse_distance_weights(geo.lat, geo.lon, study_units) @ v
    return _DigitalTrade(d0, d, d_first, digital, v, v_trend, wv)


@dataclass(frozen=True)
class _Transport:
    railway: np.ndarray  # 万公里, as written
    highway: np.ndarray  # 万公里, as written
    reach: np.ndarray    # what a unit of digital-trade volume does here, (U, 1)
    inf_z: np.ndarray    # z-score of log first-year infrastructure per person, (U, 1)


def _transport(g: _Grid, geo: _Geography) -> _Transport:
    """Transport infrastructure: railway and highway length, and the reach it gives digital
    trade."""
    units, k, i0, unit_noise = g.units, g.k, g.i0, g.unit_noise
    pop, infra_field = geo.pop, geo.infra_field
    # transport infrastructure (万公里): rail and highway grow slowly
    size = (units["pop_anchor"].to_numpy()[:, None] / 1000) ** 0.6
    railway = 0.12 * size * np.exp(0.15 * infra_field[:, None] + unit_noise(0.3)) * (1 + 0.035 * (k + 1))
    highway = 4.5 * size * np.exp(0.2 * infra_field[:, None] + unit_noise(0.3)) * (1 + 0.02 * (k + 1))
    railway, highway = np.round(railway, 4), np.round(highway, 4)
    inf_per_capita = ((railway[:, i0] + highway[:, i0]) / pop[:, i0])[:, None]
    # transport infrastructure scales what digital trade does (moderation): the mechanisms
    # respond to reach = v (1 + INF_REACH (inf / mean inf - 1)), not to v itself
    inf_rel = inf_per_capita / inf_per_capita[g.study].mean() - 1
    reach = np.maximum(1 + INF_REACH * inf_rel, 0.2)
    inf_z = _z(np.log(inf_per_capita[:, 0]))[:, None]
    return _Transport(railway, highway, reach, inf_z)


@dataclass(frozen=True)
class _Industry:
    prim_share: np.ndarray  # primary share of GDP
    ts0: np.ndarray         # starting tertiary share, (U, 1)
    tert_share: np.ndarray  # tertiary share of GDP


def _industrial_structure(g: _Grid, geo: _Geography, dt: _DigitalTrade) -> _Industry:
    """Industrial structure: a declining primary share and a tertiary share that rises with
    digital-trade volume (industrial upgrading) plus its own AR(1) movement."""
    k, i0, noise, unit_noise = g.k, g.i0, g.noise, g.unit_noise
    dev, muni_rich, v = geo.dev, geo.muni_rich, dt.v
    prim0 = np.clip(0.09 - 0.045 * dev + unit_noise(0.025), 0.004, 0.25) * (1 - 0.85 * muni_rich)
    prim_share = prim0 * np.exp(-0.03 * k)
    ts0 = 0.43 + 0.04 * dev + 0.22 * muni_rich + unit_noise(0.02)
    ts_ar = np.zeros((g.U, g.T))
    ts_shocks = noise(TS_NOISE)
    for t in range(1, g.T):
        ts_ar[:, t] = 0.6 * ts_ar[:, t - 1] + ts_shocks[:, t]
    tert_share = ts0 + 0.004 * k + TS_ON_V * (v - v[:, [i0]]) + ts_ar
    # small units drift further: keep at least 8% of GDP for industry (never binds for the
    # provinces, whose largest primary + tertiary share is 0.88)
    tert_share = np.minimum(tert_share, MAX_PRIMARY_TERTIARY - prim_share)
    return _Industry(prim_share, ts0, tert_share)


@dataclass(frozen=True)
class _Wedges:
    beta: np.ndarray        # capital elasticities, (U, 1)
    labour: np.ndarray      # employment before the wedges allocate it
    share: np.ndarray       # output shares
    ln_gamma_k: np.ndarray  # planted relative capital wedge
    ln_gamma_l: np.ndarray  # planted relative labour wedge


def _hsieh_klenow_wedges(g: _Grid, geo: _Geography, dt: _DigitalTrade) -> _Wedges:
    """Production and allocation, part 1: elasticities, output shares and the planted
    Hsieh-Klenow wedges, whose K/L imbalance shrinks as digital trade grows."""
    units, years, k, i0, ia = g.units, g.years, g.k, g.i0, g.ia
    noise, unit_noise = g.noise, g.unit_noise
    # production and allocation (Hsieh-Klenow). Planted relative distortions
    #   ln gamma_K = phi_i + e_i m_it,  ln gamma_L = phi_i - beta_i/(1-beta_i) e_i m_it,
    # m_it = max(1 + PHI_M (v_i,anchor - v_it), 0.2): the K/L imbalance e_i m_it shrinks as digital
    # trade grows while beta ln gamma_K + (1-beta) ln gamma_L = phi_i stays fixed, so TFP can
    # stay separable (ln A = a_i + lambda_t + noise, what the LSDV elasticities assume).
    beta = np.clip(0.45 + unit_noise(0.04), 0.35, 0.55)
    emp_rate = np.clip(0.55 + unit_noise(0.04), 0.42, 0.68) - 0.002 * k
    labour = geo.pop * emp_rate * np.exp(noise(0.002))
    # m: linear in the trend of the volume, 1 at the anchor year
    m_alloc = np.maximum(1 + PHI_M * (dt.v_trend[:, [ia]] - dt.v_trend), 0.2)
    # at the anchor year: labour wedge G_i implied by the GDP anchors and employment
    s_anchor = units["gdp_anchor"].to_numpy()[:, None] / units["gdp_anchor"].sum()
    l_share = labour[:, [ia]] / labour[:, ia].sum()
    wedge_l = np.log(l_share / ((1 - beta) * s_anchor))
    wedge_l = wedge_l - np.average(wedge_l[:, 0], weights=s_anchor[:, 0])
    # the K/L imbalance has the same size everywhere; its sign: see _imbalance_signs
    sign = _imbalance_signs(wedge_l[:, 0], beta[:, 0], s_anchor[:, 0],
                            (m_alloc[:, i0] - m_alloc[:, ia]) * g.study)
    imbalance = (sign * IMBALANCE)[:, None] / m_alloc[:, [ia]]
    phi = wedge_l + beta / (1 - beta) * imbalance * m_alloc[:, [ia]]
    ln_gamma_k = phi + imbalance * m_alloc
    ln_gamma_l = phi - beta / (1 - beta) * imbalance * m_alloc
    # output shares follow the 2021 anchors with a small unit-specific drift
    share = s_anchor * np.exp(unit_noise(0.006) * (years - g.anchor_year)[None, :])
    share = share / share.sum(axis=0)
    # Hsieh-Klenow distortions are relative to the aggregate: shift each year's wedges by a
    # common amount (absorbed by the year effect of TFP) so that the aggregates stay put and
    # the planted wedges are the relative ones the warehouse measures
    for ln_gamma, weight in ((ln_gamma_k, share * beta), (ln_gamma_l, share * (1 - beta))):
        level = np.log((weight * np.exp(ln_gamma))[g.study].sum(axis=0))
        ln_gamma -= level - level[ia]
    return _Wedges(beta, labour, share, ln_gamma_k, ln_gamma_l)


@dataclass(frozen=True)
class _Production:
    employment: np.ndarray       # as written
    capital: np.ndarray          # real capital stock (column 0 gives way to capital_pre)
    capital_pre: np.ndarray      # real capital stock in the pre-sample year, (U,)
    investment_real: np.ndarray
    y_real: np.ndarray


def _production(g: _Grid, w: _Wedges) -> _Production:
    """Production and allocation, part 2: employment and capital implied by the wedges,
    separable TFP, real output, and investment from the perpetual inventory."""
    k, ia, noise, beta, share = g.k, g.ia, g.noise, w.beta, w.share
    # allocation implied by the wedges: employment and capital follow from the output shares
    # and the wedges, so allocation moves factors (workers migrate) rather than output
    labour_national = w.labour.sum(axis=0)
    labour = share * (1 - beta) * np.exp(w.ln_gamma_l)
    labour = labour / labour.sum(axis=0) * labour_national * np.exp(noise(0.002))
    k_national = 2.6 * np.exp(np.cumsum(0.095 - 0.003 * k, axis=1) - 0.095 * ia)
    capital = share * beta * np.exp(w.ln_gamma_k)
    capital = capital / capital.sum(axis=0) * k_national
    # gross investment of at least MIN_INVESTMENT_RATE of last year's capital (a small county's
    # reallocation could otherwise shrink its capital faster than depreciation; the provinces'
    # lowest rate is 0.066, so the floor never binds for them)
    for t in range(1, g.T):
        capital[:, t] = np.maximum(capital[:, t], (1 - DELTA + MIN_INVESTMENT_RATE) * capital[:, t - 1])
    # separable TFP calibrated at the anchor year, so Y = share x national output there
    lam = np.cumsum(g.growth - 0.045, axis=1)
    lam = lam - lam[:, [ia]]
    ln_a_level = (np.log(share[:, [ia]]) - beta * np.log(capital[:, [ia]])
                  - (1 - beta) * np.log(labour[:, [ia]]))
    y_real = np.exp(ln_a_level + lam + noise(0.004)) * capital ** beta * labour ** (1 - beta)
    investment_real, capital_pre = _perpetual_inventory(capital, g.i0)
    return _Production(np.round(labour, 1), capital, capital_pre, investment_real, y_real)


def _perpetual_inventory(capital: np.ndarray, i0: int) -> tuple[np.ndarray, np.ndarray]:
    """Real investment behind ``capital`` and the pre-sample capital stock."""
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
    return investment_real, capital_pre


@dataclass(frozen=True)
class _Accounts:
    capital: np.ndarray  # real capital stock, national scale
    y_real: np.ndarray   # real output, national scale
    rm: np.ndarray       # planted Hsieh-Klenow misallocation
    gdp: np.ndarray      # the rest as written
    gdp_pc: np.ndarray
    gdp_index: np.ndarray
    va_primary: np.ndarray
    va_secondary: np.ndarray
    va_tertiary: np.ndarray
    fai_index: np.ndarray
    gfcf: np.ndarray


def _prices_and_gdp_accounts(g: _Grid, geo: _Geography, ind: _Industry, w: _Wedges,
                             prod: _Production) -> _Accounts:
    """Price levels and GDP accounts: the GDP deflator, one national scale to the GDP anchors,
    the planted misallocation, value added by industry, the GDP index, FAI prices and GFCF."""
    years, i0, ia, noise, growth = g.years, g.i0, g.ia, g.noise, g.growth
    y_real, employment = prod.y_real, prod.employment
    inflation = np.array([_INFLATION.get(int(y), 0.02) for y in years])[None, :]
    # price level, 1 in the pre-sample year up to a small province-specific start
    deflator = np.exp(np.cumsum(inflation + noise(0.004), axis=1) - inflation[:, [0]])
    gdp_nominal = y_real * deflator
    scale = g.units["gdp_anchor"].sum() / gdp_nominal[:, ia].sum()  # one national factor: shares unchanged
    y_real, gdp_nominal = y_real * scale, gdp_nominal * scale
    capital, investment_real = prod.capital * scale, prod.investment_real * scale
    capital[:, 0] = prod.capital_pre * scale
    # planted resource misallocation (what the warehouse measures, with the true elasticities)
    rm_true = _hsieh_klenow_rm(capital, employment, gdp_nominal, w.beta[:, 0], g.study.astype(float))

    gdp = np.round(gdp_nominal, 2)
    va_primary = np.round(gdp * ind.prim_share, 2)
    va_tertiary = np.round(gdp * ind.tert_share, 2)
    va_secondary = np.round(gdp - va_primary - va_tertiary, 2)
    gdp_index = np.round(100 * y_real / np.concatenate([y_real[:, [0]] / (1 + growth[:, [0]]), y_real[:, :-1]], axis=1), 1)
    fai_index = np.round(np.array([_FAI_PRICE.get(int(y), 102.0) for y in years])[None, :] + noise(0.5), 1)
    fai_level = np.cumprod(fai_index / 100, axis=1)
    fai_level = fai_level / fai_level[:, [i0]]  # base: first study year = 1
    gfcf = np.round(investment_real * fai_level, 2)
    gdp_pc = np.round(gdp * 1e8 / (geo.pop * 1e4), 0)
    return _Accounts(capital, y_real, rm_true, gdp, gdp_pc, gdp_index, va_primary, va_secondary,
                     va_tertiary, fai_index, gfcf)


def _latent_resilience(g: _Grid, geo: _Geography, dt: _DigitalTrade, tr: _Transport,
                       ind: _Industry, rm_true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latent resilience r and its change since the first study year, dr."""
    k, i0, study_units, noise, unit_noise = g.k, g.i0, g.study, g.noise, g.unit_noise
    v, wv = dt.v, dt.wv
    # latent resilience: digital-trade volume raises r directly (more with better transport),
    # through upgrading and lower misallocation, and through the neighbours' volume (spillover)
    r0 = 0.5 * geo.dev + unit_noise(0.3)
    wv_rel = wv - wv[study_units].mean(axis=0)  # level: year effect
    # the mechanisms enter relative to the year's study-unit mean (a common level per year is
    # a year effect): r stays within plausible bounds while the within-unit contrasts are large
    mechanisms = tr.reach * (R_ON_V * v + R_ON_TS * (ind.tert_share - ind.ts0)) - R_ON_RM * rm_true
    mechanisms = mechanisms - mechanisms[study_units].mean(axis=0)
    r = r0 + R_TREND * k + mechanisms + R_ON_WV * wv_rel + noise(0.025)
    dr = r - r[:, [i0]]
    return r, dr


def _income_and_consumption(g: _Grid, geo: _Geography, dt: _DigitalTrade, acc: _Accounts,
                            dr: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Disposable income (a resilience input) and consumption per capita by category, whose
    development share rises with digital-trade volume (consumption upgrading) but does not
    enter r; returns the written series and that share."""
    k, i0, study, covid, noise, unit_noise = g.k, g.i0, g.study, g.covid, g.noise, g.unit_noise
    dev, v = geo.dev, dt.v
    # the resilience inputs respond to r additively (the same absolute amount per unit of r
    # everywhere), so that an index of their levels moves alike in rich and poor units
    income_base = np.clip(0.46 - 0.04 * dev + unit_noise(0.02), 0.35, 0.6) * acc.gdp_pc[:, [i0]]
    income = income_base * np.exp(noise(0.01)) + income_base[study].mean() * (0.04 * k + 0.6 * dr)
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
    series = {"disposable_income_pc": np.round(income, 1), "consumption_pc": consumption_pc, **cons}
    return series, cu_share


def _fiscal_series(g: _Grid, geo: _Geography, dt: _DigitalTrade, acc: _Accounts,
                   dr: np.ndarray) -> dict[str, np.ndarray]:
    """Fiscal expenditure, revenue and tax, and the social-security, science and education
    spending; the social and education shares load on r, science on d."""
    noise, unit_noise = g.noise, g.unit_noise
    dev, east, gdp = geo.dev, geo.east, acc.gdp
    fe_ratio = np.clip(0.2 * np.exp(-0.25 * dev - 0.25 * east[:, None] + unit_noise(0.15)), 0.09, 0.6) * (1 + 2.0 * geo.tibet)
    fiscal_exp = np.round(gdp * fe_ratio * np.exp(0.05 * dr + noise(0.01)), 2)
    self_suff = np.clip(0.45 + 0.12 * dev + unit_noise(0.05) + 0.03 * dr + noise(0.01), 0.08, 0.92)
    fiscal_rev = np.round(fiscal_exp * self_suff, 2)
    tax = np.round(fiscal_rev * np.clip(0.73 + unit_noise(0.04) + noise(0.01), 0.6, 0.86), 2)
    social = np.round(fiscal_exp * np.clip(0.13 + unit_noise(0.02) + 0.01 * dr + noise(0.003), 0.07, 0.22), 2)
    science_share = np.clip(0.02 * np.exp(0.45 * dev + noise(0.03)) + 0.003 * (dt.d - dt.d_first), 0.003, 0.08)
    science = np.round(fiscal_exp * science_share, 2)
    education = np.round(fiscal_exp * np.clip(0.16 + unit_noise(0.015) + 0.005 * dr + noise(0.003), 0.11, 0.21), 2)
    return {"fiscal_revenue": fiscal_rev, "fiscal_expenditure": fiscal_exp,
            "fiscal_exp_social_security": social, "fiscal_exp_science": science,
            "fiscal_exp_education": education, "tax_revenue": tax}


def _resilience_inputs(g: _Grid, geo: _Geography, acc: _Accounts,
                       dr: np.ndarray) -> dict[str, np.ndarray]:
    """The other resilience inputs: deposits, schooling, unemployment (falls with r),
    urbanisation, R&D expenditure and high-tech patents."""
    k, covid, noise, unit_noise = g.k, g.covid, g.noise, g.unit_noise
    dev, muni_rich, pop, gdp = geo.dev, geo.muni_rich, geo.pop, acc.gdp
    deposits = np.round(gdp * (1.9 * np.exp(0.35 * dev + unit_noise(0.2) + noise(0.01)) + 0.25 * dr), 2)
    schooling = np.round(np.clip(9.2 + 0.6 * dev + 0.8 * muni_rich + unit_noise(0.3) + 0.4 * dr + noise(0.03), 5.0, 13.5), 2)
    unemployment = np.round(np.clip(5.0 - 0.4 * dr - 0.2 * dev + unit_noise(0.3) + 0.4 * covid + noise(0.1), 3.0, 6.0), 1)
    urban = np.round(np.clip(100 / (1 + np.exp(-(0.4 + 0.6 * dev + 0.5 * muni_rich + unit_noise(0.15) + 0.15 * dr + 0.03 * k))), 20, 90), 2)
    rd_int = np.clip(0.017 * np.exp(0.5 * dev + unit_noise(0.25) + noise(0.02)) + 0.004 * dr, 0.003, 0.07)
    rd = np.round(gdp * rd_int, 2)
    hightech_pat = np.round(pop * np.maximum(0.3 * np.exp(0.5 * dev + unit_noise(0.2) + noise(0.03)) + 0.25 * dr, 0.01), 0)
    return {"deposits": deposits, "avg_years_schooling": schooling, "unemployment_rate": unemployment,
            "urbanization_rate": urban, "rd_expenditure": rd, "hightech_patent_applications": hightech_pat}


def _digital_and_other_series(g: _Grid, geo: _Geography, dt: _DigitalTrade, tr: _Transport,
                              acc: _Accounts, rd: np.ndarray) -> dict[str, np.ndarray]:
    """The digital-trade inputs as written, mobile phones and e-commerce, trade, FDI, retail,
    express, library, health, electricity and the marketization index; returned in the
    dictionary's order, which puts the transport lengths before the marketization index."""
    years, k, noise, unit_noise = g.years, g.k, g.noise, g.unit_noise
    dev, east, pop, gdp = geo.dev, geo.east, geo.pop, acc.gdp
    d, d_first, digital, covid = dt.d, dt.d_first, dt.digital, g.covid
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
    exchange = np.array([_EXCHANGE.get(int(y), 650.0) for y in years])[None, :] * np.ones((g.U, 1))
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
    return {
        "mobile_phone_penetration": mobile, "optical_cable_length": optical,
        "broadband_ports": ports, "domain_names": domains,
        "domestic_patent_applications": dom_patents, "it_employment": it_emp,
        "industrial_rd_expenditure": ind_rd, "ecommerce_sales": ecommerce,
        "ecommerce_enterprise_share": ecom_share, "broadband_users": bb_users,
        "software_revenue": software, "telecom_volume": telecom, "trade_total": trade,
        "retail_sales": retail, "postal_route_length": postal, "express_volume": express,
        "express_revenue": express_rev, "exchange_rate": exchange, "fdi": fdi,
        "library_holdings": library, "health_institutions": health,
        "electricity_consumption": electricity, "railway_length": tr.railway,
        "highway_length": tr.highway, "marketization_index": market,
    }


def _instrument(g: _Grid, dt: _DigitalTrade) -> np.ndarray:
    """The instrument: fixed telephones in 1984 (万部), higher where d starts higher."""
    return np.round(g.units["pop_anchor"].to_numpy() * 0.005 * np.exp(0.6 * dt.d0[:, 0] + g.rng.normal(0, 0.2, g.U)), 2)


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
