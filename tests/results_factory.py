"""A warehouse with fake-but-complete estimation results, for testing the results marts and
the report without running the estimators.

Three runs are registered in ``results.runs``:

* ``OLD_RUN`` (succeeded, 2013-2021, synthetic vintage),
* ``NEW_RUN`` (succeeded later, 2013-2022, synthetic vintage): the latest successful run,
* ``FAILED_RUN`` (failed, finished after both). It carries result rows too, so that a test
  shows the marts ignore a failed run even if rows of it were left behind.

Every spec of the seed ``specs`` gets the rows its estimator writes (coefficients, model
statistics, mediation, Moran, LISA, spatial effects), with terms named as the estimators name
them. The numbers are made up; the few that tests check cell by cell are the constants below.
``marts.analysis_panel``, ``marts.rpt_descriptive_stats`` and ``marts.unit_boundaries`` are
small stand-ins (unit names for the figures, Table 3, the real province boundaries for the
maps).
"""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from estimation.design import lag_name
from estimation.specs import Spec
from flows.pipeline import seed_specs
from warehouse.boundaries import read_boundaries
from warehouse.dbt_runner import dbt_build
from warehouse.paths import DBT_PROJECT_DIR
from warehouse.results_store import ensure_schema, write_results

OLD_RUN, NEW_RUN, FAILED_RUN = "run-2025-01-old", "run-2025-06-new", "run-2025-07-failed"
SYNTHETIC_VINTAGE = "synthetic sample 2013-2022 (not real data)"

# The cells tests check (NEW_RUN, spec baseline_pooled, term dt) -> "0.498***" / "(0.025)".
NEW_DT = dict(estimate=0.4981, std_error=0.0251, p_value=0.003)
OLD_DT = dict(estimate=0.4500, std_error=0.0300, p_value=0.030)
MORAN_YEARS = range(2013, 2023)
UNITS = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45,
         46, 50, 51, 52, 53, 61, 62, 63, 64, 65]
FIXED_STATS = {  # spec_id -> statistics the tests read
    "iv_2sls": {"kp_rk_lm": 5.023, "kp_rk_lm_p": 0.025, "cragg_donald_f": 216.133,
                "kp_rk_wald_f": 150.5, "stock_yogo_10pct": 16.38},
    "tobit_re": {"lr_stat": 418.76, "lr_p": 1e-9},
    "hausman": {"statistic": 31.4, "df": 6.0, "p_value": 2e-5, "statistic_plain": 12.6,
                "df_plain": 6.0, "p_value_plain": 0.05},
}


def coefficient_terms(spec: Spec) -> list[str]:
    """The terms an estimator writes for ``spec`` (as estimation names them)."""
    names = list(spec.explanatory)
    if spec.lag:
        names = [lag_name(n) for n in names]
    if spec.estimator == "sdm":
        return [*names, *(f"w_{n}" for n in names), "rho"]
    if spec.estimator == "sar":
        return [*names, "rho"]
    if spec.estimator == "sem":
        return [*names, "lambda"]
    return names if spec.estimator == "fe_2sls" else [*names, "const"]


