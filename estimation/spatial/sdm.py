"""Two-way fixed-effects spatial panel models by maximum likelihood: SDM, SAR and SEM.

Model (paper eq. 19; Lee & Yu 2010, J. Econometrics 154:165-185):

    y_t = rho W y_t + X_t beta + W X_t theta + mu + alpha_t l_N + eps_t,  t = 1..T.

SAR is the SDM with theta = 0; SEM is y_t = X_t beta + mu + alpha_t l_N + u_t with
u_t = lambda W u_t + eps_t.

**Lee-Yu transformation approach** (``approach="lee_yu"``). The individual effects are
removed by the orthonormal transformation F_{T,T-1} and the time effects by F_{N,N-1}.
For a row-standardised W (W l = l) the transformed residual sum of squares equals the
one of the two-way demeaned variables (y, Wy, X, WX each demeaned within province and
within year), and the log-Jacobian of the (N-1)-dimensional transformed system is
ln|I - rho W| - ln(1 - rho) (the eigenvalue 1 of W drops out). With n* = (N-1)(T-1):

    l(rho, delta, s2) = -(n*/2) ln(2 pi s2) + (T-1)[ln|I_N - rho W| - ln(1 - rho)] - e'e/(2 s2),

e = y~ - rho (Wy)~ - Z~ delta, Z = [X, WX], delta = (beta, theta). For given rho, delta is
OLS of y~ - rho (Wy)~ on Z~ and s2 = e'e/n*, so l is concentrated to a function of rho
alone, maximised over the admissible interval (1/w_min, 1). With entity effects only,
n* = N(T-1) and the full ln|I - rho W| enters with weight T-1 (Lee & Yu 2010, sec. 3).

**Direct approach** (``approach="demeaned"``, Elhorst 2014 without bias correction):
the same demeaned data with n* = NT and weight T on the full ln|I - rho W|. With two-way
effects and a dense W this is inconsistent (rho is badly biased); kept for comparison.

**Covariance**: the inverse of the information matrix of the (transformed) model in
(delta, rho, s2) (Lee & Yu 2010, eq. for Sigma_{theta0,nT}; Elhorst 2014, eq. 3.13):

    [ Z~'Z~/s2         Z~'(G Z~ delta)/s2                    0            ]
    [ .                m tr(G~G~ + G~'G~) + |G~ Z~ delta|^2/s2  m tr(G~)/s2  ]
    [ .                .                                     n*/(2 s4)    ]

G = W (I - rho W)^-1, m the log-det weight, G~ = F'GF (eigenvalues of G except
1/(1-rho); |F'GF|_F^2 = |J_N G|_F^2). The SEM has the same layout with
G = W (I - lambda W)^-1, delta-block (X - lambda WX)~'(X - lambda WX)~/s2 and no
cross term.

**Large N.** Log-determinants and traces come from :mod:`.logdet`. Up to
``weights.EXACT_MAX_N`` units (or for a dense W) they use W's eigenvalues (computed once;
complex ones, e.g. of a k-nearest-neighbour W, in conjugate pairs), so one likelihood
evaluation is O(N), and G is formed once, at the optimum, for the covariance. For a large
sparse W every log-determinant is a sparse LU factorisation (exact, cached per W and rho),
the score's tr G is exact by complex-step differentiation, tr G~G~ a difference of exact
tr G, and tr G~'G~ Hutchinson's estimator (relative error ~0.3% at N = 2,800, which moves
se(rho) by less than half that); G Z delta is one LU solve per period. No N x N inverse is
formed. A dense W above ``EXACT_MAX_N`` keeps its eigenvalues (exact log-determinants and
traces) and gets tr G~'G~ the same way, from a dense LU factorisation. The sparse route's global grid has ``SPARSE_GRID_POINTS`` points instead of ``GRID_POINTS`` (each
point is a factorisation, ~25 ms at N = 2,800).

**Weak identification and estimates on the boundary.** With a dense inverse-distance W over
30 provinces, W y_t is nearly the cross-section mean of y_t, which the year effects absorb
(on the bundled sample 99% of the variance of W y after province demeaning is year means);
the two-way transformed model keeps only the small remainder, so the profile likelihood of
rho is flat. Because ln|I - rho W| - ln(1 - rho) stays finite at rho = 1, nothing pulls the
estimate back from the upper bound: on the synthetic sample the geographic SAR/SEM
profiles still rise at rho = 0.999 (their unrestricted maximum lies beyond 1), so the
estimate is the bound itself (checked against a brute-force (N-1)(T-1) likelihood in
tests/test_spatial_likelihood_check.py; not an estimator bug). Such fits are kept, not
hidden: model_stats ``rho_at_bound`` = 1 when the estimate lies within ``AT_BOUND_TOL`` of an
end of the admissible interval (the information-matrix standard error is then no guide; read
``profile_ci_low``/``profile_ci_high`` and results.spatial_profile instead).

**Search and polish.** rho (lambda) maximises the concentrated likelihood l_c over the
admissible interval: a grid of ``GRID_POINTS`` values finds the global peak, Brent's bounded
search refines it, and :func:`_polish` then solves the score equation l_c'(rho) = 0 to
machine precision (Brent's method on the analytic score, bracketed around the peak). The
polish is there because Brent's *minimiser* stops at a relative tolerance of sqrt(eps) ~
1.5e-8 in rho whatever ``xatol`` says (a maximum can only be located to the square root of
the precision of the function values, while a root of the derivative can be located to the
precision of the derivative): on these flat likelihoods a roundoff-level change in W (another
summation order, a transposed product) moved rho by ~1e-7, the coefficients (delta = b0 -
rho b1) by ~1e-6 relative and the simulated effects by ~1e-5. After the polish, estimates
move by ~1e-12 under such perturbations and agree with other implementations to the
precision they themselves attain (R's spatialreg also stops at sqrt(eps); evaluated at the
same polished rho they agree to ~1e-10, tests/test_reference_r.py). The scores are

    lag:  l_c'(rho) = n* e(rho)'(Wy)~ / e(rho)'e(rho) - m sum_i w_i/(1 - rho w_i),
    SEM:  l_c'(lam) = -(n*/2) [v' dA(lam) v] / e'e  - m sum_i w_i/(1 - lam w_i),

e(rho) = e0 - rho e1 the concentrated residual; for the SEM, A(lam) the Gram matrix of
[y, X] - lam [Wy, WX], dA its derivative in lam and v = (1, -beta(lam)): by the envelope
theorem the derivative of the minimised residual sum of squares is the partial derivative at
fixed beta. When the score still points out of the interval at its end (the supremum is the
bound, as on flat two-way profiles), the estimate is that end exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from estimation.errors import SpatialInputError

from .logdet import Spectrum, frobenius_g, solver, spectrum
from .panel import spatial_lag, within
from .weights import EXACT_MAX_N, SpatialWeights

APPROACHES = ("lee_yu", "demeaned")
ESTIMATOR_NAMES = {"lee_yu": "ml_lee_yu_2010", "demeaned": "ml_demeaned_direct"}
GRID_POINTS = 201
SPARSE_GRID_POINTS = 41
EDGE = 1e-3  # the grid stays this fraction of the admissible interval away from its poles
BOUND_MARGIN = 1e-6  # Brent's search may go this close (fraction of the interval) to a pole
AT_BOUND_TOL = 1e-3  # |rho - bound| below this: the estimate is flagged as on the boundary


@dataclass
class SpatialFit:
    """One fitted spatial panel model. ``params``/``cov`` are ordered as ``names``
    (regressors, then ``rho`` or ``lambda``); ``sigma2`` and its standard error separately."""

    model: str
    approach: str
    effects: str
    names: list[str]
    params: np.ndarray
    cov: np.ndarray
    sigma2: float
    sigma2_se: float
    log_likelihood: float
    n_regions: int
    n_periods: int
    n_effective: int
    rho_bounds: tuple[float, float]
    r2_within: float
    pseudo_r2: float
    profile: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    #: relative standard error of the estimated tr G~'G~ of the information matrix (large
    #: sparse W, Hutchinson's estimator); 0 when it is exact
    trace_rel_se: float = 0.0

    @property
    def estimator(self) -> str:
        return ESTIMATOR_NAMES[self.approach]

    @property
    def std_errors(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    @property
    def spatial_parameter(self) -> float:
        return float(self.params[-1])

    def block(self, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Estimates and covariance of the named parameters, in the given order."""
        index = [self.names.index(n) for n in names]
        return self.params[index], self.cov[np.ix_(index, index)]


