"""The Prefect flow ``multiverse``: the specification curve around the baseline specification,
fanned out over a Dask cluster (prefect-dask's ``DaskTaskRunner``) or local threads.

The choices are data: the seed ``multiverse_choices`` (one row per option of a dimension;
the grammar is :mod:`estimation.multiverse`'s), read from the built warehouse
(``ref.multiverse_choices``) like the specs. The flow is a writer like the others
(:func:`warehouse.publish.writing`): it holds the warehouse's lock, works on a copy and
publishes the copy atomically when it succeeds (analysts keep reading the published file; a
failure at any step leaves it exactly as it was, with no run row). Steps:

1. **Read** the warehouse: the panel and weight matrices
   (:func:`flows.pipeline.load_inputs`), the record of the base spec :data:`BASE_SPEC`, the
   choices, the latest estimates run and its published baseline estimate.
2. **Cells**: :func:`estimation.multiverse.build_cells`, sampled by ``max_specs``
   (:func:`estimation.multiverse.sample_cells`: reproducible, always with the baseline cell).
3. **Index constructions**: an option with ``index_vars`` (per-year entropy weights, weights
   frozen on a base window) is another construction of the composite indices. dbt builds each
   once, with every build, into ``marts.fct_index_variants`` (the macro entropy_index with the
   option's settings); its cells are fitted on the panel with ``er`` and ``dt`` from there.
4. **Fan-out**: the panels and weights (:class:`estimation.multiverse.MultiverseData`) reach
   every worker once -- Dask: ``client.scatter(..., broadcast=True)``, and each task gets the
   scattered future, which Dask resolves to the worker's own copy; threads: shared memory.
   Cells are dealt round-robin into batches (:data:`BATCHES_PER_SLOT` per worker thread, at
   most :data:`MAX_CELLS_PER_BATCH` cells each, so a batch mixes cheap and costly cells) and
   each batch is one Prefect task: a task run costs about 0.1 s of orchestration, a cell 10-35
   ms, so one task per cell would spend most of the time orchestrating.
5. **Write**: ``results.multiverse`` and the run row (``kind = 'multiverse'``) in one
   transaction; then the copy is published.

**Faults.** Every cell is deterministic (its row does not depend on the batch or worker), so
a re-run cell gives the same row. When a worker dies, the Dask scheduler re-runs the batch
tasks it was running or held results of on the surviving workers (the Prefect task run of
the batch runs again); an exception inside a batch task is retried by Prefect
(:data:`BATCH_RETRIES`). A cell that cannot be estimated is a row with its ``error``.

**Prefect API for the workers.** Dask workers run the Prefect task engine in their own
processes and need an API: the flow hands them its own (``PREFECT_API_URL``, or the temporary
server Prefect started for this process) through the serialised settings context, so a
worker does not start a temporary server of its own, and a worker plugin points the workers'
Prefect events (task-run states) at the same API (:class:`PrefectEventsTo`). Workers on other machines need a
``PREFECT_API_URL`` they can reach (a Prefect server), and the package installed.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import duckdb
import pandas as pd
from dask.base import normalize_token
from distributed.diagnostics.plugin import WorkerPlugin
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE as NO_CACHE
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.task_runners import ThreadPoolTaskRunner

from estimation.design import validate_panel
from estimation.multiverse import (ROW_FIELDS, Cell, MultiverseData, Option, build_cells,
                                   fit_cells, focal_term, sample_cells)
from estimation.specs import Spec
from flows.annual_refresh import current_flow_run_id, forwarded_library_logs
from flows.pipeline import (TIME, UNIT, EstimationInputs, MissingInputError, control_variables,
                            load_inputs, require_relations)
from warehouse import publish as publishing
from warehouse import runs
from warehouse.errors import ResilienceError
from warehouse.paths import warehouse_path
from warehouse.results_store import RESULT_TABLES, write_results

log = logging.getLogger(__name__)

#: The spec whose curve is drawn; its cell must reproduce its published estimate.
BASE_SPEC = "baseline_twfe_controls"
CHOICES_SEED = "multiverse_choices"
#: The index constructions of the choices, and the panel columns each replaces.
INDEX_VARIANTS, INDEX_COLUMNS = "marts.fct_index_variants", ("er", "dt")
#: Relations the flow needs besides flows.pipeline.INPUT_RELATIONS.
CURVE_RELATIONS = (f"ref.{CHOICES_SEED}", INDEX_VARIANTS, "marts.dim_result_runs",
                   "marts.rpt_specification_curve")
TASK_RUNNERS = ("dask", "thread")
BATCHES_PER_SLOT = 4
MAX_CELLS_PER_BATCH = 250
BATCH_RETRIES = 2
#: The choice dimensions: the columns of results.multiverse between spec_key and is_baseline.
DIMENSIONS = tuple(c for c in RESULT_TABLES["multiverse"] if c != "spec_key" and c not in ROW_FIELDS)


@dataclass(frozen=True)
class MultiverseDesign:
    """What a multiverse run is computed from (step 1 of the module docstring)."""

    inputs: EstimationInputs
    data: MultiverseData              # the panel of every index construction, the weights
    base_record: dict
    controls: list[str]
    options: list[Option]
    estimates_run_id: str | None      # the latest estimates run (marts.dim_result_runs.is_latest)
    published_baseline: float | None  # its BASE_SPEC estimate of the focal term
    vintage: runs.DataVintage
    unit_level: str | None            # the panel's administrative level

    def cells(self) -> list[Cell]:
        return build_cells(self.options, self.base_record, self.controls)


@dataclass(frozen=True)
class BatchOutcome:
    """A fitted batch: its rows, where and how fast it ran. ``data_id`` is the identity of the
    shipped data in the worker process (one per process when it was shipped once)."""

    rows: list[dict]
    worker: str
    data_id: int
    seconds: float


# --- step 1: the design -------------------------------------------------------------------------

def parse_choices(records: Sequence[dict], source: str = f"seed {CHOICES_SEED}.csv") -> list[Option]:
    """The options of the rows of the choices seed; an option with ``index_vars`` fits its
    cells on its own index construction (panel variant = its key). Errors name the seed file
    and line (line 1 is the header)."""
    def text(row: dict, name: str) -> str:
        value = row.get(name)
        return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)

    options = [Option.parse(text(row, "dimension"), text(row, "option"), text(row, "label"),
                            text(row, "sets"), text(row, "models"),
                            panel=text(row, "option") if text(row, "index_vars").strip() else None,
                            source=f"{source} line {line}")
               for line, row in enumerate(records, start=2)]
    dimensions = list(dict.fromkeys(o.dimension for o in options))
    if sorted(dimensions) != sorted(DIMENSIONS):
        raise ResilienceError(f"{source}: dimensions {dimensions}; results.multiverse has one column per "
                              f"dimension: {list(DIMENSIONS)} (warehouse/results_store.py)")
    return options


def index_variant_panels(panel: pd.DataFrame, variants: pd.DataFrame, keys: Sequence[str]) -> MultiverseData:
    """The base panel and, for each construction in ``keys``, the panel with its
    :data:`INDEX_COLUMNS` from ``variants`` (rows of :data:`INDEX_VARIANTS`)."""
    panels: dict[str | None, pd.DataFrame] = {None: panel}
    unavailable = {}
    for key in keys:
        part = variants.loc[variants["variant"] == key, [UNIT, TIME, *INDEX_COLUMNS]]
        if part.empty:
            unavailable[key] = f"{INDEX_VARIANTS} has no construction {key!r}; run `resilience build`"
            continue
        panels[key] = panel.drop(columns=list(INDEX_COLUMNS)).merge(part, on=[UNIT, TIME], how="left")[
            list(panel.columns)]
    return MultiverseData(panels, {}, UNIT, TIME, unavailable)


def read_design(con: duckdb.DuckDBPyConnection) -> MultiverseDesign:
    """Step 1 of the module docstring, on an open (read-only) connection."""
    inputs = load_inputs(con)
    require_relations(con, CURVE_RELATIONS, "the choices seed and the specification-curve marts")
    options = parse_choices(
        con.execute(f"select * from ref.{CHOICES_SEED} order by rowid").df().to_dict("records"))
    base = con.execute("select * from ref.specs where spec_id = ?", [BASE_SPEC]).df().to_dict("records")
    if not base:
        raise MissingInputError(f"ref.specs has no spec {BASE_SPEC!r}, the base of the specification curve")
    variables = con.execute("select * from ref.analysis_variables").df().to_dict("records")
    latest = con.execute("select run_id from marts.dim_result_runs where is_latest").fetchone()
    published = None
    if latest:
        term = focal_term(Spec.from_record(base[0], control_variables(variables)))
        row = con.execute("select estimate from results.coefficients where run_id = ? and spec_id = ? "
                          "and term = ?", [latest[0], BASE_SPEC, term]).fetchone()
        published = row[0] if row else None
    variants = con.execute(f"select * from {INDEX_VARIANTS}").df()
    data = index_variant_panels(inputs.panel, variants, sorted({o.panel for o in options if o.panel}))
    data = dataclasses.replace(data, weights=inputs.weights)
    return MultiverseDesign(inputs, data, base[0], control_variables(variables), options,
                            latest[0] if latest else None, published, runs.data_vintage(con),
                            runs.panel_level(con))


# --- step 4: fan-out ----------------------------------------------------------------------------

@task(name="fit cells", cache_policy=NO_CACHE, retries=BATCH_RETRIES, retry_delay_seconds=1,
      task_run_name="fit cells from {cells[0].key}")
def fit_batch(data: MultiverseData, cells: list[Cell], replications: int, seed: int) -> BatchOutcome:
    """Fit a batch of cells (:func:`estimation.multiverse.fit_cells`)."""
    start = time.perf_counter()
    rows = fit_cells(data, cells, replications=replications, seed=seed)
    return BatchOutcome(rows, f"{socket.gethostname()}:{os.getpid()}", id(data),
                        time.perf_counter() - start)


def check_task_runner(kind: str, dask_address: str | None) -> None:
    """Refuse a task runner :func:`make_task_runner` cannot make."""
    if kind not in TASK_RUNNERS:
        raise ResilienceError(f"task runner must be one of {TASK_RUNNERS}, not {kind!r}")
    if kind == "thread" and dask_address:
        raise ResilienceError("--dask-address needs --task-runner dask")


def make_task_runner(kind: str = "dask", dask_address: str | None = None, n_workers: int | None = None):
    """A Prefect task runner: ``dask`` (the scheduler at ``dask_address``, else a temporary
    ``LocalCluster`` of ``n_workers`` single-threaded worker processes, default one per core)
    or ``thread`` (``n_workers`` threads in this process)."""
    check_task_runner(kind, dask_address)
    workers = n_workers or os.cpu_count() or 1
    if kind == "thread":
        return ThreadPoolTaskRunner(max_workers=workers)
    from prefect_dask import DaskTaskRunner

    if dask_address:
        return DaskTaskRunner(address=dask_address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1,
                                          "processes": True})


@contextlib.contextmanager
def prefect_api_for_workers() -> Iterator[None]:
    """Make the settings context name this process's Prefect API (module docstring)."""
    if PREFECT_API_URL.value():
        yield
        return
    # Prefect's own temporary server of this process (a singleton that get_client() started
    # for the flow run): the workers report there rather than each starting another one.
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    if server.server_process is None:
        server.start()
    with temporary_settings({PREFECT_API_URL: server.api_url}):
        yield


