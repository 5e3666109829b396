"""The dbt results marts (dbt_project/models/marts/results) over fake-but-complete runs.

tests/results_factory.py writes three runs (old and new succeeded, a later failed one that
still has rows) and builds the seeds and these marts with `dbt build`, which
also runs the YAML tests of those models.
"""
from __future__ import annotations

import shutil

import duckdb
import pytest

from results_factory import FAILED_RUN, NEW_DT, NEW_RUN, OLD_DT, OLD_RUN, shared_results_warehouse

PAPER_TABLES = {
    "rpt_table4_baseline": "table4", "rpt_table5_robustness": "table5",
    "rpt_table6_mediation": "table6", "rpt_table7_moderation": "table7",
    "rpt_table8_heterogeneity": "table8", "rpt_table9_moran": "table9",
    "rpt_table10_spatial_effects": "table10",
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    return shared_results_warehouse(tmp_path_factory)


@pytest.fixture
def con(warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        yield connection


@pytest.fixture
def writable_copy(warehouse, tmp_path):
    """A private copy: the marts are views, so rows added to results.* show up at once."""
    path = tmp_path / "copy.duckdb"
    shutil.copy(warehouse, path)
    with duckdb.connect(str(path)) as connection:
        yield connection


def cell(con, model, run_filter, row_key, line, column):
    rows = con.execute(
        f"select {column} from marts.{model} where {run_filter} and row_key = ? and line = ?",
        [row_key, line],
    ).fetchall()
    assert len(rows) == 1, (model, row_key, line, rows)
    return rows[0][0]


def paper_stars(p):
    if p is None:
        return ""
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else ""


def test_table4_cell_renders_estimate_with_stars_and_se_in_parentheses(con):
    latest = "is_latest"
    assert cell(con, "rpt_table4_baseline", latest, "dt", "estimate", "baseline_pooled") == "0.498***"
    assert cell(con, "rpt_table4_baseline", latest, "dt", "se", "baseline_pooled") == "(0.025)"
    # Any run by id: the old run's 0.4500 with p = 0.03 and SE 0.03.
    old = f"run_id = '{OLD_RUN}'"
    assert cell(con, "rpt_table4_baseline", old, "dt", "estimate", "baseline_pooled") == "0.450**"
    assert cell(con, "rpt_table4_baseline", old, "dt", "se", "baseline_pooled") == "(0.030)"


def test_table4_has_the_paper_rows_in_order(con):
    rows = con.execute(
        "select row_label, line, baseline_pooled, baseline_twfe, baseline_pooled_controls, "
        "baseline_twfe_controls from marts.rpt_table4_baseline where is_latest order by row_order"
    ).fetchall()
    labels = [r[0] for r in rows if r[1] == "estimate"]
    assert labels == ["DT", "MEDICAL", "EC", "OPEN", "TAX", "CULTURE", "Constant", "Controls",
                      "Province FEs", "Year FEs", "N", "Adj. R²", "Hausman test χ² (FE vs RE, sigmamore)",
                      "Hausman test χ² (FE vs RE, plain)", "Hausman test df"]
    by_label = {r[0]: r[2:] for r in rows if r[1] == "estimate"}
    assert by_label["Controls"] == ("NO", "NO", "YES", "YES")
    assert by_label["Province FEs"] == ("NO", "YES", "NO", "YES")
    assert by_label["Year FEs"] == ("NO", "YES", "NO", "YES")
    assert by_label["N"] == ("270", "270", "270", "270")
    assert by_label["Adj. R²"] == ("0.910",) * 4  # 0.9 + 0.01 * run index 1
    assert by_label["MEDICAL"][:2] == (None, None)  # no controls in columns (1)-(2)
    assert by_label["Hausman test χ² (FE vs RE, sigmamore)"] == (None, None, None, "31.400***")
    assert by_label["Hausman test χ² (FE vs RE, plain)"] == (None, None, None, "12.600*")
    p_lines = [r[2:] for r in rows if r[1] == "p"]
    assert p_lines == [(None, None, None, "(0.000)"), (None, None, None, "(0.050)")]
    # A coefficient takes two lines, the second labelled '' and holding the SE.
    assert rows[1][:2] == ("", "se")


def test_every_coefficient_cell_matches_an_independent_formatting(con):
    raw = con.execute(
        "select c.spec_id, c.term, c.estimate, c.std_error, c.p_value, f.estimate_cell, f.se_cell, f.stars "
        "from results.coefficients c join marts.fct_result_cells f "
        "on f.source = 'coefficient' and f.run_id = c.run_id and f.spec_id = c.spec_id and f.term = c.term"
    ).fetchall()
    assert len(raw) == con.execute("select count(*) from results.coefficients").fetchone()[0]
    for spec_id, term, est, se, p, est_cell, se_cell, stars in raw:
        assert stars == paper_stars(p), (spec_id, term, p)
        assert est_cell == f"{est:.3f}{paper_stars(p)}", (spec_id, term)
        assert se_cell == f"({se:.3f})", (spec_id, term)


def test_star_thresholds_are_strict(writable_copy):
    con = writable_copy
    cases = {"p0099": 0.0099, "p0100": 0.01, "p0499": 0.0499, "p0500": 0.05, "p0999": 0.0999,
             "p1000": 0.1, "pnull": None}
    for term, p in cases.items():
        con.execute("insert into results.coefficients (run_id, spec_id, term, estimate, std_error, p_value) "
                    "values (?, 'boundary', ?, -0.00004, 0.0001, ?)", [NEW_RUN, term, p])
    got = dict(con.execute("select term, estimate_cell from marts.fct_result_cells "
                           "where spec_id = 'boundary' and source = 'coefficient'").fetchall())
    assert got == {"p0099": "-0.000***", "p0100": "-0.000**", "p0499": "-0.000**",
                   "p0500": "-0.000*", "p0999": "-0.000*", "p1000": "-0.000", "pnull": "-0.000"}


def test_latest_is_the_latest_successful_run_never_a_failed_or_running_one(con, writable_copy):
    assert con.execute("select run_id from marts.dim_result_runs where is_latest").fetchall() == [(NEW_RUN,)]
    # The failed run finished last and has result rows, yet no mart shows it as latest.
    assert con.execute(f"select count(*) from results.coefficients where run_id = '{FAILED_RUN}'").fetchone()[0] > 0
    for model in PAPER_TABLES:
        runs = con.execute(f"select distinct run_id from marts.{model} where is_latest").fetchall()
        assert runs == [(NEW_RUN,)], model
    assert con.execute("select distinct run_id from marts.latest_coefficients").fetchall() == [(NEW_RUN,)]
    latest_dt = con.execute("select estimate, std_error, p_value, estimate_cell from marts.latest_coefficients "
                            "where spec_id = 'baseline_pooled' and term = 'dt'").fetchone()
    assert latest_dt == (NEW_DT["estimate"], NEW_DT["std_error"], NEW_DT["p_value"], "0.498***")
    # A refresh in progress (status running, started last) does not move "latest" either,
    # and a newer succeeded run does.
    writable_copy.execute("insert into results.runs (run_id, started_at, status) "
                          "values ('in-progress', '2026-01-01', 'running')")
    assert writable_copy.execute("select run_id from marts.dim_result_runs where is_latest").fetchall() == [(NEW_RUN,)]
    writable_copy.execute("insert into results.runs (run_id, started_at, finished_at, status) "
                          "values ('newest', '2026-02-01', '2026-02-01 01:00', 'succeeded')")
    assert writable_copy.execute("select run_id from marts.dim_result_runs where is_latest").fetchall() == [("newest",)]


def test_table_columns_follow_the_layout_model(con):
    for model, table_id in PAPER_TABLES.items():
        columns = [d[0] for d in con.execute(f"select * from marts.{model} limit 0").description]
        keys = [r[0] for r in con.execute(
            "select column_key from marts.dim_report_columns where table_id = ? "
            "group by column_key order by min(column_order)", [table_id]).fetchall()]
        assert columns == ["run_id", "is_latest", "row_order", "row_key", "line", "row_label", *keys], model
        # Every layout column is filled for the latest run (the fake run has every spec).
        for key in keys:
            filled = con.execute(f"select count({key}) from marts.{model} where is_latest").fetchone()[0]
            assert filled > 0, (model, key)


def test_table5_weak_instrument_and_tobit_rows(con):
    latest = "is_latest"
    assert cell(con, "rpt_table5_robustness", latest, "kp_rk_lm", "estimate", "iv_2sls") == "5.023**"
    assert cell(con, "rpt_table5_robustness", latest, "kp_rk_lm", "p", "iv_2sls") == "(0.025)"
    assert cell(con, "rpt_table5_robustness", latest, "cragg_donald_f", "estimate", "iv_2sls") == "216.133"
    assert cell(con, "rpt_table5_robustness", latest, "lr_stat", "estimate", "tobit_re") == "418.760***"
    assert cell(con, "rpt_table5_robustness", latest, "province_fe", "estimate", "tobit_re") == "RE"
    assert cell(con, "rpt_table5_robustness", latest, "nobs", "estimate", "lag_dt") == "240"
    keys = {r[0] for r in con.execute("select row_key from marts.rpt_table5_robustness where is_latest").fetchall()}
    assert {"dt", "l_dt", "dt_pca", "const", "controls"} <= keys
    assert not keys & {"medical", "l_medical", "culture"}  # controls summarised, as in the paper


def test_table6_bootstrap_ci_and_indirect_effect(con):
    latest = "is_latest"
    # ci_low = 0.0059635 + 0.001 for the new run, ci_high = 0.0480983.
    assert cell(con, "rpt_table6_mediation", latest, "ci_percentile", "estimate", "mediation_isu_b") == "[0.0070, 0.0481]"
    assert cell(con, "rpt_table6_mediation", latest, "ci_percentile", "estimate", "mediation_isu_a") is None
    assert cell(con, "rpt_table6_mediation", f"run_id = '{OLD_RUN}'", "ci_bias_corrected", "estimate",
                "mediation_cu_b") == "[0.0060, 0.0481]"
    assert cell(con, "rpt_table6_mediation", latest, "indirect", "estimate", "mediation_rm_b") == "0.026**"
    assert cell(con, "rpt_table6_mediation", latest, "isu", "estimate", "mediation_isu_a") is None


def test_table9_moran_one_row_per_year(con):
    rows = con.execute("select row_label, geographic_dt, economic_er from marts.rpt_table9_moran "
                       "where is_latest order by row_order").fetchall()
    assert [r[0] for r in rows] == [str(y) for y in range(2013, 2023)]
    assert rows[0][1:] == ("0.100***", "0.200***")
    assert rows[5] == ("2018", "0.150**", "0.250**")  # p_rand_greater = 0.04 in 2018 (p_norm 0.2)


def test_table10_effects_and_rho(con):
    latest = "is_latest"
    raw = con.execute("select estimate, std_error, p_value, sim_mean from results.spatial_effects where run_id = ? "
                      "and spec_id = 'sdm_economic' and term = 'tax' and effect = 'indirect'", [NEW_RUN]).fetchone()
    # the point effect (not the draws' mean) with the simulated SE
    assert f"{raw[0]:.3f}" != f"{raw[3]:.3f}"
    assert cell(con, "rpt_table10_spatial_effects", latest, "tax", "estimate", "economic_indirect") == \
        f"{raw[0]:.3f}{paper_stars(raw[2])}"
    assert cell(con, "rpt_table10_spatial_effects", latest, "tax", "se", "economic_indirect") == f"({raw[1]:.3f})"
    assert cell(con, "rpt_table10_spatial_effects", latest, "rho", "estimate", "geographic_direct") == "0.234***"
    assert cell(con, "rpt_table10_spatial_effects", latest, "rho", "se", "economic_direct") == "(0.085)"
    assert cell(con, "rpt_table10_spatial_effects", latest, "rho", "estimate", "geographic_total") is None
    assert cell(con, "rpt_table10_spatial_effects", latest, "pseudo_r2", "estimate", "economic_direct") == "0.310"
    assert cell(con, "rpt_table10_spatial_effects", latest, "sigma2", "estimate", "geographic_direct") == "0.0004"


def test_run_comparison_computes_the_change_against_the_previous_successful_run(con):
    rows = con.execute(
        "select run_id, estimate, previous_run_id, previous_estimate, change from marts.rpt_run_comparison "
        "where spec_id = 'baseline_pooled' and term = 'dt' and effect = 'coefficient' order by success_seq"
    ).fetchall()
    assert [r[0] for r in rows] == [OLD_RUN, NEW_RUN]  # the failed run is not compared
    assert rows[0][2:] == (None, None, None)
    assert rows[1][2] == OLD_RUN and rows[1][3] == OLD_DT["estimate"]
    assert rows[1][4] == pytest.approx(NEW_DT["estimate"] - OLD_DT["estimate"])
    specs = {r[0] for r in con.execute("select distinct spec_id from marts.rpt_run_comparison "
                                       "where term = 'dt' and effect = 'coefficient'").fetchall()}
    assert {"baseline_twfe_controls", "iv_2sls", "region_west", "sdm_geographic"} <= specs
    effects = con.execute("select count(*) from marts.rpt_run_comparison where run_id = ? and "
                          "spec_id = 'sdm_economic' and term = 'dt' and effect in ('direct', 'indirect', 'total')",
                          [NEW_RUN]).fetchone()[0]
    assert effects == 3
    lag_models = con.execute("select count(*) from ref.specs where estimator in ('sdm', 'sar')").fetchone()[0]
    assert con.execute("select count(*) from marts.rpt_run_comparison where term = 'rho' and run_id = ?",
                       [NEW_RUN]).fetchone()[0] == lag_models == 8  # sdm and sar under 3 matrices, 2 demeaned


def test_table3_reads_the_descriptive_stats_mart(con):
    rows = con.execute("select variable, n, mean from marts.rpt_table3_descriptive order by row_order").fetchall()
    assert rows == [("ER", 300, 0.262), ("DT", 300, 0.129)]


def test_adjacency_matrix_is_a_further_column_set_of_tables_9_and_10(con):
    headers = con.execute("select table_id, header from marts.dim_report_columns where table_id in "
                          "('table9', 'table10') order by table_id, column_order").fetchall()
    assert [h for t, h in headers if t == "table9"][-2:] == ["Adjacency: DT", "Adjacency: ER"]
    assert [h for t, h in headers if t == "table10"][-3:] == [
        "(7) Adjacency: direct", "(8) Adjacency: indirect", "(9) Adjacency: total"]
    # the cells come from the adjacency specs' own rows
    moran = con.execute("select moran_i, p_rand_greater from results.moran where run_id = ? and "
                        "spec_id = 'moran_adjacency_dt' and year = 2018", [NEW_RUN]).fetchone()
    assert cell(con, "rpt_table9_moran", "is_latest", "2018", "estimate", "adjacency_dt") == \
        f"{moran[0]:.3f}{paper_stars(moran[1])}"
    raw = con.execute("select estimate, p_value from results.spatial_effects where run_id = ? and "
                      "spec_id = 'sdm_adjacency' and term = 'dt' and effect = 'total'", [NEW_RUN]).fetchone()
    assert cell(con, "rpt_table10_spatial_effects", "is_latest", "dt", "estimate", "adjacency_total") == \
        f"{raw[0]:.3f}{paper_stars(raw[1])}"
