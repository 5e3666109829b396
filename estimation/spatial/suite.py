"""Tables 9-10 and the spatial model choice: every spatial estimate of a run as results frames.

``run_spatial_suite(panel, weights)`` reads the ``marts.analysis_panel`` and
``marts.spatial_weights`` frames and returns ``{table: DataFrame}`` with the columns of
``estimation.store.RESULT_TABLES`` (without ``run_id``):

- ``moran`` / ``moran_quadrants``: er and dt, every year, both matrices (Table 9, Figs 1-4);
- ``coefficients`` / ``model_stats``: ``sdm_<m>`` (Lee-Yu), ``sdm_<m>_demeaned`` (uncorrected
  direct approach), ``sar_<m>``, ``sem_<m>``, and ``lm_tests_<m>`` (model_stats only);
- ``spatial_effects``: LeSage-Pace effects of the SDM and SAR specs (Table 10);
- ``spatial_profile``: the concentrated log-likelihood over a rho grid, because rho is
  weakly identified with a dense W and the time effects (report it, do not hide it).

model_stats of every fit carry ``rho_at_bound`` (1 when rho/lambda is within 1e-3 of an end
of the admissible interval; see estimation.spatial.sdm) and, for the lag models,
``effects_rho_near_bound_share`` (share of the effect draws with rho within 0.01 of the upper
bound; see estimation.spatial.effects): when either is non-trivial, the effects' simulated
mean and SD are dominated by draws near rho = 1 and the profile interval is the honest summary.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats

from .effects import rho_near_bound_share, simulate_effects
from .lm_tests import lm_tests
from .moran import global_moran, moran_quadrants
from .panel import panel_block
from .sdm import SpatialFit, at_bound, fit_error_model, fit_lag_model
from .weights import SpatialWeights, weights_matrix

logger = logging.getLogger(__name__)

DEPENDENT = "er"
REGRESSORS = ["dt", "medical", "ec", "open", "tax", "culture"]
MORAN_VARIABLES = ["er", "dt"]
MATRICES = ["geographic", "economic"]
PROFILE_POINTS = 81
Z_95 = stats.norm.ppf(0.975)


def run_spatial_suite(panel: pd.DataFrame, weights: pd.DataFrame, *, draws: int = 1000,
                      permutations: int = 999, seed: int = 12345) -> dict[str, pd.DataFrame]:
    """All spatial results of one run; see the module docstring for the specs."""
    codes = np.sort(panel["province_code"].unique())
    out: dict[str, list[pd.DataFrame]] = {k: [] for k in ["moran", "moran_quadrants", "coefficients",
                                                          "model_stats", "spatial_effects", "spatial_profile"]}
    moran_rng = np.random.default_rng(seed)
    for matrix in MATRICES:
        sw = weights_matrix(weights, matrix, codes)
        moran, quadrants = moran_tables(panel, sw, permutations, moran_rng)
        out["moran"].append(moran)
        out["moran_quadrants"].append(quadrants)
        values, _ = panel_block(panel, [DEPENDENT, *REGRESSORS], sw.codes)
        y, x = values[..., 0], values[..., 1:]
        for frame_name, frame in model_tables(y, x, sw, matrix, draws=draws, seed=seed).items():
            out[frame_name].append(frame)
    return {name: pd.concat(frames, ignore_index=True) for name, frames in out.items()}


def moran_tables(panel: pd.DataFrame, sw: SpatialWeights, permutations: int,
                 rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    values, years = panel_block(panel, MORAN_VARIABLES, sw.codes)
    rows, quadrants = [], []
    for v, variable in enumerate(MORAN_VARIABLES):
        for t, year in enumerate(years):
            logger.info("Moran's I %s %s %d (%d permutations)", sw.name, variable, year, permutations)
            stats_ = global_moran(values[t, :, v], sw, permutations=permutations, rng=rng)
            rows.append({"matrix": sw.name, "variable": variable, "year": int(year), **stats_})
            q = moran_quadrants(values[t, :, v], sw)
            q.insert(0, "year", int(year))
            q.insert(0, "variable", variable)
            q.insert(0, "matrix", sw.name)
            quadrants.append(q)
    return pd.DataFrame(rows), pd.concat(quadrants, ignore_index=True)


def model_tables(y: np.ndarray, x: np.ndarray, sw: SpatialWeights, matrix: str, *, draws: int,
                 seed: int) -> dict[str, pd.DataFrame]:
    """Coefficients, model_stats, effects and profiles of the SDM/SAR/SEM specs for one matrix."""
    fits = {
        f"sdm_{matrix}": fit_lag_model(y, x, sw, REGRESSORS, durbin=True),
        f"sdm_{matrix}_demeaned": fit_lag_model(y, x, sw, REGRESSORS, durbin=True, approach="demeaned"),
        f"sar_{matrix}": fit_lag_model(y, x, sw, REGRESSORS, durbin=False),
        f"sem_{matrix}": fit_error_model(y, x, sw, REGRESSORS),
    }
    coefficients = pd.concat([coefficient_rows(spec, fit) for spec, fit in fits.items()], ignore_index=True)
    stats_rows = [stat_rows(spec, fit) for spec, fit in fits.items()]
    sdm = fits[f"sdm_{matrix}"]
    tests = model_choice_tests(sdm, fits[f"sar_{matrix}"], fits[f"sem_{matrix}"])
    stats_rows.append(_long(f"sdm_{matrix}", tests))
    stats_rows.append(_long(f"lm_tests_{matrix}", lm_tests(y, x, sw)))
    effects, profiles = [], []
    for spec, fit in fits.items():
        if fit.model == "sem":
            continue
        logger.info("spatial effects of %s: %d draws", spec, draws)
        effect_frame = simulate_effects(fit.params, fit.cov, sw.eigenvalues, REGRESSORS, sw.rho_bounds,
                                        durbin=fit.model == "sdm", draws=draws, seed=seed)
        effect_frame.insert(0, "spec_id", spec)
        effects.append(effect_frame)
        profiles.append(profile_rows(spec, fit))
    return {"coefficients": coefficients, "model_stats": pd.concat(stats_rows, ignore_index=True),
            "spatial_effects": pd.concat(effects, ignore_index=True),
            "spatial_profile": pd.concat(profiles, ignore_index=True)}


def coefficient_rows(spec: str, fit: SpatialFit) -> pd.DataFrame:
    se = fit.std_errors
    t = fit.params / se
    return pd.DataFrame({
        "spec_id": spec, "term": fit.names, "estimate": fit.params, "std_error": se, "t_stat": t,
        "p_value": 2 * stats.norm.sf(np.abs(t)), "ci_low": fit.params - Z_95 * se,
        "ci_high": fit.params + Z_95 * se, "nobs": fit.n_regions * fit.n_periods,
        "estimator": fit.estimator, "cov_type": "information_matrix",
    })


def stat_rows(spec: str, fit: SpatialFit) -> pd.DataFrame:
    lo, hi = fit.rho_bounds
    ci_lo, ci_hi = profile_interval(fit)
    return _long(spec, {
        "sigma2": fit.sigma2, "sigma2_se": fit.sigma2_se, "log_likelihood": fit.log_likelihood,
        "nobs": fit.n_regions * fit.n_periods, "n_effective": fit.n_effective, "n_regions": fit.n_regions,
        "n_periods": fit.n_periods, "rho_lower": lo, "rho_upper": hi, "r2_within": fit.r2_within,
        "pseudo_r2": fit.pseudo_r2, "profile_ci_low": ci_lo, "profile_ci_high": ci_hi,
        "rho_at_bound": float(at_bound(fit.spatial_parameter, fit.rho_bounds)),
        **({} if fit.model == "sem" else {"effects_rho_near_bound_share": rho_near_bound_share(
            fit.spatial_parameter, float(fit.std_errors[-1]), fit.rho_bounds)}),
    })


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


def profile_rows(spec: str, fit: SpatialFit) -> pd.DataFrame:
    grid = np.sort(np.append(profile_grid(fit), fit.spatial_parameter))
    return pd.DataFrame({"spec_id": spec, "rho": grid, "log_likelihood": fit.profile(grid)})


def profile_interval(fit: SpatialFit, level: float = 0.95, points: int = 4001) -> tuple[float, float]:
    """Likelihood-ratio interval {rho: 2(l_max - l_c(rho)) <= chi2_1(level)} read off a fine grid;
    an end at the admissible bound means the interval is open there."""
    lo, hi = fit.rho_bounds
    grid = lo + (hi - lo) * (np.arange(points) + 0.5) / points
    inside = grid[2 * (fit.log_likelihood - fit.profile(grid)) <= stats.chi2.ppf(level, 1)]
    if inside.size == 0:
        return fit.spatial_parameter, fit.spatial_parameter
    return float(inside.min()), float(inside.max())


def _long(spec: str, values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"spec_id": spec, "stat": list(values), "value": [float(v) for v in values.values()]})
