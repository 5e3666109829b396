"""The multiverse on real Dask clusters through prefect-dask: a LocalCluster of two worker
processes, an external scheduler and two workers started with the ``dask`` CLI on 127.0.0.1
(the ``resilience multiverse`` command against it on the bundled sample's warehouse, a worker
killed mid-run), and a failed run that leaves the warehouse as it was.

One temporary Prefect server serves the module; the external cluster is started once and
stopped (with every process this module started) at the end.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.runtime import flow_run as prefect_flow_run

from estimation.multiverse import MultiverseData, build_cells, fit_cells, sample_cells
from estimation.spatial.weights import SpatialWeights
from flows import multiverse as mv
from flows.pipeline import control_variables, estimate_and_publish
from synthetic.panels import simulate_panel
from synthetic.spatial import province_weights
from warehouse.seeds import seed_rows

DASK = str(Path(sys.executable).with_name("dask"))
RESILIENCE = str(Path(sys.executable).with_name("resilience"))


@pytest.fixture(scope="module")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="module")
def synthetic():
    """(data, cells): the seed's grid on a synthetic panel, index variants and all."""
    panel = simulate_panel(seed=11)
    codes, w = province_weights()
    sw = SpatialWeights.from_dense(w, codes, "geographic")
    panels = {None: panel, "entropy_per_year": panel.assign(er=panel.er * 1.1),
              "entropy_frozen": panel.assign(dt=panel.dt * 0.9)}
    data = MultiverseData(panels, {"geographic": sw, "economic": sw}, "unit_code", "year")
    options = mv.parse_choices(seed_rows("multiverse_choices"))
    base = next(r for r in seed_rows("specs") if r["spec_id"] == mv.BASE_SPEC)
    cells = build_cells(options, base, control_variables(seed_rows("analysis_variables")))
    return data, cells


