"""Brute-force checks of the Lee-Yu (2010) two-way FE likelihood in estimation.spatial.sdm.

The reference is written from the definitions, not from the module's shortcuts: the
orthonormal transformations F_{T,T-1} and F_{N,N-1} (eigenvectors of the demeaning
matrices with eigenvalue 1) are built explicitly, Y* = F_N' Y' F_T, W* = F_N' W F_N, and the
(N-1)(T-1) Gaussian log-likelihood of y*_s = rho W* y*_s + Z*_s delta + eps*_s uses
ln|I_{N-1} - rho W*| from numpy's slogdet. The module instead uses two-way demeaned data,
W's eigenvalues with the eigenvalue 1 dropped and the weight T - 1: the two must agree to
rounding at every rho, including next to the bound rho = 1.
"""
from __future__ import annotations

import libpysal
import numpy as np
import pytest
from spreg.panel_fe import Panel_FE_Lag

from estimation.spatial.effects import draw_parameters, effects, rho_near_bound_share
from estimation.spatial.sdm import BOUND_MARGIN, at_bound, fit_error_model, fit_lag_model
from estimation.spatial.models import SpatialModelResult
from estimation.spatial.weights import SpatialWeights
from synthetic.spatial import province_weights, simulate_sdm

BETA, THETA, NAMES = np.array([1.0, -0.5]), np.array([0.5, 0.3]), ["a", "b"]


@pytest.fixture(scope="module")
def provinces() -> SpatialWeights:
    codes, w = province_weights()
    return SpatialWeights.from_dense(w, codes, "geographic")


def orthonormal_f(n: int) -> np.ndarray:
    """F_{n,n-1}: the n-1 orthonormal eigenvectors of I_n - ll'/n with eigenvalue 1."""
    values, vectors = np.linalg.eigh(np.eye(n) - np.ones((n, n)) / n)
    return vectors[:, values > 0.5]


def transform(y, x, w, durbin):
    """(y* (T-1, N-1), Z* (T-1, N-1, k), W*) of the Lee-Yu transformed model."""
    t, n = y.shape
    ft, fn = orthonormal_f(t), orthonormal_f(n)
    z = np.concatenate([x, np.einsum("ij,tjk->tik", w, x)], axis=2) if durbin else x
    return (fn.T @ y.T @ ft).T, np.einsum("ni,tnk,ts->sik", fn, z, ft), fn.T @ w @ fn


def full_loglik(rho, delta, sigma2, ys, zs, ws, error=False):
    """Gaussian log-likelihood of the transformed lag (or, ``error``, SEM) model."""
    t1, n1 = ys.shape
    a = np.eye(n1) - rho * ws
    sign, logdet = np.linalg.slogdet(a)
    assert sign > 0
    e = (ys - zs @ delta) @ a.T if error else ys @ a.T - zs @ delta
    return -(n1 * t1 / 2) * np.log(2 * np.pi * sigma2) + t1 * logdet - (e**2).sum() / (2 * sigma2)


def concentrated_lag(rho, ys, zs, ws):
    t1, n1 = ys.shape
    lhs = (ys @ (np.eye(n1) - rho * ws).T).ravel()
    zz = zs.reshape(t1 * n1, -1)
    delta = np.linalg.lstsq(zz, lhs, rcond=None)[0]
    return full_loglik(rho, delta, ((lhs - zz @ delta) ** 2).sum() / lhs.size, ys, zs, ws)


def numerical_gradient(f, point, h=1e-6):
    grad = np.empty(len(point))
    for i in range(len(point)):
        up, down = point.copy(), point.copy()
        up[i] += h * max(1.0, abs(point[i]))
        down[i] -= h * max(1.0, abs(point[i]))
        grad[i] = (f(up) - f(down)) / (up[i] - down[i])
    return grad


