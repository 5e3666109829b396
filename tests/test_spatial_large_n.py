"""The large-N route of the spatial estimators (estimation.spatial.logdet): a sparse W, sparse
LU log-determinants, complex-step and estimated traces, trace-series effects, checked against
the exact eigenvalue route on the same W at N = 400 (k = 6 nearest neighbours: asymmetric,
with complex eigenvalues), where both run.

Tolerances: the log-determinant and tr G are exact on both routes (roundoff, 1e-12);
tr G^2 is a central difference of exact values (truncation ~1e-8, tolerance 1e-6); tr G~'G~
is Hutchinson's estimator, checked within 4 of its own standard errors, which must be below
2% here (0.3% at N = 2,800); the effect multipliers of the trace series within 1e-4 relative
(measured 2e-6 to 4e-5 for rho-hat 0.3-0.6 and draws +-0.15 around it).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from estimation.errors import SpatialInputError
from estimation.specs import Spec
from estimation.spatial.effects import effect_multipliers, simulate_effects
from estimation.spatial.lm_tests import lm_tests
from estimation.spatial.logdet import (EigenSpectrum, SparseSpectrum, TraceMultipliers, exact_traces,
                                       frobenius_g, solver)
from estimation.spatial.models import fit_spatial_model
from estimation.spatial.moran import global_moran
from estimation.spatial.sdm import _g_matrix, fit_error_model, fit_lag_model
from estimation.spatial.weights import EXACT_MAX_N, SpatialWeights, k_nearest, row_standardise
from synthetic.spatial import random_points, simulate_sdm

N, T = 400, 10
BETA, THETA, RHO = np.array([1.0, -0.5]), np.array([0.4, 0.2]), 0.5


@pytest.fixture(scope="module")
def routes() -> tuple[SpatialWeights, SpatialWeights]:
    w = row_standardise(k_nearest(*random_points(N, seed=2), k=6))
    exact = SpatialWeights.from_dense(w, method="eigen")
    assert (np.abs(exact.eigenvalues.imag) > 1e-10).sum() > 100  # complex eigenvalues
    return exact, SpatialWeights.from_dense(w, method="sparse")


@pytest.mark.parametrize("drop_unit", [False, True])
def test_sparse_log_det_and_traces_equal_the_eigenvalue_sums(routes, drop_unit):
    exact, sparse_w = routes
    e, s = EigenSpectrum(exact.eigenvalues, drop_unit), SparseSpectrum(sparse_w, drop_unit)
    rhos = np.array([-0.9, -0.3, 0.2, 0.6, 0.95, 0.999])
    np.testing.assert_allclose(s.log_det(rhos), e.log_det(rhos), rtol=1e-12)
    for rho in rhos:
        assert s.trace_g(rho) == pytest.approx(e.trace_g(rho), rel=1e-11)
        assert s.trace_g2(rho) == pytest.approx(e.trace_g2(rho), rel=1e-6)


@pytest.mark.parametrize("rho,demean", [(0.2, False), (0.6, True), (0.9, True)])
def test_hutchinson_frobenius_is_within_its_standard_error(routes, rho, demean):
    exact, sparse_w = routes
    g = _g_matrix(exact.matrix, rho, demean)
    estimates = [frobenius_g(sw.matrix, solver(sw, rho), demean) for sw in routes]  # dense and sparse LU
    (dense, _), (estimate, se) = estimates
    assert dense == pytest.approx(estimate, rel=1e-12)  # the same probes
    assert se / estimate < 0.02
    assert abs(estimate - (g**2).sum()) < 4 * se


def test_exact_traces_of_powers(routes):
    exact, sparse_w = routes
    powers = [np.linalg.matrix_power(exact.matrix, k).trace() for k in range(1, 7)]
    np.testing.assert_allclose(exact_traces(sparse_w.matrix, 6), powers, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(powers, [(exact.eigenvalues**k).sum().real for k in range(1, 7)], atol=1e-9)


@pytest.mark.parametrize("rho_hat", [0.3, 0.6])
def test_trace_series_multipliers(routes, rho_hat):
    """Exact at the anchor (complex step), the anchored series around it; truncation bounded."""
    exact, sparse_w = routes
    series = TraceMultipliers(sparse_w, rho_hat)
    at_hat = series(rho_hat)
    for ours, theirs in zip(at_hat, effect_multipliers(rho_hat, exact.eigenvalues)):
        assert ours[0] == pytest.approx(theirs[0], rel=1e-12)
    rhos = rho_hat + np.linspace(-0.15, 0.15, 31)
    for ours, theirs in zip(series(rhos), effect_multipliers(rhos, exact.eigenvalues)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4)
    assert series.truncation_bound < 1e-9


@pytest.mark.parametrize("model", ["sdm", "sar", "sem"])
def test_sparse_route_fits_equal_the_exact_route(routes, model):
    """The same estimates (both log-determinants are exact), standard errors within the
    Hutchinson estimator's share, the same point effects, simulated SDs within 1e-4."""
    exact, sparse_w = routes
    theta = THETA if model == "sdm" else np.zeros(2) if model == "sar" else -RHO * BETA
    y, x = simulate_sdm(exact.matrix, T, RHO, BETA, theta, seed=3)
    fits = [fit_error_model(y, x, sw, ["a", "b"]) if model == "sem" else
            fit_lag_model(y, x, sw, ["a", "b"], durbin=model == "sdm") for sw in routes]
    a, b = fits
    np.testing.assert_allclose(b.params, a.params, rtol=1e-10, atol=1e-12)
    assert b.log_likelihood == pytest.approx(a.log_likelihood, rel=1e-12)
    assert b.pseudo_r2 == pytest.approx(a.pseudo_r2, rel=1e-10)
    assert a.trace_rel_se == 0 and 0 < b.trace_rel_se < 0.02
    np.testing.assert_allclose(b.std_errors, a.std_errors, rtol=4 * b.trace_rel_se)
    assert abs(a.params[-1] - RHO) < 4 * a.std_errors[-1]
    if model != "sem":
        kwargs = dict(durbin=model == "sdm", draws=1000, seed=1)
        ea = simulate_effects(a.params, a.cov, exact.eigenvalues, ["a", "b"], exact.rho_bounds, **kwargs)
        eb = simulate_effects(a.params, a.cov, TraceMultipliers(sparse_w, a.spatial_parameter), ["a", "b"],
                              exact.rho_bounds, **kwargs)
        np.testing.assert_allclose(eb.estimate, ea.estimate, rtol=1e-10)
        np.testing.assert_allclose(eb.std_error, ea.std_error, rtol=1e-4)


