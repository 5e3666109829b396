"""Issue 12: a study at any administrative level. The level is asked for or inferred from the
loaded data; weights refuse units they cannot place; and a synthetic prefecture sample runs
end to end (load, dbt build, every suite, report) into a panel keyed by unit, whose two-way
fixed effects and unit clusters agree with an independent implementation."""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from dbt_models import load_model_module
from estimation.errors import SpatialInputError
from flows import pipeline
from flows.report import write_report
from synthetic.dgp import SampleSpec
from synthetic.sample import write_sample
from warehouse import runs
from warehouse.build_options import build_options
from warehouse.dbt_runner import dbt_build, study_level
from warehouse.errors import ResilienceError
from warehouse.loader import load_landing
from warehouse.results_store import write_results
from warehouse.schema import ensure_raw_schema

matrix_entries = load_model_module("int_spatial_weights").matrix_entries


def _raw(tmp_path, units=(), observed=()):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_raw_schema(con)
    for code, level in units:
        con.execute("insert into raw.units (unit_code, unit_name, level, province_code) values (?, ?, ?, ?)",
                    [code, f"unit {code}", level, code // 10000])
    for code in observed:
        con.execute("insert into raw.observations (indicator_code, unit_code, year, value) values ('gdp', ?, 2020, 1)",
                    [code])
    return con


def test_study_level_is_the_finest_level_observed_unless_asked(tmp_path):
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as con:
        assert study_level(con) == "province"  # nothing loaded yet
    with _raw(tmp_path, units=[(130100, "prefecture"), (130102, "county")], observed=[13, 130100]) as con:
        assert study_level(con) == "prefecture"  # the county is registered but has no data
        assert study_level(con, "province") == "province"
        assert study_level(con, "county") == "county"
        con.execute("delete from raw.units where level = 'county'")
        with pytest.raises(ResilienceError, match=r"no county-level units are loaded: the landing folder needs a "
                                                  r"units_reference.csv with county rows \(loaded: 1 prefecture\)"):
            study_level(con, "county")


def test_level_option_and_dbt_var_are_one_setting():
    assert build_options({}).at_level("county").dbt_vars() == {"unit_level": "county"}
    assert build_options({"unit_level": "county"}).at_level("county").unit_level == "county"
    with pytest.raises(ResilienceError, match="--level county and unit_level=prefecture disagree"):
        build_options({"unit_level": "prefecture"}).at_level("county")


def _units(lat=(39.9, 31.2, 23.1), gdp=(1.0, 2.0, 3.5)):
    return pd.DataFrame({"unit_code": [110100, 310100, 440100], "unit_name": ["北京市", "上海市", "广州市"],
                         "lat": lat, "lon": [116.4, 121.5, 113.3], "mean_real_gdp_pc": gdp})


def _matrix(method, **params):
    row = {"matrix": "m", "method": method, "power": np.nan, "k": np.nan, "threshold_km": np.nan,
           "islands": None, **params}
    return pd.DataFrame([row])


def test_a_distance_matrix_refuses_a_unit_without_coordinates():
    units = _units(lat=(39.9, np.nan, 23.1))
    with pytest.raises(ValueError, match=r"matrix 'm' \(inverse_distance\) needs lat and lon of every study unit; "
                                         r"1 unit\(s\) have none: 310100 上海市"):
        matrix_entries(units, _matrix("inverse_distance", power=1.0))
    # the economic distance needs no coordinates: 1/|x_i - x_j| row-standardised, worked by hand
    entries = matrix_entries(units, _matrix("economic_distance"))
    w = entries.pivot(index="unit_code_i", columns="unit_code_j", values="weight").fillna(0).to_numpy()
    expected = np.array([[0, 1 / 1, 1 / 2.5], [1 / 1, 0, 1 / 1.5], [1 / 2.5, 1 / 1.5, 0]])
    np.testing.assert_allclose(w, expected / expected.sum(axis=1, keepdims=True), rtol=1e-12)


def test_a_distance_band_that_leaves_a_unit_alone_names_it():
    # Beijing-Shanghai ~1,070 km, Shanghai-Guangzhou ~1,210 km, Beijing-Guangzhou ~1,890 km
    entries = matrix_entries(_units(), _matrix("distance_band", threshold_km=1300.0, power=0.0))
    assert sorted(zip(entries.unit_code_i, entries.unit_code_j)) == [
        (110100, 310100), (310100, 110100), (310100, 440100), (440100, 310100)]
    with pytest.raises(SpatialInputError, match="weights matrix 'm': unit 440100 has no neighbours"):
        matrix_entries(_units(), _matrix("distance_band", threshold_km=1100.0, power=0.0))


# --- a prefecture study end to end ----------------------------------------------------------

@pytest.fixture(scope="module")
def prefecture_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("prefecture")
    landing, warehouse = root / "landing", root / "w.duckdb"
    write_sample(landing, SampleSpec(units="prefecture", first_year=2013, last_year=2021))
    load_landing(landing, warehouse)
    dbt_build(warehouse)  # the level is inferred: prefecture
    with duckdb.connect(str(warehouse)) as con:
        inputs = pipeline.load_inputs(con)
        frames = pipeline.estimate(inputs, replications=50, seed=1)
        run_id = runs.new_run_id()
        runs.start_run(con, run_id)
        write_results(con, run_id, frames)
        runs.record_panel_level(con, run_id)
        runs.finish_run(con, run_id)
    report = write_report(warehouse, root / "report", run_id=run_id)
    return {"inputs": inputs, "frames": frames, "warehouse": warehouse, "report": report, "run_id": run_id}


def test_prefecture_panel_is_keyed_by_unit_with_its_province(prefecture_run):
    panel = prefecture_run["inputs"].panel
    assert (panel.unit_level == "prefecture").all() and not panel.duplicated(["unit_code", "year"]).any()
    assert (panel.unit_code // 10000 == panel.province_code).all() and 54 not in set(panel.province_code)
    assert panel.unit_code.nunique() > 300 and sorted(panel.year.unique()) == list(range(2013, 2022))
    # the marketization index is a province series mapped down: a province's cities share its group
    assert (panel.groupby("province_code").market_group.nunique() == 1).all()
    with duckdb.connect(str(prefecture_run["warehouse"]), read_only=True) as con:
        mismatched = con.execute("""
            select count(*) from intermediate.int_observations as o
            join marts.analysis_panel as p using (unit_code, year)
            join raw.observations as r on r.indicator_code = o.indicator_code and r.unit_code = p.province_code
                                      and r.year = o.year
            where o.indicator_code = 'marketization_index' and (o.origin <> 'parent' or o.value <> r.value)
        """).fetchone()[0]
        assert mismatched == 0


def test_prefecture_fixed_effects_and_clusters_follow_the_unit(prefecture_run):
    """baseline_twfe_controls against statsmodels OLS with unit and year dummies, clustered by
    unit: the same slopes; the standard errors differ only by Stata's xtreg small-sample factor,
    which leaves the unit dummies (nested in the clusters) out of K, worked out here."""
    panel = prefecture_run["inputs"].panel
    controls = ["medical", "ec", "open", "tax", "culture"]
    fit = smf.ols("er ~ dt + " + " + ".join(controls) + " + C(unit_code) + C(year)", data=panel).fit(
        cov_type="cluster", cov_kwds={"groups": panel["unit_code"]})
    coef = prefecture_run["frames"]["coefficients"].query("spec_id == 'baseline_twfe_controls'").set_index("term")
    n, g, t = len(panel), panel.unit_code.nunique(), panel.year.nunique()
    k_all = 1 + len(controls) + 1 + (g - 1) + (t - 1)
    k_stata = k_all - (g - 1)
    for term in ["dt", *controls]:
        assert coef.loc[term, "estimate"] == pytest.approx(fit.params[term], rel=1e-9)
        assert coef.loc[term, "std_error"] == pytest.approx(fit.bse[term] * np.sqrt((n - k_all) / (n - k_stata)),
                                                            rel=1e-9)


def test_every_suite_runs_at_prefecture_level_and_the_rest_is_skipped_with_a_reason(prefecture_run):
    frames = prefecture_run["frames"]
    specs = {s.spec_id: s for s in prefecture_run["inputs"].specs}
    skipped = frames["skipped_specs"].set_index("spec_id")["reason"]
    # adjacency is defined for provinces only (the registry's codes predate the boundaries')
    assert all(specs[s].weights == "adjacency" for s in skipped.index) and len(skipped) == 8
    assert skipped.str.contains("weight_matrices does not define at the prefecture level").all()
    estimated = set().union(*(f.spec_id for name, f in frames.items() if name != "skipped_specs"))
    assert set(specs) - set(skipped.index) - estimated == set()
    effects = frames["spatial_effects"].query("term == 'dt'")
    for spec_id in ("sdm_geographic", "sdm_economic"):
        got = effects[effects.spec_id == spec_id].set_index("effect")
        assert set(got.index) == {"direct", "indirect", "total"} and np.isfinite(got[["estimate", "std_error"]]).all().all()
        assert got.loc["total", "estimate"] == pytest.approx(got.loc["direct", "estimate"] + got.loc["indirect", "estimate"])


def test_prefecture_report_names_the_level_and_the_skipped_columns(prefecture_run):
    markdown = next(p for p in prefecture_run["report"] if p.name == "report.md").read_text(encoding="utf-8")
    assert "| Prefecture FEs | NO | YES | NO | YES |" in markdown
    assert "(sdm\\_adjacency) was not estimated: needs weights matrix 'adjacency'" in markdown
    with duckdb.connect(str(prefecture_run["warehouse"]), read_only=True) as con:
        assert con.execute("select unit_level from marts.dim_result_runs where run_id = ?",
                           [prefecture_run["run_id"]]).fetchone() == ("prefecture",)