def likelihood_design(sw: SpatialWeights, n_periods: int, effects: str, approach: str
                      ) -> tuple[Spectrum, int, int]:
    """(spectrum entering ln|.|, its weight m, effective observations n*)."""
    if approach not in APPROACHES:
        raise ValueError(f"approach must be one of {APPROACHES}, got {approach!r}")
    n = sw.n
    if approach == "demeaned":
        return spectrum(sw, drop_unit=False), n_periods, n * n_periods
    if effects == "twoways":
        # ln|I - rho W| - ln(1 - rho): drop the eigenvalue 1 of the row-standardised W.
        return spectrum(sw, drop_unit=True), n_periods - 1, (n - 1) * (n_periods - 1)
    return spectrum(sw, drop_unit=False), n_periods - 1, n * (n_periods - 1)


def _maximise(concentrated: Callable, score: Callable[[float], float],
              bounds: tuple[float, float], grid_points: int = GRID_POINTS) -> float:
    """Global grid search, Brent's bounded search between the best point's neighbours, then
    :func:`_polish` on the score (module docstring: why).

    When the best grid point is the first or last one, Brent's bracket reaches out to
    ``BOUND_MARGIN`` of the interval width from the pole: the Lee-Yu two-way profile is
    finite at rho = 1 (the eigenvalue 1 has dropped out), so on a flat likelihood its
    supremum can be the bound itself, and the estimate must get there, not stop at the grid.
    """
    lo, hi = bounds
    grid = lo + (hi - lo) * np.linspace(EDGE, 1 - EDGE, grid_points)
    values = concentrated(grid)
    best = int(np.nanargmax(values))
    limits = (lo + BOUND_MARGIN * (hi - lo), hi - BOUND_MARGIN * (hi - lo))
    a = grid[best - 1] if best > 0 else limits[0]
    b = grid[best + 1] if best < grid_points - 1 else limits[1]
    result = minimize_scalar(lambda r: -concentrated(r)[0], bounds=(a, b), method="bounded",
                             options={"xatol": 1e-10})
    rho = float(result.x) if -result.fun >= values[best] else float(grid[best])
    return _polish(score, rho, limits)