def test_suite_on_a_sparse_w_reports_the_approximations(routes):
    exact, sparse_w = routes
    y, x = simulate_sdm(exact.matrix, T, RHO, BETA, THETA, seed=4)
    panel = pd.DataFrame({"unit": np.tile(np.arange(N), T), "t": np.repeat(np.arange(T), N),
                          "y": y.ravel(), "a": x[..., 0].ravel(), "b": x[..., 1].ravel()})
    spec = Spec("sdm_knn", "y", ("a", "b"), controls=(), estimator="sdm", weights="knn")
    results = [fit_spatial_model(panel, spec, sw, unit="unit", time="t", draws=200, seed=1) for sw in routes]
    ours, theirs = results[1].stats, results[0].stats
    assert 0 < ours["information_trace_rel_se"] < 0.02 and ours["effects_trace_truncation_bound"] < 1e-9
    assert "information_trace_rel_se" not in theirs
    # the profile interval is read off a grid over each route's interval ((-1, 1) for the sparse
    # W, (1/w_min, 1) for the exact one): the ends agree within the coarser grid's step
    step = (theirs["rho_upper"] - theirs["rho_lower"]) / 4001
    assert ours["profile_ci_low"] == pytest.approx(theirs["profile_ci_low"], abs=step)
    assert ours["profile_ci_high"] == pytest.approx(theirs["profile_ci_high"], abs=step)
    assert ours["profile_ci_low"] < RHO < ours["profile_ci_high"]


def test_moran_and_lm_tests_on_a_sparse_w(routes):
    exact, sparse_w = routes
    y, x = simulate_sdm(exact.matrix, T, RHO, BETA, THETA, seed=5)
    a = global_moran(y[0], exact, permutations=199, rng=np.random.default_rng(3))
    b = global_moran(y[0], sparse_w, permutations=199, rng=np.random.default_rng(3))
    assert b.keys() == a.keys()
    for key in a:
        assert b[key] == pytest.approx(a[key], rel=1e-12), key
    la, lb = lm_tests(y, x, exact), lm_tests(y, x, sparse_w)
    for key in la:
        assert lb[key] == pytest.approx(la[key], rel=1e-10), key


def test_representation_follows_size_and_density():
    codes = np.arange(EXACT_MAX_N + 1)
    w = row_standardise(k_nearest(*random_points(len(codes), seed=6), k=4))
    i, j = np.nonzero(w)
    long = pd.DataFrame({"i": codes[i], "j": codes[j], "weight": w[i, j]})
    big = SpatialWeights.from_long(long, i="i", j="j", codes=codes, name="knn")
    assert big.is_sparse and sparse.issparse(big.matrix) and big.matrix.nnz == 4 * len(codes)
    assert big.rho_bounds == (-1.0, 1.0)
    ring = pd.DataFrame({"i": [1, 2, 3, 1, 2, 3], "j": [2, 3, 1, 3, 1, 2], "weight": 0.5})
    small = SpatialWeights.from_long(ring, i="i", j="j", name="ring")
    assert not small.is_sparse and small.rho_bounds == pytest.approx((-2.0, 1.0))
    # a sparse W is checked like a dense one: a unit that loses its neighbours is named
    broken = long[long.i != 7]
    with pytest.raises(SpatialInputError, match="unit 7 has no neighbours"):
        SpatialWeights.from_long(broken, i="i", j="j", codes=codes, name="knn")
    scaled = long.assign(weight=np.where(long.i == 9, 2 * long.weight, long.weight))
    with pytest.raises(SpatialInputError, match="unit 9 has weights summing to 2"):
        SpatialWeights.from_long(scaled, i="i", j="j", codes=codes, name="knn")


def test_dense_w_above_the_exact_size_estimates_only_the_frobenius_trace(routes, monkeypatch):
    """A dense W above EXACT_MAX_N keeps its eigenvalues but no longer forms G: the same
    estimates, standard errors within the Hutchinson estimator's share (the cap is lowered to
    exercise that route at N = 400)."""
    from estimation.spatial import sdm
    exact, _ = routes
    y, x = simulate_sdm(exact.matrix, T, RHO, BETA, THETA, seed=6)
    a = fit_lag_model(y, x, exact, ["a", "b"])
    monkeypatch.setattr(sdm, "EXACT_MAX_N", 100)
    b = fit_lag_model(y, x, exact, ["a", "b"])
    np.testing.assert_array_equal(b.params, a.params)
    assert 0 < b.trace_rel_se < 0.02
    np.testing.assert_allclose(b.std_errors, a.std_errors, rtol=4 * b.trace_rel_se)