def batch_count(cells: int, slots: int) -> int:
    """How many batches: BATCHES_PER_SLOT per worker thread, more when a batch would exceed
    MAX_CELLS_PER_BATCH cells (a multiple of the worker threads, so that none waits alone for
    the last one), never more than there are cells."""
    wanted = max(BATCHES_PER_SLOT * slots, math.ceil(cells / MAX_CELLS_PER_BATCH))
    return max(1, min(cells, math.ceil(wanted / slots) * slots))


def deal(cells: Sequence[Cell], batches: int) -> list[list[Cell]]:
    """Round-robin: batch b gets cells b, b + batches, ... (similar mixes of cheap and costly cells)."""
    return [list(cells[b::batches]) for b in range(batches)]


def fan_out(data: MultiverseData, cells: Sequence[Cell], *, task_runner: str = "dask",
            dask_address: str | None = None, n_workers: int | None = None,
            replications: int = 200, seed: int = 12345) -> tuple[list[dict], list[BatchOutcome]]:
    """Fit every cell through the task runner (step 4); call inside a flow. Returns the rows in
    the order of ``cells`` and the batch outcomes."""
    runner = make_task_runner(task_runner, dask_address, n_workers)
    api = prefect_api_for_workers() if task_runner == "dask" else contextlib.nullcontext()
    with api, runner:
        if task_runner == "dask":
            _send_worker_events_to_this_api(runner.client)
            shipped, slots = _scatter(runner.client, data)
        else:
            shipped, slots = data, n_workers or os.cpu_count() or 1
        batches = deal(cells, batch_count(len(cells), slots))
        log.info("%d cells in %d batches over %d worker threads (%s)", len(cells), len(batches),
                 slots, dask_address or task_runner)
        futures = [runner.submit(fit_batch, {"data": shipped, "cells": batch,
                                             "replications": replications, "seed": seed})
                   for batch in batches]
        outcomes = [future.result() for future in futures]
    order = {c.key: i for i, c in enumerate(cells)}
    rows = sorted((r for o in outcomes for r in o.rows), key=lambda r: order[r["spec_key"]])
    if [r["spec_key"] for r in rows] != [c.key for c in cells]:
        raise ResilienceError("the fitted batches do not hold every cell exactly once")
    spread = pd.Series([o.worker for o in outcomes]).value_counts().to_dict()
    log.info("batches per worker: %s; fitting took %.1f s of worker time",
             spread, sum(o.seconds for o in outcomes))
    return rows, outcomes


