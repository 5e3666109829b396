"""Every specification of the seed specs on simulated panels: the results' rows fit the store,
terms, samples and statistics are those the specs ask for, a seed reproduces a run, bad panels
are named; and resilience estimate's atomic write (flows.pipeline)."""
from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from estimation.errors import PanelError, SpatialInputError
from estimation.specs import SPATIAL_ESTIMATORS
from estimation.spatial.weights import contiguity, economic_distance, row_standardise
from flows import pipeline
from marts_factory import write_marts
from synthetic.panels import simulate_panel
from synthetic.spatial import REGRESSORS, province_weights, simulated_inputs, weights_long
from warehouse.boundaries import read_boundaries
from warehouse.results_store import RESULT_TABLES, write_results
from warehouse.seeds import seed_frame

SPECS = pipeline.seed_specs()
SPEC_IDS = {s.spec_id for s in SPECS}


def adjacency_long(codes) -> pd.DataFrame:
    """The provinces' queen contiguity W (Hainan linked to Guangdong) as marts.spatial_weights rows."""
    shapes = read_boundaries("province", codes)
    return weights_long(row_standardise(contiguity(shapes.geometry, "queen", "nearest")), np.asarray(codes),
                        "adjacency")


def inputs_for(panel: pd.DataFrame, specs=SPECS, seed: int = 0) -> pipeline.EstimationInputs:
    """Estimation inputs on ``panel`` with the provinces' geographic and adjacency W and a
    random economic W."""
    codes, w_geo = province_weights()
    w_eco = row_standardise(economic_distance(np.random.default_rng(seed).lognormal(11, 0.4, len(codes))))
    long = pd.concat([weights_long(w_geo, codes, "geographic"), weights_long(w_eco, codes, "economic"),
                      adjacency_long(codes)])
    variables = seed_frame("analysis_variables")["variable"].tolist()
    return pipeline.EstimationInputs(panel, pipeline.weights_by_name(long, codes), list(specs), variables)


@pytest.fixture(scope="module")
def frames():
    return pipeline.estimate(inputs_for(simulate_panel(seed=0)), replications=200, seed=5)


def test_every_spec_with_finite_estimates_written_to_the_store(frames, tmp_path):
    coef, stats = frames["coefficients"], frames["model_stats"]
    no_coefficients = {s.spec_id for s in SPECS if s.estimator in ("hausman", "mediation", "lm_tests", "moran", "lisa")}
    assert set(coef["spec_id"]) == SPEC_IDS - no_coefficients
    assert set(frames["mediation"]["spec_id"]) == {"mediation_isu", "mediation_rm", "mediation_cu"}
    assert {s for s in SPEC_IDS if s.startswith("moran")} == set(frames["moran"]["spec_id"])
    assert np.isfinite(coef[["estimate", "std_error", "t_stat", "p_value", "ci_low", "ci_high"]].to_numpy()).all()
    assert (coef["std_error"] > 0).all()
    assert coef["estimator"].notna().all() and coef["cov_type"].notna().all()
    hausman = stats[stats.spec_id == "hausman"].set_index("stat")["value"]
    assert hausman["df"] == 6 and 0 <= hausman["p_value"] <= 1
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        written = write_results(con, "run-1", frames)
    assert set(written) == set(RESULT_TABLES) and written["moran"] == 6 * 9
    assert written["moran_quadrants"] == 6 * 9 * 30 and written["lisa"] == 2 * 9 * 30


def test_terms_samples_and_stats(frames):
    coef = frames["coefficients"].set_index(["spec_id", "term"])
    stats = frames["model_stats"].set_index(["spec_id", "stat"])["value"]
    assert ("lag_dt", "l_dt") in coef.index and ("lag_dt", "l_culture") in coef.index
    assert ("moderation_inf", "dt_x_inf") in coef.index
    assert ("pca_measures", "dt_pca") in coef.index
    assert ("baseline_twfe_controls", "const") in coef.index
    nobs = coef["nobs"].groupby(level=0).first()
    assert nobs["iv_2sls"] == 240 and nobs["lag_dt"] == 240
    assert nobs["excl_municipalities"] == 234
    assert nobs["region_east"] == 99 and nobs["region_central"] == 72
    assert nobs["region_west"] == 99
    # Centring changes the main effects but not the interaction or the fit.
    assert coef.loc[("moderation_inf", "dt_x_inf"), "estimate"] == pytest.approx(
        coef.loc[("moderation_inf_centred", "dt_x_inf"), "estimate"], rel=1e-8)
    assert stats[("moderation_inf", "r2")] == pytest.approx(stats[("moderation_inf_centred", "r2")], rel=1e-10)
    for s in ("nobs", "groups", "r2", "adj_r2", "r2_within", "f_stat", "sigma_u", "sigma_e"):
        assert np.isfinite(stats[("baseline_twfe_controls", s)])
    for s in ("first_stage_coef", "first_stage_f", "kp_rk_lm", "kp_rk_lm_p", "cragg_donald_f",
              "kp_rk_wald_f", "stock_yogo_10pct"):
        assert np.isfinite(stats[("iv_2sls", s)])
    for s in ("lr_stat", "lr_p", "sigma_u", "sigma_e", "log_likelihood"):
        assert np.isfinite(stats[("tobit_re", s)])
    med = frames["mediation"]
    assert sorted(set(med["mediator"])) == ["cu", "isu", "rm"]
    assert len(med) == 6 and (med["replications"] == 200).all() and (med["seed"] == 5).all()
    # a and b of a mediation are the coefficients of its paths, which are also paper columns
    isu = med[med.mediator == "isu"].iloc[0]
    assert isu["a"] == pytest.approx(coef.loc[("mediation_isu_a", "dt"), "estimate"], rel=1e-12)
    assert isu["b"] == pytest.approx(coef.loc[("mediation_isu_b", "isu"), "estimate"], rel=1e-12)


