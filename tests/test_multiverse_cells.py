"""The specification-curve grid (estimation.multiverse, the seed multiverse_choices read by
flows.multiverse): which cells exist, the baseline cell, the reproducible sample, errors that
name the seed line, and each cell's row against an independent fit of the same model."""
from __future__ import annotations

import dataclasses

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from estimation.errors import SpecError
from estimation.multiverse import (MultiverseData, Option, build_cells, fit_cell, sample_cells)
from estimation.spatial.weights import SpatialWeights
from estimation.specs import SampleFilter, Spec
from estimation.suite import fit_spec
from flows.multiverse import BASE_SPEC, DIMENSIONS, parse_choices
from flows.pipeline import control_variables
from synthetic.panels import simulate_panel
from synthetic.spatial import province_weights
from warehouse import runs
from warehouse.errors import ResilienceError
from warehouse.results_store import ensure_schema
from warehouse.seeds import seed_rows

CONTROLS = control_variables(seed_rows("analysis_variables"))
BASE_RECORD = next(r for r in seed_rows("specs") if r["spec_id"] == BASE_SPEC)
BASE = Spec.from_record(BASE_RECORD, CONTROLS)


@pytest.fixture(scope="module")
def seed_choices():
    return parse_choices(seed_rows("multiverse_choices"))


@pytest.fixture(scope="module")
def cells(seed_choices):
    return build_cells(seed_choices, BASE_RECORD, CONTROLS)


@pytest.fixture(scope="module")
def data():
    panel = simulate_panel(seed=3)
    codes, w = province_weights()
    rng = np.random.default_rng(5)
    w_eco = rng.uniform(0.1, 1.0, w.shape)
    np.fill_diagonal(w_eco, 0.0)
    weights = {"geographic": SpatialWeights.from_dense(w, codes, "geographic"),
               "economic": SpatialWeights.from_dense(w_eco / w_eco.sum(axis=1, keepdims=True), codes, "economic")}
    return MultiverseData({None: panel}, weights, "unit_code", "year")


def test_the_seed_choices_make_the_documented_grid(cells, seed_choices):
    options = seed_choices
    assert {o.key: o.panel for o in options if o.dimension == "index"} == {
        "entropy_pooled": None, "entropy_per_year": "entropy_per_year", "entropy_frozen": "entropy_frozen",
        "pca": None}
    assert list(dict.fromkeys(o.dimension for o in options)) == list(DIMENSIONS)
    # 4 index constructions x 32 control subsets x, per model: OLS 3 effects x 2 covariances x
    # 6 samples x 2 lags = 72; 2SLS 3 x 1 (clusters) x 6 x 1 = 18; each SDM 1 x 1 x 2 x 1 = 2
    assert len(cells) == 4 * 32 * (72 + 18 + 2 + 2) == 12_032
    assert len({c.key for c in cells}) == len(cells)
    baseline = [c for c in cells if c.is_baseline]
    assert len(baseline) == 1 and baseline[0].panel is None
    assert dataclasses.replace(baseline[0].spec, spec_id=BASE_SPEC) == BASE
    assert baseline[0].key == "entropy_pooled/medical+ec+open+tax+culture/two_way/cluster_unit/all/none/ols"
    sdm = [c for c in cells if c.spec.estimator == "sdm"]
    assert len(sdm) == 512
    assert {(c.choice["effects"], c.choice["covariance"], c.choice["lag"]) for c in sdm} == \
        {("two_way", "information_matrix", "none")}
    assert {c.choice["sample"] for c in sdm} == {"all", "no_2020"}
    iv = [c for c in cells if c.spec.estimator == "fe_2sls"]
    assert {(c.spec.endogenous, c.spec.regressors) for c in iv} == {(("dt",), ("dt",)), (("dt_pca",), ("dt_pca",))}
    assert {c.spec.cov_type for c in iv} == {"cluster_unit_stata"} and not any(c.spec.lag for c in iv)
    assert {c.panel for c in cells} == {None, "entropy_per_year", "entropy_frozen"}
    none = next(c for c in cells if c.choice["controls"] == "none")
    assert none.spec.controls == ()
    east = next(c for c in cells if c.choice["sample"] == "east")
    assert east.spec.sample == SampleFilter((("region", "=", "east"),))


