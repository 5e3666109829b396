"""Spatial specifications as results: SDM/SAR/SEM fits with effects and likelihood profiles,
LM tests and Moran's I, each a :class:`~estimation.results.Result`.

Numerics live in :mod:`.sdm` (likelihoods, covariances), :mod:`.effects`, :mod:`.lm_tests` and
:mod:`.moran`; this module checks the inputs, runs them for one :class:`~estimation.specs.Spec`
and presents the outcome (spreg's split of ``BasePanel_FE_Lag`` and ``Panel_FE_Lag``).

Model statistics of every fit: sigma2 (and its SE), log_likelihood, nobs, n_effective,
n_regions, n_periods, rho_lower/rho_upper (admissible interval), r2_within, pseudo_r2,
profile_ci_low/high (likelihood-ratio interval of rho), ``rho_at_bound`` (1 when rho/lambda
lies within 1e-3 of an end of the interval; see :mod:`.sdm`) and, for the lag models,
``effects_rho_near_bound_share`` (share of the effect draws with rho within 0.01 of the upper
bound; see :mod:`.effects`): when either is non-trivial, the simulated effects are dominated
by draws near rho = 1 and the profile interval is the honest summary. With a large sparse W
(:mod:`.logdet`) two more: ``information_trace_rel_se`` (relative standard error of the
estimated trace in the information matrix) and, for the lag models,
``effects_trace_truncation_bound`` (bound on the truncation of the trace series of the
effect draws). :func:`model_choice_tests`
adds the Wald and LR tests of the SDM against the SAR and SEM of the same variables and W.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import brentq

from estimation.results import Result
from estimation.specs import Spec

from .effects import rho_near_bound_share, simulate_effects
from .lm_tests import lm_tests
from .logdet import TraceMultipliers
from .moran import global_moran, moran_quadrants
from .panel import panel_block
from .sdm import SpatialFit, at_bound, fit_error_model, fit_lag_model
from .weights import SpatialWeights

logger = logging.getLogger(__name__)
PROFILE_POINTS = 81
EFFECT_COLUMNS = ("spec_id", "term", "effect", "estimate", "std_error", "p_value", "sim_mean",
                  "sim_median", "sim_q025", "sim_q975", "draws")


class SpatialModelResult(Result):
    """Two-way FE SDM, SAR or SEM by maximum likelihood (:mod:`.sdm` for the likelihoods):

        SDM  y_t = rho W y_t + X_t beta + W X_t theta + mu + alpha_t l + eps_t
        SAR  theta = 0;   SEM  y_t = X_t beta + mu + alpha_t l + u_t, u_t = lambda W u_t + eps_t

    ``params`` are beta (regressor names), theta (``w_<name>``) and ``rho``/``lambda``, with
    the information-matrix covariance; ``impacts`` the LeSage-Pace effects of a lag model,
    ``profile`` the concentrated log-likelihood over a grid of rho.
    """

    def __init__(self, spec_id: str, fit: SpatialFit, impacts: pd.DataFrame | None):
        self.fit, self.impacts = fit, impacts
        lo, hi = fit.rho_bounds
        ci_lo, ci_hi = profile_interval(fit)
        values = {
            "sigma2": fit.sigma2, "sigma2_se": fit.sigma2_se, "log_likelihood": fit.log_likelihood,
            "nobs": fit.n_regions * fit.n_periods, "n_effective": fit.n_effective,
            "n_regions": fit.n_regions, "n_periods": fit.n_periods, "rho_lower": lo, "rho_upper": hi,
            "r2_within": fit.r2_within, "pseudo_r2": fit.pseudo_r2, "profile_ci_low": ci_lo,
            "profile_ci_high": ci_hi,
            "rho_at_bound": float(at_bound(fit.spatial_parameter, fit.rho_bounds)),
        }
        if fit.trace_rel_se:
            values["information_trace_rel_se"] = fit.trace_rel_se
        if fit.model != "sem":
            values["effects_rho_near_bound_share"] = rho_near_bound_share(
                fit.spatial_parameter, float(fit.std_errors[-1]), fit.rho_bounds)
        super().__init__(spec_id, pd.Series(fit.params, index=fit.names),
                         pd.Series(fit.std_errors, index=fit.names),
                         nobs=fit.n_regions * fit.n_periods,
                         cov=pd.DataFrame(fit.cov, index=fit.names, columns=fit.names),
                         stats=values, df_resid=None, cov_type="information_matrix",
                         estimator=fit.estimator)

    def with_stats(self, extra: dict[str, float]) -> "SpatialModelResult":
        """The same result with more model statistics (e.g. :func:`model_choice_tests`)."""
        self._stats.update(extra)
        return self

    @property
    def profile(self) -> pd.DataFrame:
        """Concentrated log-likelihood on ``PROFILE_POINTS`` values of rho and at the estimate."""
        if self.fit.model == "sem":
            return pd.DataFrame(columns=["rho", "log_likelihood"])
        grid = np.sort(np.append(profile_grid(self.fit), self.fit.spatial_parameter))
        return pd.DataFrame({"rho": grid, "log_likelihood": self.fit.profile(grid)})

    def tidy(self) -> dict[str, pd.DataFrame]:
        out = super().tidy()
        if self.impacts is not None:
            out["spatial_effects"] = self.impacts.assign(spec_id=self.spec_id)[list(EFFECT_COLUMNS)]
            out["spatial_profile"] = self.profile.assign(spec_id=self.spec_id)[
                ["spec_id", "rho", "log_likelihood"]]
        return out


class LMTestsResult(Result):
    """LM tests for a spatial lag or error in the two-way FE model (:mod:`.lm_tests`);
    a test, not a model: ``stats`` only."""

    estimator = "lm_tests"

    def __init__(self, spec_id: str, nobs: int, values: dict[str, float]):
        empty = pd.Series(dtype=float)
        super().__init__(spec_id, empty, empty, nobs=nobs, stats=values)


class MoranResult(Result):
    """Global Moran's I of one variable under one W, period by period (:mod:`.moran`):
    ``params`` is I by period (``std_errors`` its sd under randomisation); ``tidy()`` gives ``results.moran`` rows (one per period) and
    ``results.moran_quadrants`` rows (one per unit and period)."""

    estimator = "moran"

    def __init__(self, spec_id: str, variable: str, matrix: str, rows: pd.DataFrame,
                 quadrants: pd.DataFrame):
        self.variable, self.matrix = variable, matrix
        self.rows, self.quadrants = rows, quadrants
        index = rows["year"].astype(str)
        super().__init__(spec_id, pd.Series(rows["moran_i"].to_numpy(), index=index),
                         pd.Series(np.sqrt(rows["variance_rand"].to_numpy()), index=index),
                         nobs=len(quadrants))

    def tidy(self) -> dict[str, pd.DataFrame]:
        return {"moran": self.rows.assign(spec_id=self.spec_id),
                "moran_quadrants": self.quadrants.assign(spec_id=self.spec_id)}


# --------------------------------------------------------------------------- fitting a spec

def spatial_arrays(panel: pd.DataFrame, spec: Spec, sw: SpatialWeights, *, unit: str, time: str):
    """(y (T, N), X (T, N, k), names) of a spec on a balanced panel ordered like ``sw``."""
    names = list(spec.explanatory)
    values, _ = panel_block(panel, [spec.dependent, *names], sw.codes, unit=unit, time=time)
    return values[..., 0], values[..., 1:], names


def fit_spatial_model(panel: pd.DataFrame, spec: Spec, sw: SpatialWeights, *, unit: str,
                      time: str, draws: int = 1000, seed: int = 12345) -> SpatialModelResult:
    """Fit an ``sdm``/``sar``/``sem`` spec; lag models get ``draws`` simulated effects."""
    y, x, names = spatial_arrays(panel, spec, sw, unit=unit, time=time)
    if spec.estimator == "sem":
        fit = fit_error_model(y, x, sw, names, approach=spec.approach)
        return SpatialModelResult(spec.spec_id, fit, None)
    fit = fit_lag_model(y, x, sw, names, durbin=spec.estimator == "sdm", approach=spec.approach)
    logger.info("spatial effects of %s: %d draws", spec.spec_id, draws)
    multipliers = sw.eigenvalues if sw.eigenvalues is not None else \
        TraceMultipliers(sw, fit.spatial_parameter)
    impacts = simulate_effects(fit.params, fit.cov, multipliers, names, sw.rho_bounds,
                               durbin=fit.model == "sdm", draws=draws, seed=seed)
    result = SpatialModelResult(spec.spec_id, fit, impacts)
    if sw.eigenvalues is None:
        result.with_stats({"effects_trace_truncation_bound": multipliers.truncation_bound})
    return result


def fit_lm_tests(panel: pd.DataFrame, spec: Spec, sw: SpatialWeights, *, unit: str,
                 time: str) -> LMTestsResult:
    y, x, _ = spatial_arrays(panel, spec, sw, unit=unit, time=time)
    return LMTestsResult(spec.spec_id, y.size, lm_tests(y, x, sw))


def fit_moran(panel: pd.DataFrame, spec: Spec, sw: SpatialWeights, *, unit: str, time: str,
              permutations: int, rng: np.random.Generator) -> MoranResult:
    """Moran's I of ``spec.dependent`` in every period, with ``permutations`` relabellings."""
    values, periods = panel_block(panel, [spec.dependent], sw.codes, unit=unit, time=time)
    rows, quadrants = [], []
    for t, period in enumerate(periods):
        logger.info("Moran's I %s %s %s (%d permutations)", sw.name, spec.dependent, period, permutations)
        result = global_moran(values[t, :, 0], sw, permutations=permutations, rng=rng)
        rows.append({"matrix": sw.name, "variable": spec.dependent, "year": int(period), **result})
        q = moran_quadrants(values[t, :, 0], sw)
        q.insert(0, "year", int(period))
        q.insert(0, "variable", spec.dependent)
        q.insert(0, "matrix", sw.name)
        quadrants.append(q)
    return MoranResult(spec.spec_id, spec.dependent, sw.name, pd.DataFrame(rows),
                       pd.concat(quadrants, ignore_index=True))