def _polish(score: Callable[[float], float], rho: float, limits: tuple[float, float]) -> float:
    """The root of ``score`` next to ``rho`` (a maximum found to ~1.5e-8), to ~4 ulps.

    A bracket is grown from ``rho`` in the direction the score points (steps of 1e-9 of the
    interval width, quadrupling) until the score changes sign, then Brent's root finder
    closes it (xtol 1e-15, rtol 4 eps). A score that still points outwards at an end of
    ``limits`` makes that end the estimate.
    """
    g = score(rho)
    if g == 0.0 or not np.isfinite(g):
        return rho
    lo, hi = limits
    direction = 1.0 if g > 0 else -1.0
    inner, step = rho, 1e-9 * (hi - lo)
    while True:
        outer = min(max(rho + direction * step, lo), hi)
        g_outer = score(outer)
        if np.sign(g_outer) != np.sign(g):
            a, b = sorted((inner, outer))
            return float(brentq(score, a, b, xtol=1e-15, rtol=4 * np.finfo(float).eps))
        if outer in (lo, hi):
            return float(outer)
        inner, step = outer, 4 * step


def at_bound(rho: float, bounds: tuple[float, float], tol: float = AT_BOUND_TOL) -> bool:
    """True when rho lies within ``tol`` of an end of the admissible interval: the maximum is
    then (numerically) on the boundary, the information-matrix standard error is no guide, and
    effects with 1/(1 - rho) are unbounded over the draws."""
    lo, hi = bounds
    return bool(min(rho - lo, hi - rho) < tol)


def _g_matrix(w: np.ndarray, rho: float, demean_rows: bool = False) -> np.ndarray:
    """G = W (I - rho W)^-1, or J_N G = J_N W (I - rho W)^-1 with ``demean_rows`` (J_N = I - ll'/N);
    one O(N^3) solve per fit. J_N G is solved for directly rather than by demeaning G: near
    rho = 1, G has a component l pi'/(1 - rho) that J_N removes exactly, and subtracting it
    afterwards would cancel ~1/(1 - rho)-sized entries."""
    n = len(w)
    rhs = w - w.mean(axis=0, keepdims=True) if demean_rows else w
    return np.linalg.solve((np.eye(n) - rho * w).T, rhs.T).T


@dataclass
class InformationTerms:
    """tr G~, tr G~G~, tr G~'G~ at rho, and ``apply(a)``: G~ (G, or J_N G with demeaned rows)
    applied to every period of a (T, N) array. ``frobenius_se`` is the standard error of
    tr G~'G~ when it is estimated (large sparse W), else 0."""

    tr_g: float
    tr_gg: float
    tr_gtg: float
    apply: Callable[[np.ndarray], np.ndarray]
    frobenius_se: float = 0.0