def test_log_det_identity_with_eigenvalue_one_dropped(provinces):
    """ln|I_{N-1} - rho W*| = ln|I_N - rho W| - ln(1 - rho) for a row-standardised W."""
    fn = orthonormal_f(provinces.n)
    w_star = fn.T @ provinces.matrix @ fn
    for rho in (-2.0, -0.5, 0.3, 0.9, 0.999, 0.99999):
        small = np.linalg.slogdet(np.eye(provinces.n - 1) - rho * w_star)[1]
        full = np.linalg.slogdet(np.eye(provinces.n) - rho * provinces.matrix)[1]
        assert small == pytest.approx(full - np.log1p(-rho), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("durbin", [False, True])
def test_lee_yu_profile_equals_brute_force_likelihood(provinces, durbin):
    y, x = simulate_sdm(provinces.matrix, 9, 0.4, BETA, THETA if durbin else np.zeros(2), seed=31)
    fit = fit_lag_model(y, x, provinces, NAMES, durbin=durbin)
    ys, zs, ws = transform(y, x, provinces.matrix, durbin)
    assert fit.n_effective == ys.size == 29 * 8
    rhos = np.array([-3.0, -1.0, 0.0, 0.5, 0.9, 0.99, 0.999, 1 - 1e-6, fit.spatial_parameter])
    reference = np.array([concentrated_lag(r, ys, zs, ws) for r in rhos])
    np.testing.assert_allclose(fit.profile(rhos), reference, rtol=1e-11, atol=1e-9)
    # the full (unconcentrated) likelihood at the reported estimates is the reported maximum ...
    point = np.r_[fit.params, fit.sigma2]
    k = len(fit.params) - 1

    def loglik(p):
        return full_loglik(p[k], p[:k], p[k + 1], ys, zs, ws)

    assert loglik(point) == pytest.approx(fit.log_likelihood, rel=1e-12)
    # ... and a stationary point of it in every parameter (rho is interior here)
    assert not at_bound(fit.spatial_parameter, fit.rho_bounds)
    grad = numerical_gradient(loglik, point) * np.sqrt(np.r_[np.diag(fit.cov), fit.sigma2_se**2])
    assert np.abs(grad).max() < 1e-3, grad


def test_sem_profile_equals_brute_force_likelihood(provinces):
    y, x = simulate_sdm(provinces.matrix, 9, 0.4, BETA, -0.4 * BETA, seed=32)
    fit = fit_error_model(y, x, provinces, NAMES)
    ys, zs, ws = transform(y, x, provinces.matrix, durbin=False)
    t1, n1 = ys.shape
    for lam in (-1.0, 0.2, 0.95, 0.999, fit.spatial_parameter):
        a = np.eye(n1) - lam * ws
        lhs, rhs = (ys @ a.T).ravel(), np.einsum("ij,tjk->tik", a, zs).reshape(t1 * n1, -1)
        beta = np.linalg.lstsq(rhs, lhs, rcond=None)[0]
        sigma2 = ((lhs - rhs @ beta) ** 2).sum() / lhs.size
        reference = full_loglik(lam, beta, sigma2, ys, zs, ws, error=True)
        assert fit.profile(lam)[0] == pytest.approx(reference, rel=1e-11)
    assert fit.log_likelihood == pytest.approx(
        full_loglik(fit.spatial_parameter, fit.params[:-1], fit.sigma2, ys, zs, ws, error=True), rel=1e-12)


def test_pseudo_r2_is_the_transformed_reduced_form_fit(provinces):
    """pseudo R2 = corr(y~, J_N (I - rho W)^-1 Z~ delta)^2: the year-specific shift of the
    reduced form (~1/(1 - rho)) is a year effect and must not enter the fit."""
    y, x = simulate_sdm(provinces.matrix, 9, 0.4, BETA, THETA, seed=33)
    fit = fit_lag_model(y, x, provinces, NAMES)
    ys, zs, ws = transform(y, x, provinces.matrix, durbin=True)
    fitted = zs @ fit.params[:-1] @ np.linalg.inv(np.eye(29) - fit.spatial_parameter * ws).T
    # the demeaned data have mean zero, so their correlation is the cosine, which F preserves
    cosine = ys.ravel() @ fitted.ravel() / np.sqrt((ys**2).sum() * (fitted**2).sum())
    assert fit.pseudo_r2 == pytest.approx(cosine**2, rel=1e-9)


def test_estimate_on_the_bound_reaches_it_and_is_flagged(provinces):
    """The transformed model is non-singular beyond rho = 1 (up to 1/w_2 ~ 2.6 here), so data from
    rho = 1.3 have a profile still rising at rho = 1: the restricted ML estimate is the bound,
    which the optimiser must reach (the old grid edge stopped 0.005 short) and flag."""
    y, x = simulate_sdm(provinces.matrix, 9, 1.3, BETA, np.zeros(2), seed=34, sigma=0.5)
    fit = fit_lag_model(y, x, provinces, NAMES, durbin=False)
    lo, hi = fit.rho_bounds
    ys, zs, ws = transform(y, x, provinces.matrix, durbin=False)
    assert concentrated_lag(1.2, ys, zs, ws) > concentrated_lag(hi - 1e-9, ys, zs, ws)  # maximum beyond 1
    assert hi - 1e-4 < fit.spatial_parameter < hi
    # the score still points out of the interval there, so the estimate is the search limit itself
    assert fit.spatial_parameter == hi - BOUND_MARGIN * (hi - lo)
    assert fit.log_likelihood >= fit.profile(np.linspace(lo + 1e-3, hi - 1e-3, 4001)).max()
    assert at_bound(fit.spatial_parameter, fit.rho_bounds)
    assert np.all(np.isfinite(fit.std_errors)) and np.all(fit.std_errors > 0)
    stats = SpatialModelResult("sar_test", fit, None).stats
    assert stats["rho_at_bound"] == 1.0 and stats["effects_rho_near_bound_share"] > 0.01
    interior = fit_lag_model(*simulate_sdm(provinces.matrix, 9, 0.4, BETA, np.zeros(2), seed=34), provinces,
                             NAMES, durbin=False)
    assert SpatialModelResult("sar_test", interior, None).stats["rho_at_bound"] == 0.0


def test_spreg_on_year_demeaned_data_is_the_direct_approach_for_doubly_stochastic_w():
    """spreg's Panel_FE_Lag (entity effects) on year-demeaned y and [X, WX] is the uncorrected
    two-way direct approach when W J_N = J_N W, i.e. when l'W = l' (here a symmetric
    row-standardised ring). For a row-standardised but asymmetric W, such as the inverse-distance
    one, W (y - ybar_t l) differs from the year-demeaned Wy, and the two differ (by ~0.002-0.02 in
    rho on the synthetic sample), as they should."""
    n, t = 30, 9
    ring = np.zeros((n, n))
    for lag in (1, 2, 3):
        ring += np.eye(n, k=lag) + np.eye(n, k=-lag) + np.eye(n, k=n - lag) + np.eye(n, k=lag - n)
    sw = SpatialWeights.from_dense(ring / ring.sum(axis=1, keepdims=True))
    y, x = simulate_sdm(sw.matrix, t, 0.4, BETA, THETA, seed=35)
    ours = fit_lag_model(y, x, sw, NAMES, approach="demeaned")
    z = np.concatenate([x, np.einsum("ij,tjk->tik", sw.matrix, x)], axis=2)
    y_year, z_year = y - y.mean(axis=1, keepdims=True), z - z.mean(axis=1, keepdims=True)
    ref = Panel_FE_Lag(y_year.reshape(-1, 1), z_year.reshape(n * t, -1), libpysal.weights.full2W(sw.matrix))
    np.testing.assert_allclose(ours.params, ref.betas.ravel(), atol=2e-6)
    np.testing.assert_allclose(ours.std_errors, np.sqrt(np.diag(ref.vm)), rtol=1e-4)
    assert ours.log_likelihood == pytest.approx(np.asarray(ref.logll).item() + n * t / 2 * np.log(n * t), rel=1e-9)


def test_effect_draws_near_the_bound(provinces):
    """Draws of rho are a normal truncated to the admissible interval (share near the bound as
    rho_near_bound_share says); with the sample's SDM-geographic rho = 0.69 (se 0.29) the total
    effect 1/(1 - rho) has no finite mean, so its simulated SD keeps growing with the draws,
    whereas for a well-identified rho it settles."""
    rng = np.random.default_rng(5)
    bounds = provinces.rho_bounds
    mean, cov = np.array([1.0, 0.5, 0.69]), np.diag([1e-4, 1e-4, 0.29**2])
    sample = draw_parameters(mean, cov, 200_000, bounds, rng)
    assert sample[:, -1].max() < bounds[1] and sample[:, -1].min() > bounds[0]
    share = rho_near_bound_share(0.69, 0.29, bounds)
    observed = np.mean(sample[:, -1] > bounds[1] - 0.01)
    assert abs(observed - share) < 4 * np.sqrt(share * (1 - share) / len(sample))
    total = effects(sample[:, :1], sample[:, 1:2], sample[:, -1], provinces.eigenvalues)["total"][:, 0]
    sd_small, sd_large = total[:2000].std(), total.std()
    assert sd_large > 3 * sd_small  # heavy tail: the SD is set by the draws nearest rho = 1
    tight = draw_parameters(np.array([1.0, 0.5, 0.3]), np.diag([1e-4, 1e-4, 0.05**2]), 200_000, bounds, rng)
    tight_total = effects(tight[:, :1], tight[:, 1:2], tight[:, -1], provinces.eigenvalues)["total"][:, 0]
    assert tight_total[:2000].std() == pytest.approx(tight_total.std(), rel=0.1)
    assert rho_near_bound_share(0.3, 0.05, bounds) < 1e-20