# --------------------------------------------------------------------------- model choice, profile

def model_choice_tests(sdm: SpatialFit, sar: SpatialFit, sem: SpatialFit) -> dict[str, float]:
    """Wald and LR tests of SDM against SAR (theta = 0) and SEM (theta + rho beta = 0), df = k.

    The SEM restriction is non-linear; its Wald statistic uses the delta method,
    R = d(theta + rho beta)/d(beta, theta, rho) = [rho I, I, beta] (LeSage & Pace 2009, sec. 6.1).
    """
    k = len(sdm.names) // 2
    theta, v_theta = sdm.block(sdm.names[k:2 * k])
    wald_sar = float(theta @ np.linalg.solve(v_theta, theta))
    beta, rho = sdm.params[:k], sdm.params[-1]
    g = theta + rho * beta
    r = np.hstack([rho * np.eye(k), np.eye(k), beta[:, None]])
    wald_sem = float(g @ np.linalg.solve(r @ sdm.cov @ r.T, g))
    lr_sar = 2 * (sdm.log_likelihood - sar.log_likelihood)
    lr_sem = 2 * (sdm.log_likelihood - sem.log_likelihood)
    return {"wald_sar": wald_sar, "wald_sar_p": stats.chi2.sf(wald_sar, k), "lr_sar": lr_sar,
            "lr_sar_p": stats.chi2.sf(lr_sar, k), "wald_sem": wald_sem, "wald_sem_p": stats.chi2.sf(wald_sem, k),
            "lr_sem": lr_sem, "lr_sem_p": stats.chi2.sf(lr_sem, k)}


