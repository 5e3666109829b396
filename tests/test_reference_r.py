"""Estimates against stored output of independent R implementations (plm, AER, sandwich,
spdep, spatialreg; tests/reference/README.md), without R at test time: the bundled
SYNTHETIC panel, plm's Produc and Cigar, parametrised over the stored cases (as linearmodels'
tests/panel/results run against stored Stata output).

Tolerances (relative unless said), each a few orders above the largest difference measured
and far below any definitional difference:

* closed forms (OLS, 2SLS, first stage and weak-IV statistics, Moran's I and its moments,
  LM tests): 1e-10 (measured <= 3e-12; both sides solve by QR/LU in double precision);
  covariance matrices compared entrywise against 1e-10 of their largest entry, since
  near-zero off-diagonal entries carry only absolute precision.
* Hausman plain statistic: 1e-8 (measured 8e-11): V_FE - V_RE is nearly singular (condition
  ~1e6 on the bundled panel), which amplifies the ~1e-15 differences of the two fits.
* spatial fits against spatialreg evaluated at the polished rho (the root of the score to
  machine precision; README "polished"): rho 1e-12 absolute (measured 4e-14: both roots lie
  in the score's roundoff band), coefficients 1e-10 (measured 6.5e-12: delta = b0 - rho b1
  amplifies rho's 1e-14 on near-zero coefficients), standard errors, covariance, sigma2
  1e-11 (measured 2e-14), log-likelihood 1e-9 absolute on values ~1e3 (measured 2e-12),
  point effects 1e-10 (measured 7e-12). Against spatialreg's own optimum: a search that
  compares values of the concentrated likelihood l can place the maximum only where
  l(rho* + d) - l(rho*) = l'' d^2/2 exceeds the roundoff of l, |d| ~ sqrt(2 eps |l| / |l''|)
  = sqrt(2 eps |l|) se(rho) (the profile's curvature is 1/se(rho)^2); R's rho lies within 3
  times that of ours (measured <= 0.9 times: 1e-10 to 3e-8 in rho).
"""
from __future__ import annotations

import numpy as np
import pytest

from estimation.design import build_design
from estimation.hausman import hausman_fe_re
from estimation.iv import fit_fe_2sls
from estimation.linear import fit_ols
from estimation.spatial.effects import effects
from estimation.spatial.lm_tests import lm_tests
from estimation.spatial.moran import global_moran
from estimation.spatial.panel import panel_block
from estimation.spatial.sdm import fit_error_model, fit_lag_model
from estimation.specs import Spec
from reference_cases import dataset, reference

CLOSED_FORM = 1e-10


def assert_matrix_close(ours: np.ndarray, ref: np.ndarray, rel: float = CLOSED_FORM) -> None:
    np.testing.assert_allclose(ours, ref, rtol=rel, atol=rel * np.abs(ref).max())


def named(block: dict, names: list[str]) -> np.ndarray:
    return np.array([block[n] for n in names], dtype=float)


def matrix(block: dict) -> tuple[list[str], np.ndarray]:
    return block["names"], np.array(block["matrix"], dtype=float)


def design(name: str, effects: tuple[str, ...], cov_type: str, estimator: str = "ols", **fields):
    ds = dataset(name)
    spec = Spec(f"{name}_{estimator}", "y", tuple(ds.regressors), controls=(), effects=effects,
                cov_type=cov_type, estimator=estimator, **fields)
    return build_design(ds.panel, spec, unit="id", time="time")


# --------------------------------------------------------------------------- A. linear models

TWFE_COVARIANCES = {"vcov_cluster_stata": "cluster_unit_stata", "vcov_unadjusted": "unadjusted",
                    "vcov_hc1": "robust_hc1", "vcov_driscoll_kraay": "driscoll_kraay"}


@pytest.mark.parametrize("name", ["bundled", "produc", "cigar"])
def test_twfe_ols_matches_lm_with_sandwich_covariances(name):
    ref = reference("linear_models")["models"][f"{name}_twfe"]
    for key, cov_type in TWFE_COVARIANCES.items():
        result = fit_ols(design(name, ("unit", "time"), cov_type))
        terms = list(ref["coefficients"])
        np.testing.assert_allclose(result.params[terms], named(ref["coefficients"], terms), rtol=CLOSED_FORM)
        names, v = matrix(ref[key])  # the cluster block includes Stata's _cons
        assert_matrix_close(result.cov.loc[names, names].to_numpy(), v)
    st = result.stats
    assert st["r2"] == pytest.approx(ref["r2"], rel=CLOSED_FORM)
    assert st["r2_within"] == pytest.approx(ref["r2_within"], rel=CLOSED_FORM)
    assert st["sigma_e"] == pytest.approx(ref["sigma"], rel=CLOSED_FORM)
    assert st["k_small_sample"] == ref["k_stata"]


