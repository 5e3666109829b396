"""Random-effects panel Tobit censored at [L, U] by maximum likelihood (Stata ``xttobit, re``).

Model: y*_it = x_it b + u_i + e_it, u_i ~ N(0, s_u^2), e_it ~ N(0, s_e^2); y = L if y* <= L,
U if y* >= U, else y*. Observation density given u:
    f = Phi((L - x b - u)/s_e)          at y = L,
    f = 1 - Phi((U - x b - u)/s_e)      at y = U,
    f = phi((y - x b - u)/s_e)/s_e      otherwise.
Province likelihood L_i = int prod_t f_it(u) phi(u/s_u)/s_u du, evaluated by *adaptive*
Gauss-Hermite quadrature (Liu & Pierce 1994; Stata's default ``intmethod(mvaghermite)``):
with g_i(u) the log integrand, mode m_i (Newton; g_i is concave) and scale
s_i = (-g_i''(m_i))^(-1/2),
    L_i ~= sqrt(2) s_i sum_k w_k exp(x_k^2) exp(g_i(m_i + sqrt(2) s_i x_k)).
Adaptive nodes matter here: with T = 9 and s_u >> s_e the integrand is far narrower than the
prior, and fixed nodes on the prior scale miss it. Default 24 nodes. Known limit: a unit
censored in *every* period has a step-shaped integrand (a product of normal CDFs times the
prior) that Gauss-Hermite converges on slowly when s_e << s_u (relative error ~1e-2 at 24
nodes in tests/test_estimation_tobit.py); units with an uncensored period are exact to
~1e-8. Check the censoring counts in model_stats (``n_left_censored``/``n_right_censored``).

Parameters are (b, ln s_u, ln s_e), maximised by BFGS from the pooled-Tobit estimates;
standard errors from the inverse of the numerical Hessian (observed information; label
``oim``), delta method for s_u and s_e. LR test of s_u = 0: LR = 2 (l_RE - l_pooled) with
p = 0.5 P(chi2_1 > LR) (chi-bar-square, the null is on the boundary; Gutierrez et al. 2001).

No Python library estimates panel Tobit models, hence our own code.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.sparse import csr_matrix
from scipy.special import log_ndtr, logsumexp
from statsmodels.tools.numdiff import approx_fprime

from estimation.design import Design
from estimation.results import Result

LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)
log = logging.getLogger(__name__)


@dataclass
class TobitData:
    """Censoring pattern and group index of a Tobit sample."""

    y: np.ndarray
    X: np.ndarray
    group: np.ndarray      # 0..G-1
    lower: float
    upper: float

    def __post_init__(self) -> None:
        self.left = self.y <= self.lower
        self.right = self.y >= self.upper
        self.mid = ~(self.left | self.right)
        self.n_groups = int(self.group.max()) + 1
        # Group-sum operator (sparse G x n: a county panel has 2,800 groups and 56,000 rows)
        # and a warm start for the modes, which only saves Newton steps (they are iterated to
        # convergence).
        self.summer = csr_matrix((np.ones(self.y.size), (self.group, np.arange(self.y.size))),
                                 shape=(self.n_groups, self.y.size))
        self.mode_start = np.zeros(self.n_groups)


def _obs_terms(d: TobitData, xb: np.ndarray, u: np.ndarray, s_e: float):
    """log f_it(u) and its first two u-derivatives, elementwise (u broadcast per row)."""
    mu = xb + u
    logf = np.empty_like(mu)
    d1 = np.empty_like(mu)
    d2 = np.empty_like(mu)
    m, lft, rgt = d.mid, d.left, d.right
    r = (d.y[m, None] - mu[m]) / s_e if mu.ndim == 2 else (d.y[m] - mu[m]) / s_e
    logf[m] = -0.5 * r ** 2 - LOG_SQRT_2PI - np.log(s_e)
    d1[m] = r / s_e
    d2[m] = -1.0 / s_e ** 2
    for mask, sign, bound in ((lft, 1.0, d.lower), (rgt, -1.0, d.upper)):
        # left: log Phi((L - mu)/s_e); right: log Phi((mu - U)/s_e).
        a = sign * (bound - mu[mask]) / s_e
        lp = log_ndtr(a)
        lam = np.exp(-0.5 * a ** 2 - LOG_SQRT_2PI - lp)      # inverse Mills ratio
        logf[mask] = lp
        d1[mask] = -sign * lam / s_e
        d2[mask] = -lam * (a + lam) / s_e ** 2
    return logf, d1, d2


def _group_sum(d: TobitData, values: np.ndarray) -> np.ndarray:
    return d.summer @ values


def _dlog_f_dlog_se(d: TobitData, xb: np.ndarray, u: np.ndarray, s_e: float) -> np.ndarray:
    """d log f_it / d ln s_e at u (n x K): r^2 - 1 inside, -a lambda(a) at a bound."""
    mu = xb + u
    out = np.empty_like(mu)
    r = (d.y[d.mid, None] - mu[d.mid]) / s_e
    out[d.mid] = r ** 2 - 1.0
    for mask, sign, bound in ((d.left, 1.0, d.lower), (d.right, -1.0, d.upper)):
        a = sign * (bound - mu[mask]) / s_e
        lam = np.exp(-0.5 * a ** 2 - LOG_SQRT_2PI - log_ndtr(a))
        out[mask] = -a * lam
    return out


def re_loglike(theta: np.ndarray, d: TobitData, nodes: int = 24, per_group: bool = False,
               gradient: bool = False):
    """Log-likelihood of the RE Tobit at theta = (b, ln s_u, ln s_e), by adaptive GH.

    With ``gradient=True`` also returns its gradient, computed as the posterior mean (over
    the same quadrature nodes) of d g_i(u)/d theta at fixed u, i.e. the derivative of the
    integral rather than of its approximation's node placement.
    """
    k = d.X.shape[1]
    beta, s_u, s_e = theta[:k], np.exp(theta[k]), np.exp(theta[k + 1])
    xb = d.X @ beta
    # Mode of each unit's log integrand by safeguarded Newton steps.
    u = d.mode_start.copy()
    for _ in range(100):
        _, d1, d2 = _obs_terms(d, xb, u[d.group], s_e)
        g1 = _group_sum(d, d1) - u / s_u ** 2
        g2 = _group_sum(d, d2) - 1.0 / s_u ** 2
        step = -g1 / g2
        cap = 3.0 / np.sqrt(-g2)
        step = np.clip(step, -cap, cap)
        u = u + step
        if np.max(np.abs(step) * np.sqrt(-g2)) < 1e-10:
            break
    d.mode_start = u
    _, _, d2 = _obs_terms(d, xb, u[d.group], s_e)
    scale = 1.0 / np.sqrt(-(_group_sum(d, d2) - 1.0 / s_u ** 2))
    x, w = np.polynomial.hermite.hermgauss(nodes)
    pts = u[:, None] + np.sqrt(2.0) * scale[:, None] * x[None, :]          # G x K
    logf, d1, _ = _obs_terms(d, xb[:, None], pts[d.group], s_e)             # n x K
    g = _group_sum(d, logf) - 0.5 * (pts / s_u) ** 2 - LOG_SQRT_2PI - np.log(s_u)
    terms = g + (np.log(w) + x ** 2)[None, :]
    ll_i = np.log(np.sqrt(2.0) * scale) + logsumexp(terms, axis=1)
    value = ll_i if per_group else float(ll_i.sum())
    if not gradient:
        return value
    post = np.exp(terms - logsumexp(terms, axis=1, keepdims=True))           # G x K weights
    row_w = post[d.group] * d1                                              # n x K
    grad_beta = d.X.T @ row_w.sum(axis=1)
    grad_su = float(np.sum(post * ((pts / s_u) ** 2 - 1.0)))
    dse = _dlog_f_dlog_se(d, xb[:, None], pts[d.group], s_e)
    grad_se = float(np.sum(post[d.group] * dse))
    return value, np.r_[grad_beta, grad_su, grad_se]


def pooled_loglike(theta: np.ndarray, d: TobitData, gradient: bool = False):
    """Log-likelihood of the pooled two-limit Tobit at theta = (b, ln s) (and gradient)."""
    k = d.X.shape[1]
    xb, s = d.X @ theta[:k], np.exp(theta[k])
    logf, d1, _ = _obs_terms(d, xb, np.zeros(len(d.y)), s)
    if not gradient:
        return float(logf.sum())
    dse = _dlog_f_dlog_se(d, xb[:, None], np.zeros((len(d.y), 1)), s)
    return float(logf.sum()), np.r_[d.X.T @ d1, dse.sum()]


def _maximise(value_and_grad, start: np.ndarray) -> optimize.OptimizeResult:
    """BFGS on the negative log-likelihood; ``converged`` means max |gradient| < 1e-4."""
    res = optimize.minimize(lambda t: tuple(-v for v in value_and_grad(t)), start, jac=True,
                            method="BFGS", options={"gtol": 1e-6, "maxiter": 5000})
    if not np.isfinite(res.fun):
        raise RuntimeError(f"Tobit likelihood not finite at the optimum: {res.message}")
    res.converged = bool(np.max(np.abs(res.jac)) < 1e-4)
    return res


class TobitREResult(Result):
    """Random-effects panel Tobit censored at [L, U] (module docstring for the likelihood).

    ``params``: the slopes, ``const`` (time dummies, if any, are estimated but not reported);
    covariance from the observed information (``oim``); ``stats``: log-likelihoods (RE and
    pooled), sigma_u, sigma_e (with delta-method SEs), rho, the LR test of sigma_u = 0,
    censoring counts, quadrature nodes, ``converged``. ``full_params`` holds every estimated
    parameter, the time dummies (``time_<period>``, first period left out) included, then
    ``sigma_u`` and ``sigma_e``: with it the log-likelihood can be re-evaluated independently.
    """

    estimator = "tobit_re"

    def __init__(self, *args, full_params: pd.Series, **kwargs):
        super().__init__(*args, **kwargs)
        self.full_params = full_params


def fit_tobit_re(design: Design, spec_id: str | None = None, nodes: int = 24) -> TobitREResult:
    """RE Tobit of ``design.y`` on ``design.X`` + constant (+ time dummies if in effects)."""
    spec = design.spec
    lower, upper = spec.censoring or (-np.inf, np.inf)
    names = [*design.X.columns, "const"]
    X = np.column_stack([design.X.to_numpy(dtype=float), np.ones(design.nobs)])
    all_names = list(names)
    if "time" in spec.effects:
        periods, period_idx = np.unique(design.time, return_inverse=True)
        X = np.column_stack([X, np.eye(len(periods))[period_idx][:, 1:]])  # time dummies, first dropped
        all_names += [f"time_{t}" for t in periods[1:]]
    group = pd.factorize(design.unit)[0]
    # Columns are rescaled to unit standard deviation for the optimiser (medical is ~70,
    # ec ~0.1); estimates and covariance are mapped back: b = b_scaled / scale.
    col_scale = np.where(np.ptp(X, axis=0) > 0, X.std(axis=0), 1.0)
    d = TobitData(design.y.to_numpy(dtype=float), X / col_scale, group, lower, upper)
    k = X.shape[1]

    ols = np.linalg.lstsq(d.X, d.y, rcond=None)[0]
    s0 = np.std(d.y - d.X @ ols)
    pooled = _maximise(lambda t: pooled_loglike(t, d, gradient=True), np.r_[ols, np.log(s0)])
    ll_pooled = -pooled.fun
    s_p = np.exp(pooled.x[k])
    start = np.r_[pooled.x[:k], np.log(s_p / np.sqrt(2)), np.log(s_p / np.sqrt(2))]
    fit = _maximise(lambda t: re_loglike(t, d, nodes, gradient=True), start)
    # BFGS stops on "precision loss" a little short of the optimum (its line search sees the
    # approximated value, the gradient is the integral's); a few Newton steps with the
    # Hessian by central differences of the analytic gradient finish the job.
    theta_s = fit.x
    for _ in range(20):
        grad = re_loglike(theta_s, d, nodes, gradient=True)[1]
        hess = approx_fprime(theta_s, lambda t: re_loglike(t, d, nodes, gradient=True)[1],
                             centered=True)
        hess = (hess + hess.T) / 2
        if np.max(np.abs(grad)) < 1e-7:
            break
        trial = theta_s - np.linalg.solve(hess, grad)
        if re_loglike(trial, d, nodes) < re_loglike(theta_s, d, nodes) - 1e-9:
            break                          # not in the concave region: keep BFGS's answer
        theta_s = trial
    fit.converged = bool(np.max(np.abs(grad)) < 1e-5 and np.all(np.linalg.eigvalsh(hess) < 0))
    fit.fun = -re_loglike(theta_s, d, nodes)
    if not (fit.converged and pooled.converged):
        log.warning("%s: Tobit ML did not converge (max |gradient| %.2e); see model_stats",
                    spec.spec_id, np.max(np.abs(grad)))
    back = np.r_[1.0 / col_scale, 1.0, 1.0]
    theta = theta_s * back
    cov = np.linalg.inv(-hess) * np.outer(back, back)
    se = np.sqrt(np.diag(cov))
    s_u, s_e = np.exp(theta[k]), np.exp(theta[k + 1])
    ll = -fit.fun
    lr = max(2 * (ll - ll_pooled), 0.0)
    p = len(names)
    st = {
        "nobs": d.y.size, "groups": d.n_groups, "log_likelihood": ll,
        "log_likelihood_pooled": ll_pooled, "sigma_u": s_u, "sigma_e": s_e,
        "sigma_u_se": s_u * se[k], "sigma_e_se": s_e * se[k + 1],
        "rho": s_u ** 2 / (s_u ** 2 + s_e ** 2),
        "lr_stat": lr, "lr_p": 0.5 * stats.chi2.sf(lr, 1),
        "n_left_censored": int(d.left.sum()), "n_right_censored": int(d.right.sum()),
        "quadrature_nodes": nodes,
        "converged": float(fit.converged and pooled.converged),
    }
    return TobitREResult(
        spec_id or spec.spec_id, pd.Series(theta[:p], index=names), pd.Series(se[:p], index=names),
        nobs=d.y.size, df_resid=None, stats=st, cov_type="oim",
        cov=pd.DataFrame(cov[:p, :p], index=names, columns=names),
        full_params=pd.Series(np.r_[theta[:k], s_u, s_e], index=[*all_names, "sigma_u", "sigma_e"]),
    )
