"""Hausman FE vs RE: the statistic from its formula, and its behaviour on planted DGPs."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from estimation_helpers import make_design, spec
from estimation.hausman import fit_fe_re, hausman_fe_re
from synthetic.panels import CONTROLS
from synthetic.panels import simulate_panel

SPEC = spec("hausman", "er", ("dt",), estimator="hausman", cov_type="unadjusted")
SLOPES = ["dt", *CONTROLS]


def test_statistic_equals_formula_over_the_slopes():
    design = make_design(simulate_panel(seed=41, effects_on_endowment=0.3), SPEC)
    out = hausman_fe_re(design).stats
    fe, re = fit_fe_re(design)
    d = (fe.params[SLOPES] - re.params[SLOPES]).to_numpy()
    V = (fe.cov.loc[SLOPES, SLOPES] - re.cov.loc[SLOPES, SLOPES]).to_numpy()
    H = float(d @ np.linalg.solve(V, d))
    if H > 0:
        assert out["statistic_plain"] == pytest.approx(H, rel=1e-8)
    else:                                  # undefined: V_FE - V_RE not positive definite
        assert np.isnan(out["statistic_plain"])
    # Reported statistic (sigmamore): the FE covariance rescaled by the RE error variance.
    Vm = (fe.cov.loc[SLOPES, SLOPES] * re.s2 / fe.s2 - re.cov.loc[SLOPES, SLOPES]).to_numpy()
    Hm = float(d @ np.linalg.solve(Vm, d))
    assert out["statistic"] == pytest.approx(Hm, rel=1e-8)
    assert out["df"] == len(SLOPES)
    assert out["p_value"] == pytest.approx(stats.chi2.sf(Hm, len(SLOPES)), rel=1e-8)


def test_rejects_when_effects_correlate_with_dt_and_not_otherwise():
    strong = hausman_fe_re(make_design(
        simulate_panel(seed=42, n_provinces=90, effects_on_endowment=1.0), SPEC)).stats
    assert strong["p_value"] < 0.01
    calm = [hausman_fe_re(make_design(simulate_panel(seed=s), SPEC)).stats["p_value"]
            for s in range(50, 56)]
    assert sum(p > 0.01 for p in calm) >= 5
