"""RE panel Tobit: likelihood against direct integration; recovery of planted parameters."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from estimation.design import Design
from estimation.specs import Spec
from estimation.tobit import TobitData, fit_tobit_re, re_loglike

SQRT_2PI = np.sqrt(2 * np.pi)
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
            # scipy.special's ndtr and exp rather than scipy.stats.norm: same functions, without
            # the per-call overhead that dominates quad's thousands of scalar calls
            u = np.atleast_1d(u)[:, None]
            mu = mi[None, :] + u
            f = np.where(yi <= lo, special.ndtr((lo - mu) / s_e),
                         np.where(yi >= hi, special.ndtr((mu - hi) / s_e),
                                  np.exp(-0.5 * ((yi - mu) / s_e) ** 2) / (SQRT_2PI * s_e)))
            out = np.prod(f, axis=1) * np.exp(-0.5 * (u[:, 0] / s_u) ** 2) / (SQRT_2PI * s_u)
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


# ------------------------------------------------------------------ the log-likelihood at the estimates

def _bundled_design(y=None, censoring=(0.0, 1.0)) -> Design:
    """The paper's tobit_re spec (ER on DT + the five controls, time dummies) on the bundled
    SYNTHETIC panel of the stored R references; ``y`` replaces ER."""
    from reference_cases import BUNDLED_X, dataset
    panel = dataset("bundled").panel
    spec = Spec("tobit_re", "y", tuple(BUNDLED_X), controls=(), effects=("time",), estimator="tobit_re",
                censoring=censoring, cov_type="oim")
    return Design(spec=spec, y=pd.Series(panel.y.to_numpy() if y is None else y),
                  X=panel[BUNDLED_X].reset_index(drop=True), unit=panel.id.to_numpy(),
                  time=panel.time.to_numpy())


def _full_design_matrix(design: Design) -> np.ndarray:
    """[X, const, time dummies without the first period], in full_params' order."""
    periods = np.unique(design.time)
    return np.column_stack([design.X.to_numpy(dtype=float), np.ones(design.nobs),
                            (design.time[:, None] == periods[None, 1:]).astype(float)])


def _quadrature_loglike_by_unit(design: Design, params: pd.Series) -> np.ndarray:
    """Each unit's log-likelihood at ``params`` by scipy's adaptive quadrature (_direct_loglike)."""
    X = _full_design_matrix(design)
    beta = params.drop(["sigma_u", "sigma_e"]).to_numpy()
    lo, hi = design.spec.censoring
    y = design.y.to_numpy()
    return np.array([_direct_loglike(y[design.unit == u], X[design.unit == u], design.unit[design.unit == u],
                                     beta, params["sigma_u"], params["sigma_e"], lo, hi)
                     for u in np.unique(design.unit)])


def test_bundled_loglikelihood_at_the_estimates_matches_adaptive_quadrature():
    """No R package fits the RE Tobit; instead the reported log-likelihood is re-evaluated at
    the reported estimates by scipy.integrate.quad per province (independent of the
    Gauss-Hermite code). The bundled ER never reaches 0 or 1, so nothing is censored here."""
    design = _bundled_design()
    result = fit_tobit_re(design)
    assert result.stats["converged"] == 1.0
    assert result.stats["n_left_censored"] == result.stats["n_right_censored"] == 0
    by_unit = _quadrature_loglike_by_unit(design, result.full_params)
    assert result.stats["log_likelihood"] == pytest.approx(by_unit.sum(), rel=1e-9)


def test_censored_simulation_on_the_bundled_design_maximises_the_quadrature_likelihood():
    """Censoring that actually occurs: ER* simulated on the bundled design (30 provinces x 9
    years, the paper's regressors and time dummies) from the bundled fit with the constant
    moved to centre ER* at 0.5 and sigma_u = 0.25, sigma_e = 0.2, so that ~6% of the values
    fall below 0 and ~6% above 1. At the estimates the reported log-likelihood equals the
    quadrature one, and moving any parameter by a fifth of its standard error lowers the
    quadrature likelihood: the estimate is the maximum of the independently evaluated function."""
    fitted = fit_tobit_re(_bundled_design()).full_params
    design = _bundled_design()
    X = _full_design_matrix(design)
    beta = fitted.drop(["sigma_u", "sigma_e"]).to_numpy()
    rng = np.random.default_rng(13)
    _, unit = np.unique(design.unit, return_inverse=True)
    xb = X @ beta
    ystar = xb - xb.mean() + 0.5 + rng.normal(0, 0.25, unit.max() + 1)[unit] + rng.normal(0, 0.2, design.nobs)
    design = _bundled_design(np.clip(ystar, 0.0, 1.0))
    result = fit_tobit_re(design)
    st = result.stats
    assert st["converged"] == 1.0 and st["n_left_censored"] >= 10 and st["n_right_censored"] >= 10
    y = design.y.to_numpy()
    censored_throughout = [np.all((y[design.unit == u] <= 0) | (y[design.unit == u] >= 1))
                           for u in np.unique(design.unit)]
    # One province is censored in every year, Gauss-Hermite's weak case (estimation.tobit); with
    # sigma_e/sigma_u ~ 0.8 its integrand is smooth enough that its error stays ~5e-9.
    assert sum(censored_throughout) == 1
    at_estimate = _quadrature_loglike_by_unit(design, result.full_params).sum()
    assert st["log_likelihood"] == pytest.approx(at_estimate, rel=1e-9)
    # the planted censoring moves the estimates as a Tobit should: sigma_e near the truth
    assert abs(st["sigma_e"] - 0.2) < 4 * st["sigma_e_se"]
    se = dict(result.std_errors) | {"sigma_u": st["sigma_u_se"], "sigma_e": st["sigma_e_se"]}
    for name in ["dt", "const", "sigma_u", "sigma_e"]:
        for sign in (-1.0, 1.0):
            moved = result.full_params.copy()
            moved[name] += sign * 0.2 * se[name]
            assert _quadrature_loglike_by_unit(design, moved).sum() < at_estimate, (name, sign)