def test_run_is_reproducible_with_seed():
    inputs = inputs_for(simulate_panel(seed=1), [s for s in SPECS if s.estimator in ("mediation", "moran", "sdm")])
    first = pipeline.estimate(inputs, replications=50, seed=9)
    again = pipeline.estimate(inputs, replications=50, seed=9)
    for name in first:
        pd.testing.assert_frame_equal(first[name], again[name])


def test_bad_panel_names_row_and_reason():
    panel = simulate_panel(seed=2)
    panel.loc[17, "ec"] = np.inf
    with pytest.raises(PanelError, match=r"row 17 .*column ec"):
        pipeline.estimate(inputs_for(panel), replications=10)
    with pytest.raises(PanelError, match="missing columns"):
        pipeline.estimate(inputs_for(simulate_panel(seed=2).drop(columns=["iv"])), replications=10)


# --- the spatial specs on a panel simulated from the SDM -------------------------------------

SPATIAL = [s for s in SPECS if s.estimator in SPATIAL_ESTIMATORS]


@pytest.fixture(scope="module")
def spatial():
    panel, long = simulated_inputs(seed=11)
    long = pd.concat([long, adjacency_long(np.sort(panel["unit_code"].unique()))])
    weights = pipeline.weights_by_name(long, panel["unit_code"].unique())
    inputs = pipeline.EstimationInputs(panel, weights, SPATIAL, ["er", *REGRESSORS])
    return inputs, pipeline.estimate(inputs, replications=300, seed=7)


def test_spatial_specs_terms_and_stats(spatial):
    _, results = spatial
    coefficients = results["coefficients"]
    fits = {f"{m}_{w}" for w in ("geographic", "economic", "adjacency") for m in ("sdm", "sar", "sem")}
    fits |= {f"sdm_{w}_demeaned" for w in ("geographic", "economic")}
    assert set(coefficients.spec_id) == fits
    sdm = coefficients[coefficients.spec_id == "sdm_geographic"]
    assert sdm.term.tolist() == [*REGRESSORS, *[f"w_{r}" for r in REGRESSORS], "rho"]
    assert set(sdm.estimator) == {"ml_lee_yu_2010"} and set(sdm.cov_type) == {"information_matrix"}
    assert (sdm.nobs == 270).all()
    naive = coefficients[coefficients.spec_id == "sdm_geographic_demeaned"]
    assert set(naive.estimator) == {"ml_demeaned_direct"}
    assert coefficients[coefficients.spec_id == "sem_economic"].term.iloc[-1] == "lambda"
    np.testing.assert_allclose(sdm.ci_high - sdm.ci_low, 2 * 1.959964 * sdm.std_error, rtol=1e-6)

    stats = results["model_stats"].set_index(["spec_id", "stat"])["value"]
    for stat in ["sigma2", "log_likelihood", "nobs", "rho_lower", "rho_upper", "wald_sar", "wald_sar_p",
                 "lr_sar", "lr_sar_p", "wald_sem", "wald_sem_p", "lr_sem", "lr_sem_p", "pseudo_r2"]:
        assert np.isfinite(stats[("sdm_geographic", stat)]), stat
    for stat in ["lm_lag", "lm_lag_p", "rlm_lag", "rlm_lag_p", "lm_err", "lm_err_p", "rlm_err", "rlm_err_p"]:
        assert 0 <= stats[("lm_tests_economic", stat)] < np.inf
    # LR statistics are twice the log-likelihood gaps of the nested fits
    lr = 2 * (stats[("sdm_geographic", "log_likelihood")] - stats[("sar_geographic", "log_likelihood")])
    assert stats[("sdm_geographic", "lr_sar")] == pytest.approx(lr)
    assert stats[("sdm_geographic", "lr_sar")] >= 0 and stats[("sdm_geographic", "lr_sem")] >= 0
    assert stats[("sdm_geographic", "rho_upper")] == pytest.approx(1.0)
    assert stats[("sdm_geographic", "n_effective")] == 29 * 8
    # boundary flags: rho_at_bound on every fit, the near-bound share of the effect draws on lag fits
    for spec in fits:
        rho = coefficients[(coefficients.spec_id == spec) & coefficients.term.isin(["rho", "lambda"])].estimate.item()
        lo, hi = stats[(spec, "rho_lower")], stats[(spec, "rho_upper")]
        assert stats[(spec, "rho_at_bound")] == float(min(rho - lo, hi - rho) < 1e-3), spec
        if not spec.startswith("sem"):
            assert 0 <= stats[(spec, "effects_rho_near_bound_share")] <= 1
    assert ("sem_geographic", "effects_rho_near_bound_share") not in stats.index


