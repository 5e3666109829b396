"""Estimation wired to the warehouse: read the marts and the specs, estimate, write a run.

The one place where ``estimation`` (a library: frames in, results out) meets the warehouse.
``resilience estimate`` and the Prefect flow ``annual-refresh`` both go through it:

* :func:`load_inputs` reads ``marts.analysis_panel``, ``marts.spatial_weights`` and the
  specifications the marts were built with (``ref.specs``, the dbt seed, with ``controls =
  all`` meaning the variables of role ``control`` in ``ref.analysis_variables``);
* :func:`estimate` runs every specification (:func:`estimation.suite.estimate_specs`) and
  returns the rows of the results tables; ``replications`` is both the number of bootstrap
  replications of a mediation and of effect draws of a spatial lag model. A spec that needs a
  variable the panel does not have at its level (e.g. a province-only series marked missing
  below the province level), or a weights matrix the seed defines for other levels only (the
  adjacency matrix below the province level), is skipped, and the reason recorded in
  ``results.skipped_specs``;
* :func:`estimate_and_publish` (``resilience estimate``) does both on a warehouse and writes
  the run row and every result in one transaction.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from estimation.design import validate_panel
from estimation.spatial.weights import SpatialWeights
from estimation.specs import Spec
from estimation.results import concat_tidy
from estimation.suite import estimate_specs
from warehouse import results_store, runs
from warehouse.errors import ResilienceError
from warehouse.seeds import seed_rows

log = logging.getLogger(__name__)

#: Key columns of marts.analysis_panel (docs/DESIGN.md contract).
UNIT, TIME = "unit_code", "year"
INPUT_RELATIONS = ("marts.analysis_panel", "marts.spatial_weights", "ref.specs", "ref.analysis_variables")


class MissingInputError(ResilienceError):
    """A relation the estimation reads is absent (run ``resilience build`` first)."""


@dataclass(frozen=True)
class EstimationInputs:
    """What a run estimates on: the panel, its weight matrices by name, and the specs."""

    panel: pd.DataFrame
    weights: dict[str, SpatialWeights]
    specs: list[Spec]
    variables: list[str]  # the numeric analysis variables (checked before estimating)


def control_variables(variable_records: list[dict]) -> list[str]:
    """What ``controls = all`` means: the variables of role ``control`` of the seed
    ``analysis_variables``, in order of ``term_order``."""
    variables = sorted(variable_records, key=lambda r: (int(r["term_order"]), r["variable"]))
    return [r["variable"] for r in variables if r["role"] == "control"]


def parse_specs(spec_records: list[dict], variable_records: list[dict]) -> list[Spec]:
    """Specs from the rows of the seeds ``specs`` and ``analysis_variables``, in seed order
    (``controls = all``: :func:`control_variables`)."""
    controls = control_variables(variable_records)
    return [Spec.from_record(r, controls) for r in spec_records]


def seed_specs() -> list[Spec]:
    """The specs of the seed files themselves (for code that runs without a warehouse)."""
    return parse_specs(seed_rows("specs"), seed_rows("analysis_variables"))


def weights_by_name(long: pd.DataFrame, codes) -> dict[str, SpatialWeights]:
    """``marts.spatial_weights`` rows as one :class:`SpatialWeights` per matrix over ``codes``."""
    return {name: SpatialWeights.from_long(part, i="unit_code_i", j="unit_code_j", codes=codes,
                                           name=name)
            for name, part in long.groupby("matrix", sort=True)}


def require_relations(con: duckdb.DuckDBPyConnection, names, what: str = "the marts") -> None:
    """Raise :class:`MissingInputError` naming the first of ``names`` (``schema.table``) that
    the warehouse lacks."""
    present = {f"{s}.{t}" for s, t in con.execute(
        "select table_schema, table_name from information_schema.tables").fetchall()}
    for name in names:
        if name not in present:
            raise MissingInputError(f"{name} does not exist in the warehouse; run "
                                    f"`resilience build` to create {what} first")


def load_inputs(con: duckdb.DuckDBPyConnection) -> EstimationInputs:
    """Read the estimation inputs from a built warehouse (module docstring)."""
    require_relations(con, INPUT_RELATIONS)
    panel = con.execute(f"select * from marts.analysis_panel order by {UNIT}, {TIME}").df()
    variables = con.execute("select * from ref.analysis_variables").df().to_dict("records")
    specs = parse_specs(con.execute("select * from ref.specs order by rowid").df().to_dict("records"),
                        variables)
    long = con.execute("select matrix, unit_code_i, unit_code_j, weight from marts.spatial_weights "
                       "order by matrix, unit_code_i, unit_code_j").df()
    return EstimationInputs(panel, weights_by_name(long, panel[UNIT].unique()), specs,
                            [r["variable"] for r in variables])


def estimate(inputs: EstimationInputs, *, replications: int = 1000, seed: int = 12345,
             timings: dict[str, float] | None = None) -> dict[str, pd.DataFrame]:
    """Every spec on the panel: the rows of the results tables (without ``run_id``)."""
    panel = inputs.panel
    validate_panel(panel, inputs.variables, unit=UNIT, time=TIME, source="marts.analysis_panel")
    runnable, skipped = [], []
    level = ", ".join(sorted(panel["unit_level"].dropna().unique())) if "unit_level" in panel else "this"
    for spec in inputs.specs:
        missing = [c for c in spec.variables if c in panel.columns and panel[c].isna().all()]
        # a matrix of the seed weight_matrices defined for other levels only (dbt's test
        # relationships_specs_weights refuses a name that no level defines)
        unbuilt = spec.weights is not None and spec.weights not in inputs.weights
        if missing or unbuilt:
            reason = (f"needs {', '.join(missing)}, which the panel does not have at the {level} level"
                      if missing else f"needs weights matrix {spec.weights!r}, which weight_matrices does not "
                      f"define at the {level} level")
            log.warning("spec %s skipped: %s", spec.spec_id, reason)
            skipped.append({"spec_id": spec.spec_id, "reason": reason})
        else:
            runnable.append(spec)
    log.info("estimating %d specifications on %d panel rows", len(runnable), len(panel))
    results = estimate_specs(panel, runnable, unit=UNIT, time=TIME, weights=inputs.weights,
                             replications=replications, seed=seed, timings=timings)
    return {**concat_tidy(results),
            "skipped_specs": pd.DataFrame(skipped, columns=["spec_id", "reason"])}


def estimate_and_publish(warehouse: str | Path, replications: int = 1000, seed: int = 12345) -> str:
    """Estimate everything on ``warehouse`` and write it under a new run id; return the id."""
    started = runs.utc_now()
    run_id = runs.new_run_id(started)
    parameters = {"replications": replications, "seed": seed, "entry_point": "resilience estimate"}
    with duckdb.connect(str(warehouse)) as con:
        frames = estimate(load_inputs(con), replications=replications, seed=seed)
        run_row = runs.succeeded_run_row(run_id, started_at=started, parameters=parameters,
                                         vintage=runs.data_vintage(con), unit_level=runs.panel_level(con))
        written = results_store.write_results(con, run_id, frames, run_row=run_row)
    log.info("run %s written: %s", run_id, written)
    return run_id