class PrefectEventsTo(WorkerPlugin):
    """Sends a Dask worker's Prefect events (task-run states among them) to one API.

    Prefect 3 keeps one events client per process for a self-hosted server whatever its URL
    (``EventsWorker.instance`` keys it without the URL; logs are keyed with it), so a worker
    of a long-lived cluster that served an earlier run against another API -- the temporary
    server of an earlier command -- would send this run's task runs there, and the server of
    this run would never record them. ``EventsWorker.set_client_override`` is Prefect's hook
    for choosing the client; with the URL among its arguments each API gets its own client.
    """

    def __init__(self, api_url: str):
        self.api_url = api_url

    def setup(self, worker) -> None:
        from prefect.events.clients import PrefectEventsClient
        from prefect.events.worker import EventsWorker

        EventsWorker.set_client_override(PrefectEventsClient, api_url=self.api_url)


def _send_worker_events_to_this_api(client) -> None:
    """Register :class:`PrefectEventsTo` for this process's API on every worker, present and
    future (Prefect Cloud keeps its own authenticated client: left alone)."""
    from prefect.events.worker import emit_events_to_cloud

    if not emit_events_to_cloud():
        client.register_plugin(PrefectEventsTo(PREFECT_API_URL.value()), name="resilience-prefect-events")