def profile_grid(fit: SpatialFit, points: int = PROFILE_POINTS) -> np.ndarray:
    """``points`` values of rho spread over the admissible interval, its poles left out."""
    lo, hi = fit.rho_bounds
    return lo + (hi - lo) * (np.arange(points) + 0.5) / points


def profile_interval(fit: SpatialFit, level: float = 0.95, points: int = 4001) -> tuple[float, float]:
    """Likelihood-ratio interval {rho: 2(l_max - l_c(rho)) <= chi2_1(level)} read off a grid of
    ``points`` values of rho (resolution (hi - lo)/points); an end at the admissible bound means
    the interval is open there.

    The ends are the outermost grid points inside the interval around the estimate, found by
    root-finding on each side and checked at the neighbouring grid points: ~30 evaluations of
    the profile instead of ``points`` (each is a sparse LU factorisation for a large W), with
    the same result as evaluating the whole grid when the profile is unimodal.
    """
    lo, hi = fit.rho_bounds
    crit = stats.chi2.ppf(level, 1)
    rho = fit.spatial_parameter

    def grid(j: int) -> float:
        return lo + (hi - lo) * (j + 0.5) / points

    def inside(j: int) -> bool:
        return 0 <= j < points and 2 * (fit.log_likelihood - fit.profile(grid(j))[0]) <= crit

    def excess(r: float) -> float:
        return 2 * (fit.log_likelihood - fit.profile(r)[0]) - crit

    def outermost(end: int, step: int) -> int:
        """The grid index of the interval's end on the side of grid index ``end``."""
        if inside(end):
            return end
        root = brentq(excess, *sorted((grid(end), rho)), xtol=1e-12)
        position = (root - lo) / (hi - lo) * points - 0.5  # the root's fractional grid index
        j = int(np.ceil(position)) if step < 0 else int(np.floor(position))
        while not inside(j) and (rho - grid(j)) * step < 0:  # roundoff at the root: step inwards
            j -= step
        while inside(j + step):
            j += step
        return j

    j_lo, j_hi = outermost(0, -1), outermost(points - 1, 1)
    if j_lo > j_hi or not inside(j_lo):
        return rho, rho
    return float(grid(j_lo)), float(grid(j_hi))
