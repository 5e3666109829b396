"""A small synthetic ``raw.observations`` writer for developing and testing the dbt project
without the loader: plausible, internally consistent values (value added sums to GDP,
consumption categories sum to total consumption, indices around 100) for every series of
the dictionary seed, 31 provinces, ``years`` plus the 1984 telephone cross-section.

The values are random but reproducible (``seed``); they are not meant to resemble the real
yearbooks beyond orders of magnitude. The table layout is the loader's contract
(docs/CONTRACTS.md, schema ``raw``).
"""
from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

SEEDS = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"

RAW_DDL = """
create schema if not exists raw;
create or replace table raw.observations (
    indicator_code varchar, province_code integer, year integer, value double, unit varchar,
    reported_value double, reported_unit varchar, source_file varchar, source_line integer,
    vintage varchar, loaded_at timestamp)
"""


def _seed(name: str) -> list[dict]:
    with open(SEEDS / name, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def synthetic_observations(years=range(2013, 2022), seed: int = 7) -> pd.DataFrame:
    """Long frame (indicator_code, province_code, year, value) for every dictionary series."""
    rng = np.random.default_rng(seed)
    provinces = [int(p["province_code"]) for p in _seed("provinces.csv")]
    years = list(years)
    units = {r["code"]: r["unit"] for r in _seed("indicators.csv")}
    rows = []
    for code in provinces:
        size = rng.lognormal(0.0, 0.6)          # province scale (GDP, population)
        rich = rng.lognormal(0.0, 0.35)         # income level
        growth = rng.uniform(0.03, 0.09)
        digital = rng.lognormal(0.0, 0.8)       # digital-economy intensity
        market = rng.uniform(4, 10)
        pop = 4000 * size * rng.uniform(0.8, 1.2)
        k_share = rng.uniform(0.35, 0.55)
        rows.append(("fixed_telephones_1984", code, 1984, 8 * size * rng.uniform(0.5, 1.5)))
        for k, y in enumerate(years):
            g = (1 + growth) ** k
            e = lambda s=0.05: float(np.exp(rng.normal(0, s)))  # noqa: E731
            gdp = 30000 * size * rich * g * e()
            shares = np.array([0.08 / rich, 0.40, 0.52 * rich]) * np.array([e(0.02) for _ in range(3)])
            shares /= shares.sum()
            p = pop * (1.003 ** k)
            cons = 20000 * rich * g * e(0.03)
            cats = np.array([0.30, 0.07, 0.23, 0.06, 0.13, 0.11, 0.08, 0.02]) * np.array([e(0.05) for _ in range(8)])
            cats = cats / cats.sum() * cons
            fexp = gdp * 0.25 / rich * e()
            rate = 620 + 10 * k + rng.normal(0, 3)  # same-year rate would be national; noise is fine here
            v = {
                "gdp": gdp, "gdp_per_capita": gdp * 1e8 / (p * 1e4),
                "gdp_index": 100 * (1 + growth) * e(0.01),
                "va_primary": gdp * shares[0], "va_secondary": gdp * shares[1], "va_tertiary": gdp * shares[2],
                "population": p, "urbanization_rate": min(90, 50 * rich ** 0.5 + 1.0 * k) * e(0.01),
                "employment": p * 0.55 * e(0.02), "disposable_income_pc": cons * 1.45 * e(0.02),
                "consumption_pc": cons, "cons_food": cats[0], "cons_clothing": cats[1], "cons_housing": cats[2],
                "cons_household": cats[3], "cons_transport_comm": cats[4], "cons_education_culture": cats[5],
                "cons_health": cats[6], "cons_other": cats[7],
                "fiscal_revenue": fexp * 0.55 * rich * e(), "fiscal_expenditure": fexp,
                "fiscal_exp_social_security": fexp * 0.13 * e(), "fiscal_exp_science": fexp * 0.03 * digital ** 0.5 * e(),
                "fiscal_exp_education": fexp * 0.16 * e(), "tax_revenue": gdp * 0.07 * e(),
                "deposits": gdp * 1.8 * e(), "avg_years_schooling": 9.2 * rich ** 0.2 + 0.08 * k + rng.normal(0, 0.05),
                "unemployment_rate": 3.8 * e(0.1), "gfcf": gdp * k_share * e(0.08),
                "fai_price_index": 100 + rng.normal(1.5, 1.5), "rd_expenditure": gdp * 0.018 * digital ** 0.5 * e(),
                "hightech_patent_applications": 3000 * size * digital * g * e(0.1),
                "mobile_phone_penetration": 95 * rich ** 0.3 * (1.02 ** k) * e(0.02),
                "optical_cable_length": 120000 * size * g * e(), "broadband_ports": 1200 * size * g * e(),
                "domain_names": 40 * size * digital * e(0.1), "domestic_patent_applications": 50000 * size * digital * g * e(),
                "it_employment": 5 * size * digital * g * e(), "industrial_rd_expenditure": gdp * 0.012 * digital * e(),
                "ecommerce_sales": 3000 * size * digital * g ** 1.5 * e(0.1),
                "ecommerce_enterprise_share": min(25, 8 * digital ** 0.3 + 0.5 * k) * e(0.05),
                "broadband_users": 700 * size * g * e(), "software_revenue": 400 * size * digital ** 1.5 * g * e(0.1),
                "telecom_volume": 600 * size * g ** 2 * e(0.1), "trade_total": 5e7 * size * digital * e(0.1),
                "retail_sales": gdp * 0.4 * e(), "postal_route_length": 150000 * size * e(),
                "express_volume": 40000 * size * digital * g ** 2 * e(0.1), "express_revenue": 500000 * size * digital * g ** 2 * e(0.1),
                "exchange_rate": rate, "fdi": 3000 * size * digital ** 0.5 * e(0.15),
                "library_holdings": 0.7 * p * rich * e(), "health_institutions": p * 7 * e(0.05),
                "electricity_consumption": gdp * 0.08 * e(0.1), "railway_length": 0.18 * size * (1.02 ** k) * e(0.02),
                "highway_length": 6 * size * (1.01 ** k) * e(0.02), "marketization_index": market + 0.15 * k + rng.normal(0, 0.1),
            }
            missing = set(units) - set(v) - {"fixed_telephones_1984"}
            assert not missing, f"fixture lacks series {sorted(missing)}"
            rows += [(c, code, y, float(val)) for c, val in v.items()]
    return pd.DataFrame(rows, columns=["indicator_code", "province_code", "year", "value"])


def write_raw(warehouse: Path, frame: pd.DataFrame | None = None, drop_cells=()) -> pd.DataFrame:
    """Create ``raw.observations`` in ``warehouse`` and fill it with ``frame`` (default: the
    synthetic frame). ``drop_cells``: (indicator_code, province_code, year) tuples whose value
    is set to NULL, as the loader does for a missing cell."""
    frame = synthetic_observations() if frame is None else frame.copy()
    units = {r["code"]: r["unit"] for r in _seed("indicators.csv")}
    for ind, prov, yr in drop_cells:
        mask = (frame.indicator_code == ind) & (frame.province_code == prov) & (frame.year == yr)
        frame.loc[mask, "value"] = np.nan
    frame["unit"] = frame.indicator_code.map(units)
    frame["reported_value"] = frame["value"]
    frame["reported_unit"] = frame["unit"]
    frame["source_file"] = "fixture"
    frame["source_line"] = 0
    frame["vintage"] = "dbt-fixture (synthetic)"
    frame["loaded_at"] = pd.Timestamp("2026-01-01")
    with duckdb.connect(str(warehouse)) as con:
        con.execute(RAW_DDL)
        con.register("_f", frame)
        con.execute("insert into raw.observations select indicator_code, province_code, year, value, unit, "
                    "reported_value, reported_unit, source_file, source_line, vintage, loaded_at from _f")
    return frame


# --- built warehouses shared by the dbt test modules (built once per test session) -------
import atexit  # noqa: E402
import functools  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
_BUILD_ROOT = Path(tempfile.mkdtemp(prefix="resilience-dbt-tests-"))
atexit.register(shutil.rmtree, _BUILD_ROOT, ignore_errors=True)  # the shared builds live for the session


def built_fixture_warehouse(first_year: int = 2013, last_year: int = 2021,
                            vars_json: str | None = None) -> Path:
    """A warehouse with the synthetic raw.observations of ``first_year..last_year`` (the same
    random draws for the shared years) built by dbt with the given vars (JSON string, for
    caching). Read-only use, please: tests that change the data build their own."""
    return _built_fixture_warehouse(first_year, last_year, vars_json)


@functools.cache  # one build per distinct (years, vars), however the caller spells the args
def _built_fixture_warehouse(first_year: int, last_year: int, vars_json: str | None) -> Path:
    import json

    from warehouse.dbt_runner import dbt_build

    name = f"fx_{first_year}_{last_year}_{abs(hash(vars_json)) if vars_json else 'default'}.duckdb"
    path = _BUILD_ROOT / name
    frame = synthetic_observations(years=range(2013, 2023))
    keep = (frame.year == 1984) | frame.year.between(first_year, last_year)
    write_raw(path, frame[keep].reset_index(drop=True))
    dbt_build(path, extra_vars=json.loads(vars_json) if vars_json else None)
    return path


def sample_available() -> bool:
    """True once the loader and the bundled synthetic sample have landed."""
    return (REPO / "warehouse" / "loader.py").exists() and (REPO / "sample" / "base").is_dir()


@functools.cache
def built_sample_warehouse() -> Path:
    """sample/base loaded by warehouse.loader and built by dbt (needs sample_available())."""
    from warehouse.dbt_runner import dbt_build
    from warehouse.loader import load_landing

    path = _BUILD_ROOT / "sample_base.duckdb"
    load_landing(REPO / "sample" / "base", path)
    dbt_build(path)
    return path


def panel_warehouse() -> Path:
    """The built bundled sample when it is present, else the built synthetic fixture."""
    return built_sample_warehouse() if sample_available() else built_fixture_warehouse()