def test_the_sample_is_reproducible_and_always_holds_the_baseline(cells):
    first, again = sample_cells(cells, 64, seed=7), sample_cells(cells, 64, seed=7)
    assert [c.key for c in first] == [c.key for c in again]
    assert len({c.key for c in first}) == 64 and sum(c.is_baseline for c in first) == 1
    assert [c.key for c in first] == [c.key for c in cells if c in set(first)]  # grid order
    other = sample_cells(cells, 64, seed=8)
    assert {c.key for c in other} != {c.key for c in first} and any(c.is_baseline for c in other)
    assert [c.key for c in sample_cells(cells, 1, seed=7)] == [next(c.key for c in cells if c.is_baseline)]
    assert len(sample_cells(cells, 10**6, seed=7)) == len(cells)


def _rows(*lines: str) -> list[dict]:
    header = "dimension,option,label,sets,index_vars,models".split(",")
    rows = [dict(zip(header, r)) for r in (
        ("index", "pooled", "", "", "", ""), ("controls", "all", "", "", "", ""),
        ("effects", "two_way", "", "effects: unit time", "", ""), ("covariance", "cluster", "", "", "", ""),
        ("sample", "all", "", "", "", ""), ("lag", "none", "", "", "", ""), ("model", "ols", "", "", "", ""))]
    return rows + [dict(zip(header, line.split("|"))) for line in lines]


@pytest.mark.parametrize("line, message", [
    ("effects|unit|FE|colour: red||", r"line 9: cannot set \['colour'\]"),
    ("lag|one|lag|lag: true||sdm", r"line 9: models \['sdm'\] are not options"),
    ("effects|two_way|again|effects: unit time||", r"line 9: option effects/two_way is defined twice"),
    ("effects|unit|FE|effects unit||", r"line 9: 'effects unit' is not `field: value`"),
    ("effects|odd|odd|effects: unit banana||", r"cell .*/odd/.* \(.*line 9.*\) is not a valid specification"),
    ("weather|rain|rain|||", r"dimensions .*'weather'.*results.multiverse has one column per dimension"),
])
def test_a_bad_choice_row_is_named_by_its_seed_line(line, message):
    with pytest.raises((SpecError, ResilienceError), match=message):
        options = parse_choices(_rows(line))
        build_cells(options, BASE_RECORD, CONTROLS)


def test_choices_without_the_base_spec_are_refused():
    rows = [r for r in _rows() if r["dimension"] != "model"] + [
        {"dimension": "model", "option": "iv", "label": "", "sets": "estimator: fe_2sls; instruments: iv",
         "index_vars": "", "models": ""}]
    options = parse_choices(rows)
    with pytest.raises(SpecError, match="no cell of the choices reproduces the base spec baseline_twfe_controls"):
        build_cells(options, BASE_RECORD, CONTROLS)


def test_two_options_that_give_the_same_spec_are_refused():
    options = parse_choices(_rows("covariance|clustered|again|cov_type: cluster_unit_stata||"))
    with pytest.raises(SpecError, match="fit the same specification"):
        build_cells(options, BASE_RECORD, CONTROLS)


def test_each_row_equals_an_independent_fit_of_its_model(cells, data):
    wanted = {
        "entropy_pooled/medical+open/unit/driscoll_kraay/no_2020/one_year/ols":
            Spec("x", "er", ("dt",), ("medical", "open"), ("unit",), SampleFilter.parse("year != 2020"),
                 "driscoll_kraay", "ols", lag=True),
        "pca/none/none/cluster_unit/east/none/fe_2sls":
            Spec("x", "er_pca", ("dt_pca",), (), (), SampleFilter.parse("region = 'east'"),
                 "cluster_unit_stata", "fe_2sls", endogenous=("dt_pca",), instruments=("iv",)),
        "entropy_pooled/ec+tax/two_way/information_matrix/all/none/sdm_geographic":
            Spec("x", "er", ("dt",), ("ec", "tax"), ("unit", "time"), None, "information_matrix", "sdm",
                 weights="geographic"),
    }
    by_key = {c.key: c for c in cells}
    for key, spec in wanted.items():
        row = fit_cell(data, by_key[key], replications=50, seed=9)
        assert row["error"] is None and row["spec_key"] == key
        assert {d: row[d] for d in DIMENSIONS} == by_key[key].choice
        result = fit_spec(data.panels[None], spec, unit="unit_code", time="year", weights=data.weights,
                          replications=50, seed=9)
        if spec.estimator == "sdm":
            direct = result.impacts.set_index(["term", "effect"]).loc[("dt", "direct")]
            assert (row["term"], row["quantity"]) == ("dt", "direct effect")
            assert (row["estimate"], row["std_error"], row["p_value"]) == \
                (direct["estimate"], direct["std_error"], direct["p_value"])
            half = stats.norm.ppf(0.975) * direct["std_error"]
            assert (row["ci_low"], row["ci_high"]) == pytest.approx((direct["estimate"] - half, direct["estimate"] + half))
            assert row["nobs"] == 30 * 9
        else:
            term = "l_dt" if spec.lag else "dt_pca"
            ci = result.conf_int().loc[term]
            assert (row["term"], row["quantity"]) == (term, "coefficient")
            assert (row["estimate"], row["std_error"], row["p_value"], row["ci_low"], row["ci_high"], row["nobs"]) == \
                (result.params[term], result.std_errors[term], result.pvalues[term], ci["lower"], ci["upper"],
                 result.nobs)
    lagged = fit_cell(data, by_key["entropy_pooled/medical+open/unit/driscoll_kraay/no_2020/one_year/ols"])
    # the sample filter comes before the lag (estimation.design): 2020 is dropped, so neither
    # 2013 nor 2021 has a previous year
    assert lagged["nobs"] == 30 * 6


