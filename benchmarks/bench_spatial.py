"""Time the spatial estimators on simulated panels: N = 30 provinces (T = 9, the geographic W),
N = 290 (T = 20, inverse distance: dense, exact eigenvalues) and N = 2,800 (T = 20, k = 8
nearest neighbours of random points: sparse, estimation.spatial.logdet's sparse route).

Run: .venv/bin/python benchmarks/bench_spatial.py [--sizes 30 290 2800] [--draws 1000]
     [--permutations 999] [--threads 1]

Steps timed: building W (with its eigenvalues when it keeps them), the Lee-Yu SDM fit (grid,
Brent, score polish, information matrix), 1,000 effect draws (exact eigenvalue sums, or the
trace series of a sparse W), the SDM as the suite runs it (fit, draws, likelihood profile and
its interval), the SEM fit, the LM tests, and Moran's I with 999 permutations for every year.
The target of issue 12 is the SDM fit plus 1,000 draws at N = 2,800, T = 20 within 10 s on
the 2-core machine. ``--threads`` caps the BLAS threads (default 1: on 2 shared cores more
threads mostly wait for each other).
"""
from __future__ import annotations

import argparse
import os
import time


def timed(label: str, func, *args, **kwargs):
    start, cpu = time.perf_counter(), time.process_time()
    out = func(*args, **kwargs)
    print(f"  {label:<44s} {time.perf_counter() - start:8.3f} s wall {time.process_time() - cpu:8.3f} s cpu",
          flush=True)
    return out


def bench(n: int, draws: int, permutations: int) -> None:
    import numpy as np
    import pandas as pd

    from estimation.specs import Spec
    from estimation.spatial.effects import simulate_effects
    from estimation.spatial.lm_tests import lm_tests
    from estimation.spatial.logdet import TraceMultipliers
    from estimation.spatial.models import fit_spatial_model
    from estimation.spatial.moran import global_moran
    from estimation.spatial.sdm import fit_error_model, fit_lag_model
    from estimation.spatial.weights import (SpatialWeights, inverse_distance, k_nearest,
                                            row_standardise)
    from synthetic.spatial import province_weights, random_points, simulate_sdm

    beta = np.array([0.5, -0.2, 0.3, 0.1, -0.1, 0.2])
    theta = np.array([0.3, 0.1, -0.2, 0.0, 0.1, -0.1])
    names = ["dt", "medical", "ec", "open", "tax", "culture"]
    n_periods = 9 if n == 30 else 20
    if n == 30:
        kind, w = "geographic W of the provinces", province_weights()[1]
    elif n <= 1000:
        kind, w = "inverse distance", row_standardise(inverse_distance(*random_points(n, seed=1)))
    else:
        kind, w = "8 nearest neighbours", row_standardise(k_nearest(*random_points(n, seed=1), k=8))
    print(f"N = {n}, T = {n_periods} ({n * n_periods} rows), {kind}", flush=True)
    y, x = simulate_sdm(w, n_periods, 0.4, beta, theta, seed=1)
    sw = timed("W checked (+ eigenvalues if kept)", SpatialWeights.from_dense, w, np.arange(n), "bench")
    route = "sparse LU + traces" if sw.is_sparse else "exact eigenvalues"
    print(f"  route: {route}; non-zero weights {np.count_nonzero(w)}")

    start = time.perf_counter()
    fit = timed("SDM fit, Lee-Yu (incl. information)", fit_lag_model, y, x, sw, names)
    multipliers = sw.eigenvalues if sw.eigenvalues is not None else TraceMultipliers(sw, fit.spatial_parameter)
    timed(f"effects, {draws} draws", simulate_effects, fit.params, fit.cov, multipliers, names,
          sw.rho_bounds, durbin=True, draws=draws, seed=1)
    total = time.perf_counter() - start
    print(f"  {'=> SDM fit + ' + str(draws) + ' draws':<44s} {total:8.3f} s wall", flush=True)

    panel = pd.DataFrame({"unit": np.tile(np.arange(n), n_periods), "t": np.repeat(np.arange(n_periods), n),
                          "y": y.ravel(), **{k: x[..., j].ravel() for j, k in enumerate(names)}})
    spec = Spec("sdm_bench", "y", tuple(names), controls=(), estimator="sdm", weights="bench")
    result = timed("SDM as the suite runs it (+ profile, CI)", fit_spatial_model, panel, spec, sw,
                   unit="unit", time="t", draws=draws, seed=1)
    timed("SEM fit, Lee-Yu", fit_error_model, y, x, sw, names)
    timed("LM tests", lm_tests, y, x, sw)
    rng = np.random.default_rng(1)
    timed(f"Moran's I, {permutations} permutations x {n_periods} years",
          lambda: [global_moran(y[t], sw, permutations=permutations, rng=rng) for t in range(n_periods)])
    st = result.stats
    print(f"  rho = {fit.spatial_parameter:.4f} (se {fit.std_errors[-1]:.4f}; planted 0.4); "
          f"profile CI [{st['profile_ci_low']:.4f}, {st['profile_ci_high']:.4f}]")
    if sw.is_sparse:
        print(f"  information trace rel. se {st['information_trace_rel_se']:.2e}; "
              f"effects trace truncation bound {st['effects_trace_truncation_bound']:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 290, 2800])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--permutations", type=int, default=999)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))  # before numpy is imported
    print(f"{os.cpu_count()} cores, BLAS threads {os.environ['OMP_NUM_THREADS']}")
    for n in args.sizes:
        bench(n, args.draws, args.permutations)


if __name__ == "__main__":
    main()
