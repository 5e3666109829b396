"""Run every specification of Tables 4-8 on the analysis panel (``estimation.specs.SPECS``).

``run_regression_suite`` returns ``{"coefficients", "model_stats", "mediation"}`` frames with
the columns of ``estimation.store.RESULT_TABLES`` (no ``run_id``). Conventions written there:
``r2``/``adj_r2`` are the LSDV R^2 (fixed-effect dummies included, as Stata's ``areg``/
``reghdfe`` report -- the paper's ~0.99), adj_r2 = 1 - (1 - r2)(N - 1)/(N - K_lsdv);
``r2_within`` is the within R^2. FE-2SLS rows carry no ``const``; year dummies of the Tobit
are estimated but not written.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

import pandas as pd

from estimation.design import build_design, validate_panel
from estimation.hausman import hausman_fe_re
from estimation.iv import fit_fe_2sls
from estimation.linear import fit_ols
from estimation.mediation import mediation_analysis
from estimation.results import ModelResult, coefficient_rows, model_stat_rows
from estimation.specs import MEDIATORS, SPECS, Spec
from estimation.store import RESULT_TABLES
from estimation.tobit import fit_tobit_re

log = logging.getLogger(__name__)

FITTERS: dict[str, Callable] = {"ols": fit_ols, "fe_2sls": fit_fe_2sls, "tobit_re": fit_tobit_re}


def estimate_spec(panel: pd.DataFrame, spec: Spec) -> ModelResult | dict[str, float]:
    """Fit one spec: a :class:`ModelResult`, or the statistics dict of a test (hausman)."""
    design = build_design(panel, spec)
    if spec.estimator == "hausman":
        return {"nobs": design.nobs, **hausman_fe_re(design)}
    return FITTERS[spec.estimator](design)


def run_regression_suite(panel: pd.DataFrame, *, replications: int = 1000, seed: int = 12345,
                         specs: tuple[Spec, ...] = SPECS,
                         timings: dict[str, float] | None = None) -> dict[str, pd.DataFrame]:
    """Estimate ``specs`` and the bootstrap mediation; return the results frames.

    ``timings``, if given, receives seconds per spec id and per ``bootstrap_<mediator>``.
    """
    validate_panel(panel)
    coefs, model_stats, fits = [], [], {}
    for spec in specs:
        start = time.perf_counter()
        out = estimate_spec(panel, spec)
        if isinstance(out, ModelResult):
            fits[spec.spec_id] = out
            coefs.append(coefficient_rows(out))
            model_stats.append(model_stat_rows(spec.spec_id, out.stats))
        else:
            model_stats.append(model_stat_rows(spec.spec_id, out))
        elapsed = time.perf_counter() - start
        if timings is not None:
            timings[spec.spec_id] = elapsed
        log.info("estimated %s in %.3f s", spec.spec_id, elapsed)
    mediation = []
    for m in MEDIATORS:
        start = time.perf_counter()
        pair = (fits.get(f"mediation_{m}_a"), fits.get(f"mediation_{m}_b"))
        res = mediation_analysis(panel, m, replications=replications, seed=seed,
                                 fits=pair if None not in pair else None)
        mediation.append(res.rows())
        if timings is not None:
            timings[f"bootstrap_{m}"] = time.perf_counter() - start
    frames = {
        "coefficients": pd.concat(coefs, ignore_index=True),
        "model_stats": pd.concat(model_stats, ignore_index=True),
        "mediation": pd.concat(mediation, ignore_index=True),
    }
    return {name: frame[list(RESULT_TABLES[name])] for name, frame in frames.items()}