@pytest.mark.parametrize("name", ["bundled", "produc", "cigar"])
def test_pooled_ols_matches_lm_with_stata_cluster_covariance(name):
    ref = reference("linear_models")["models"][f"{name}_pooled"]
    result = fit_ols(design(name, (), "cluster_unit_stata"))
    names, v = matrix(ref["vcov_cluster_stata"])
    np.testing.assert_allclose(result.params[names], named(ref["coefficients"], names), rtol=CLOSED_FORM)
    assert_matrix_close(result.cov.loc[names, names].to_numpy(), v)
    assert result.stats["r2"] == pytest.approx(ref["r2"], rel=CLOSED_FORM)


# --------------------------------------------------------------------------- B. FE-2SLS

def test_fe_2sls_and_first_stage_match_aer_ivreg():
    ref = reference("iv_2sls")["models"]["bundled_fe_2sls"]
    result = fit_fe_2sls(design("bundled", ("unit", "time"), "cluster_unit_stata", estimator="fe_2sls",
                                endogenous=("dt",), instruments=("iv",)))
    names, v = matrix(ref["vcov_cluster_stata"])
    assert result.nobs == ref["nobs"]
    np.testing.assert_allclose(result.params[names], named(ref["coefficients"], names), rtol=CLOSED_FORM)
    assert_matrix_close(result.cov.loc[names, names].to_numpy(), v)
    first, st = ref["first_stage"], result.stats
    for ours, theirs in (("first_stage_coef", "coefficient_iv"), ("first_stage_se", "se_iv_cluster_stata"),
                         ("first_stage_f", "first_stage_f_cluster_stata"), ("cragg_donald_f", "cragg_donald_f"),
                         ("kp_rk_wald_f", "kp_rk_wald_f_ivreg2"), ("kp_rk_lm", "kp_rk_lm"),
                         ("kp_rk_lm_p", "kp_rk_lm_p")):
        assert st[ours] == pytest.approx(first[theirs], rel=CLOSED_FORM), ours


# --------------------------------------------------------------------------- C. Hausman

@pytest.mark.parametrize("name", ["bundled", "produc"])
def test_hausman_plain_statistic_matches_phtest(name):
    """The plain variant is plm::phtest's statistic over the slopes (= over all common
    coefficients in a balanced panel; phtest's df counts the year dummies, ours the slopes)."""
    ref = reference("hausman")["tests"][name]
    st = hausman_fe_re(design(name, ("unit", "time"), "unadjusted", estimator="hausman")).stats
    assert st["statistic_plain"] == pytest.approx(ref["slopes_only"]["statistic"], rel=1e-8)
    assert st["statistic_plain"] == pytest.approx(ref["phtest_all_common"]["statistic"], rel=1e-8)
    assert st["df_plain"] == ref["slopes_only"]["df"]
    assert st["p_value_plain"] == pytest.approx(ref["slopes_only"]["p_value"], rel=1e-7)
    # the headline sigmamore statistic has no R counterpart; it differs from the plain one
    assert st["statistic"] != pytest.approx(st["statistic_plain"], rel=1e-3)


# --------------------------------------------------------------------------- D. Moran's I

MORAN_ROWS = reference("moran")["results"]
MORAN_CASES = sorted({(r["dataset"], r["matrix"], r["variable"]) for r in MORAN_ROWS})


@pytest.mark.parametrize("case", MORAN_CASES, ids="-".join)
def test_moran_matches_spdep_under_both_nulls_and_alternatives(case):
    name, matrix_name, variable = case
    ds = dataset(name)
    sw = ds.weights[matrix_name]
    column = "y" if variable in ("er", "log_gsp") else variable
    values, periods = panel_block(ds.panel, [column], sw.codes, unit="id", time="time")
    ours = {int(p): global_moran(values[t, :, 0], sw, permutations=0) for t, p in enumerate(periods)}
    rows = [r for r in MORAN_ROWS if (r["dataset"], r["matrix"], r["variable"]) == case]
    assert len(rows) == 4 * len(periods)
    for r in rows:
        got, null = ours[r["year"]], "rand" if r["randomisation"] else "norm"
        p_key = f"p_{null}_greater" if r["alternative"] == "greater" else f"p_{null}"
        for key, ref_key in (("moran_i", "moran_i"), ("expected_i", "expected_i"),
                             (f"variance_{null}", "variance"), (f"z_{null}", "z"), (p_key, "p_value")):
            assert got[key] == pytest.approx(r[ref_key], rel=CLOSED_FORM, abs=1e-300), (r, key)


# --------------------------------------------------------------------------- E/F. spatial panels

SPATIAL_FITS = reference("spatial_panel")["fits"]


