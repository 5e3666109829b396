"""Local Moran's I (LISA, Anselin 1995) with conditional permutation inference, by esda.

For one variable y in one period, with z = (y - mean y) / sd(y) (population sd) and a
row-standardised W:

    I_i = (n - 1) z_i sum_j w_ij z_j / sum_k z_k^2          (esda.Moran_Local's scaling)

**Inference, conditional permutation** (Anselin 1995): y_i is held fixed and the values of
i's neighbours are drawn at random, without replacement, from the other n - 1 units, P times.
``p`` is esda's folded pseudo p-value (min(#{I_i* >= I_i}, P - #{I_i* >= I_i}) + 1)/(P + 1);
``ii_z`` = (I_i - mean I_i*) / sd I_i* (esda's z_sim).

**Quadrant** of the Moran scatter plot (z_i, [Wz]_i): HH, LH, LL, HL, as in
``results.moran_quadrants``. **Significant**: p_i <= the cut-off of the multiple-testing
``adjustment`` at level ``alpha``:

* ``none``: alpha (GeoDa's default: p <= 0.05, each unit tested on its own);
* ``bonferroni``: alpha / n;
* ``fdr``: the Benjamini-Hochberg false-discovery-rate cut-off (esda.fdr): the largest
  k alpha / n with p_(k) < k alpha / n (alpha / n when there is none).

A LISA cluster map colours a unit by its quadrant when it is significant, else "not
significant" (GeoDa's categories).

esda seeds its permutations through numpy's global random state; :func:`local_moran` restores
that state afterwards, so the call has no side effect on other code.
"""
from __future__ import annotations

import logging
import warnings

import esda
import libpysal
import numpy as np
import pandas as pd
from scipy import sparse

from estimation.errors import SpatialInputError
from estimation.results import Result
from estimation.specs import Spec

from .moran import quadrant_labels
from .panel import panel_block
from .weights import SpatialWeights

logger = logging.getLogger(__name__)

ADJUSTMENTS = ("none", "bonferroni", "fdr")
DEFAULT_ALPHA = 0.05
DEFAULT_ADJUSTMENT = "none"


def significance_cutoff(p: np.ndarray, alpha: float = DEFAULT_ALPHA,
                        adjustment: str = DEFAULT_ADJUSTMENT) -> float:
    """The p-value cut-off of ``adjustment`` at level ``alpha`` (module docstring)."""
    if adjustment not in ADJUSTMENTS:
        raise SpatialInputError(f"LISA: adjustment must be one of {ADJUSTMENTS}, not {adjustment!r}")
    if not 0 < alpha < 1:
        raise SpatialInputError(f"LISA: alpha must be between 0 and 1, not {alpha}")
    if adjustment == "bonferroni":
        return alpha / len(p)
    if adjustment == "fdr":
        return float(esda.fdr(np.asarray(p, float), alpha))
    return alpha


def esda_seed(seed: int, period) -> int:
    """The integer seed of one period's permutations, derived from the run seed."""
    return int(np.random.SeedSequence([int(seed), int(period)]).generate_state(1)[0])


def libpysal_weights(sw: SpatialWeights) -> libpysal.weights.W:
    """``sw`` as a libpysal W (sparse: a county W has millions of zero entries)."""
    return libpysal.weights.WSP(sparse.csr_matrix(sw.matrix), id_order=[int(c) for c in sw.codes]) \
        .to_W(silence_warnings=True)


def local_moran(values, sw: SpatialWeights, *, permutations: int = 999, seed: int = 12345,
                alpha: float = DEFAULT_ALPHA, adjustment: str = DEFAULT_ADJUSTMENT,
                w: libpysal.weights.W | None = None) -> pd.DataFrame:
    """unit_code, value, z, spatial_lag, ii, ii_z, ii_sd (the permutation sd of I_i), p,
    quadrant, significant for one period (units in the order of ``sw.codes``); ``w``: ``sw``
    already converted, to reuse it."""
    values = np.asarray(values, dtype=float)
    if permutations < 1:
        raise SpatialInputError("LISA: needs at least one permutation")
    state = np.random.get_state()
    try:
        with warnings.catch_warnings():
            # esda 2.x announces a future change of its default (directed -> two-sided); this
            # module documents and stores the directed, folded pseudo p-value esda computes today
            warnings.filterwarnings("ignore", message="The alternative hypothesis", category=DeprecationWarning)
            lisa = esda.Moran_Local(values, w if w is not None else libpysal_weights(sw), transformation="r",
                                    permutations=permutations, seed=seed, keep_simulations=True, n_jobs=1)
    finally:
        np.random.set_state(state)
    lag = sw.matrix @ lisa.z
    cutoff = significance_cutoff(lisa.p_sim, alpha, adjustment)
    return pd.DataFrame({
        "unit_code": sw.codes.astype(int), "value": values, "z": lisa.z, "spatial_lag": lag,
        "ii": lisa.Is, "ii_z": lisa.z_sim, "ii_sd": lisa.seI_sim, "p": lisa.p_sim,
        "quadrant": quadrant_labels(lisa.z, lag), "significant": lisa.p_sim <= cutoff,
    })


class LisaResult(Result):
    """Local Moran's I of one variable under one W, period by period (module docstring):
    ``params`` is I_i by ``<period>:<unit>``, ``std_errors`` the permutation sd of I_i;
    ``tidy()`` gives ``results.lisa`` rows (one per unit and period)."""

    estimator = "lisa"

    def __init__(self, spec_id: str, rows: pd.DataFrame):
        self.rows = rows.drop(columns="ii_sd")
        index = rows["year"].astype(str) + ":" + rows["unit_code"].astype(str)
        super().__init__(spec_id, pd.Series(rows["ii"].to_numpy(), index=index),
                         pd.Series(rows["ii_sd"].to_numpy(), index=index), nobs=len(rows))

    def tidy(self) -> dict[str, pd.DataFrame]:
        return {"lisa": self.rows.assign(spec_id=self.spec_id)}


def fit_lisa(panel: pd.DataFrame, spec: Spec, sw: SpatialWeights, *, unit: str, time: str,
             permutations: int = 999, seed: int = 12345, alpha: float = DEFAULT_ALPHA,
             adjustment: str = DEFAULT_ADJUSTMENT) -> LisaResult:
    """Local Moran's I of ``spec.dependent`` in every period; each period's permutations are
    seeded by (``seed``, period)."""
    values, periods = panel_block(panel, [spec.dependent], sw.codes, unit=unit, time=time)
    w = libpysal_weights(sw)
    frames = []
    for t, period in enumerate(periods):
        logger.info("LISA %s %s %s (%d permutations)", sw.name, spec.dependent, period, permutations)
        frame = local_moran(values[t, :, 0], sw, permutations=permutations,
                            seed=esda_seed(seed, period), alpha=alpha, adjustment=adjustment, w=w)
        frame.insert(0, "year", int(period))
        frames.append(frame)
    rows = pd.concat(frames, ignore_index=True)
    rows.insert(0, "variable", spec.dependent)
    rows.insert(0, "matrix", sw.name)
    rows["alpha"], rows["adjustment"], rows["permutations"] = alpha, adjustment, permutations
    return LisaResult(spec.spec_id, rows)
