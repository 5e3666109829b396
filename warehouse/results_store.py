"""Schema ``results``: the tables every estimate is written to, and the one writer.

Estimators never touch the database: ``estimation`` turns its results into frames
(``Result.tidy()``) whose columns are those below *without* ``run_id``; :func:`write_results`
checks the columns, stamps the run id and inserts every frame inside one transaction, so a
failed run leaves no rows. :func:`ensure_schema` creates the tables and brings an older
warehouse's tables up to these columns (added columns, renamed ones), so data are never lost.
"""
from __future__ import annotations

from typing import Mapping

import duckdb
import pandas as pd

# Column name -> DuckDB type, in order. ``run_id`` is prepended to every table but ``runs``.
RESULT_TABLES: dict[str, dict[str, str]] = {
    "coefficients": {
        "spec_id": "VARCHAR", "term": "VARCHAR", "estimate": "DOUBLE", "std_error": "DOUBLE",
        "t_stat": "DOUBLE", "p_value": "DOUBLE", "ci_low": "DOUBLE", "ci_high": "DOUBLE",
        "nobs": "INTEGER", "estimator": "VARCHAR", "cov_type": "VARCHAR",
    },
    "model_stats": {"spec_id": "VARCHAR", "stat": "VARCHAR", "value": "DOUBLE"},
    "mediation": {
        "spec_id": "VARCHAR", "mediator": "VARCHAR", "a": "DOUBLE", "se_a": "DOUBLE", "b": "DOUBLE", "se_b": "DOUBLE",
        "indirect": "DOUBLE", "sobel_z": "DOUBLE", "sobel_p": "DOUBLE", "method": "VARCHAR",
        "ci_low": "DOUBLE", "ci_high": "DOUBLE", "replications": "INTEGER", "seed": "INTEGER",
    },
    # Moran's I under the normality (_norm) and randomisation (_rand) nulls: p_* two-sided,
    # p_*_greater upper one-sided; p_perm folded (esda), p_perm_greater upper (spdep moran.mc).
    "moran": {
        "spec_id": "VARCHAR", "matrix": "VARCHAR", "variable": "VARCHAR", "year": "INTEGER", "moran_i": "DOUBLE",
        "expected_i": "DOUBLE", "variance_norm": "DOUBLE", "z_norm": "DOUBLE", "p_norm": "DOUBLE",
        "p_norm_greater": "DOUBLE", "variance_rand": "DOUBLE", "z_rand": "DOUBLE", "p_rand": "DOUBLE",
        "p_rand_greater": "DOUBLE", "p_perm": "DOUBLE", "p_perm_greater": "DOUBLE", "permutations": "INTEGER",
    },
    "moran_quadrants": {
        "spec_id": "VARCHAR", "matrix": "VARCHAR", "variable": "VARCHAR", "year": "INTEGER",
        "unit_code": "INTEGER",
        "z": "DOUBLE", "spatial_lag": "DOUBLE", "quadrant": "VARCHAR",
    },
    "lisa": {
        "spec_id": "VARCHAR", "matrix": "VARCHAR", "variable": "VARCHAR", "year": "INTEGER",
        "unit_code": "INTEGER", "value": "DOUBLE", "z": "DOUBLE", "spatial_lag": "DOUBLE",
        "ii": "DOUBLE", "ii_z": "DOUBLE", "p": "DOUBLE", "quadrant": "VARCHAR",
        "significant": "BOOLEAN", "alpha": "DOUBLE", "adjustment": "VARCHAR", "permutations": "INTEGER",
    },
    # estimate: the exact effect at the ML estimates; std_error: sd of the simulated effects;
    # p_value: normal, estimate/std_error; sim_*: mean, median, 2.5%/97.5% quantiles of the draws.
    "spatial_effects": {
        "spec_id": "VARCHAR", "term": "VARCHAR", "effect": "VARCHAR", "estimate": "DOUBLE",
        "std_error": "DOUBLE", "p_value": "DOUBLE", "sim_mean": "DOUBLE", "sim_median": "DOUBLE",
        "sim_q025": "DOUBLE", "sim_q975": "DOUBLE", "draws": "INTEGER",
    },
    "spatial_profile": {"spec_id": "VARCHAR", "rho": "DOUBLE", "log_likelihood": "DOUBLE"},
    "skipped_specs": {"spec_id": "VARCHAR", "reason": "VARCHAR"},
    # The specification curve (flows.multiverse): one row per cell, its option of each choice
    # dimension of the seed multiverse_choices (one column each, between spec_key and
    # is_baseline), its focal estimate, or its error when it could not be estimated.
    "multiverse": {
        "spec_key": "VARCHAR", "index": "VARCHAR", "controls": "VARCHAR", "effects": "VARCHAR",
        "covariance": "VARCHAR", "sample": "VARCHAR", "lag": "VARCHAR", "model": "VARCHAR",
        "is_baseline": "BOOLEAN", "term": "VARCHAR", "quantity": "VARCHAR", "estimate": "DOUBLE",
        "std_error": "DOUBLE", "p_value": "DOUBLE", "ci_low": "DOUBLE", "ci_high": "DOUBLE",
        "nobs": "INTEGER", "error": "VARCHAR",
    },
}