@normalize_token.register(Cell)
def _cell_token(cell: Cell) -> tuple:
    """Dask's token of a cell (submit hashes a task's arguments to name it): by default dask
    pickles each Cell's spec, which took the flow's process about 0.18 ms per cell, CPU taken
    from the workers on a small machine; the cell's key, panel and spec text say the same."""
    return ("multiverse-cell", cell.key, cell.panel, cell.is_baseline, repr(cell.spec))


def _scatter(client, data: MultiverseData):
    """(the data's future, worker threads): ``data`` copied once to every worker; a task given
    the future runs on the worker's own copy."""
    client.wait_for_workers(1, timeout=120)
    slots = sum(w["nthreads"] for w in client.scheduler_info()["workers"].values())
    return client.scatter(data, broadcast=True), slots


# --- step 5: publish ----------------------------------------------------------------------------

def multiverse_frame(rows: Sequence[dict]) -> pd.DataFrame:
    """The cells' rows as the columns of ``results.multiverse`` (without run_id)."""
    frame = pd.DataFrame(list(rows), columns=list(RESULT_TABLES["multiverse"]))
    frame["is_baseline"] = frame["is_baseline"].astype(bool)
    frame["nobs"] = frame["nobs"].astype("Int64")
    for column in ("estimate", "std_error", "p_value", "ci_low", "ci_high"):
        frame[column] = frame[column].astype(float)
    return frame


@task(name="write multiverse", cache_policy=NO_CACHE)
def write_task(working: Path, run_id: str, frame: pd.DataFrame, run_row: dict) -> None:
    with duckdb.connect(str(working)) as con:
        write_results(con, run_id, {"multiverse": frame}, run_row=run_row)
    get_run_logger().info("results.multiverse: %d cells written under run %s", len(frame), run_id)


@task(name="read design", cache_policy=NO_CACHE)
def read_design_task(warehouse: Path) -> MultiverseDesign:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        design = read_design(con)
    validate_panel(design.inputs.panel, design.inputs.variables, unit=UNIT, time=TIME,
                   source="marts.analysis_panel")
    return design


# --- the flow -----------------------------------------------------------------------------------

