"""Estimate a list of specifications on a panel: one :class:`~estimation.results.Result` each.

``estimate_specs(panel, specs, weights=..., unit=..., time=...)`` dispatches every spec to its
estimator (:data:`FITTERS`), in the order given, and returns the results;
:func:`estimation.results.concat_tidy` turns them into the rows of the results tables. Conventions written there: ``r2``/``adj_r2``
are the LSDV R^2 (fixed-effect dummies included, as Stata's ``areg``/``reghdfe`` report),
adj_r2 = 1 - (1 - r2)(N - 1)/(N - K_all); ``r2_within`` is the within R^2. FE-2SLS rows carry
no ``const``; time dummies of the Tobit are estimated but not written.

Randomness is seeded per spec by ``seed`` (bootstrap replications of a mediation, effect
draws of a spatial lag model; a LISA's permutations by ``seed`` and the period), except Moran's permutations: all Moran specs of one call draw
from a single generator seeded by ``seed``, in the order of the specs.

After the fits, every SDM (Lee-Yu) gains the Wald and LR tests against the SAR and SEM specs
of the same variables, effects and W, where those are in the list.
"""
from __future__ import annotations

import logging
import time as clock
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from estimation.design import build_design
from estimation.errors import SpecError
from estimation.hausman import hausman_fe_re
from estimation.iv import fit_fe_2sls
from estimation.linear import fit_ols
from estimation.mediation import mediation_analysis
from estimation.results import Result
from estimation.specs import Spec
from estimation.spatial.lisa import fit_lisa
from estimation.spatial.models import (SpatialModelResult, fit_lm_tests, fit_moran,
                                       fit_spatial_model, model_choice_tests)
from estimation.spatial.weights import SpatialWeights
from estimation.tobit import fit_tobit_re

log = logging.getLogger(__name__)

#: Estimators that need only the design matrix of a spec.
FITTERS: dict[str, Callable] = {"ols": fit_ols, "fe_2sls": fit_fe_2sls, "tobit_re": fit_tobit_re,
                                "hausman": hausman_fe_re}


def fit_spec(panel: pd.DataFrame, spec: Spec, *, unit: str, time: str,
             weights: Mapping[str, SpatialWeights] | None = None, replications: int = 1000,
             seed: int = 12345, permutations: int = 999,
             moran_rng: np.random.Generator | None = None) -> Result:
    """Estimate one spec. ``weights`` maps matrix names to W (spatial specs); ``replications``
    is the number of bootstrap replications (mediation) and of effect draws (spatial lag models)."""
    if spec.estimator in FITTERS:
        return FITTERS[spec.estimator](build_design(panel, spec, unit=unit, time=time))
    if spec.estimator == "mediation":
        return mediation_analysis(panel, spec, unit=unit, time=time, replications=replications,
                                  seed=seed)
    sw = _matrix(weights, spec)
    frame = panel[spec.sample.mask(panel)] if spec.sample else panel
    if spec.estimator == "moran":
        rng = moran_rng if moran_rng is not None else np.random.default_rng(seed)
        return fit_moran(frame, spec, sw, unit=unit, time=time, permutations=permutations, rng=rng)
    if spec.estimator == "lisa":
        return fit_lisa(frame, spec, sw, unit=unit, time=time, permutations=permutations, seed=seed)
    if spec.estimator == "lm_tests":
        return fit_lm_tests(frame, spec, sw, unit=unit, time=time)
    return fit_spatial_model(frame, spec, sw, unit=unit, time=time, draws=replications, seed=seed)


def estimate_specs(panel: pd.DataFrame, specs: Sequence[Spec], *, unit: str, time: str,
                   weights: Mapping[str, SpatialWeights] | None = None, replications: int = 1000,
                   seed: int = 12345, permutations: int = 999,
                   timings: dict[str, float] | None = None) -> list[Result]:
    """Estimate ``specs`` in order (module docstring); ``timings`` receives seconds per spec."""
    moran_rng = np.random.default_rng(seed)
    results = []
    for spec in specs:
        start = clock.perf_counter()
        results.append(fit_spec(panel, spec, unit=unit, time=time, weights=weights,
                                replications=replications, seed=seed, permutations=permutations,
                                moran_rng=moran_rng))
        elapsed = clock.perf_counter() - start
        if timings is not None:
            timings[spec.spec_id] = elapsed
        log.info("estimated %s in %.3f s", spec.spec_id, elapsed)
    _add_model_choice_tests(specs, results)
    return results


def _matrix(weights: Mapping[str, SpatialWeights] | None, spec: Spec) -> SpatialWeights:
    if not weights or spec.weights not in weights:
        known = sorted(weights or {})
        raise SpecError(f"spec {spec.spec_id}: no weights matrix {spec.weights!r} (given: {known})")
    return weights[spec.weights]


def _add_model_choice_tests(specs: Sequence[Spec], results: Sequence[Result]) -> None:
    fits = {s.spec_id: (s, r) for s, r in zip(specs, results) if isinstance(r, SpatialModelResult)}

    def same_model(a: Spec, b: Spec) -> bool:
        return (a.dependent, a.explanatory, a.weights, a.effects, a.approach, a.sample) == \
            (b.dependent, b.explanatory, b.weights, b.effects, b.approach, b.sample)

    for spec, result in fits.values():
        if spec.estimator != "sdm" or spec.approach != "lee_yu":
            continue
        partner = {s.estimator: r for s, r in fits.values()
                   if s.estimator in ("sar", "sem") and same_model(s, spec)}
        if set(partner) == {"sar", "sem"}:
            result.with_stats(model_choice_tests(result.fit, partner["sar"].fit, partner["sem"].fit))

