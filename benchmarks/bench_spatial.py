"""Time the spatial pipeline on simulated panels: N = 30 (T = 9), 290 and 2,800 (T = 20).

Run: .venv/bin/python benchmarks/bench_spatial.py [--sizes 30 290 2800] [--draws 1000]

Steps timed: eigenvalues of W (once per W, O(N^3)), one concentrated-likelihood evaluation
(O(N) given the eigenvalues), the full Lee-Yu SDM fit (grid + Brent search + the
information matrix, which forms G = W (I - rho W)^-1 once), the SEM fit, 1,000 effect
draws (O(N) each), the LM tests, and Moran's I with 999 permutations for one year.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from estimation.spatial.effects import simulate_effects
from estimation.spatial.lm_tests import lm_tests
from estimation.spatial.moran import global_moran
from estimation.spatial.sdm import fit_error_model, fit_lag_model
from estimation.spatial.weights import (SpatialWeights, eigenvalues, inverse_distance, log_det,
                                        row_standardise)
from synthetic.spatial import province_weights, random_points, simulate_sdm

BETA = np.array([0.5, -0.2, 0.3, 0.1, -0.1, 0.2])
THETA = np.array([0.3, 0.1, -0.2, 0.0, 0.1, -0.1])
NAMES = ["dt", "medical", "ec", "open", "tax", "culture"]


def timed(label: str, func, *args, **kwargs):
    start, cpu = time.perf_counter(), time.process_time()
    out = func(*args, **kwargs)
    print(f"  {label:<38s} {time.perf_counter() - start:9.3f} s wall {time.process_time() - cpu:9.3f} s cpu",
          flush=True)
    return out


def bench(n: int, n_periods: int, draws: int, permutations: int) -> None:
    print(f"N = {n}, T = {n_periods} ({n * n_periods} rows)")
    w = province_weights()[1] if n == 30 else row_standardise(inverse_distance(*random_points(n, seed=1)))
    y, x = simulate_sdm(w, n_periods, 0.4, BETA, THETA, seed=1)
    eig = timed("eigenvalues (once per W)", eigenvalues, w)
    sw = SpatialWeights(name="bench", codes=np.arange(n), matrix=w, eigenvalues=eig)
    rhos = np.linspace(-0.5, 0.9, 100)
    start = time.perf_counter()
    log_det(rhos, eig)
    print(f"  {'one log-determinant (mean of 100)':<38s} {(time.perf_counter() - start) / 100:9.6f} s")
    fit = timed("SDM fit, Lee-Yu (incl. information)", fit_lag_model, y, x, sw, NAMES)
    timed("SEM fit, Lee-Yu", fit_error_model, y, x, sw, NAMES)
    timed(f"effects, {draws} draws", simulate_effects, fit.params, fit.cov, eig, NAMES, sw.rho_bounds,
          durbin=True, draws=draws, seed=1)
    timed("LM tests", lm_tests, y, x, sw)
    timed(f"Moran's I, {permutations} permutations", global_moran, y[0], sw, permutations=permutations,
          rng=np.random.default_rng(1))
    print(f"  rho = {fit.spatial_parameter:.3f} (se {fit.std_errors[-1]:.3f}; planted 0.4)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 290, 2800])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--permutations", type=int, default=999)
    args = parser.parse_args()
    for n in args.sizes:
        bench(n, 9 if n == 30 else 20, args.draws, args.permutations)


if __name__ == "__main__":
    main()