@flow(name="multiverse")
def multiverse(warehouse: str | None = None, max_specs: int | None = None, seed: int = 12345,
               replications: int = 200, task_runner: str = "dask", dask_address: str | None = None,
               n_workers: int | None = None) -> dict[str, Any]:
    """The specification curve of ``baseline_twfe_controls`` (module docstring), published as
    a run of kind ``multiverse``.

    Parameters: ``warehouse`` (default ``$RESILIENCE_WAREHOUSE`` or ``data/warehouse.duckdb``),
    ``max_specs`` (a reproducible sample of that many cells, always with the baseline; default
    every cell), ``seed`` (the sample and the effect draws), ``replications`` (effect draws of
    an SDM cell), ``task_runner`` (``dask`` or ``thread``), ``dask_address`` (an existing Dask
    scheduler; default a temporary LocalCluster), ``n_workers`` (LocalCluster processes or
    threads; default one per core). Returns a summary dict.
    """
    logger = get_run_logger()
    warehouse_file = warehouse_path(warehouse)
    if not warehouse_file.exists():
        raise ResilienceError(f"{warehouse_file}: no warehouse file; run `resilience refresh` first")
    check_task_runner(task_runner, dask_address)  # before the work
    run_id, started = runs.new_run_id(), runs.utc_now()
    with forwarded_library_logs(), publishing.writing(warehouse_file, f"multiverse {run_id}") as working:
        design = read_design_task(working)
        cells = sample_cells(design.cells(), max_specs, seed)
        logger.info("multiverse %s: %d cells around %s", run_id, len(cells), BASE_SPEC)
        rows, outcomes = fan_out(design.data, cells, task_runner=task_runner, dask_address=dask_address,
                                 n_workers=n_workers, replications=replications, seed=seed)
        frame = multiverse_frame(rows)
        parameters = {"entry_point": "multiverse", "warehouse": str(warehouse_file),
                      "max_specs": max_specs, "seed": seed, "replications": replications,
                      "task_runner": task_runner, "dask_address": dask_address, "n_workers": n_workers,
                      "cells": len(cells), "batches": len(outcomes), "base_spec": BASE_SPEC,
                      "estimates_run_id": design.estimates_run_id}
        run_row = runs.succeeded_run_row(run_id, started_at=started, parameters=parameters,
                                         vintage=design.vintage, unit_level=design.unit_level,
                                         flow_run_id=current_flow_run_id(), kind="multiverse")
        write_task(working, run_id, frame, run_row)
    logger.info("multiverse %s published in %s", run_id, warehouse_file)
    return summarise(run_id, warehouse_file, frame, design)


def summarise(run_id: str, warehouse: Path, frame: pd.DataFrame, design: MultiverseDesign) -> dict[str, Any]:
    estimated = frame[frame["error"].isna()]
    baseline = frame[frame["is_baseline"]].iloc[0]
    return {"run_id": run_id, "warehouse": str(warehouse), "cells": len(frame),
            "failed": int(frame["error"].notna().sum()),
            "share_positive": float((estimated["estimate"] > 0).mean()) if len(estimated) else None,
            "share_significant": float((estimated["p_value"] < 0.05).mean()) if len(estimated) else None,
            "median_estimate": float(estimated["estimate"].median()) if len(estimated) else None,
            "baseline_key": baseline["spec_key"], "baseline_estimate": float(baseline["estimate"]),
            "estimates_run_id": design.estimates_run_id, "published_baseline": design.published_baseline}


def main_summary_lines(summary: dict[str, Any]) -> list[str]:
    """What ``resilience multiverse`` prints."""
    lines = [f"multiverse run {summary['run_id']}: {summary['cells']} cells, {summary['failed']} failed "
             f"(recorded with their reason in results.multiverse)"]
    if summary["median_estimate"] is not None:
        lines.append(f"median estimate {summary['median_estimate']:.4f}; positive "
                     f"{summary['share_positive']:.1%}; significant at 5% {summary['share_significant']:.1%}")
    published = summary["published_baseline"]
    lines.append(f"baseline cell {summary['baseline_key']}: {summary['baseline_estimate']!r}"
                 + (f" (published {BASE_SPEC} of run {summary['estimates_run_id']}: {published!r})"
                    if published is not None else f" (no published {BASE_SPEC} estimate yet)"))
    lines.append("curve: marts.rpt_specification_curve, marts.rpt_specification_curve_summary; "
                 "figure: `resilience report`")
    return lines