def fake_frames(run_index: int) -> dict[str, pd.DataFrame]:
    """Result frames of one run; ``run_index`` shifts every number so runs differ."""
    rng = np.random.default_rng(100 + run_index)
    dt_cell = NEW_DT if run_index == 1 else OLD_DT
    coef_rows, stat_rows, effect_rows, mediation_rows, moran_rows, quadrant_rows = [], [], [], [], [], []
    lisa_rows = []

    def coefficient(spec_id, term, nobs, spatial):
        if spec_id == "baseline_pooled" and term == "dt":
            est, se, p = dt_cell["estimate"], dt_cell["std_error"], dt_cell["p_value"]
        elif term == "rho":
            est, se, p = 0.234, 0.085, 0.006
        else:
            est, se, p = float(rng.normal(0.3, 0.2)), float(rng.uniform(0.01, 0.1)), float(rng.uniform(0, 0.3))
        coef_rows.append(dict(spec_id=spec_id, term=term, estimate=est, std_error=se, t_stat=est / se,
                              p_value=p, ci_low=est - 1.96 * se, ci_high=est + 1.96 * se, nobs=nobs,
                              estimator="ml_lee_yu_2010" if spatial else "ols",
                              cov_type="information_matrix" if spatial else "cluster_unit_stata"))

    for spec in seed_specs():
        spatial = spec.estimator in ("sdm", "sar", "sem")
        if spec.estimator in ("ols", "fe_2sls", "tobit_re", "sdm", "sar", "sem"):
            nobs = 240 if spec.spec_id in ("iv_2sls", "lag_dt") else 270
            for term in coefficient_terms(spec):
                coefficient(spec.spec_id, term, nobs, spatial)
            stats = {"nobs": float(nobs), "adj_r2": 0.9 + 0.01 * run_index, "r2_within": 0.5}
            if spatial:
                stats = {"nobs": 270.0, "r2_within": 0.067, "pseudo_r2": 0.31,
                         "log_likelihood": 812.5 + run_index, "sigma2": 0.0004}
            stat_rows += [dict(spec_id=spec.spec_id, stat=k, value=v) for k, v in stats.items()]
        if spec.estimator in ("sdm", "sar"):
            for term in spec.explanatory:
                for effect in ("direct", "indirect", "total"):
                    # the point effect and the draws' mean differ, as they do with a flat likelihood
                    point, sd = float(rng.normal(0.3, 0.2)), float(rng.uniform(0.01, 0.1))
                    effect_rows.append(dict(
                        spec_id=spec.spec_id, term=term, effect=effect, estimate=point, std_error=sd,
                        p_value=float(rng.uniform(0, 0.2)), sim_mean=point + 0.5 * sd, sim_median=point + 0.1 * sd,
                        sim_q025=point - 2 * sd, sim_q975=point + 2.2 * sd, draws=1000))
        if spec.estimator == "mediation":
            mediation_rows += [dict(spec_id=spec.spec_id, mediator=spec.mediator, a=0.13, se_a=0.04, b=0.2,
                                    se_b=0.06, indirect=0.026, sobel_z=2.3, sobel_p=0.02, method=method,
                                    ci_low=0.0059635 + 0.001 * run_index, ci_high=0.0480983,
                                    replications=1000, seed=12345)
                               for method in ("percentile", "bias_corrected")]
        if spec.estimator == "moran":
            for year in MORAN_YEARS:
                moran_i = 0.1 + 0.01 * (year - 2013) + (0.1 if spec.weights == "economic" else 0)
                # Table 9 prints the randomisation one-sided p (0.04 in 2018); the others differ
                moran_rows.append(dict(spec_id=spec.spec_id, matrix=spec.weights, variable=spec.dependent,
                                       year=year, moran_i=moran_i, expected_i=-1 / 29, variance_norm=0.0016,
                                       z_norm=3.0, p_norm=0.2, p_norm_greater=0.1, variance_rand=0.0017,
                                       z_rand=2.9, p_rand=0.3, p_rand_greater=0.04 if year == 2018 else 0.002,
                                       p_perm=0.15, p_perm_greater=0.15, permutations=999))
                z = rng.normal(size=len(UNITS))
                lag = moran_i * z + rng.normal(0, 0.3, len(UNITS))
                quadrant_rows += [dict(spec_id=spec.spec_id, matrix=spec.weights, variable=spec.dependent,
                                       year=year, unit_code=u, z=zi, spatial_lag=li,
                                       quadrant=("H" if zi > 0 else "L") + ("H" if li > 0 else "L"))
                                  for u, zi, li in zip(UNITS, z, lag)]
        if spec.estimator == "lisa":
            for year in MORAN_YEARS:
                value = rng.uniform(0.1, 0.7, len(UNITS))
                z = (value - value.mean()) / value.std()
                lag = 0.4 * z + rng.normal(0, 0.5, len(UNITS))
                p = rng.uniform(0.001, 0.5, len(UNITS))
                lisa_rows += [dict(spec_id=spec.spec_id, matrix=spec.weights, variable=spec.dependent, year=year,
                                   unit_code=u, value=v, z=zi, spatial_lag=li, ii=29 / 30 * zi * li,
                                   ii_z=2.0, p=pi, quadrant=("H" if zi > 0 else "L") + ("H" if li > 0 else "L"),
                                   significant=pi <= 0.05, alpha=0.05, adjustment="none", permutations=999)
                              for u, v, zi, li, pi in zip(UNITS, value, z, lag, p)]
        for stat, value in FIXED_STATS.get(spec.spec_id, {}).items():
            stat_rows.append(dict(spec_id=spec.spec_id, stat=stat, value=value))
    return {
        "coefficients": pd.DataFrame(coef_rows), "model_stats": pd.DataFrame(stat_rows),
        "mediation": pd.DataFrame(mediation_rows), "moran": pd.DataFrame(moran_rows),
        "moran_quadrants": pd.DataFrame(quadrant_rows), "spatial_effects": pd.DataFrame(effect_rows),
        "lisa": pd.DataFrame(lisa_rows),
        "spatial_profile": pd.DataFrame({"spec_id": ["sdm_geographic"], "rho": [0.234],
                                         "log_likelihood": [812.5]}),
    }


