"""RE panel Tobit: likelihood against direct integration; recovery of planted parameters."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from estimation.design import Design
from estimation.specs import Spec
from estimation.tobit import TobitData, fit_tobit_re, re_loglike

SPEC = Spec("tobit", "y", ("x",), controls=(), effects=(), estimator="tobit_re",
            censoring=(0.0, 1.0), cov_type="oim")


def _simulate(G: int, T: int, beta=(0.4, 0.5), s_u=0.3, s_e=0.2, seed=0):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(G), T)
    x = rng.normal(size=G * T)
    ystar = beta[0] + beta[1] * x + rng.normal(0, s_u, G)[g] + rng.normal(0, s_e, G * T)
    return np.clip(ystar, 0.0, 1.0), x, g


def _direct_loglike(y, X, g, beta, s_u, s_e, lo=0.0, hi=1.0):
    """Sum over groups of log int prod_t f(y_t | u) phi(u/s_u)/s_u du by adaptive quad."""
    total = 0.0
    for i in np.unique(g):
        yi, mi = y[g == i], X[g == i] @ beta

        def integrand(u):
            u = np.atleast_1d(u)[:, None]
            mu = mi[None, :] + u
            f = np.where(yi <= lo, stats.norm.cdf((lo - mu) / s_e),
                         np.where(yi >= hi, stats.norm.sf((hi - mu) / s_e),
                                  stats.norm.pdf((yi - mu) / s_e) / s_e))
            out = np.prod(f, axis=1) * stats.norm.pdf(u[:, 0] / s_u) / s_u
            return out if out.size > 1 else float(out[0])

        grid = np.linspace(-8 * s_u, 8 * s_u, 4001)
        vals = integrand(grid)
        peak = grid[np.argmax(vals)]          # give quad the narrow peak's location
        val, _ = integrate.quad(integrand, -8 * s_u, 8 * s_u, points=[peak], limit=500,
                                epsabs=0, epsrel=1e-12)
        total += np.log(val)
    return total


@pytest.mark.parametrize("s_u,s_e", [(0.3, 0.2), (0.5, 0.05)])
def test_likelihood_matches_direct_integration(s_u, s_e):
    y, x, g = _simulate(G=5, T=4, s_u=s_u, s_e=s_e, seed=1)
    assert (y == 0).any() and (y == 1).any() and ((y > 0) & (y < 1)).any()
    X = np.column_stack([np.ones_like(x), x])
    beta = np.array([0.35, 0.45])
    d = TobitData(y, X, g, 0.0, 1.0)
    ours = re_loglike(np.r_[beta, np.log(s_u), np.log(s_e)], d, per_group=True)
    for i in range(5):
        direct = _direct_loglike(y[g == i], X[g == i], g[g == i], beta, s_u, s_e)
        all_censored = np.all((y[g == i] == 0) | (y[g == i] == 1))
        # Groups censored in every period converge slowly in Gauss-Hermite (documented in
        # estimation.tobit); the others must agree to quadrature precision.
        assert ours[i] == pytest.approx(direct, rel=2e-2 if all_censored else 1e-8,
                                        abs=1e-10), (i, all_censored)


def test_gradient_matches_finite_differences():
    y, x, g = _simulate(G=8, T=5, seed=2)
    d = TobitData(y, np.column_stack([np.ones_like(x), x]), g, 0.0, 1.0)
    theta = np.array([0.3, 0.6, np.log(0.25), np.log(0.15)])
    _, grad = re_loglike(theta, d, gradient=True)
    eps = 1e-6
    fd = [(re_loglike(theta + eps * e, d) - re_loglike(theta - eps * e, d)) / (2 * eps)
          for e in np.eye(4)]
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-6)


def test_recovers_planted_parameters_with_two_sided_censoring():
    G, T = 300, 9
    y, x, g = _simulate(G, T, beta=(0.4, 0.5), s_u=0.3, s_e=0.2, seed=3)
    assert 0.05 < (y == 0).mean() and 0.05 < (y == 1).mean()
    design = Design(spec=SPEC, y=pd.Series(y), X=pd.DataFrame({"x": x}), unit=g,
                    time=np.tile(np.arange(T), G))
    res = fit_tobit_re(design)
    assert res.stats["converged"] == 1.0
    for term, truth in (("x", 0.5), ("const", 0.4)):
        assert abs(res.params[term] - truth) < 4 * res.std_errors[term], term
    assert abs(res.stats["sigma_u"] - 0.3) < 4 * res.stats["sigma_u_se"]
    assert abs(res.stats["sigma_e"] - 0.2) < 4 * res.stats["sigma_e_se"]
    # A strong random effect: the LR test against the pooled Tobit rejects.
    assert res.stats["lr_stat"] > 100 and res.stats["lr_p"] < 1e-10
    # OLS on the censored data is attenuated; the Tobit is not (sanity of the censoring).
    ols = np.polyfit(x, y, 1)[0]
    assert ols < 0.45 < res.params["x"] + 2 * res.std_errors["x"]


def test_lr_pvalue_uses_chi_bar_square_mixture():
    y, x, g = _simulate(G=40, T=6, s_u=0.05, s_e=0.2, seed=4)
    design = Design(spec=SPEC, y=pd.Series(y), X=pd.DataFrame({"x": x}), unit=g,
                    time=np.tile(np.arange(6), 40))
    res = fit_tobit_re(design)
    assert res.stats["lr_p"] == pytest.approx(0.5 * stats.chi2.sf(res.stats["lr_stat"], 1))
    assert res.stats["log_likelihood"] >= res.stats["log_likelihood_pooled"] - 1e-8
