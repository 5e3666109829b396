"""Global Moran's I (paper eqs. 17-18) and Moran-scatter quadrants.

I = (n/S0) sum_ij w_ij z_i z_j / sum_i z_i^2, z = y - mean(y), S0 = sum_ij w_ij;
E[I] = -1/(n-1); the variance under normality is Cliff & Ord (1981):
Var[I] = (n^2 S1 - n S2 + 3 S0^2)/((n^2 - 1) S0^2) - E[I]^2. These come from esda.

The permutation p-value is ours, not esda's, only because esda draws its permutations
from numpy's global random state and takes no seed; we use the same statistic and the
same folded one-tailed pseudo p-value, (min(#{I_perm >= I}, P - #{I_perm >= I}) + 1)/(P + 1),
from a seeded generator so that a run is reproducible.
"""
from __future__ import annotations

import logging

import esda
import libpysal
import numpy as np
import pandas as pd

from .weights import SpatialWeights

logger = logging.getLogger(__name__)


def _libpysal_weights(sw: SpatialWeights) -> libpysal.weights.W:
    return libpysal.weights.full2W(sw.matrix, ids=[int(c) for c in sw.codes])


def permutation_p_value(values: np.ndarray, w: np.ndarray, observed: float, permutations: int,
                        rng: np.random.Generator) -> float:
    """Folded one-tailed pseudo p-value of Moran's I from ``permutations`` random relabellings."""
    z = values - values.mean()
    shuffled = np.array([rng.permutation(z) for _ in range(permutations)])
    simulated = len(z) / w.sum() * ((shuffled @ w.T) * shuffled).sum(axis=1) / (z @ z)
    larger = int((simulated >= observed).sum())
    larger = min(larger, permutations - larger)
    return (larger + 1.0) / (permutations + 1.0)


def global_moran(values: np.ndarray, sw: SpatialWeights, *, permutations: int = 999,
                 rng: np.random.Generator | None = None) -> dict[str, float]:
    """Moran's I with E[I], normality variance, z, two-sided normal p and permutation p."""
    values = np.asarray(values, dtype=float)
    result = esda.Moran(values, _libpysal_weights(sw), transformation="r", permutations=0, two_tailed=True)
    p_perm = np.nan
    if permutations:
        rng = rng if rng is not None else np.random.default_rng()
        p_perm = permutation_p_value(values, sw.matrix, result.I, permutations, rng)
    return {"moran_i": float(result.I), "expected_i": float(result.EI), "variance_norm": float(result.VI_norm),
            "z_norm": float(result.z_norm), "p_norm": float(result.p_norm), "p_perm": float(p_perm),
            "permutations": int(permutations)}


def scatter_coordinates(values: np.ndarray, sw: SpatialWeights) -> tuple[np.ndarray, np.ndarray]:
    """(z, Wz) with z the standardised values (population sd); the OLS slope of Wz on z is I."""
    values = np.asarray(values, dtype=float)
    z = (values - values.mean()) / values.std()
    return z, sw.matrix @ z


def quadrant_labels(z: np.ndarray, lag: np.ndarray) -> np.ndarray:
    """HH (z>0, lag>0), LH (z<=0, lag>0), LL (z<=0, lag<=0), HL (z>0, lag<=0)."""
    high, high_lag = z > 0, lag > 0
    return np.select([high & high_lag, ~high & high_lag, ~high & ~high_lag], ["HH", "LH", "LL"], "HL")


def moran_quadrants(values: np.ndarray, sw: SpatialWeights) -> pd.DataFrame:
    """unit_code, z, spatial_lag, quadrant for one variable-period."""
    z, lag = scatter_coordinates(values, sw)
    return pd.DataFrame({"unit_code": sw.codes.astype(int), "z": z, "spatial_lag": lag,
                         "quadrant": quadrant_labels(z, lag)})
