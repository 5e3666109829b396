"""run_spatial_suite: frames, specs and stats as estimation/store.py expects, written through
write_results; reproducible with a seed; bad panels rejected with a clear message."""
from __future__ import annotations

import duckdb
import numpy as np
import pytest

from estimation.spatial.suite import run_spatial_suite
from estimation.spatial.weights import SpatialInputError
from estimation.store import RESULT_TABLES, write_results
from spatial_factory import REGRESSORS, simulated_inputs


@pytest.fixture(scope="module")
def inputs():
    return simulated_inputs(seed=11)


@pytest.fixture(scope="module")
def results(inputs):
    panel, weights = inputs
    return run_spatial_suite(panel, weights, draws=300, permutations=99, seed=7)


def test_frames_have_the_store_columns_and_write(results, tmp_path):
    assert set(results) == {"moran", "moran_quadrants", "coefficients", "model_stats", "spatial_effects",
                            "spatial_profile"}
    for name, frame in results.items():
        assert list(frame.columns) == list(RESULT_TABLES[name]), name
        assert len(frame) > 0
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    written = write_results(con, "run-1", results)
    assert written["moran"] == 2 * 2 * 9
    assert con.execute("select count(*) from results.moran_quadrants").fetchone()[0] == 2 * 2 * 9 * 30


def test_specs_terms_and_stats(results):
    coefficients = results["coefficients"]
    specs = {f"{m}_{w}" for w in ("geographic", "economic") for m in ("sdm", "sar", "sem")}
    specs |= {f"sdm_{w}_demeaned" for w in ("geographic", "economic")}
    assert set(coefficients.spec_id) == specs
    sdm = coefficients[coefficients.spec_id == "sdm_geographic"]
    assert sdm.term.tolist() == [*REGRESSORS, *[f"w_{r}" for r in REGRESSORS], "rho"]
    assert set(sdm.estimator) == {"ml_lee_yu_2010"} and set(sdm.cov_type) == {"information_matrix"}
    assert (sdm.nobs == 270).all()
    naive = coefficients[coefficients.spec_id == "sdm_geographic_demeaned"]
    assert set(naive.estimator) == {"ml_demeaned_direct"}
    assert coefficients[coefficients.spec_id == "sem_economic"].term.iloc[-1] == "lambda"
    ci = sdm.ci_high - sdm.ci_low
    np.testing.assert_allclose(ci, 2 * 1.959964 * sdm.std_error, rtol=1e-6)

    stats = results["model_stats"].set_index(["spec_id", "stat"])["value"]
    for stat in ["sigma2", "log_likelihood", "nobs", "rho_lower", "rho_upper", "wald_sar", "wald_sar_p",
                 "lr_sar", "lr_sar_p", "wald_sem", "wald_sem_p", "lr_sem", "lr_sem_p", "pseudo_r2"]:
        assert np.isfinite(stats[("sdm_geographic", stat)]), stat
    for stat in ["lm_lag", "lm_lag_p", "rlm_lag", "rlm_lag_p", "lm_err", "lm_err_p", "rlm_err", "rlm_err_p"]:
        assert 0 <= stats[(f"lm_tests_economic", stat)] < np.inf
    # LR statistics are twice the log-likelihood gaps of the nested fits
    lr = 2 * (stats[("sdm_geographic", "log_likelihood")] - stats[("sar_geographic", "log_likelihood")])
    assert stats[("sdm_geographic", "lr_sar")] == pytest.approx(lr)
    assert stats[("sdm_geographic", "lr_sar")] >= 0 and stats[("sdm_geographic", "lr_sem")] >= 0
    assert stats[("sdm_geographic", "rho_upper")] == pytest.approx(1.0)
    assert stats[("sdm_geographic", "n_effective")] == 29 * 8
    # boundary flags: rho_at_bound on every fit, the near-bound share of the effect draws on lag fits
    for spec in specs:
        rho = coefficients[(coefficients.spec_id == spec) & coefficients.term.isin(["rho", "lambda"])].estimate.item()
        lo, hi = stats[(spec, "rho_lower")], stats[(spec, "rho_upper")]
        assert stats[(spec, "rho_at_bound")] == float(min(rho - lo, hi - rho) < 1e-3), spec
        if not spec.startswith("sem"):
            assert 0 <= stats[(spec, "effects_rho_near_bound_share")] <= 1
    assert ("sem_geographic", "effects_rho_near_bound_share") not in stats.index


def test_effects_and_profile(results):
    effects = results["spatial_effects"]
    assert set(effects.spec_id) == {f"{m}_{w}" for w in ("geographic", "economic") for m in ("sdm", "sar")} | {
        "sdm_geographic_demeaned", "sdm_economic_demeaned"}
    sdm = effects[effects.spec_id == "sdm_geographic"].set_index(["term", "effect"])
    assert len(sdm) == len(REGRESSORS) * 3 and (sdm.draws == 300).all()
    for term in REGRESSORS:
        assert sdm.loc[(term, "total"), "estimate"] == pytest.approx(
            sdm.loc[(term, "direct"), "estimate"] + sdm.loc[(term, "indirect"), "estimate"], rel=1e-9, abs=1e-12)
    profile = results["spatial_profile"]
    stats = results["model_stats"].set_index(["spec_id", "stat"])["value"]
    for spec in ("sdm_geographic", "sar_economic", "sdm_economic_demeaned"):
        rows = profile[profile.spec_id == spec]
        assert len(rows) == 82 and rows.rho.is_monotonic_increasing
        assert rows.log_likelihood.max() == pytest.approx(stats[(spec, "log_likelihood")], abs=1e-9)


def test_reproducible_with_seed(inputs, results):
    panel, weights = inputs
    again = run_spatial_suite(panel, weights, draws=300, permutations=99, seed=7)
    for name in results:
        assert results[name].equals(again[name]), name


def test_unbalanced_panel_is_rejected(inputs):
    panel, weights = inputs
    holed = panel.drop(index=panel[(panel.province_code == 44) & (panel.year == 2016)].index)
    with pytest.raises(SpatialInputError, match="no row for province_code 44, year 2016"):
        run_spatial_suite(holed, weights, draws=10, permutations=0)
    nulls = panel.copy()
    nulls.loc[3, "dt"] = np.nan
    with pytest.raises(SpatialInputError, match=r"row 3 \(province_code \d+, year 2013\): dt is null"):
        run_spatial_suite(nulls, weights, draws=10, permutations=0)
    twice = panel.copy()
    twice.loc[5, "year"] = 2014
    with pytest.raises(SpatialInputError, match=r"duplicate province-year"):
        run_spatial_suite(twice, weights, draws=10, permutations=0)
