"""Two-way FE SDM/SAR/SEM (estimation.spatial.sdm): recovery of planted parameters,
agreement with spreg where the models coincide, and the bias of naive demeaning."""
from __future__ import annotations

import libpysal
import numpy as np
import pytest
from spreg.panel_fe import Panel_FE_Error, Panel_FE_Lag

from estimation.spatial.sdm import fit_error_model, fit_lag_model
from estimation.spatial.weights import SpatialWeights
from synthetic.spatial import decay_weights, province_weights, simulate_sdm

BETA, THETA, RHO = np.array([1.0, -0.5]), np.array([0.5, 0.3]), 0.4
NAMES = ["a", "b"]
REPLICATIONS = 60


@pytest.fixture(scope="module")
def provinces() -> SpatialWeights:
    codes, w = province_weights()
    return SpatialWeights.from_dense(w, codes, "geographic")


@pytest.fixture(scope="module")
def monte_carlo(provinces):
    """Lee-Yu and naive-demeaning SDM estimates over REPLICATIONS panels (N = 30, T = 9)."""
    out = {"lee_yu": [], "demeaned": [], "se": []}
    for seed in range(REPLICATIONS):
        y, x = simulate_sdm(provinces.matrix, 9, RHO, BETA, THETA, seed)
        fit = fit_lag_model(y, x, provinces, NAMES)
        out["lee_yu"].append(fit.params)
        out["se"].append(fit.std_errors)
        out["demeaned"].append(fit_lag_model(y, x, provinces, NAMES, approach="demeaned").params)
    return {k: np.array(v) for k, v in out.items()}


def test_sdm_recovers_planted_parameters_n30_t9(monte_carlo):
    truth = np.concatenate([BETA, THETA, [RHO]])
    estimates = monte_carlo["lee_yu"]
    mc_se = estimates.std(axis=0, ddof=1) / np.sqrt(REPLICATIONS)
    # the Monte Carlo mean is within 3 of its own standard errors of the truth, for every parameter
    # (ML has a small-sample bias here: with 300 replications rho averages 0.33, well inside this)
    assert np.all(np.abs(estimates.mean(axis=0) - truth) < 3 * mc_se), (estimates.mean(axis=0), mc_se)
    # and the information-matrix standard errors describe the sampling spread (within 35%)
    ratio = monte_carlo["se"].mean(axis=0) / estimates.std(axis=0, ddof=1)
    assert np.all((ratio > 0.65) & (ratio < 1.35)), ratio


def test_naive_demeaning_is_biased_on_dense_w(monte_carlo):
    """With a dense inverse-distance W, Wy is close to the cross-section mean that the year
    effects absorb; the direct approach then pushes rho far below the truth."""
    lee_yu = monte_carlo["lee_yu"][:, -1]
    naive = monte_carlo["demeaned"][:, -1]
    mc_se = naive.std(ddof=1) / np.sqrt(REPLICATIONS)
    assert naive.mean() < RHO - 0.3 and RHO - naive.mean() > 6 * mc_se
    assert abs(lee_yu.mean() - RHO) < 3 * lee_yu.std(ddof=1) / np.sqrt(REPLICATIONS)


def test_sdm_recovers_tightly_on_larger_panel():
    w = decay_weights(100, seed=3)
    sw = SpatialWeights.from_dense(w)
    truth = np.concatenate([BETA, THETA, [RHO]])
    for seed in range(3):
        y, x = simulate_sdm(w, 20, RHO, BETA, THETA, seed)
        fit = fit_lag_model(y, x, sw, NAMES)
        assert fit.names == ["a", "b", "w_a", "w_b", "rho"]
        assert np.all(fit.std_errors < 0.08)
        assert np.all(np.abs(fit.params - truth) < 3.5 * fit.std_errors), (fit.params, fit.std_errors)
        assert fit.sigma2 == pytest.approx(1.0, abs=0.08)
        assert fit.n_effective == 99 * 19


def test_sar_and_sem_recover_their_dgps(provinces):
    """SAR: theta = 0. SEM: (I - lam W)(y - X beta) = eps is the SDM with rho = lam, theta = -lam beta
    (the fixed effects stay fixed effects after the filter)."""
    sar, sem = [], []
    for seed in range(REPLICATIONS):
        y, x = simulate_sdm(provinces.matrix, 9, RHO, BETA, np.zeros(2), seed)
        sar.append(fit_lag_model(y, x, provinces, NAMES, durbin=False).params)
        y, x = simulate_sdm(provinces.matrix, 9, RHO, BETA, -RHO * BETA, seed)
        sem.append(fit_error_model(y, x, provinces, NAMES).params)
    truth = np.concatenate([BETA, [RHO]])
    for estimates in (np.array(sar), np.array(sem)):
        mc_se = estimates.std(axis=0, ddof=1) / np.sqrt(REPLICATIONS)
        assert np.all(np.abs(estimates.mean(axis=0) - truth) < 3 * mc_se), estimates.mean(axis=0)


def _long(y, x):
    """(T, N) / (T, N, k) -> spreg's long layout: N rows of period 1, then period 2, ..."""
    t, n = y.shape
    return y.reshape(t * n, 1), x.reshape(t * n, -1)