def information_terms(sw: SpatialWeights, spec: Spectrum, rho: float, demean_rows: bool) -> InformationTerms:
    """Exact from the dense G up to ``EXACT_MAX_N`` units; above, one LU factorisation (sparse,
    or dense for a dense W), exact or complex-step tr G and tr G~G~, and Hutchinson's estimate
    of tr G~'G~ (module docstring, "Large N")."""
    if spec.exact and sw.n <= EXACT_MAX_N:
        g = _g_matrix(sw.matrix, rho, demean_rows)
        ratio = spec.eigenvalues / (1.0 - rho * spec.eigenvalues)
        return InformationTerms(float(ratio.sum().real), float((ratio**2).sum().real), float((g**2).sum()),
                                lambda a: spatial_lag(g, a))
    solve = solver(sw, rho)
    tr_gtg, se = frobenius_g(sw.matrix, solve, demean_rows)

    def apply(a: np.ndarray) -> np.ndarray:
        out = (sw.matrix @ solve(np.ascontiguousarray(a.T))).T
        return out - out.mean(axis=1, keepdims=True) if demean_rows else out

    return InformationTerms(spec.trace_g(rho), spec.trace_g2(rho), tr_gtg, apply, se)


def _grid_points(spec: Spectrum) -> int:
    return GRID_POINTS if spec.exact else SPARSE_GRID_POINTS


def _design(x: np.ndarray, x_names: list[str], w: np.ndarray, durbin: bool):
    if durbin:
        return np.concatenate([x, spatial_lag(w, x)], axis=2), [*x_names, *[f"w_{n}" for n in x_names]]
    return x, list(x_names)


def _check_rank(z: np.ndarray, names: list[str]) -> None:
    norms = np.sqrt((z**2).sum(axis=0))
    flat = np.flatnonzero(norms < 1e-10 * max(1.0, norms.max()))
    if flat.size:
        raise SpatialInputError(f"regressor {names[flat[0]]!r} has no variation left after the fixed effects")
    if np.linalg.matrix_rank(z) < z.shape[1]:
        raise SpatialInputError(f"regressors {names} are collinear after the fixed effects")


def fit_lag_model(y: np.ndarray, x: np.ndarray, sw: SpatialWeights, x_names: list[str], *,
                  durbin: bool = True, effects: str = "twoways", approach: str = "lee_yu") -> SpatialFit:
    """ML fit of the SDM (``durbin=True``) or SAR on y (T, N) and x (T, N, k); see module doc."""
    n_periods, n = y.shape
    w = sw.matrix
    z, names = _design(x, x_names, w, durbin)
    yd = within(y, effects).ravel()
    wyd = within(spatial_lag(w, y), effects).ravel()
    zd = within(z, effects).reshape(n * n_periods, -1)
    _check_rank(zd, names)
    spec, m, n_eff = likelihood_design(sw, n_periods, effects, approach)

    b0, b1 = np.linalg.lstsq(zd, np.column_stack([yd, wyd]), rcond=None)[0].T
    e0, e1 = yd - zd @ b0, wyd - zd @ b1
    e00, e01, e11 = e0 @ e0, e0 @ e1, e1 @ e1

    def concentrated(rho):
        rho = np.atleast_1d(np.asarray(rho, dtype=float))
        rss = e00 - 2 * rho * e01 + rho**2 * e11
        return -0.5 * n_eff * (np.log(2 * np.pi) + 1 + np.log(rss / n_eff)) + m * spec.log_det(rho)

    def score(rho: float) -> float:
        rss = e00 - 2 * rho * e01 + rho**2 * e11
        return float(n_eff * (e01 - rho * e11) / rss - m * spec.trace_g(rho))

    rho = _maximise(concentrated, score, sw.rho_bounds, _grid_points(spec))
    delta = b0 - rho * b1
    resid = e0 - rho * e1
    sigma2 = float(resid @ resid / n_eff)

    demean_rows = approach == "lee_yu" and effects == "twoways"
    terms = information_terms(sw, spec, rho, demean_rows)
    zdelta = (zd @ delta).reshape(n_periods, n)
    gz = terms.apply(zdelta).ravel()
    k = zd.shape[1]
    info = np.zeros((k + 2, k + 2))
    info[:k, :k] = zd.T @ zd / sigma2
    info[:k, k] = info[k, :k] = zd.T @ gz / sigma2
    info[k, k] = m * (terms.tr_gg + terms.tr_gtg) + gz @ gz / sigma2
    info[k, k + 1] = info[k + 1, k] = m * terms.tr_g / sigma2
    info[k + 1, k + 1] = n_eff / (2 * sigma2**2)
    cov_full = np.linalg.inv(info)

    # reduced-form fit: (I - rho W)^-1 Z delta = Z delta + rho G Z delta; with year effects only
    # its within-year variation is fitted (the l-component is a year effect), so use J_N G
    apply_fit = terms.apply if demean_rows or effects != "twoways" else \
        information_terms(sw, spec, rho, demean_rows=True).apply
    predicted = (zdelta + rho * apply_fit(zdelta)).ravel()
    return SpatialFit(
        model="sdm" if durbin else "sar", approach=approach, effects=effects,
        names=[*names, "rho"], params=np.append(delta, rho), cov=cov_full[: k + 1, : k + 1],
        sigma2=sigma2, sigma2_se=float(np.sqrt(cov_full[k + 1, k + 1])),
        log_likelihood=float(concentrated(rho)[0]), n_regions=n, n_periods=n_periods,
        n_effective=n_eff, rho_bounds=sw.rho_bounds,
        r2_within=float(1 - resid @ resid / (yd @ yd)),
        pseudo_r2=float(np.corrcoef(yd, predicted)[0, 1] ** 2), profile=concentrated,
        trace_rel_se=terms.frobenius_se / terms.tr_gtg,
    )


