"""A DuckDB file holding just what estimation reads: marts.analysis_panel,
marts.spatial_weights and the seeds ref.specs and ref.analysis_variables (as dbt loads them)."""
from __future__ import annotations

import duckdb
import pandas as pd

from warehouse.seeds import seed_frame


def write_marts(path, panel: pd.DataFrame, weights: pd.DataFrame, specs: pd.DataFrame | None = None) -> None:
    variables = seed_frame("analysis_variables").astype({"term_order": int})
    relations = {"marts.analysis_panel": panel, "marts.spatial_weights": weights,
                 "ref.specs": seed_frame("specs") if specs is None else specs,
                 "ref.analysis_variables": variables}
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts")
        con.execute("create schema if not exists ref")
        for name, frame in relations.items():
            con.register("frame", frame)
            con.execute(f"create or replace table {name} as select * from frame")
            con.unregister("frame")
