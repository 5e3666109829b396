"""LeSage-Pace effects (estimation.spatial.effects) and LM tests (estimation.spatial.lm_tests)."""
from __future__ import annotations

import libpysal
import numpy as np
import pytest
import spreg
from scipy import stats

from estimation.spatial.effects import delta_method, effects, simulate_effects
from estimation.spatial.lm_tests import lm_statistics, lm_tests
from estimation.spatial.sdm import fit_lag_model
from estimation.spatial.weights import SpatialWeights
from synthetic.spatial import decay_weights, province_weights, simulate_sdm

BETA, THETA = np.array([0.8, -0.3, 0.2]), np.array([0.4, 0.1, -0.5])


@pytest.fixture(scope="module")
def provinces() -> SpatialWeights:
    codes, w = province_weights()
    return SpatialWeights.from_dense(w, codes, "geographic")


def test_effects_equal_matrix_definition(provinces):
    """direct = tr(S_k)/N, total = l'S_k l/N with S_k = (I - rho W)^-1 (beta_k I + theta_k W)."""
    w, n = provinces.matrix, provinces.n
    for rho in (-0.8, 0.0, 0.35, 0.9):
        got = effects(BETA, THETA, rho, provinces.eigenvalues)
        inverse = np.linalg.inv(np.eye(n) - rho * w)
        for k in range(len(BETA)):
            s = inverse @ (BETA[k] * np.eye(n) + THETA[k] * w)
            assert got["direct"][k] == pytest.approx(np.trace(s) / n, rel=1e-10, abs=1e-12)
            assert got["total"][k] == pytest.approx(s.sum() / n, rel=1e-10, abs=1e-12)
            assert got["indirect"][k] == pytest.approx((s.sum() - np.trace(s)) / n, rel=1e-9, abs=1e-12)


def test_rho_zero_gives_direct_beta_indirect_theta(provinces):
    got = effects(BETA, THETA, 0.0, provinces.eigenvalues)
    np.testing.assert_allclose(got["direct"], BETA, atol=1e-12)
    np.testing.assert_allclose(got["indirect"], THETA, atol=1e-12)
    np.testing.assert_allclose(got["total"], BETA + THETA, atol=1e-12)


def test_delta_method_gradient_is_the_numerical_one(provinces):
    rho, k = 0.3, len(BETA)
    point = np.concatenate([BETA, THETA, [rho]])
    cov = np.diag(np.full(2 * k + 1, 1.0))
    se = delta_method(BETA, THETA, rho, cov, provinces.eigenvalues)
    h = 1e-6
    for name in ("direct", "indirect", "total"):
        jac = np.empty((k, 2 * k + 1))
        for p in range(2 * k + 1):
            up, down = point.copy(), point.copy()
            up[p] += h
            down[p] -= h
            f_up = effects(up[:k], up[k:2 * k], up[-1], provinces.eigenvalues)[name]
            f_down = effects(down[:k], down[k:2 * k], down[-1], provinces.eigenvalues)[name]
            jac[:, p] = (f_up - f_down) / (2 * h)
        np.testing.assert_allclose(se[name], np.sqrt((jac**2).sum(axis=1)), rtol=1e-6)


def test_simulated_standard_errors_agree_with_delta_method():
    """On a panel where rho is well identified (N = 100, T = 20, 1/d^2 weights; se(rho) ~ 0.03)
    the effects are nearly linear over the parameters' sampling distribution, so the simulated
    SDs must match the delta method. (At N = 30, T = 9 with a dense W, se(rho) ~ 0.3 and the
    simulated SD of the total effect exceeds the linearisation by about a third: the reason the
    suite reports simulated SEs.)"""
    sw = SpatialWeights.from_dense(decay_weights(100, seed=3))
    y, x = simulate_sdm(sw.matrix, 20, 0.3, BETA, THETA, seed=4)
    fit = fit_lag_model(y, x, sw, ["a", "b", "c"])
    k = 3
    frame = simulate_effects(fit.params, fit.cov, sw.eigenvalues, ["a", "b", "c"], sw.rho_bounds,
                             durbin=True, draws=20000, seed=1)
    delta = delta_method(fit.params[:k], fit.params[k:2 * k], fit.spatial_parameter, fit.cov, sw.eigenvalues)
    point = effects(fit.params[:k], fit.params[k:2 * k], fit.spatial_parameter, sw.eigenvalues)
    for name in ("direct", "indirect", "total"):
        rows = frame[frame.effect == name]
        np.testing.assert_allclose(rows.std_error, delta[name], rtol=0.05)
        np.testing.assert_array_equal(rows.estimate, point[name])
        assert np.all(np.abs(rows.sim_mean.to_numpy() - point[name]) < 0.1 * delta[name])


def test_simulated_effects_tight_case_and_rho_bounds(provinces):
    k, rho = 3, 0.95
    mean = np.concatenate([BETA, THETA, [rho]])
    cov = np.diag(np.r_[np.full(2 * k, 1e-4), 0.05**2])
    frame = simulate_effects(mean, cov, provinces.eigenvalues, list("abc"), provinces.rho_bounds, durbin=True,
                             draws=5000, seed=2)
    # about 16% of raw draws of rho exceed 1; they are redrawn, so every effect stays finite
    assert np.isfinite(frame.estimate).all() and (frame.draws == 5000).all()
    again = simulate_effects(mean, cov, provinces.eigenvalues, list("abc"), provinces.rho_bounds, durbin=True,
                             draws=5000, seed=2)
    assert frame.equals(again)
    small = np.diag(np.r_[np.full(2 * k, 1e-6), 1e-6])
    frame = simulate_effects(np.r_[BETA, THETA, 0.3], small, provinces.eigenvalues, list("abc"),
                             provinces.rho_bounds, durbin=True, draws=4000, seed=3)
    delta = delta_method(BETA, THETA, 0.3, small, provinces.eigenvalues)
    for name in ("direct", "indirect", "total"):
        np.testing.assert_allclose(frame[frame.effect == name].std_error, delta[name], rtol=0.06)


