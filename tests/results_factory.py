"""A warehouse with fake-but-complete estimation results, for testing the results marts and
the report without running the estimators.

Three runs are registered in ``results.runs``:

* ``OLD_RUN`` (succeeded, 2013-2021, synthetic vintage),
* ``NEW_RUN`` (succeeded later, 2013-2022, synthetic vintage): the latest successful run,
* ``FAILED_RUN`` (failed, finished after both). It carries result rows too, so that a test
  shows the marts ignore a failed run even if rows of it were left behind.

Every spec the marts read gets coefficients, model statistics, mediation, Moran and
spatial-effect rows. The numbers are made up; the few that tests check cell by cell are the
constants below. ``marts.analysis_panel``, ``marts.spatial_weights`` and
``marts.rpt_descriptive_stats`` are written as small stand-ins for the dbt engineer's models
so that the results marts (which reference them) and the report's figures can be built.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from estimation.store import ensure_schema, write_results
from warehouse.paths import DBT_PROJECT_DIR

OLD_RUN, NEW_RUN, FAILED_RUN = "run-2025-01-old", "run-2025-06-new", "run-2025-07-failed"
SYNTHETIC_VINTAGE = "synthetic sample 2013-2022 (not real data)"

# The cells tests check (NEW_RUN, spec baseline_pooled, term dt) -> "0.498***" / "(0.025)".
NEW_DT = dict(estimate=0.4981, std_error=0.0251, p_value=0.003)
OLD_DT = dict(estimate=0.4500, std_error=0.0300, p_value=0.030)

REGRESSION_SPECS: dict[str, tuple[str, ...]] = {
    "baseline_pooled": ("dt", "const"),
    "baseline_twfe": ("dt", "const"),
    "baseline_pooled_controls": ("dt", "medical", "ec", "open", "tax", "culture", "const"),
    "baseline_twfe_controls": ("dt", "medical", "ec", "open", "tax", "culture", "const"),
    "iv_2sls": ("dt", "medical", "ec", "open", "tax", "culture"),
    "lag_dt": ("l_dt", "l_medical", "l_ec", "l_open", "l_tax", "l_culture", "const"),
    "pca_measures": ("dt_pca", "medical", "ec", "open", "tax", "culture", "const"),
    "excl_municipalities": ("dt", "medical", "ec", "open", "tax", "culture", "const"),
    "tobit_re": ("dt", "medical", "ec", "open", "tax", "culture", "const"),
    "moderation_inf": ("dt", "dt_x_inf", "inf", "medical", "ec", "open", "tax", "culture", "const"),
    "moderation_inf_centred": ("dt", "dt_x_inf", "inf", "medical", "ec", "open", "tax", "culture", "const"),
    **{f"region_{r}": ("dt", "medical", "ec", "open", "tax", "culture", "const")
       for r in ("east", "central", "west")},
    **{f"market_{g}": ("dt", "medical", "ec", "open", "tax", "culture", "const")
       for g in ("high", "low")},
    **{f"mediation_{m}_a": ("dt", "medical", "ec", "open", "tax", "culture", "const")
       for m in ("isu", "rm", "cu")},
    **{f"mediation_{m}_b": ("dt", m, "medical", "ec", "open", "tax", "culture", "const")
       for m in ("isu", "rm", "cu")},
}
SPATIAL_SPECS = ("sdm_geographic", "sdm_economic")
SPATIAL_TERMS = ("dt", "medical", "ec", "open", "tax", "culture")
MORAN_YEARS = range(2013, 2023)


def fake_frames(run_index: int) -> dict[str, pd.DataFrame]:
    """Result frames of one run; ``run_index`` shifts every number so runs differ."""
    rng = np.random.default_rng(100 + run_index)
    dt_cell = NEW_DT if run_index == 1 else OLD_DT
    coef_rows, stat_rows = [], []
    for spec_id, terms in REGRESSION_SPECS.items():
        nobs = 240 if spec_id in ("iv_2sls", "lag_dt") else 270
        for term in terms:
            if spec_id == "baseline_pooled" and term == "dt":
                est, se, p = dt_cell["estimate"], dt_cell["std_error"], dt_cell["p_value"]
            else:
                est = float(rng.normal(0.3, 0.2))
                se = float(rng.uniform(0.01, 0.1))
                p = float(rng.uniform(0, 0.3))
            coef_rows.append(dict(spec_id=spec_id, term=term, estimate=est, std_error=se,
                                  t_stat=est / se, p_value=p, ci_low=est - 1.96 * se,
                                  ci_high=est + 1.96 * se, nobs=nobs, estimator="ols",
                                  cov_type="cluster_province_stata"))
        stat_rows += [dict(spec_id=spec_id, stat="nobs", value=float(nobs)),
                      dict(spec_id=spec_id, stat="adj_r2", value=0.9 + 0.01 * run_index),
                      dict(spec_id=spec_id, stat="r2_within", value=0.5)]
    stat_rows += [
        dict(spec_id="iv_2sls", stat="kp_rk_lm", value=5.023),
        dict(spec_id="iv_2sls", stat="kp_rk_lm_p", value=0.025),
        dict(spec_id="iv_2sls", stat="cragg_donald_f", value=216.133),
        dict(spec_id="iv_2sls", stat="kp_rk_wald_f", value=150.5),
        dict(spec_id="iv_2sls", stat="stock_yogo_10pct", value=16.38),
        dict(spec_id="tobit_re", stat="lr_stat", value=418.76),
        dict(spec_id="tobit_re", stat="lr_p", value=1e-9),
        dict(spec_id="hausman", stat="statistic", value=31.4),
        dict(spec_id="hausman", stat="df", value=6.0),
        dict(spec_id="hausman", stat="p_value", value=2e-5),
    ]
    for spec_id in SPATIAL_SPECS:
        for term in ("rho", *SPATIAL_TERMS, *(f"w_{t}" for t in SPATIAL_TERMS)):
            est = 0.234 if term == "rho" else float(rng.normal(0.2, 0.2))
            se = 0.085 if term == "rho" else float(rng.uniform(0.01, 0.1))
            p = 0.006 if term == "rho" else float(rng.uniform(0, 0.3))
            coef_rows.append(dict(spec_id=spec_id, term=term, estimate=est, std_error=se,
                                  t_stat=est / se, p_value=p, ci_low=est - 1.96 * se,
                                  ci_high=est + 1.96 * se, nobs=270, estimator="sdm_lee_yu",
                                  cov_type="ml"))
        stat_rows += [dict(spec_id=spec_id, stat="nobs", value=270.0),
                      dict(spec_id=spec_id, stat="r2_within", value=0.067),
                      dict(spec_id=spec_id, stat="pseudo_r2", value=0.31),
                      dict(spec_id=spec_id, stat="log_likelihood", value=812.5 + run_index),
                      dict(spec_id=spec_id, stat="sigma2", value=0.0004)]
    effect_rows = [
        dict(spec_id=spec_id, term=term, effect=effect,
             estimate=float(rng.normal(0.3, 0.2)), std_error=float(rng.uniform(0.01, 0.1)),
             p_value=float(rng.uniform(0, 0.2)), draws=1000)
        for spec_id in SPATIAL_SPECS for term in SPATIAL_TERMS
        for effect in ("direct", "indirect", "total")
    ]
    mediation_rows = [
        dict(mediator=m, a=0.13, se_a=0.04, b=0.2, se_b=0.06, indirect=0.026, sobel_z=2.3,
             sobel_p=0.02, method=method, ci_low=0.0059635 + 0.001 * run_index,
             ci_high=0.0480983, replications=1000, seed=12345)
        for m in ("isu", "rm", "cu") for method in ("percentile", "bias_corrected")
    ]
    moran_rows, quadrant_rows = [], []
    for matrix in ("geographic", "economic"):
        for variable in ("dt", "er"):
            for year in MORAN_YEARS:
                i = 0.1 + 0.01 * (year - 2013) + (0.1 if matrix == "economic" else 0)
                moran_rows.append(dict(matrix=matrix, variable=variable, year=year, moran_i=i,
                                       expected_i=-1 / 29, variance_norm=0.0016, z_norm=3.0,
                                       p_norm=0.04 if year == 2018 else 0.002, p_perm=0.01,
                                       permutations=999))
    return {
        "coefficients": pd.DataFrame(coef_rows),
        "model_stats": pd.DataFrame(stat_rows),
        "mediation": pd.DataFrame(mediation_rows),
        "moran": pd.DataFrame(moran_rows),
        "moran_quadrants": pd.DataFrame(quadrant_rows, columns=[
            "matrix", "variable", "year", "province_code", "z", "spatial_lag", "quadrant"]),
        "spatial_effects": pd.DataFrame(effect_rows),
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
                         {"file": "cnrds_panel.xlsx", "sha256": "cd34", "vintage": label}]), "test", '{"replications": 1000}',
             "boom" if status == "failed" else None],
        )
        write_results(con, run_id, fake_frames(index))


def write_fake_panel(con: duckdb.DuckDBPyConnection) -> None:
    """Stand-ins for marts.analysis_panel, marts.spatial_weights, marts.rpt_descriptive_stats."""
    rng = np.random.default_rng(7)
    codes = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45,
             46, 50, 51, 52, 53, 61, 62, 63, 64, 65]
    lat, lon = rng.uniform(20, 45, len(codes)), rng.uniform(90, 125, len(codes))
    years = list(range(2013, 2023))
    panel = pd.DataFrame([
        dict(province_code=c, province=f"P{c}", year=y, er=float(rng.uniform(0.1, 0.7)),
             dt=float(rng.uniform(0.0, 0.8)))
        for c in codes for y in years
    ])
    dist = np.hypot(lat[:, None] - lat[None, :], lon[:, None] - lon[None, :])
    with np.errstate(divide="ignore"):
        w = np.where(dist > 0, 1 / dist, 0.0)
    w = w / w.sum(axis=1, keepdims=True)
    weights = pd.DataFrame([
        dict(matrix=m, province_code_i=ci, province_code_j=cj, weight=float(w[i, j]))
        for m in ("geographic", "economic") for i, ci in enumerate(codes)
        for j, cj in enumerate(codes)
    ])
    # Same columns as dbt_project/models/marts/rpt_descriptive_stats.sql.
    descriptive = pd.DataFrame({
        "row_order": [1, 2], "variable_type": ["Dependent variable", "Independent variable"],
        "variable": ["ER", "DT"], "panel_column": ["er", "dt"], "n": [300, 300],
        "mean": [0.262, 0.129], "sd": [0.123, 0.133], "min": [0.113, 0.006],
        "max": [0.687, 0.838],
    })
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    for name, frame in [("analysis_panel", panel), ("spatial_weights", weights),
                        ("rpt_descriptive_stats", descriptive)]:
        con.register("_frame", frame)
        con.execute(f"CREATE OR REPLACE TABLE marts.{name} AS SELECT * FROM _frame")
        con.unregister("_frame")


def build_results_marts(warehouse: Path, work_dir: Path, project_dir: Path = DBT_PROJECT_DIR) -> None:
    """``dbt build`` of models/results only (models and their YAML tests) on ``warehouse``.

    dbt runs in a subprocess with its own target/log folders under ``work_dir``, so tests do
    not share dbt_project/target with anyone else.
    """
    dbt = Path(sys.executable).with_name("dbt")
    env = {**os.environ, "RESILIENCE_WAREHOUSE": str(warehouse),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DBT_TARGET_PATH": str(work_dir / "target"),
           "DBT_LOG_PATH": str(work_dir / "logs")}
    proc = subprocess.run(
        [str(dbt), "build", "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
         "--select", "path:models/results", "--no-use-colors"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"dbt build of the results marts failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}")


def make_results_warehouse(tmp: Path, vintage: str | None = None,
                           project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """A warehouse file under ``tmp`` with fake results and the results marts built."""
    warehouse = tmp / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        write_fake_results(con, vintage=vintage)
        write_fake_panel(con)
    build_results_marts(warehouse, tmp, project_dir=project_dir)
    return warehouse


_SHARED: dict[str, Path] = {}


def shared_results_warehouse(tmp_path_factory) -> Path:
    """One built warehouse per test session (dbt takes ~20 s); copy it before changing it."""
    if "path" not in _SHARED:
        _SHARED["path"] = make_results_warehouse(tmp_path_factory.mktemp("results_warehouse"))
    return _SHARED["path"]
