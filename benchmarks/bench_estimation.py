"""Time the non-spatial specifications of the seed specs (Tables 4-8) on a simulated 270-row
panel (30 provinces x 9 years).

Usage: .venv/bin/python benchmarks/bench_estimation.py [--replications 1000] [--seed 12345]

Prints seconds per specification (a mediation spec includes its bootstrap), the total, and --
to show what reusing the per-unit cross-products buys -- the time of the refit-every-draw
bootstrap on a few draws, extrapolated.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from estimation.mediation import _draw_counts, _unit_blocks, bootstrap_indirect_refit
from estimation.results import concat_tidy
from estimation.specs import SPATIAL_ESTIMATORS
from estimation.suite import estimate_specs
from flows.pipeline import seed_specs
from synthetic.panels import CONTROLS, simulate_panel

UNIT, TIME = "unit_code", "year"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args()
    panel = simulate_panel(seed=0)
    specs = [s for s in seed_specs() if s.estimator not in SPATIAL_ESTIMATORS]
    estimate_specs(panel, specs, unit=UNIT, time=TIME, replications=10, seed=args.seed)  # warm-up

    timings: dict[str, float] = {}
    start = time.perf_counter()
    results = estimate_specs(panel, specs, unit=UNIT, time=TIME, replications=args.replications,
                             seed=args.seed, timings=timings)
    total = time.perf_counter() - start
    print(f"panel: {len(panel)} rows; bootstrap: 3 x {args.replications} replications")
    for name, seconds in timings.items():
        print(f"  {name:<28s} {seconds:8.3f} s")
    rows = sum(len(f) for f in concat_tidy(results).values())
    print(f"  {'TOTAL':<28s} {total:8.3f} s ({rows} result rows)")

    mediation = next(s for s in specs if s.spec_id == "mediation_isu")
    cols = ["dt", *CONTROLS, "isu", "er"]
    _, df = _unit_blocks(panel, cols, UNIT, TIME)
    few = 20
    counts = _draw_counts(np.random.default_rng(0), 30, few)
    t0 = time.perf_counter()
    bootstrap_indirect_refit(df, counts, mediation, UNIT, TIME)
    per_draw = (time.perf_counter() - t0) / few
    print(f"refit-every-draw bootstrap: {per_draw * 1e3:.1f} ms/draw -> "
          f"{per_draw * 3 * args.replications:.1f} s for 3 x {args.replications} "
          f"(vs {sum(v for k, v in timings.items() if k.startswith('mediation_') and not k.endswith(('_a', '_b'))):.3f} s "
          "for the three mediation specs with the reused cross-products)")


if __name__ == "__main__":
    main()