def test_point_effects_beside_the_draws_summary(provinces):
    """estimate = the effect at the estimates; with rho = 0.95 +- 0.05 the total effect's factor
    1/(1 - rho) is convex, so the draws' mean exceeds the point effect (Jensen), and the point
    effect lies between the draws' 2.5% and 97.5% quantiles around their median."""
    k = 3
    mean = np.concatenate([BETA, THETA, [0.95]])
    cov = np.diag(np.r_[np.full(2 * k, 1e-4), 0.05**2])
    frame = simulate_effects(mean, cov, provinces.eigenvalues, list("abc"), provinces.rho_bounds, durbin=True,
                             draws=4000, seed=4).set_index(["term", "effect"])
    point = effects(BETA, THETA, 0.95, provinces.eigenvalues)
    total = frame.xs("total", level="effect")
    np.testing.assert_array_equal(total.estimate, point["total"])
    positive = (BETA + THETA) > 0
    assert np.all((total.sim_mean > total.estimate)[positive]) and np.all((total.sim_mean < total.estimate)[~positive])
    assert np.all(total.sim_mean.abs() > 1.2 * total.estimate.abs())  # far apart near rho = 1
    assert np.all((frame.sim_q025 < frame.sim_median) & (frame.sim_median < frame.sim_q975))
    assert np.all((frame.sim_q025 < frame.estimate) & (frame.estimate < frame.sim_q975))
    np.testing.assert_allclose(frame.p_value, 2 * stats.norm.sf(np.abs(frame.estimate / frame.std_error)))


def test_sar_effects_use_theta_zero(provinces):
    mean, cov = np.r_[BETA, 0.3], np.diag(np.full(4, 1e-8))
    frame = simulate_effects(mean, cov, provinces.eigenvalues, list("abc"), provinces.rho_bounds, durbin=False,
                             draws=200, seed=1)
    expected = effects(BETA, np.zeros(3), 0.3, provinces.eigenvalues)
    np.testing.assert_allclose(frame[frame.effect == "total"].estimate, expected["total"], rtol=1e-3)
    np.testing.assert_allclose(frame[frame.effect == "total"].estimate, BETA / 0.7, rtol=1e-3)


def test_lm_tests_match_spreg_on_a_cross_section(provinces):
    """With one period and the constant as the only 'fixed effect', the panel LM formulas are
    Anselin's cross-section tests, which spreg.OLS reports."""
    rng = np.random.default_rng(8)
    w = provinces.matrix
    x = rng.normal(size=(30, 2))
    y = np.linalg.solve(np.eye(30) - 0.5 * w, 1.0 + x @ np.array([1.0, -1.0]) + rng.normal(size=30))
    ols = spreg.OLS(y[:, None], x, w=libpysal.weights.full2W(w), spat_diag=True)
    ours = lm_statistics(y[None, :], x[None, :, :], w, lambda a: a - a.mean(axis=1, keepdims=True))
    for name, ref in [("lm_lag", ols.lm_lag), ("rlm_lag", ols.rlm_lag), ("lm_err", ols.lm_error),
                      ("rlm_err", ols.rlm_error)]:
        assert ours[name] == pytest.approx(ref[0], rel=1e-8)
        assert ours[f"{name}_p"] == pytest.approx(ref[1], rel=1e-6, abs=1e-12)


def test_only_the_redemeaned_lm_lag_is_anselins_cross_section_test(provinces):
    """The derivation in estimation.spatial.lm_tests: with the constant as the only 'effect',
    M is the residual maker of [1, X], so W X b must be demeaned before the projection off the
    demeaned X. spreg (Anselin's formulas) agrees with that form; splm's (W X b not
    re-demeaned) differs by ~8% here, where X is spatially clustered and W (1/d between
    provinces) has column sums far from 1."""
    rng = np.random.default_rng(8)
    w = provinces.matrix
    x = rng.normal(size=(30, 2)) + 2 * (w @ rng.normal(size=(30, 2)))
    y = np.linalg.solve(np.eye(30) - 0.5 * w, 1.0 + x @ np.array([1.0, -1.0]) + rng.normal(size=30))
    ols = spreg.OLS(y[:, None], x, w=libpysal.weights.full2W(w), spat_diag=True)
    ours = lm_statistics(y[None, :], x[None, :, :], w, lambda a: a - a.mean(axis=1, keepdims=True))
    assert ours["lm_lag"] == pytest.approx(ols.lm_lag[0], rel=1e-8)
    assert ours["rlm_err"] == pytest.approx(ols.rlm_error[0], rel=1e-8)
    assert abs(ours["lm_lag_splm"] / ols.lm_lag[0] - 1) > 0.05
    assert ours["lm_err"] == pytest.approx(ols.lm_error[0], rel=1e-8)  # no J: the same in both


def test_lm_lag_detects_spatial_lag_in_two_way_panel(provinces):
    y, x = simulate_sdm(provinces.matrix, 9, 0.0, BETA, np.zeros(3), seed=3)
    assert lm_tests(y, x, provinces)["lm_lag_p"] > 0.01
    wide = SpatialWeights.from_dense(np.kron(np.eye(10), np.ones((10, 10)) - np.eye(10)) / 9)
    y, x = simulate_sdm(wide.matrix, 20, 0.6, BETA, np.zeros(3), seed=3)
    result = lm_tests(y, x, wide)
    assert result["lm_lag_p"] < 1e-6 and result["rlm_lag_p"] < 1e-3