def test_spatial_effects_and_profile(spatial):
    _, results = spatial
    effects = results["spatial_effects"]
    assert set(effects.spec_id) == {f"{m}_{w}" for w in ("geographic", "economic", "adjacency")
                                    for m in ("sdm", "sar")} | {
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


def test_unbalanced_spatial_panel_is_rejected(spatial):
    inputs, _ = spatial
    panel = inputs.panel

    def run(frame):
        sdm = [s for s in SPATIAL if s.estimator == "sdm"][:1]
        pipeline.estimate(pipeline.EstimationInputs(frame, inputs.weights, sdm, []), replications=10)

    with pytest.raises(SpatialInputError, match="no row for unit_code 44, year 2016"):
        run(panel.drop(index=panel[(panel.unit_code == 44) & (panel.year == 2016)].index))
    nulls = panel.copy()
    nulls.loc[3, "dt"] = np.nan
    with pytest.raises(SpatialInputError, match=r"row 3 \(unit_code \d+, year 2013\): dt is null"):
        run(nulls)


# --- resilience estimate: one run, one transaction -----------------------------------------

def _warehouse(path, panel: pd.DataFrame, specs: pd.DataFrame) -> None:
    inputs = inputs_for(panel)
    long = pd.concat([weights_long(w.matrix, w.codes, name) for name, w in inputs.weights.items()])
    write_marts(path, panel, long, specs)


def test_estimate_and_publish_writes_one_run(tmp_path):
    db = tmp_path / "w.duckdb"
    specs = seed_frame("specs")
    keep = specs["estimator"].isin(["ols", "hausman", "mediation", "moran"])
    _warehouse(db, simulate_panel(seed=3), specs[keep])
    run_id = pipeline.estimate_and_publish(db, replications=20, seed=3)
    with duckdb.connect(str(db)) as con:
        status, parameters = con.execute("select status, parameters from results.runs where run_id = ?",
                                         [run_id]).fetchone()
        assert status == "succeeded" and json.loads(parameters)["replications"] == 20
        ids = {r for (r,) in con.execute("select distinct spec_id from results.model_stats").fetchall()}
        assert ids == set(specs.loc[keep & (specs["estimator"].isin(["ols", "hausman"])), "spec_id"])
        assert con.execute("select count(*) from results.mediation").fetchone()[0] == 6
        assert con.execute("select count(distinct spec_id) from results.moran").fetchone()[0] == 6


def test_failed_run_leaves_no_rows(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    _warehouse(db, simulate_panel(seed=3), seed_frame("specs").head(2))
    real = pipeline.estimate

    def estimate_then_corrupt(inputs, **kw):
        # frames that fail to insert (a string where DOUBLE is expected) after the runs row
        # and the regression rows went in: everything must be rolled back
        frames = real(inputs, **kw)
        frames["spatial_profile"] = pd.DataFrame({"spec_id": ["x"], "rho": ["not a number"],
                                                  "log_likelihood": [1.0]})
        return frames

    monkeypatch.setattr(pipeline, "estimate", estimate_then_corrupt)
    with pytest.raises(Exception):
        pipeline.estimate_and_publish(db, replications=10, seed=3)
    with duckdb.connect(str(db)) as con:
        for table in ["runs", *RESULT_TABLES]:
            assert con.execute(f"select count(*) from results.{table}").fetchone()[0] == 0


def test_load_inputs_names_missing_mart(tmp_path):
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as con:
        with pytest.raises(pipeline.MissingInputError, match="marts.analysis_panel"):
            pipeline.load_inputs(con)


def test_a_spec_whose_matrix_the_level_lacks_is_skipped_and_recorded():
    codes, w_geo = province_weights()
    specs = [s for s in SPECS if s.spec_id in ("moran_geographic_er", "moran_adjacency_er")]
    inputs = pipeline.EstimationInputs(simulate_panel(seed=4), pipeline.weights_by_name(
        weights_long(w_geo, codes, "geographic"), codes), specs, seed_frame("analysis_variables")["variable"].tolist())
    frames = pipeline.estimate(inputs, replications=10, seed=1)
    assert set(frames["moran"]["spec_id"]) == {"moran_geographic_er"}
    [row] = frames["skipped_specs"].to_dict("records")
    assert row["spec_id"] == "moran_adjacency_er"
    assert "needs weights matrix 'adjacency', which weight_matrices does not define at the" in row["reason"]