def test_entity_sar_matches_spreg_panel_fe_lag(provinces):
    """theta = 0, entity effects only: spreg's Panel_FE_Lag is the direct approach, identical to
    ours; the Lee-Yu entity likelihood has the same rho/beta (ratio of weights N/2 : 1), sigma2
    rescaled by T/(T-1)."""
    y, x = simulate_sdm(provinces.matrix, 9, RHO, BETA, np.zeros(2), seed=21)
    ref = Panel_FE_Lag(*_long(y, x), libpysal.weights.full2W(provinces.matrix))
    ref_params = ref.betas.ravel()
    direct = fit_lag_model(y, x, provinces, NAMES, durbin=False, effects="entity", approach="demeaned")
    np.testing.assert_allclose(direct.params, ref_params, atol=2e-6)
    np.testing.assert_allclose(direct.cov, ref.vm, rtol=1e-4, atol=1e-9)
    assert direct.sigma2 == pytest.approx(np.asarray(ref.sig2).item(), rel=1e-5)
    # spreg's deprecated Panel_FE_Lag concentrates with ln(e'e) instead of ln(e'e/NT), so its
    # logll lacks the constant (NT/2) ln(NT); everything else in the likelihood is the same
    nt = y.size
    assert direct.log_likelihood == pytest.approx(np.asarray(ref.logll).item() + nt / 2 * np.log(nt), rel=1e-9)
    lee_yu = fit_lag_model(y, x, provinces, NAMES, durbin=False, effects="entity")
    np.testing.assert_allclose(lee_yu.params, ref_params, atol=2e-6)
    assert lee_yu.sigma2 == pytest.approx(np.asarray(ref.sig2).item() * 9 / 8, rel=1e-5)


def test_entity_sem_matches_spreg_panel_fe_error(provinces):
    y, x = simulate_sdm(provinces.matrix, 9, RHO, BETA, -RHO * BETA, seed=22)
    ref = Panel_FE_Error(*_long(y, x), libpysal.weights.full2W(provinces.matrix))
    fit = fit_error_model(y, x, provinces, NAMES, effects="entity", approach="demeaned")
    np.testing.assert_allclose(fit.params, ref.betas.ravel(), atol=2e-6)
    np.testing.assert_allclose(fit.std_errors, np.sqrt(np.diag(ref.vm)), rtol=1e-4)
    assert fit.sigma2 == pytest.approx(np.asarray(ref.sig2).item(), rel=1e-5)


def test_profile_peaks_at_estimate(provinces):
    y, x = simulate_sdm(provinces.matrix, 9, RHO, BETA, THETA, seed=5)
    fit = fit_lag_model(y, x, provinces, NAMES)
    lo, hi = fit.rho_bounds
    grid = np.linspace(lo + 1e-3, hi - 1e-3, 2001)
    assert fit.profile(grid).max() <= fit.log_likelihood + 1e-9
    assert fit.profile(fit.spatial_parameter)[0] == pytest.approx(fit.log_likelihood)


def test_rejects_regressor_absorbed_by_fixed_effects(provinces):
    from estimation.spatial.weights import SpatialInputError
    y, x = simulate_sdm(provinces.matrix, 9, RHO, BETA, THETA, seed=1)
    x[:, :, 1] = np.arange(9)[:, None]  # a pure year trend: swept out by the year effects
    with pytest.raises(SpatialInputError, match="'b' has no variation"):
        fit_lag_model(y, x, provinces, NAMES)


@pytest.mark.parametrize("model", ["sdm", "sar", "sem"])
def test_estimates_are_reproducible_under_roundoff_in_w(provinces, model):
    """rho is polished to the root of the score (estimation.spatial.sdm, "Search and polish"), so
    a roundoff-level change of W (relative 4e-16 noise, rows re-standardised) moves the
    estimates by ~1e-13 rather than the ~1e-7 that Brent's sqrt(eps) stopping rule left."""
    rng = np.random.default_rng(3)
    noisy = provinces.matrix * (1 + 4e-16 * rng.standard_normal(provinces.matrix.shape))
    noisy = SpatialWeights.from_dense(noisy / noisy.sum(axis=1, keepdims=True), provinces.codes)
    theta = THETA if model == "sdm" else (np.zeros(2) if model == "sar" else -RHO * BETA)
    y, x = simulate_sdm(provinces.matrix, 9, RHO, BETA, theta, seed=8)
    fits = [fit_error_model(y, x, sw, NAMES) if model == "sem" else
            fit_lag_model(y, x, sw, NAMES, durbin=model == "sdm") for sw in (provinces, noisy)]
    assert np.abs(noisy.matrix - provinces.matrix).max() > 0
    np.testing.assert_allclose(fits[1].params, fits[0].params, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(fits[1].std_errors, fits[0].std_errors, rtol=1e-11)
    # and the estimate is a root of the concentrated likelihood's slope
    rho, h = fits[0].spatial_parameter, 1e-5
    slope = (fits[0].profile(rho + h)[0] - fits[0].profile(rho - h)[0]) / (2 * h)
    assert abs(slope) < 1e-5


@pytest.mark.parametrize("model,rho", [("sdm", 0.4), ("sem", 0.4), ("sar", 0.9)])
def test_profile_interval_equals_reading_the_whole_grid(provinces, model, rho):
    """profile_interval finds the ends by root-finding; it must give the grid points that
    evaluating all 4001 of them gives (its definition)."""
    from scipy import stats

    from estimation.spatial.models import profile_interval
    theta = THETA if model == "sdm" else -rho * BETA if model == "sem" else np.zeros(2)
    y, x = simulate_sdm(provinces.matrix, 9, rho, BETA, theta, seed=12)
    fit = fit_error_model(y, x, provinces, NAMES) if model == "sem" else \
        fit_lag_model(y, x, provinces, NAMES, durbin=model == "sdm")
    lo, hi = fit.rho_bounds
    grid = lo + (hi - lo) * (np.arange(4001) + 0.5) / 4001
    inside = grid[2 * (fit.log_likelihood - fit.profile(grid)) <= stats.chi2.ppf(0.95, 1)]
    assert profile_interval(fit) == (inside.min(), inside.max())