def fit_error_model(y: np.ndarray, x: np.ndarray, sw: SpatialWeights, x_names: list[str], *,
                    effects: str = "twoways", approach: str = "lee_yu") -> SpatialFit:
    """ML fit of the SEM: for each lambda, beta is OLS of (y - lambda Wy)~ on (X - lambda WX)~."""
    n_periods, n = y.shape
    w = sw.matrix
    names = list(x_names)
    a = np.column_stack([within(y, effects).ravel(), within(x, effects).reshape(n * n_periods, -1)])
    b = np.column_stack([within(spatial_lag(w, y), effects).ravel(),
                         within(spatial_lag(w, x), effects).reshape(n * n_periods, -1)])
    _check_rank(a[:, 1:], names)
    spec, m, n_eff = likelihood_design(sw, n_periods, effects, approach)
    aa, ab, bb = a.T @ a, a.T @ b, b.T @ b

    def fit_at(lam: float):
        gram = aa - lam * (ab + ab.T) + lam**2 * bb
        beta = np.linalg.solve(gram[1:, 1:], gram[1:, 0])
        return beta, gram[0, 0] - gram[1:, 0] @ beta

    def concentrated(lams):
        lams = np.atleast_1d(np.asarray(lams, dtype=float))
        rss = np.array([fit_at(lam)[1] for lam in lams])
        return -0.5 * n_eff * (np.log(2 * np.pi) + 1 + np.log(rss / n_eff)) + m * spec.log_det(lams)

    def score(lam: float) -> float:
        beta, rss = fit_at(lam)
        v = np.r_[1.0, -beta]
        d_gram = 2 * lam * bb - (ab + ab.T)
        return float(-0.5 * n_eff * (v @ d_gram @ v) / rss - m * spec.trace_g(lam))

    lam = _maximise(concentrated, score, sw.rho_bounds, _grid_points(spec))
    beta, rss = fit_at(lam)
    sigma2 = float(rss / n_eff)
    demean_rows = approach == "lee_yu" and effects == "twoways"
    terms = information_terms(sw, spec, lam, demean_rows)
    tr_g, tr_gg, tr_gtg = terms.tr_g, terms.tr_gg, terms.tr_gtg
    xs = a[:, 1:] - lam * b[:, 1:]
    k = len(names)
    info = np.zeros((k + 2, k + 2))
    info[:k, :k] = xs.T @ xs / sigma2
    info[k, k] = m * (tr_gg + tr_gtg)
    info[k, k + 1] = info[k + 1, k] = m * tr_g / sigma2
    info[k + 1, k + 1] = n_eff / (2 * sigma2**2)
    cov_full = np.linalg.inv(info)
    yd = a[:, 0]
    fitted = a[:, 1:] @ beta
    return SpatialFit(
        model="sem", approach=approach, effects=effects, names=[*names, "lambda"],
        params=np.append(beta, lam), cov=cov_full[: k + 1, : k + 1], sigma2=sigma2,
        sigma2_se=float(np.sqrt(cov_full[k + 1, k + 1])), log_likelihood=float(concentrated(lam)[0]),
        n_regions=n, n_periods=n_periods, n_effective=n_eff, rho_bounds=sw.rho_bounds,
        r2_within=float(1 - rss / (yd @ yd)), pseudo_r2=float(np.corrcoef(yd, fitted)[0, 1] ** 2),
        profile=concentrated, trace_rel_se=terms.frobenius_se / terms.tr_gtg,
    )