RUNS_COLUMNS: dict[str, str] = {
    "run_id": "VARCHAR PRIMARY KEY", "flow_run_id": "VARCHAR", "started_at": "TIMESTAMP",
    "finished_at": "TIMESTAMP", "status": "VARCHAR", "vintage": "VARCHAR",
    "latest_year": "INTEGER", "files": "VARCHAR", "code_version": "VARCHAR",
    "parameters": "VARCHAR", "error": "VARCHAR", "unit_level": "VARCHAR",
    "synthetic": "BOOLEAN",
    # 'estimates' (a refresh or `resilience estimate`: the paper's tables) or 'multiverse'
    # (a specification curve, results.multiverse only).
    "kind": "VARCHAR DEFAULT 'estimates'",
}


#: Columns renamed since earlier versions: table -> {old name: new name}. spatial_effects'
#: ``estimate`` was the mean of the simulated effects until point effects were stored; an
#: older table's column becomes ``sim_mean`` and ``estimate`` is added empty for its rows.
RENAMED_COLUMNS: dict[str, dict[str, str]] = {"moran_quadrants": {"province_code": "unit_code"},
                                              "spatial_effects": {"estimate": "sim_mean"}}


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create schema ``results`` and its tables if they do not exist yet; give an existing
    table the columns it lacks (renamed ones renamed, new ones added, NULL in old rows)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS results")
    tables = {"runs": RUNS_COLUMNS, **{t: {"run_id": "VARCHAR", **c} for t, c in RESULT_TABLES.items()}}
    for table, wanted in tables.items():
        cols = ", ".join(f'"{c}" {t}' for c, t in wanted.items())
        con.execute(f"CREATE TABLE IF NOT EXISTS results.{table} ({cols})")
        present = _columns(con, table)
        for old, new in RENAMED_COLUMNS.get(table, {}).items():
            if old in present and new not in present:
                con.execute(f'ALTER TABLE results.{table} RENAME COLUMN "{old}" TO "{new}"')
                present = (present - {old}) | {new}
        for column, kind in wanted.items():
            if column not in present:
                kind = kind.replace(" PRIMARY KEY", "")
                con.execute(f'ALTER TABLE results.{table} ADD COLUMN "{column}" {kind}')


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = 'results' "
        "and table_name = ?", [table]).fetchall()}


def write_results(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    frames: Mapping[str, pd.DataFrame],
    run_row: Mapping[str, object] | None = None,
) -> dict[str, int]:
    """Insert every frame under ``run_id`` in one transaction; return rows written per table.

    ``run_row`` (columns of ``RUNS_COLUMNS``) is inserted into ``results.runs`` in the same
    transaction, so a run and its results appear together or not at all. Unknown tables or
    missing columns raise before anything is written.
    """
    prepared = {name: _conform(name, frame, run_id) for name, frame in frames.items()}
    if run_row is not None:
        unknown = set(run_row) - set(RUNS_COLUMNS)
        if unknown or run_row.get("run_id") != run_id:
            raise ValueError(f"results.runs row must carry run_id {run_id!r} and only "
                             f"known columns; unknown: {sorted(unknown)}")
    ensure_schema(con)
    con.execute("BEGIN TRANSACTION")
    try:
        if run_row is not None:
            cols = ", ".join(f'"{c}"' for c in run_row)
            marks = ", ".join("?" for _ in run_row)
            con.execute(f"INSERT INTO results.runs ({cols}) VALUES ({marks})", list(run_row.values()))
        for name, frame in prepared.items():
            con.register("_incoming", frame)
            con.execute(f"INSERT INTO results.{name} BY NAME SELECT * FROM _incoming")
            con.unregister("_incoming")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return {name: len(frame) for name, frame in prepared.items()}


def _conform(name: str, frame: pd.DataFrame, run_id: str) -> pd.DataFrame:
    if name not in RESULT_TABLES:
        raise KeyError(f"unknown results table {name!r}; known: {sorted(RESULT_TABLES)}")
    columns = list(RESULT_TABLES[name])
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"results.{name}: frame lacks columns {missing}")
    out = frame[columns].copy()
    out.insert(0, "run_id", run_id)
    return out
