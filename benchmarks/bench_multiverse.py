"""Cells per second of the specification curve through Prefect and Dask, with 1 and 2 worker
processes, for OLS cells and for SDM cells, and the 2-worker speed-up.

Run: .venv/bin/python benchmarks/bench_multiverse.py [--ols 4000] [--sdm 2048] [--units 30 290]

The cells are the seed multiverse_choices' grid around baseline_twfe_controls, fitted on a
SYNTHETIC panel (synthetic.panels.simulate_panel; T = 9) with its W: the 30 study provinces
(the paper's size) and, for heavier SDM cells, 290 units with a random 1/d^2 W. The index
constructions share the one panel (they cost the same). The grid has 512 SDM cells; more are
the same cells fitted again (as cells of their own), so that the fixed cost of a fan-out
(connecting, shipping the data, the last batch's wait) does not dominate a few seconds of
work; that fixed cost is printed too. For each worker count a LocalCluster
of that many single-threaded worker processes is started and warmed up (imports, the first
task runs) before the clock starts; the timed phase is what the flow's fan-out does: ship the
data once (scatter), submit the batches as Prefect tasks, collect the rows. The in-process
figure (no Prefect, no Dask; numpy may use both cores there) shows what orchestration costs.
The share of the timed phase the workers spent on a CPU shows how much of the cores they got:
on a 2-core machine the flow, the scheduler, the Prefect server and other users' processes
compete with them.

Targets (issue 14): >= 1,000 OLS cells per minute per core; 2-worker speed-up >= 1.6 on SDM cells.
"""
from __future__ import annotations

import argparse
import logging
from dataclasses import replace
import os
import sys
import time

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import numpy as np  # noqa: E402
import psutil  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402
from prefect import flow  # noqa: E402

from estimation.multiverse import MultiverseData, build_cells, fit_cells, sample_cells  # noqa: E402
from estimation.spatial.weights import SpatialWeights  # noqa: E402
from flows import multiverse as mv  # noqa: E402
from flows.pipeline import control_variables  # noqa: E402
from synthetic.panels import simulate_panel  # noqa: E402
from synthetic.spatial import decay_weights, province_weights  # noqa: E402
from warehouse.seeds import seed_rows  # noqa: E402


def synthetic_data(units: int) -> MultiverseData:
    panel = simulate_panel(seed=1, n_provinces=units)
    codes = np.sort(panel["unit_code"].unique())
    if units == 30:
        codes, w = province_weights()
    else:
        w = decay_weights(units, seed=2)
    sw = SpatialWeights.from_dense(w, codes, "geographic")
    return MultiverseData({None: panel, "entropy_per_year": panel, "entropy_frozen": panel},
                          {"geographic": sw, "economic": sw}, "unit_code", "year")


def grid():
    options = mv.parse_choices(seed_rows("multiverse_choices"))
    base = next(r for r in seed_rows("specs") if r["spec_id"] == mv.BASE_SPEC)
    return build_cells(options, base, control_variables(seed_rows("analysis_variables")))


#: (data, cells, scheduler address, replications) of the next timed fan-out (see bench_flow).
WORK: tuple = ()


@flow(name="multiverse-benchmark")
def bench_flow() -> tuple[float, int]:
    """(seconds, batches) of one fan-out of WORK inside a flow run. It takes no parameters
    (Prefect would send them to its API) and reads WORK through the module rather than closing
    over it: the flow object travels, pickled and hashed, in every batch task's context, and a
    closure would carry every cell and panel with it; the real flow, a module-level function,
    is pickled by reference."""
    data, cells, address, replications = sys.modules[__name__].WORK
    start = time.perf_counter()
    rows, outcomes = mv.fan_out(data, cells, task_runner="dask", dask_address=address,
                                replications=replications)
    seconds = time.perf_counter() - start
    assert len(rows) == len(cells) and all(r["error"] is None for r in rows), "a cell failed"
    return seconds, len(outcomes)


def timed_fan_out(data, cells, address, replications):
    global WORK
    WORK = (data, cells, address, replications)
    return bench_flow()


def _worker_cpu_seconds(client) -> float:
    return sum(client.run(lambda: sum(psutil.Process().cpu_times()[:2])).values())


def run(kind: str, data: MultiverseData, cells, workers: int, replications: int) -> float:
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        fixed, _ = timed_fan_out(data, cells[: workers], cluster.scheduler_address, replications)  # warm-up
        fixed, _ = timed_fan_out(data, cells[: workers], cluster.scheduler_address, replications)
        cpu = _worker_cpu_seconds(client)
        seconds, batches = timed_fan_out(data, cells, cluster.scheduler_address, replications)
        used = _worker_cpu_seconds(client) - cpu
        share = used / (seconds * workers)
    rate = len(cells) / seconds
    print(f"  {kind:>4} cells, {workers} worker process{'es' if workers > 1 else '  '}: {len(cells):5d} cells "
          f"in {seconds:6.2f} s ({batches:3d} batches) = {rate:7.1f} cells/s = "
          f"{60 * rate / workers:8.0f} cells/min/core; worker CPU {1000 * used / len(cells):.1f} ms per cell, "
          f"on CPU {share:.0%} of the time; "
          f"a fan-out of {workers} cell{'s' if workers > 1 else ''} takes {fixed:.2f} s", flush=True)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ols", type=int, default=4000, help="OLS cells timed")
    parser.add_argument("--sdm", type=int, default=2048, help="SDM cells timed (the grid's 512, repeated)")
    parser.add_argument("--units", type=int, nargs="+", default=[30, 290])
    parser.add_argument("--replications", type=int, default=200, help="effect draws of an SDM cell")
    args = parser.parse_args()
    logging.getLogger("distributed").setLevel(logging.ERROR)
    cells = grid()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (other processes share "
          f"the cores: a speed-up needs two idle ones); grid of {len(cells)} cells "
          f"({sum(c.spec.estimator == 'sdm' for c in cells)} SDM)")
    for units in args.units:
        data = synthetic_data(units)
        ols = [c for c in sample_cells(cells, len(cells), seed=1) if c.spec.estimator == "ols"]
        ols = [ols[i] for i in np.random.default_rng(1).permutation(len(ols))[: args.ols]]
        grid_sdm = [c for c in cells if c.spec.estimator == "sdm"]
        sdm = [replace(c, key=f"{c.key}#{i // len(grid_sdm)}") if i >= len(grid_sdm) else c
               for i, c in ((i, grid_sdm[i % len(grid_sdm)]) for i in range(args.sdm))]
        print(f"SYNTHETIC panel: {units} units x 9 years")
        for kind, chosen in (("OLS", ols), ("SDM", sdm)):
            if units != 30 and kind == "OLS":
                continue  # OLS cost hardly depends on W; the large panel is for the SDM cells
            probe = chosen[: min(len(chosen), 100)]
            start = time.perf_counter()
            fit_cells(data, probe, replications=args.replications)
            in_process = len(probe) / (time.perf_counter() - start)
            print(f"  {kind:>4} cells in this process, no orchestration: {in_process:7.1f} cells/s "
                  f"= {60 * in_process:8.0f} cells/min on one core")
            one = run(kind, data, chosen, 1, args.replications)
            two = run(kind, data, chosen, 2, args.replications)
            print(f"  {kind:>4} 2-worker speed-up: {two / one:.2f}x (load average now {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