def in_flow(function):
    """Run ``function()`` inside a flow run (the task runners submit task runs of it)."""
    @flow(name="multiverse-test", validate_parameters=False)
    def wrapper():
        return function()
    return wrapper()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_local_cluster_of_two_worker_processes_fits_every_cell_once(prefect_server, synthetic):
    data, cells = synthetic
    chosen = sample_cells(cells, 64, seed=3)
    rows, outcomes = in_flow(lambda: mv.fan_out(data, chosen, task_runner="dask", n_workers=2,
                                                replications=50, seed=5))
    assert [r["spec_key"] for r in rows] == [c.key for c in chosen]
    assert rows == fit_cells(data, chosen, replications=50, seed=5)   # the same numbers in-process
    assert len(outcomes) == mv.BATCHES_PER_SLOT * 2 == 8
    workers = {o.worker for o in outcomes}
    assert len(workers) == 2 and all(not w.endswith(f":{os.getpid()}") for w in workers)
    # the data reached each worker process once: every batch there ran on the same object
    assert len({(o.worker, o.data_id) for o in outcomes}) == 2
    assert sum(r["error"] is None for r in rows) == len(rows)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """``dask scheduler`` and two ``dask worker`` processes (one thread each) on 127.0.0.1."""
    logs = tmp_path_factory.mktemp("dask_cluster")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PREFECT_HOME": str(logs / "prefect_home"), "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    processes = []

    def start(*args, name):
        log = open(logs / f"{name}.log", "w")
        processes.append(subprocess.Popen([DASK, *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True))
        return processes[-1]

    try:
        start("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard", name="scheduler")
        workers = [start("worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                         "--name", f"w{i}", name=f"w{i}") for i in (1, 2)]
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=90)
        yield {"address": address, "workers": workers}
    finally:
        for proc in processes:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in processes:
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:  # a worker's Prefect threads can hold it up
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A copy of the bundled sample's built warehouse with one estimates run published."""
    from dbt_fixtures import built_sample_warehouse

    warehouse = tmp_path_factory.mktemp("multiverse_wh") / "warehouse.duckdb"
    shutil.copy(built_sample_warehouse(), warehouse)
    run_id = estimate_and_publish(warehouse, replications=20, seed=1)
    return warehouse, run_id


def test_the_cli_on_an_external_cluster_reproduces_the_published_baseline(dask_cluster, published, tmp_path):
    """The command in its own process, with the temporary Prefect server it starts itself."""
    warehouse, estimates_run = published
    with duckdb.connect(str(warehouse), read_only=True) as con:
        panel_before = con.execute("select * from marts.analysis_panel order by unit_code, year").df()
        design = mv.read_design(con)
    command = subprocess.run([RESILIENCE, "multiverse", "--task-runner", "dask", "--dask-address",
                              dask_cluster["address"], "--max-specs", "64", "--warehouse", str(warehouse)],
                             capture_output=True, text=True, timeout=600,
                             env={k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"})
    assert command.returncode == 0, command.stderr[-3000:]
    printed = command.stdout
    with duckdb.connect(str(warehouse), read_only=True) as con:
        run = con.execute("select run_id, status, kind, parameters from results.runs "
                          "where kind = 'multiverse'").fetchall()
        assert len(run) == 1 and run[0][1] == "succeeded"
        run_id = run[0][0]
        cells = con.execute("select * from results.multiverse where run_id = ? order by spec_key", [run_id]).df()
        published_estimate, published_se = con.execute(
            "select estimate, std_error from results.coefficients where run_id = ? and "
            "spec_id = 'baseline_twfe_controls' and term = 'dt'", [estimates_run]).fetchone()
        latest = con.execute("select run_id from marts.dim_result_runs where is_latest").fetchone()[0]
        curve = con.execute("select * from marts.rpt_specification_curve where run_id = ? order by rank",
                            [run_id]).df()
        summary = con.execute("select * from marts.rpt_specification_curve_summary where run_id = ?",
                              [run_id]).df().iloc[0]
        panel_after = con.execute("select * from marts.analysis_panel order by unit_code, year").df()
    # the documented sample: 64 cells, the baseline among them, the same for the same seed
    expected = sample_cells(design.cells(), 64, seed=12345)
    assert sorted(cells["spec_key"]) == sorted(c.key for c in expected) and len(cells) == 64
    baseline = cells[cells["is_baseline"]]
    assert len(baseline) == 1
    assert baseline["estimate"].iloc[0] == published_estimate       # exactly, not approximately
    assert baseline["std_error"].iloc[0] == published_se
    assert f"{published_estimate!r}" in printed and "64 cells" in printed
    # both dbt index variants were built and used; nothing failed on the sample
    assert {"entropy_per_year", "entropy_frozen", "pca", "entropy_pooled"} <= set(cells["index"])
    assert cells["error"].isna().all() and np.isfinite(cells["estimate"]).all()
    # the variants are not the published indices: a variant cell differs from the pooled fit
    # of the same spec on the published panel
    variant = expected[[c.panel for c in expected].index("entropy_per_year")]
    same_spec_on_published = fit_cells(MultiverseData({None: design.inputs.panel, "entropy_per_year":
                                                       design.inputs.panel}, design.inputs.weights,
                                                      "unit_code", "year"), [variant])[0]
    assert cells.set_index("spec_key").loc[variant.key, "estimate"] != same_spec_on_published["estimate"]
    # the published warehouse: panel untouched, the estimates run still the latest, no copies left
    assert panel_after.equals(panel_before)
    assert latest == estimates_run
    assert not list(warehouse.parent.glob("*.work-*")) and not list(warehouse.parent.glob("*.edit-*"))
    # the marts
    assert list(curve["rank"]) == list(range(1, 65))
    assert curve["estimate"].is_monotonic_increasing and bool(curve["is_latest"].all())
    assert (curve["estimates_run_id"] == estimates_run).all()
    assert summary["cells"] == 64 and summary["failed"] == 0
    assert summary["share_positive"] == pytest.approx((cells["estimate"] > 0).mean())
    assert summary["share_significant"] == pytest.approx((cells["p_value"] < 0.05).mean())
    assert summary["median_estimate"] == pytest.approx(cells["estimate"].median())
    assert summary["baseline_estimate"] == published_estimate
    # the report of the estimates run draws the curve
    from flows.report import write_report

    paths = write_report(warehouse, tmp_path / "report", run_id=estimates_run)
    curve_figure = [p for p in paths if p.name == "specification_curve.png"]
    assert len(curve_figure) == 1 and curve_figure[0].stat().st_size > 10_000
    assert "Specification curve (multiverse run" in (tmp_path / "report" / "report.md").read_text()


def test_a_failed_run_leaves_the_warehouse_as_it_was(prefect_server, published, monkeypatch):
    warehouse, _ = published
    before = hashlib.sha256(warehouse.read_bytes()).hexdigest()

    def crash(*args, **kwargs):
        raise RuntimeError("a batch crashed")

    monkeypatch.setattr(mv, "fit_cells", crash)
    with pytest.raises(RuntimeError, match="a batch crashed"):
        mv.multiverse(warehouse=str(warehouse), max_specs=1, task_runner="thread", n_workers=1)
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == before
    assert not list(warehouse.parent.glob("*.work-*")) and not list(warehouse.parent.glob("*.edit-*"))
    from warehouse.publish import refresh_lock

    with refresh_lock(warehouse):  # released
        pass


def test_a_worker_killed_mid_run_changes_no_result(prefect_server, dask_cluster, synthetic):
    """Runs last: it kills one of the module cluster's workers. Its workers served the CLI
    test's run first, against that command's own temporary Prefect server: this run's task
    runs reach this module's server only because the flow points the workers' Prefect events
    at it (flows.multiverse.PrefectEventsTo; without it none were recorded here)."""
    from distributed import Client

    data, cells = synthetic
    chosen = [c for c in sample_cells(cells, 800, seed=4) if c.spec.estimator == "ols"][:400]
    address = dask_cluster["address"]
    clean, _ = in_flow(lambda: mv.fan_out(data, chosen, task_runner="dask", dask_address=address, seed=5))

    victim, survivor = dask_cluster["workers"]
    seen_at_kill: list[str] = []

    def kill_once_under_way():  # the flow runs in the main thread; this one watches the scheduler
        with Client(address, timeout=30) as watcher:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                states = watcher.run_on_scheduler(lambda dask_scheduler: [
                    ts.state for key, ts in dask_scheduler.tasks.items() if "fit_batch" in str(key)])
                if states.count("memory") >= 1 and len(states) - states.count("memory") >= 3:
                    victim.send_signal(signal.SIGKILL)
                    seen_at_kill.extend(states)
                    return
                time.sleep(0.05)

    watcher = threading.Thread(target=kill_once_under_way)
    watcher.start()
    flow_run_id, (rows, outcomes) = in_flow(lambda: (prefect_flow_run.id, mv.fan_out(
        data, chosen, task_runner="dask", dask_address=address, seed=5)))
    watcher.join(30)
    assert seen_at_kill, "the worker was not killed while the run was under way"
    assert victim.wait(10) == -signal.SIGKILL
    assert rows == clean                               # complete and identical
    pids = [int(o.worker.rsplit(":", 1)[1]) for o in outcomes]
    assert set(pids) <= {victim.pid, survivor.pid} and survivor.pid in pids
    # in Prefect: one task run per batch, all completed; the batch the dead worker was running
    # ran again (Running -> Pending -> Running -> Completed)
    histories = recorded_task_run_states(flow_run_id, len(outcomes))
    assert len(histories) == len(outcomes) and all(h[-1] == "COMPLETED" for h in histories)
    assert any(h.count("RUNNING") == 2 for h in histories), histories


def recorded_task_run_states(flow_run_id, expected: int, timeout: float = 60.0) -> list[list[str]]:
    """The state histories of the flow run's task runs, once the server has recorded
    ``expected`` finished ones: workers report task runs as events, which the server records
    asynchronously, so right after the flow returns some may not be there yet."""
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            task_runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            histories = [[st.type.value for st in client.read_task_run_states(tr.id)] for tr in task_runs]
            finished = [h for h in histories if h and h[-1] in ("COMPLETED", "FAILED", "CRASHED")]
            if len(finished) >= expected or time.monotonic() > deadline:
                return histories
            time.sleep(0.5)
