"""Fit a two-way fixed-effects spatial Durbin model with LeSage-Pace effects using only the
``estimation`` package: any balanced panel (here the columns are ``region`` and ``t``) and any
row-standardised W (here 5 nearest neighbours: asymmetric, with complex eigenvalues).

Run: ``python docs/examples/sdm_knn.py``. The panel is simulated from the SDM with known
parameters, so the printed estimates can be compared with the truth.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from estimation.specs import Spec
from estimation.spatial.weights import SpatialWeights, k_nearest, row_standardise
from estimation.suite import fit_spec

RHO, BETA, THETA = 0.5, np.array([1.0, -0.5]), np.array([0.4, 0.2])


def simulate(n_regions: int = 150, n_periods: int = 12, seed: int = 1):
    """(panel with columns region, t, y, x1, x2; W) from y_t = (I - rho W)^-1 (X b + W X theta
    + mu + alpha_t + e)."""
    rng = np.random.default_rng(seed)
    lat, lon = rng.uniform(20, 48, n_regions), rng.uniform(85, 125, n_regions)
    w = row_standardise(k_nearest(lat, lon, k=5))
    mu, alpha = rng.normal(size=n_regions), rng.normal(size=n_periods)
    x = rng.normal(size=(n_periods, n_regions, 2)) + 0.5 * mu[None, :, None]
    rhs = x @ BETA + np.einsum("ij,tjk->tik", w, x) @ THETA + mu + alpha[:, None] \
        + rng.normal(size=(n_periods, n_regions))
    y = np.linalg.solve(np.eye(n_regions) - RHO * w, rhs.T).T
    panel = pd.DataFrame({"region": np.tile(np.arange(n_regions), n_periods),
                          "t": np.repeat(np.arange(2001, 2001 + n_periods), n_regions),
                          "y": y.ravel(), "x1": x[..., 0].ravel(), "x2": x[..., 1].ravel()})
    return panel, w


def main() -> dict:
    panel, w = simulate()
    knn = SpatialWeights.from_dense(w, codes=np.arange(len(w)), name="knn")
    spec = Spec("sdm_knn", "y", ("x1", "x2"), estimator="sdm", weights="knn")
    result = fit_spec(panel, spec, unit="region", time="t", weights={"knn": knn}, replications=500, seed=3)
    print("complex eigenvalues of W:", int((np.abs(knn.eigenvalues.imag) > 1e-10).sum()))
    print(pd.DataFrame({"estimate": result.params, "std_error": result.std_errors,
                        "truth": np.r_[BETA, THETA, RHO]}).round(3))
    effects = result.tidy()["spatial_effects"]
    print(effects.pivot(index="term", columns="effect", values="estimate").round(3))
    return {"result": result, "effects": effects, "weights": knn}


if __name__ == "__main__":
    main()