def fit_reference_case(key: str):
    ref = SPATIAL_FITS[key]
    ds = dataset(ref["dataset"])
    sw = ds.weights[ref["matrix"]]
    values, _ = panel_block(ds.panel, ["y", *ds.regressors], sw.codes, unit="id", time="time")
    y, x = values[..., 0], values[..., 1:]
    if ref["model"] == "sem":
        return ref, ds, sw, fit_error_model(y, x, sw, ds.regressors)
    return ref, ds, sw, fit_lag_model(y, x, sw, ds.regressors, durbin=ref["model"] == "sdm")


@pytest.mark.parametrize("key", list(SPATIAL_FITS))
def test_spatial_fit_matches_spatialreg_at_the_polished_rho(key):
    ref, ds, sw, fit = fit_reference_case(key)
    polished = ref["polished"]
    names, v = matrix(polished["vcov"])
    params = dict(zip(fit.names, fit.params))
    se = dict(zip(fit.names, fit.std_errors))
    assert fit.n_effective == ref["n_effective"]
    np.testing.assert_allclose(fit.rho_bounds, ref["interval"], rtol=0, atol=1e-5 * np.ptp(ref["interval"]))
    assert fit.spatial_parameter == pytest.approx(polished["coefficients"][names[-1]], rel=0, abs=1e-12)
    np.testing.assert_allclose(named(params, names), named(polished["coefficients"], names), rtol=1e-10)
    np.testing.assert_allclose(named(se, names), named(polished["se"], names), rtol=1e-11)
    index = [fit.names.index(n) for n in names]
    assert_matrix_close(fit.cov[np.ix_(index, index)], v, rel=1e-11)
    assert fit.sigma2 == pytest.approx(polished["sigma2"], rel=1e-11)
    assert fit.sigma2_se == pytest.approx(polished["sigma2_se"], rel=1e-11)
    assert fit.log_likelihood == pytest.approx(polished["log_likelihood"], rel=0, abs=1e-9)
    # the R-side score check: spatialreg's own log-likelihood is flat at the polished rho
    assert abs(polished["score_central_difference"]) < 1e-6
    # spatialreg's own optimum (a minimiser comparing likelihood values) is as close as such a
    # search can get: within 3 sqrt(2 eps |l|) se(rho) (module docstring)
    rho_r = ref["coefficients"][names[-1]]
    value_precision = np.sqrt(2 * np.finfo(float).eps * abs(fit.log_likelihood)) * fit.std_errors[-1]
    assert abs(fit.spatial_parameter - rho_r) <= 3 * value_precision


@pytest.mark.parametrize("key", [k for k, f in SPATIAL_FITS.items() if f["model"] != "sem"])
def test_point_effects_match_the_dense_inverse_in_r(key):
    """direct = mean diag S, total = mean row sum S, S = (I - rho W)^-1 (beta I + theta W),
    computed in R by solve() at R's polished estimates; ours from W's eigenvalues at ours."""
    ref, ds, sw, fit = fit_reference_case(key)
    k = len(ds.regressors)
    theta = fit.params[k:2 * k] if ref["model"] == "sdm" else np.zeros(k)
    ours = effects(fit.params[:k], theta, fit.spatial_parameter, sw.eigenvalues)
    for j, term in enumerate(ds.regressors):
        for effect in ("direct", "indirect", "total"):
            assert ours[effect][j] == pytest.approx(ref["polished"]["effects"][term][effect], rel=1e-10), \
                (term, effect)


# --------------------------------------------------------------------------- G. LM tests

@pytest.mark.parametrize("key", list(reference("lm_tests")["tests"]))
def test_lm_tests_match_both_definitions(key):
    """Unsuffixed statistics re-demean W X b (the derivation in estimation.spatial.lm_tests);
    the ``_splm`` ones are splm's slmtest, which does not."""
    ref = reference("lm_tests")["tests"][key]
    ds = dataset(ref["dataset"])
    sw = ds.weights[ref["matrix"]]
    values, _ = panel_block(ds.panel, ["y", *ds.regressors], sw.codes, unit="id", time="time")
    ours = lm_tests(values[..., 0], values[..., 1:], sw)
    assert ours["lm_wxb_redemeaned"] == 1.0
    for suffix, variant in (("", "redemeaned"), ("_splm", "splm")):
        for name, theirs in (("lm_lag", "lml"), ("rlm_lag", "rlml"), ("rlm_err", "rlme")):
            assert ours[name + suffix] == pytest.approx(ref[variant][theirs], rel=CLOSED_FORM), (name, variant)
            assert ours[f"{name}{suffix}_p"] == pytest.approx(ref[variant][f"{theirs}_p"], rel=1e-8, abs=1e-300)
        assert ours["lm_err"] == pytest.approx(ref[variant]["lme"], rel=CLOSED_FORM)
