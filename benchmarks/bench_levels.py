"""End-to-end refresh on the synthetic samples at province, prefecture and county level (issue 12).

For each level: write the synthetic landing folder (``resilience sample --units LEVEL``), then
run the refresh's steps in a fresh child process -- load, dbt build, estimate (every suite,
``--replications`` bootstrap replications and spatial effect draws), write results, report --
timing each, and print the seconds per step, the panel's size and the peak memory (the largest
resident set of the step process and of its own children, i.e. dbt, which runs in a child).
``--cli`` also times the whole ``resilience refresh`` command (its temporary Prefect server
included) in a child process.

    .venv/bin/python benchmarks/bench_levels.py [--levels province prefecture county]
        [--replications 1000] [--cli]

Years: 2013-2021 for provinces (the paper's panel), 2003-2022 below (20 years).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
YEARS = {"province": (2013, 2021), "prefecture": (2003, 2022), "county": (2003, 2022)}


def steps(landing: str, warehouse: str, reports: str, replications: int) -> None:
    """Child process: the refresh's steps in order, one JSON line of timings at the end."""
    import duckdb

    from flows import pipeline
    from flows.report import write_report
    from warehouse import runs
    from warehouse.dbt_runner import dbt_build
    from warehouse.loader import load_landing
    from warehouse.results_store import write_results

    times: dict[str, float] = {}

    def timed(name, func, *args, **kwargs):
        start = time.perf_counter()
        out = func(*args, **kwargs)
        times[name] = time.perf_counter() - start
        return out

    timed("load", load_landing, Path(landing), Path(warehouse))
    timed("dbt build", dbt_build, Path(warehouse))
    with duckdb.connect(warehouse) as con:
        inputs = timed("read panel", pipeline.load_inputs, con)
        frames = timed("estimate", pipeline.estimate, inputs, replications=replications)
        run_id = runs.new_run_id()
        runs.start_run(con, run_id, parameters={"benchmark": "bench_levels"})
        timed("write results", write_results, con, run_id, frames)
        runs.record_vintage(con, run_id)
        runs.record_panel_level(con, run_id)
        runs.finish_run(con, run_id)
    timed("report", write_report, Path(warehouse), Path(reports), run_id=run_id)
    panel = inputs.panel
    print(json.dumps({
        "times": times, "units": int(panel["unit_code"].nunique()), "years": int(panel["year"].nunique()),
        "rows": len(panel), "specs": len(inputs.specs), "skipped": int(len(frames["skipped_specs"])),
        "peak_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }))


def run_level(level: str, replications: int, cli: bool, root: Path) -> None:
    first, last = YEARS[level]
    landing, work = root / f"landing-{level}", root / f"work-{level}"
    work.mkdir()
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "flows.cli", "sample", str(landing), "--units", level,
                    "--first-year", str(first), "--last-year", str(last)],
                   check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    sample_s = time.perf_counter() - start
    out = subprocess.run([sys.executable, __file__, "--child", str(landing), str(work / "w.duckdb"),
                          str(work / "report"), str(replications)],
                         check=True, cwd=REPO, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    total = sum(result["times"].values())
    peak = max(result["peak_self_mb"], result["peak_children_mb"])
    print(f"\n{level}: {result['units']} units x {result['years']} years = {result['rows']:,} panel rows; "
          f"{result['specs']} specs ({result['skipped']} skipped at this level); sample written in {sample_s:.1f} s")
    for name, seconds in result["times"].items():
        print(f"  {name:<14} {seconds:7.1f} s")
    print(f"  {'total':<14} {total:7.1f} s   peak memory {peak:,.0f} MB "
          f"(steps {result['peak_self_mb']:,.0f} MB, dbt {result['peak_children_mb']:,.0f} MB)")
    if cli:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "flows.cli", "refresh", str(landing), "--replications",
                        str(replications), "-w", str(work / "cli.duckdb")],
                       check=True, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cli_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"  resilience refresh (Prefect server included): {time.perf_counter() - start:.1f} s, "
              f"largest process {cli_peak:,.0f} MB")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        landing, warehouse, reports, replications = sys.argv[2:6]
        steps(landing, warehouse, reports, int(replications))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", nargs="+", default=list(YEARS), choices=list(YEARS))
    parser.add_argument("--replications", type=int, default=1000)
    parser.add_argument("--cli", action="store_true", help="also time `resilience refresh` as a whole")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')} BLAS threads; "
          f"replications {args.replications}")
    with tempfile.TemporaryDirectory(prefix="bench-levels-") as tmp:
        for level in args.levels:
            run_level(level, args.replications, args.cli, Path(tmp))


if __name__ == "__main__":
    main()
