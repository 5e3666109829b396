"""The Prefect flow ``annual-refresh``: load -> dbt build -> estimate -> report -> publish.

Orchestration only: every step is a library function (``docs/CONTRACTS.md``) wrapped in a
task. The warehouse-safety protocol (``warehouse.publish``) is:

* the whole flow holds the refresh lock; a second refresh is refused at once
  (:class:`~warehouse.errors.WarehouseBusyError`);
* the run row is first published as ``running`` (a copy-edit-replace of the published file, so
  analysts see that a refresh is in progress and a killed refresh leaves a trace that the next
  one marks failed);
* every step then writes a working copy ``<warehouse>.work-<run_id>.duckdb``; one ``dbt
  build`` makes the marts (the results marts are views over schema ``results``, so they need
  no second build), results are written under the run id and the run marked ``succeeded``
  *in the copy*, the report is written from it, and only then is the copy swapped in
  atomically;
* if any step fails, the copy is deleted and the published warehouse gets exactly one change:
  the run row becomes ``failed`` with the step and error. Derived tables and earlier results
  stay as they were.

The report is written from the working copy into ``<reports>/.staging-<run_id>`` and renamed to
``<reports>/<run_id>`` after the publish (``<reports>/latest`` then points at it), so a failed
run never leaves a report behind.

Retries: only the file operations (copy, swap) retry once, since a full disk or a slow
network file system can be transient; parsing, dbt and estimation failures are deterministic
and fail the run at once.

Tests substitute the heavy steps through :data:`STEP_FUNCTIONS` (name -> ``"module:function"``
or a callable), so the protocol above is tested without dbt or the estimators.
"""

import contextlib
import importlib
import logging
import os
from pathlib import Path
from typing import Annotated, Any, Callable, Iterator, Literal

# No `from __future__ import annotations` here: Prefect builds the flow's parameter schema (which a
# server validates deployment runs against) from the real annotations.

import duckdb
import pandas as pd
from prefect import flow, get_run_logger, task
from pydantic import Field
from prefect.cache_policies import NONE as NO_CACHE
from prefect.runtime import flow_run as prefect_flow_run

from warehouse import publish as publishing
from warehouse import paths, runs
from warehouse.build_options import BuildOptions, build_options
from warehouse.errors import ResilienceError
from warehouse.paths import SAMPLE_BASE_DIR, warehouse_path

# Library loggers whose INFO records (bootstrap / effect-draw / permutation progress, load and
# dbt summaries) are forwarded to the Prefect run logs and the console.
FORWARDED_LOGGERS = ("estimation", "warehouse", "flows")

STEP_FUNCTIONS: dict[str, str | Callable[..., Any]] = {
    "load_landing": "warehouse.loader:load_landing",
    "dbt_build": "warehouse.dbt_runner:dbt_build",
    "load_inputs": "flows.pipeline:load_inputs",
    "estimate": "flows.pipeline:estimate",
    "write_results": "warehouse.results_store:write_results",
    "write_report": "flows.report:write_report",
}


def step(name: str) -> Callable[..., Any]:
    """The library function behind a step (imported on first use)."""
    target = STEP_FUNCTIONS[name]
    if callable(target):
        return target
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


@contextlib.contextmanager
def forwarded_library_logs() -> Iterator[None]:
    """Attach Prefect's run-log handlers to the library loggers for the duration of a run.

    Same effect as ``PREFECT_LOGGING_EXTRA_LOGGERS=estimation,warehouse`` but independent of
    whether Prefect configured its logging before that variable was set, and undone after the
    run so that library logging outside a flow does not hit Prefect's "no flow run" warning.
    The loggers are set to INFO so that progress also reaches the console.
    """
    extra_handlers = logging.getLogger("prefect.extra").handlers
    saved = []
    for name in FORWARDED_LOGGERS:
        logger = logging.getLogger(name)
        added = [h for h in extra_handlers if h not in logger.handlers]
        saved.append((logger, logger.level, added))
        logger.setLevel(logging.INFO)
        for handler in added:
            logger.addHandler(handler)
    try:
        yield
    finally:
        for logger, level, added in saved:
            for handler in added:
                logger.removeHandler(handler)
            logger.setLevel(level)


# --- tasks: thin wrappers, one per step -------------------------------------------------------

