"""``resilience estimate``: read the marts, run both suites, write one run atomically.

``load_inputs(con)`` reads ``marts.analysis_panel`` and ``marts.spatial_weights``.
``estimate_and_publish(warehouse, replications, seed, draws)`` runs
:func:`estimation.suite.run_regression_suite` (Tables 4-8) and
``estimation.spatial.suite.run_spatial_suite`` (Tables 9-10), then inserts the
``results.runs`` row (status ``succeeded``) and every results frame in ONE transaction: a run
that fails at any point leaves no row in any ``results`` table.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Mapping

import duckdb
import pandas as pd

from estimation import store

log = logging.getLogger(__name__)

INPUTS = {"panel": "marts.analysis_panel", "weights": "marts.spatial_weights"}


class MissingInputError(RuntimeError):
    """A mart the estimation reads is absent (run ``resilience build`` first)."""


def load_inputs(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(analysis panel, spatial weights) as DataFrames, sorted by their keys."""
    present = {f"{s}.{t}" for s, t in con.execute(
        "select table_schema, table_name from information_schema.tables").fetchall()}
    for name in INPUTS.values():
        if name not in present:
            raise MissingInputError(f"{name} does not exist in the warehouse; run "
                                    "`resilience build` to create the marts first")
    panel = con.execute(
        "select * from marts.analysis_panel order by province_code, year").df()
    weights = con.execute(
        "select * from marts.spatial_weights order by matrix, province_code_i, province_code_j"
    ).df()
    return panel, weights


def merge_frames(*suites: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Concatenate same-named frames of several suites."""
    out: dict[str, list[pd.DataFrame]] = {}
    for suite in suites:
        for name, frame in suite.items():
            out.setdefault(name, []).append(frame)
    return {name: pd.concat(frames, ignore_index=True) for name, frames in out.items()}


def estimate_and_publish(warehouse: str | Path, replications: int = 1000, seed: int = 12345,
                         draws: int = 1000) -> str:
    """Estimate everything on ``warehouse`` and write it under a new run id; return it."""
    from warehouse.runs import SUCCEEDED, code_version, data_vintage, new_run_id, utc_now

    from estimation.suite import run_regression_suite
    # The spatial suite is another module's; imported here so `resilience estimate` reports
    # its absence only when run.
    from estimation.spatial.suite import run_spatial_suite

    started = utc_now()
    run_id = new_run_id(started)
    parameters = {"replications": replications, "seed": seed, "draws": draws,
                  "entry_point": "estimation.runner.estimate_and_publish"}
    with duckdb.connect(str(warehouse)) as con:
        panel, weights = load_inputs(con)
        log.info("run %s: %d panel rows, %d weight rows", run_id, len(panel), len(weights))
        regression = run_regression_suite(panel, replications=replications, seed=seed)
        spatial = run_spatial_suite(panel, weights, draws=draws, seed=seed)
        frames = merge_frames(regression, spatial)
        vintage = data_vintage(con)
        run_row = {
            "run_id": run_id, "flow_run_id": None, "started_at": started,
            "finished_at": utc_now(), "status": SUCCEEDED, "vintage": vintage.vintage,
            "latest_year": vintage.latest_year,
            "files": json.dumps(vintage.files, ensure_ascii=False),
            "code_version": code_version(),
            "parameters": json.dumps(parameters, sort_keys=True), "error": None,
        }
        written = store.write_results(con, run_id, frames, run_row=run_row)
    log.info("run %s written: %s", run_id, written)
    return run_id
