"""Mediation: fast bootstrap equals refitting; CIs cover planted a*b; null mediator covers 0."""
from __future__ import annotations

import numpy as np
import pytest

from estimation.mediation import (
    _draw_counts, _unit_blocks, bias_corrected_interval, bootstrap_indirect_fast,
    bootstrap_indirect_refit, mediation_analysis, percentile_interval)
from estimation_helpers import TIME, UNIT, spec
from synthetic.panels import CONTROLS, PLANTED, simulate_panel


def mediation(mediator: str):
    return spec(f"mediation_{mediator}", "er", ("dt",), estimator="mediation", mediator=mediator)


def analyse(panel, mediator: str, **kw):
    return mediation_analysis(panel, mediation(mediator), unit=UNIT, time=TIME, **kw)


def test_fast_bootstrap_equals_refit_with_own_fixed_effect_per_copy():
    panel = simulate_panel(seed=31)
    cols = ["dt", *CONTROLS, "rm", "er"]
    Z, df = _unit_blocks(panel, cols, UNIT, TIME)
    counts = _draw_counts(np.random.default_rng(0), 30, 15)
    assert (counts > 1).any()       # duplicated units are exercised
    fast = bootstrap_indirect_fast(Z, counts, mediator_col=len(cols) - 2,
                                   y_col=len(cols) - 1, x_cols=list(range(6)))
    slow = bootstrap_indirect_refit(df, counts, mediation("rm"), UNIT, TIME)
    np.testing.assert_allclose(fast, slow, rtol=1e-8)


def test_identity_draw_reproduces_point_estimate():
    panel = simulate_panel(seed=32)
    res = analyse(panel, "isu", replications=5, seed=1)
    cols = ["dt", *CONTROLS, "isu", "er"]
    Z, _ = _unit_blocks(panel, cols, UNIT, TIME)
    ab = bootstrap_indirect_fast(Z, np.ones((1, 30)), len(cols) - 2, len(cols) - 1,
                                 list(range(6)))
    assert ab[0] == pytest.approx(res.indirect, rel=1e-10)
    z, p = res.sobel()
    a, sa = res.a.params["dt"], res.a.std_errors["dt"]
    b, sb = res.b.params["isu"], res.b.std_errors["isu"]
    assert z == pytest.approx(a * b / np.sqrt(b**2 * sa**2 + a**2 * sb**2))


def test_ci_covers_planted_indirect_effect():
    panel = simulate_panel(seed=33)
    res = analyse(panel, "isu", replications=500, seed=7)
    truth = PLANTED["a_isu"] * PLANTED["b_isu"]
    for lo, hi in (res.percentile_ci(), res.bias_corrected_ci()):
        assert lo < truth < hi
        assert lo > 0          # and the effect is detected
    rows = res.rows()
    assert list(rows["method"]) == ["percentile", "bias_corrected"]
    assert (rows["replications"] == 500).all()


def test_null_mediator_ci_covers_zero_in_most_seeds():
    covered = 0
    for seed in range(10):
        res = analyse(simulate_panel(seed=100 + seed), "cu", replications=200, seed=seed)
        lo, hi = res.percentile_ci()
        covered += lo <= 0 <= hi
    assert covered >= 8


def test_bias_corrected_interval_formula():
    from scipy import stats
    draws = np.random.default_rng(2).normal(1.0, 0.1, 5000) ** 2
    est = 0.95                               # below the draws' median: z0 < 0
    z0 = stats.norm.ppf(np.mean(draws < est))
    assert z0 < 0
    expected = np.quantile(draws, stats.norm.cdf([2 * z0 - 1.959963984540054,
                                                  2 * z0 + 1.959963984540054]))
    np.testing.assert_allclose(bias_corrected_interval(draws, est), expected)
    assert bias_corrected_interval(draws, est)[0] < percentile_interval(draws)[0]
    # With the estimate at the median, z0 = 0 and both intervals agree.
    np.testing.assert_allclose(bias_corrected_interval(draws, np.median(draws)),
                               percentile_interval(draws), rtol=1e-3)