@task(name="start run", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def start_run_task(warehouse: Path, run_id: str, flow_run_id: str | None, parameters: dict) -> None:
    def edit(con: duckdb.DuckDBPyConnection) -> None:
        stale = runs.abandon_stale_runs(con, by_run_id=run_id)
        if stale:
            get_run_logger().warning("marked abandoned runs failed: %s", ", ".join(stale))
        if not _run_exists(con, run_id):  # a retry after the swap already happened
            runs.start_run(con, run_id, flow_run_id=flow_run_id, parameters=parameters)

    orphans = publishing.discard_orphans(warehouse)
    if orphans:
        get_run_logger().warning("deleted working copies of dead refreshes: %s", ", ".join(map(str, orphans)))
    publishing.edit_published(warehouse, run_id, edit)
    get_run_logger().info("run %s registered as running in %s", run_id, warehouse)


@task(name="make working copy", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def make_working_copy_task(warehouse: Path, run_id: str) -> Path:
    working = publishing.make_working_copy(warehouse, run_id)
    get_run_logger().info("working copy %s", working)
    return working


@task(name="load landing", cache_policy=NO_CACHE)
def load_landing_task(landing_dir: Path, working: Path, vintage: str | None) -> runs.DataVintage:
    summary = step("load_landing")(landing_dir, working, vintage=vintage)
    describe = getattr(summary, "describe", None)
    get_run_logger().info("%s", describe() if callable(describe) else summary)
    with duckdb.connect(str(working)) as con:
        return runs.data_vintage(con)


@task(name="dbt build", cache_policy=NO_CACHE)
def dbt_build_task(working: Path, dbt_vars: dict | None = None) -> None:
    step("dbt_build")(working, extra_vars=dbt_vars)
    get_run_logger().info("dbt build done")


@task(name="estimate", cache_policy=NO_CACHE)
def estimate_task(working: Path, replications: int, seed: int) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(working), read_only=True) as con:
        inputs = step("load_inputs")(con)
    frames = step("estimate")(inputs, replications=replications, seed=seed)
    get_run_logger().info("estimates: %s", ", ".join(f"{k} {len(v)} rows" for k, v in frames.items()))
    return frames


@task(name="write results", cache_policy=NO_CACHE)
def write_results_task(working: Path, run_id: str, vintage: runs.DataVintage,
                       frames: dict[str, pd.DataFrame]) -> dict[str, int]:
    with duckdb.connect(str(working)) as con:
        written = step("write_results")(con, run_id, frames)
        runs.record_vintage(con, run_id, vintage)
        runs.record_panel_level(con, run_id)
        runs.finish_run(con, run_id)
        con.execute("CHECKPOINT")
    get_run_logger().info("results written under run %s: %s", run_id, written)
    return written


@task(name="write report", cache_policy=NO_CACHE)
def write_report_task(working: Path, staging: Path, run_id: str) -> list[Path]:
    publishing.discard_dir(staging)
    paths = [Path(p) for p in step("write_report")(working, staging, run_id=run_id)]
    get_run_logger().info("report written (%d files)", len(paths))
    return paths


@task(name="publish", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def publish_task(working: Path, warehouse: Path, run_id: str) -> None:
    if not working.exists() and _published_run_status(warehouse, run_id) == runs.SUCCEEDED:
        return  # a retry after os.replace succeeded: already published
    publishing.publish(working, warehouse)
    get_run_logger().info("published %s", warehouse)


@task(name="record failure", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def record_failure_task(warehouse: Path, run_id: str, error: str, vintage: runs.DataVintage | None) -> None:
    publishing.edit_published(
        warehouse, run_id, lambda con: runs.fail_run(con, run_id, error, vintage=vintage)
    )
    get_run_logger().error("run %s marked failed in %s: %s", run_id, warehouse, error)


# --- the flow ---------------------------------------------------------------------------------

@flow(name="annual-refresh")
def annual_refresh(
    landing_dir: str = str(SAMPLE_BASE_DIR),
    warehouse: str | None = None,
    vintage: Annotated[str, Field(max_length=200)] | None = None,
    replications: Annotated[int, Field(ge=1, le=100_000)] = 1000,
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 12345,
    reports_dir: str | None = None,
    dbt_vars: BuildOptions | None = None,
    level: Literal["province", "prefecture", "county"] | None = None,
) -> dict[str, Any]:
    """Load the landing folder, rebuild, re-estimate and publish a new run; return a summary.

    Parameters: ``landing_dir`` (extract folder), ``warehouse`` (DuckDB file; default
    ``$RESILIENCE_WAREHOUSE`` or ``data/warehouse.duckdb``), ``vintage`` (batch label; default
    from ``vintage.txt``), ``replications`` (bootstrap replications, also the number of
    effect draws of the spatial models), ``seed``, ``reports_dir`` (default ``reports/`` next
    to the warehouse), ``dbt_vars`` (the build's options, :class:`~warehouse.build_options.BuildOptions`,
    e.g. the entropy base window ``{"entropy_base_years": [2013, 2021]}``), ``level`` (the study's
    administrative level; default: the finest level loaded, :func:`warehouse.dbt_runner.study_level`;
    the same as ``dbt_vars.unit_level``). The parameters are
    typed and bounded, so Prefect refuses a deployment run with an unknown option or a value out
    of range before anything runs. Returns ``{"run_id", "status", "warehouse", "report_dir", "reports"}``.
    """
    logger = get_run_logger()
    options = build_options(dbt_vars).at_level(level)
    warehouse_file = warehouse_path(warehouse)
    landing = Path(landing_dir).expanduser().resolve()
    reports_root = Path(reports_dir).expanduser().resolve() if reports_dir else paths.reports_root(warehouse_file)
    check_destinations(warehouse_file, reports_root)
    run_id = runs.new_run_id()
    parameters = {"landing_dir": str(landing), "warehouse": str(warehouse_file), "vintage": vintage,
                  "replications": replications, "seed": seed, "reports_dir": str(reports_root),
                  "dbt_vars": options.dbt_vars() or None}
    logger.info("refresh %s of %s from %s", run_id, warehouse_file, landing)

    with forwarded_library_logs(), publishing.refresh_lock(warehouse_file, run_id):
        discard_report_leftovers(reports_root)
        start_run_task(warehouse_file, run_id, current_flow_run_id(), parameters)
        staging = reports_root / f".staging-{run_id}"
        working: Path | None = None
        data: runs.DataVintage | None = None
        current = "make working copy"
        try:
            working = make_working_copy_task(warehouse_file, run_id)
            current = "load landing"
            data = load_landing_task(landing, working, vintage)
            current = "dbt build"
            dbt_build_task(working, dbt_vars=options.dbt_vars())
            current = "estimate"
            frames = estimate_task(working, replications, seed)
            current = "write results"
            write_results_task(working, run_id, data, frames)
            current = "write report"
            staged = write_report_task(working, staging, run_id)
            report_dir = publishing.move_dir(staging, reports_root / run_id)
            current = "publish"
            publish_task(working, warehouse_file, run_id)
        except BaseException as exc:
            if working is not None:
                publishing.discard(working)
            publishing.discard_dir(staging)
            publishing.discard_dir(reports_root / run_id)
            error = f"step {current!r} failed: {type(exc).__name__}: {exc}"
            try:
                record_failure_task(warehouse_file, run_id, error, data)
            except Exception as record_exc:  # keep the step's error as the one raised
                logger.error("could not mark run %s failed: %s", run_id, record_exc)
            raise

    # Published: the run succeeded. The `latest` link is a convenience; checked writable up
    # front, a failure to move it now is reported but does not unmake the run.
    try:
        publishing.point_latest(reports_root / "latest", report_dir)
    except OSError as exc:
        logger.warning("run %s published, but %s could not point at its report: %s", run_id,
                       reports_root / "latest", exc)
    reports = [str(report_dir / p.relative_to(staging)) for p in staged]
    summary = {"run_id": run_id, "status": runs.SUCCEEDED, "warehouse": str(warehouse_file),
               "report_dir": str(report_dir), "reports": reports}
    logger.info("run %s succeeded; warehouse %s; report %s", run_id, warehouse_file, report_dir)
    return summary


def check_destinations(warehouse: Path, reports_root: Path) -> None:
    """Refuse up front, with one clear line, what would make a refresh fail after its work:
    a warehouse that must not be replaced, a reports folder that cannot be written, a
    ``reports/latest`` that is a real folder rather than the link a refresh moves."""
    publishing.check_writable(warehouse)
    existing = next((p for p in (reports_root, *reports_root.parents) if p.exists()), None)
    if existing is not None and not (existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)):
        raise ResilienceError(f"cannot write reports under {reports_root}: {existing} is not a writable folder")
    latest = reports_root / "latest"
    if latest.exists() and not latest.is_symlink():
        raise ResilienceError(f"{latest} is not the link a refresh maintains (a real file or folder is there); "
                              "move it away")


def discard_report_leftovers(reports_root: Path) -> None:
    """Remove the staging folders of reports of refreshes that died (call under the lock)."""
    for leftover in reports_root.glob(".staging-*"):
        publishing.discard_dir(leftover)


def current_flow_run_id() -> str | None:
    """The id of the Prefect flow run this code runs in (None outside one)."""
    flow_run_id = prefect_flow_run.id
    return str(flow_run_id) if flow_run_id else None


def _published_run_status(warehouse: Path, run_id: str) -> str | None:
    if not warehouse.exists():
        return None
    with duckdb.connect(str(warehouse), read_only=True) as con:
        row = con.execute("select status from results.runs where run_id = ?", [run_id]).fetchone()
    return row[0] if row else None


def _run_exists(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
    return con.execute("select count(*) from results.runs where run_id = ?", [run_id]).fetchone()[0] > 0