RUNS = [
    # run_id, status, started, finished, vintage, latest_year
    (OLD_RUN, "succeeded", "2025-01-01 10:00", "2025-01-01 10:30", "synthetic sample 2013-2021", 2021),
    (NEW_RUN, "succeeded", "2025-06-01 10:00", "2025-06-01 10:40", SYNTHETIC_VINTAGE, 2022),
    (FAILED_RUN, "failed", "2025-07-01 10:00", "2025-07-01 10:05", SYNTHETIC_VINTAGE, 2022),
]


def write_fake_results(con: duckdb.DuckDBPyConnection, vintage: str | None = None) -> None:
    """Register the three runs and write their result rows; ``vintage`` overrides the label
    of every run (e.g. a non-synthetic label)."""
    ensure_schema(con)
    for index, (run_id, status, started, finished, label, latest_year) in enumerate(RUNS):
        con.execute(
            "INSERT INTO results.runs (run_id, flow_run_id, started_at, finished_at, status, "
            "vintage, latest_year, files, code_version, parameters, error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, f"flow-{index}", started, finished, status, vintage or label, latest_year,
             json.dumps([{"file": "nbs_gdp.csv", "sha256": "ab12", "vintage": label},
                         {"file": "cnrds_panel.xlsx", "sha256": "cd34", "vintage": label}]), "test",
             '{"replications": 1000}', "boom" if status == "failed" else None],
        )
        write_results(con, run_id, fake_frames(index))


def write_fake_panel(con: duckdb.DuckDBPyConnection) -> None:
    """Stand-ins for marts.analysis_panel (unit names), marts.rpt_descriptive_stats and
    marts.unit_boundaries (the packaged province boundaries of the units)."""
    panel = pd.DataFrame([dict(unit_code=c, unit_name=f"P{c}", year=y) for c in UNITS for y in MORAN_YEARS])
    # Same columns as dbt_project/models/marts/rpt_descriptive_stats.sql.
    descriptive = pd.DataFrame({
        "row_order": [1, 2], "variable_type": ["Dependent variable", "Independent variable"],
        "variable": ["ER", "DT"], "panel_column": ["er", "dt"], "n": [300, 300],
        "mean": [0.262, 0.129], "sd": [0.123, 0.133], "min": [0.113, 0.006],
        "max": [0.687, 0.838],
    })
    shapes = read_boundaries("province", UNITS)
    boundaries = pd.DataFrame({"unit_code": UNITS, "unit_name": [f"P{c}" for c in UNITS],
                               "unit_level": "province", "province_code": UNITS,
                               "geometry": [g.wkb for g in shapes.geometry]})
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    for name, frame in [("analysis_panel", panel), ("rpt_descriptive_stats", descriptive),
                        ("unit_boundaries", boundaries)]:
        con.register("_frame", frame)
        con.execute(f"CREATE OR REPLACE TABLE marts.{name} AS SELECT * FROM _frame")
        con.unregister("_frame")


def build_results_marts(warehouse: Path, project_dir: Path = DBT_PROJECT_DIR) -> None:
    """``dbt build`` of the seeds and the results marts (models and their YAML tests) only."""
    dbt_build(warehouse, select="resource_type:seed path:models/marts/results", project_dir=project_dir)


def make_results_warehouse(tmp: Path, vintage: str | None = None,
                           project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """A warehouse file under ``tmp`` with fake results and the results marts built."""
    warehouse = tmp / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        write_fake_results(con, vintage=vintage)
        write_fake_panel(con)
    build_results_marts(warehouse, project_dir=project_dir)
    return warehouse


_SHARED: dict[str, Path] = {}


def shared_results_warehouse(tmp_path_factory) -> Path:
    """One built warehouse per test session (dbt takes ~20 s); copy it before changing it."""
    if "path" not in _SHARED:
        _SHARED["path"] = make_results_warehouse(tmp_path_factory.mktemp("results_warehouse"))
    return _SHARED["path"]
