"""The whole Tables 4-8 suite on a simulated 270-row panel; the runner's atomic write."""
from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from estimation import runner
from estimation.design import PanelError
from estimation.specs import SPEC_IDS
from estimation.store import RESULT_TABLES
from estimation.suite import run_regression_suite
from panel_factory import simulate_panel

EXPECTED_IDS = {
    "baseline_pooled", "baseline_twfe", "baseline_pooled_controls", "baseline_twfe_controls",
    "hausman", "iv_2sls", "lag_dt", "pca_measures", "excl_municipalities", "tobit_re",
    "mediation_isu_a", "mediation_isu_b", "mediation_rm_a", "mediation_rm_b",
    "mediation_cu_a", "mediation_cu_b", "moderation_inf", "moderation_inf_centred",
    "region_east", "region_central", "region_west", "market_high", "market_low",
}


@pytest.fixture(scope="module")
def frames():
    return run_regression_suite(simulate_panel(seed=0), replications=200, seed=5)


def test_every_spec_with_finite_estimates(frames):
    assert set(SPEC_IDS) == EXPECTED_IDS
    coef, stats = frames["coefficients"], frames["model_stats"]
    assert set(stats["spec_id"]) == EXPECTED_IDS
    assert set(coef["spec_id"]) == EXPECTED_IDS - {"hausman"}
    for name, frame in frames.items():
        assert list(frame.columns) == list(RESULT_TABLES[name])
    assert np.isfinite(coef[["estimate", "std_error", "t_stat", "p_value", "ci_low",
                             "ci_high"]].to_numpy()).all()
    assert (coef["std_error"] > 0).all()
    assert coef["estimator"].notna().all() and coef["cov_type"].notna().all()
    hausman = stats[stats.spec_id == "hausman"].set_index("stat")["value"]
    assert {"statistic", "df", "p_value"} <= set(hausman.index)
    assert hausman["df"] == 6 and 0 <= hausman["p_value"] <= 1


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
    assert stats[("moderation_inf", "r2")] == pytest.approx(
        stats[("moderation_inf_centred", "r2")], rel=1e-10)
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
    # a and b in the mediation frame are the _a/_b specs' coefficients.
    isu = med[med.mediator == "isu"].iloc[0]
    assert isu["a"] == coef.loc[("mediation_isu_a", "dt"), "estimate"]
    assert isu["b"] == coef.loc[("mediation_isu_b", "isu"), "estimate"]


def test_suite_is_reproducible_with_seed():
    panel = simulate_panel(seed=1)
    m1 = run_regression_suite(panel, replications=50, seed=9)["mediation"]
    m2 = run_regression_suite(panel, replications=50, seed=9)["mediation"]
    pd.testing.assert_frame_equal(m1, m2)


def test_bad_panel_names_row_and_reason():
    panel = simulate_panel(seed=2)
    panel.loc[17, "ec"] = np.inf
    with pytest.raises(PanelError, match=r"row 17 .*column ec"):
        run_regression_suite(panel, replications=10)
    with pytest.raises(PanelError, match="missing columns"):
        run_regression_suite(simulate_panel(seed=2).drop(columns=["iv"]), replications=10)


def _warehouse(path) -> None:
    from spatial_factory import economic_weights, province_weights, weights_long, write_marts
    codes, w_geo = province_weights()
    w_eco = economic_weights(np.random.default_rng(0).lognormal(11, 0.4, len(codes)))
    weights = pd.concat([weights_long(w_geo, codes, "geographic"),
                         weights_long(w_eco, codes, "economic")], ignore_index=True)
    write_marts(path, simulate_panel(seed=3), weights)


def test_estimate_and_publish_writes_one_run(tmp_path, monkeypatch):
    import estimation.spatial.suite as spatial
    db = tmp_path / "w.duckdb"
    _warehouse(db)
    # The spatial suite is another module's and tested there; stub it to keep this fast,
    # returning a frame so that the merge with the regression frames is exercised.
    stub = {"model_stats": pd.DataFrame({"spec_id": ["sdm_geographic"], "stat": ["rho"],
                                         "value": [0.3]})}
    monkeypatch.setattr(spatial, "run_spatial_suite", lambda panel, weights, **kw: stub)
    run_id = runner.estimate_and_publish(db, replications=20, seed=3, draws=10)
    with duckdb.connect(str(db)) as con:
        run = con.execute("select status, parameters from results.runs where run_id = ?",
                          [run_id]).fetchone()
        assert run[0] == "succeeded"
        assert json.loads(run[1])["replications"] == 20
        ids = {r for (r,) in con.execute(
            "select distinct spec_id from results.model_stats where run_id = ?",
            [run_id]).fetchall()}
        assert EXPECTED_IDS | {"sdm_geographic"} <= ids
        n_med = con.execute("select count(*) from results.mediation").fetchone()[0]
        assert n_med == 6


def test_failed_run_leaves_no_rows(tmp_path, monkeypatch):
    import estimation.spatial.suite as spatial
    db = tmp_path / "w.duckdb"
    _warehouse(db)
    # Frames that fail to insert (a string where DOUBLE is expected) after the runs row
    # and the regression frames went in: everything must be rolled back.
    bad = {"spatial_profile": pd.DataFrame({"spec_id": ["x"], "rho": ["not a number"],
                                            "log_likelihood": [1.0]})}
    monkeypatch.setattr(spatial, "run_spatial_suite", lambda panel, weights, **kw: bad)
    with pytest.raises(Exception):
        runner.estimate_and_publish(db, replications=10, seed=3, draws=10)
    with duckdb.connect(str(db)) as con:
        for table in ["runs", *RESULT_TABLES]:
            assert con.execute(f"select count(*) from results.{table}").fetchone()[0] == 0


def test_load_inputs_names_missing_mart(tmp_path):
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as con:
        with pytest.raises(runner.MissingInputError, match="marts.analysis_panel"):
            runner.load_inputs(con)
