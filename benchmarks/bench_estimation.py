"""Time the Tables 4-8 suite on a simulated 270-row panel (30 provinces x 9 years).

Usage: .venv/bin/python benchmarks/bench_estimation.py [--replications 1000] [--seed 12345]

Prints seconds per specification, per mediator bootstrap (replications each), the total of
``run_regression_suite``, and -- to show what reusing the per-province cross-products buys --
the time of the refit-every-draw bootstrap on a few draws, extrapolated.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from panel_factory import simulate_panel  # noqa: E402  (test helper, not a package)

from estimation.mediation import _draw_counts, _province_blocks, bootstrap_indirect_refit  # noqa: E402
from estimation.specs import CONTROLS  # noqa: E402
from estimation.suite import run_regression_suite  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args()
    panel = simulate_panel(seed=0)
    run_regression_suite(panel, replications=10, seed=args.seed)   # warm-up (imports, BLAS)

    timings: dict[str, float] = {}
    start = time.perf_counter()
    frames = run_regression_suite(panel, replications=args.replications, seed=args.seed,
                                  timings=timings)
    total = time.perf_counter() - start
    print(f"panel: {len(panel)} rows; bootstrap: 3 x {args.replications} replications")
    for name, seconds in timings.items():
        print(f"  {name:<28s} {seconds:8.3f} s")
    print(f"  {'TOTAL run_regression_suite':<28s} {total:8.3f} s "
          f"({sum(len(f) for f in frames.values())} result rows)")

    cols = ["dt", *CONTROLS, "isu", "er"]
    _, df = _province_blocks(panel, cols)
    few = 20
    counts = _draw_counts(np.random.default_rng(0), 30, few)
    t0 = time.perf_counter()
    bootstrap_indirect_refit(df, counts, "isu")
    per_draw = (time.perf_counter() - t0) / few
    print(f"refit-every-draw bootstrap: {per_draw * 1e3:.1f} ms/draw -> "
          f"{per_draw * 3 * args.replications:.1f} s for 3 x {args.replications} "
          f"(vs {sum(v for k, v in timings.items() if k.startswith('bootstrap_')):.3f} s "
          "with the reused cross-products)")


if __name__ == "__main__":
    main()