def test_cells_that_cannot_be_estimated_are_rows_with_their_reason(data):
    rows = _rows("covariance|dk||cov_type: driscoll_kraay||", "model|iv||estimator: fe_2sls; instruments: iv||",
                 "sample|nowhere||sample: region = 'atlantis'||")
    options = parse_choices(rows)
    options.append(Option("index", "broken", panel="broken"))
    cells = build_cells(options, BASE_RECORD, CONTROLS)
    broken_data = dataclasses.replace(data, unavailable={"broken": "dbt build failed: test x failed"})
    fitted = {c.key: fit_cell(broken_data, c) for c in cells}
    assert len(fitted) == 2 * 2 * 2 * 2
    refused = fitted["pooled/all/two_way/dk/all/none/iv"]
    assert refused["estimate"] is None and "fe_2sls supports cov_type" in refused["error"]
    empty = fitted["pooled/all/two_way/cluster/nowhere/none/ols"]
    assert empty["estimate"] is None and "no complete rows" in empty["error"]
    assert "panel variant broken unavailable: dbt build failed" in fitted["broken/all/two_way/cluster/all/none/ols"]["error"]
    fine = [r for r in fitted.values() if r["error"] is None]
    assert len(fine) == 3 and all(np.isfinite(r["estimate"]) and r["std_error"] > 0 for r in fine)
    frame = pd.DataFrame(fitted.values())
    assert frame["term"].eq("dt").all()   # failed cells keep their focal term and choices


def test_an_older_run_registry_gains_the_run_kind(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("create schema results; create table results.runs (run_id varchar primary key, status varchar)")
        con.execute("insert into results.runs values ('old', 'succeeded')")
        ensure_schema(con)
        runs.start_run(con, "new")
        assert con.execute("select run_id, kind from results.runs order by run_id").fetchall() == \
            [("new", "estimates"), ("old", "estimates")]


def test_batches_are_a_few_per_worker_thread_and_deal_every_cell_once(cells):
    from flows.multiverse import batch_count, deal

    assert batch_count(64, 2) == 8                 # 4 per worker thread
    assert batch_count(12_032, 2) == 50            # at most 250 cells each (49), a multiple of 2
    assert batch_count(2_048, 3) == 12 and batch_count(3, 2) == 3 and batch_count(1, 8) == 1
    batches = deal(cells[:1001], 8)
    assert sorted(c.key for b in batches for c in b) == sorted(c.key for c in cells[:1001])
    assert {len(b) for b in batches} == {125, 126}


def test_the_curve_axis_follows_the_bulk_of_the_estimates():
    from flows.plots import estimate_axis

    # 1,000 estimates 0.001 ... 1.000 and two weak-instrument outliers: the axis runs from 0
    # (included) to the 99th percentile, the outliers are left beyond it
    estimates = np.concatenate([np.arange(1, 1001) / 1000, [-4000.0, 4000.0]])
    lo, hi = estimate_axis(estimates)
    assert lo == 0.0 and hi == pytest.approx(np.quantile(estimates, 0.99)) and 0.98 < hi < 1.0
    # fewer than 200 cells: every estimate on the axis
    assert estimate_axis(np.array([-3.0, 0.5, 2.0])) == (-3.0, 2.0)
    assert estimate_axis(np.array([0.2, 0.5])) == (0.0, 0.5)


def test_dask_names_every_cell_apart(cells):
    """Dask names a task by hashing its arguments (flows.multiverse registers a cheap hash of
    a cell): equal cells hash alike, and no two cells of the grid share a hash."""
    from dask.base import tokenize

    tokens = {tokenize(cell) for cell in cells}
    assert len(tokens) == len(cells)
    assert tokenize(cells[0]) == tokenize(dataclasses.replace(cells[0]))
    assert tokenize(cells[0]) != tokenize(dataclasses.replace(cells[0], is_baseline=not cells[0].is_baseline))
