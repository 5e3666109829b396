"""load_landing: contents, vintage, idempotency, revisions, batch ordering, atomicity, CLI, status."""
from __future__ import annotations

import time

import duckdb
import pytest

import warehouse.loader as loader
from extract_factory import gdp_rows, nbs_rows, snapshot, write_csv, write_good_landing
from flows.cli import main
from warehouse.loader import load_landing
from warehouse.paths import SAMPLE_BASE_DIR, SAMPLE_NEXT_VINTAGE_DIR
from warehouse.status import describe_warehouse


def _value(warehouse, indicator, province, year):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("SELECT value, reported_value, reported_unit, source_file, vintage FROM raw.observations "
                           "WHERE indicator_code = ? AND unit_code = ? AND year = ?",
                           [indicator, province, year]).fetchone()
    finally:
        con.close()


def _query(warehouse, sql):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _next_vintage(folder):
    """The 2022 yearbook: GDP 2022 and 2021; Beijing 2021 revised, Tianjin 2021 not repeated."""
    rows = nbs_rows("地区生产总值(亿元)", [2022, 2021], {
        "北京市": ["41610.9", "40300.0"], "天津市": ["16311.3", "…"], "河北省": ["42370.4", "40391.3"],
        "内蒙古自治区": ["23158.6", "20514.2"], "西藏自治区": ["2132.6", "2080.2"]})
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "gdp_2022.csv", rows)
    return folder


def test_load_good_landing(tmp_path):
    warehouse = tmp_path / "data" / "wh.duckdb"
    summary = load_landing(write_good_landing(tmp_path / "landing"), warehouse)
    assert summary.files_loaded == ["gdp.csv", "panel.csv", "population.xlsx"]
    assert summary.indicators == ["ecommerce_sales", "gdp", "population", "software_revenue"]
    assert summary.provinces == [11, 12, 13, 15, 54]  # Tibet is loaded; the sample filter is dbt's
    assert summary.years == [2019, 2020, 2021] and summary.latest_year == 2021
    assert summary.cells == 15 + 10 + 20 and summary.cells_missing == 3
    assert summary.vintage == "synthetic test extracts"
    text = summary.describe()
    assert "vintage: synthetic test extracts" in text and "provinces x years: 5 x 3 (2019-2021)" in text
    assert "missing cells: 3" in text and "files loaded: 3" in text

    assert _value(warehouse, "gdp", 11, 2021) == (40269.6, 40269.6, "亿元", "gdp.csv", "synthetic test extracts")
    assert _value(warehouse, "ecommerce_sales", 13, 2020)[:3] == (13.0, 130000.0, "万元")  # 130000 万元 = 13 亿元
    assert _value(warehouse, "gdp", 54, 2020)[0] is None
    assert _query(warehouse, "SELECT count(*), count(DISTINCT batch_id), sum(cells_missing) FROM raw.load_log") \
        == [(3, 1, 3)]
    assert _query(warehouse, "SELECT format FROM raw.load_log ORDER BY file_name") \
        == [("nbs-csv",), ("cnrds-csv",), ("nbs-xlsx",)]


def test_the_synthetic_marker_not_the_label_marks_a_batch_synthetic(tmp_path):
    """A folder with the sample's SYNTHETIC.txt is synthetic even when relabelled; a real folder
    whose label happens to say "synthetic" is not."""
    from warehouse import runs

    marked = write_good_landing(tmp_path / "marked", vintage="NBS download 2024-03")
    (marked / "SYNTHETIC.txt").write_text("made up\n", encoding="utf-8")
    unmarked = write_good_landing(tmp_path / "unmarked", vintage="synthetic-looking label")
    for folder, expected in ((marked, True), (unmarked, False)):
        warehouse = tmp_path / f"{folder.name}.duckdb"
        summary = load_landing(folder, warehouse)
        assert "SYNTHETIC.txt" not in summary.files_skipped
        assert _query(warehouse, "SELECT DISTINCT synthetic FROM raw.load_log") == [(expected,)]
        with duckdb.connect(str(warehouse), read_only=True) as con:
            assert runs.data_vintage(con).synthetic is expected


def test_vintage_argument_and_default(tmp_path):
    landing = write_good_landing(tmp_path / "l1", vintage=None)
    assert load_landing(landing, tmp_path / "a.duckdb").vintage == "data through 2021"
    summary = load_landing(landing, tmp_path / "b.duckdb", vintage="my label")
    assert summary.vintage == "my label" and _value(tmp_path / "b.duckdb", "gdp", 11, 2021)[4] == "my label"


def test_loading_the_same_folder_twice_changes_nothing(tmp_path):
    landing = write_good_landing(tmp_path / "landing")
    (landing / "README.md").write_text("notes")
    warehouse = tmp_path / "wh.duckdb"
    load_landing(landing, warehouse)
    before = snapshot(warehouse)
    again = load_landing(landing, warehouse)
    assert again.files_loaded == [] and again.files_unchanged == ["gdp.csv", "panel.csv", "population.xlsx"]
    assert again.files_skipped == ["README.md"] and "files skipped (not an extract): 1 (README.md)" in again.describe()
    assert snapshot(warehouse) == before


def test_revision_replaces_value_and_keeps_the_old_one(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    load_landing(write_good_landing(tmp_path / "base"), warehouse)
    summary = load_landing(_next_vintage(tmp_path / "v2022"), warehouse, vintage="2022 yearbook")
    assert summary.files_loaded == ["gdp_2022.csv"] and summary.revisions == 1 and summary.updated == 1
    assert summary.inserted == 5  # the five 2022 values
    assert _value(warehouse, "gdp", 11, 2021)[::3] == (40300.0, "gdp_2022.csv")
    assert _value(warehouse, "gdp", 11, 2022)[0] == 41610.9
    # a missing cell in the later file does not erase the loaded value
    assert _value(warehouse, "gdp", 12, 2021)[::3] == (15695.0, "gdp.csv")
    # an equal value keeps its original provenance
    assert _value(warehouse, "gdp", 13, 2021)[3:] == ("gdp.csv", "synthetic test extracts")
    revisions = _query(warehouse, "SELECT indicator_code, unit_code, year, old_value, new_value, old_source_file, "
                                  "new_source_file, old_vintage, new_vintage FROM raw.revisions")
    assert revisions == [("gdp", 11, 2021, 40269.6, 40300.0, "gdp.csv", "gdp_2022.csv",
                          "synthetic test extracts", "2022 yearbook")]


def test_filling_a_missing_cell_is_recorded(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    load_landing(write_good_landing(tmp_path / "base"), warehouse)
    later = tmp_path / "later"
    later.mkdir()
    write_csv(later / "gdp_fix.csv", nbs_rows("地区生产总值(亿元)", [2022, 2020], {"西藏自治区": ["2132.6", "1902.7"]}))
    assert load_landing(later, warehouse).revisions == 1
    assert _value(warehouse, "gdp", 54, 2020)[0] == 1902.7
    assert _query(warehouse, "SELECT old_value, new_value FROM raw.revisions") == [(None, 1902.7)]


def test_one_batch_orders_files_by_latest_year(tmp_path):
    """Loading base and 2022 together gives the same observations as loading them in turn."""
    both = write_good_landing(tmp_path / "both")
    _next_vintage(both)
    (both / "gdp.csv").rename(both / "zz_gdp.csv")  # name order must not matter, the years do
    together = tmp_path / "together.duckdb"
    summary = load_landing(both, together, vintage="v")
    assert summary.revisions == 1
    assert _value(together, "gdp", 11, 2021)[::3] == (40300.0, "gdp_2022.csv")
    assert _value(together, "gdp", 12, 2021)[::3] == (15695.0, "zz_gdp.csv")

    apart = tmp_path / "apart.duckdb"
    base = write_good_landing(tmp_path / "base")
    (base / "gdp.csv").rename(base / "zz_gdp.csv")
    load_landing(base, apart, vintage="v")
    load_landing(_next_vintage(tmp_path / "v2022"), apart, vintage="v")
    sql = ("SELECT indicator_code, unit_code, year, value, reported_value, source_file "
           "FROM raw.observations ORDER BY ALL")
    assert _query(together, sql) == _query(apart, sql)
    rev = "SELECT indicator_code, unit_code, year, old_value, new_value, old_source_file, new_source_file " \
          "FROM raw.revisions ORDER BY ALL"
    assert _query(together, rev) == _query(apart, rev)


def test_failure_inside_the_transaction_rolls_back(tmp_path, monkeypatch):
    warehouse = tmp_path / "wh.duckdb"
    load_landing(write_good_landing(tmp_path / "base"), warehouse)
    before = snapshot(warehouse)
    real = loader._write_log

    def broken(con, *args):  # observations and revisions are written, then the log fails
        real(con, *args)
        con.execute("INSERT INTO raw.load_log (batch_id) VALUES (NULL)")

    monkeypatch.setattr(loader, "_write_log", broken)
    with pytest.raises(duckdb.Error):
        load_landing(_next_vintage(tmp_path / "v2022"), warehouse)
    assert snapshot(warehouse) == before
    fresh = tmp_path / "fresh.duckdb"
    with pytest.raises(duckdb.Error):
        load_landing(write_good_landing(tmp_path / "other"), fresh)
    assert not fresh.exists() and not (tmp_path / "fresh.duckdb.wal").exists()


def test_cli_load_and_status(tmp_path, capsys):
    warehouse = tmp_path / "wh.duckdb"
    good = write_good_landing(tmp_path / "good")
    assert main(["load", str(good), "--warehouse", str(warehouse)]) == 0
    out = capsys.readouterr().out
    assert "files loaded: 3" in out and "vintage: synthetic test extracts" in out

    bad = tmp_path / "bad"
    bad.mkdir()
    write_csv(bad / "gdp.csv", gdp_rows(河北省=["x", "1", "2"]))
    before = snapshot(warehouse)
    assert main(["load", str(bad), "--warehouse", str(warehouse)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "gdp.csv, line 7: non-numeric value 'x' in column 2021年" in err
    assert snapshot(warehouse) == before

    assert main(["status", "--warehouse", str(warehouse)]) == 0
    out = capsys.readouterr().out
    assert "raw.observations 45 rows" in out and "provinces x years: 5 x 3 (2019-2021)" in out
    assert "missing cells: 3" in out and "vintage 'synthetic test extracts'" in out


def test_cli_load_is_refused_while_a_refresh_holds_the_warehouse(tmp_path, capsys):
    from warehouse.publish import refresh_lock

    warehouse = tmp_path / "wh.duckdb"
    good = write_good_landing(tmp_path / "good")
    with refresh_lock(warehouse, "the-refresh"):
        assert main(["load", str(good), "--warehouse", str(warehouse)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: another refresh (pid ") and "run the-refresh) holds" in err
    assert not warehouse.exists()
    assert main(["load", str(good), "--warehouse", str(warehouse)]) == 0  # lock released


def test_status_reports_marts_results_and_latest_run(tmp_path):
    from warehouse.results_store import ensure_schema

    warehouse = tmp_path / "wh.duckdb"
    assert "no warehouse file yet" in describe_warehouse(warehouse)
    load_landing(write_good_landing(tmp_path / "good"), warehouse)
    con = duckdb.connect(str(warehouse))
    ensure_schema(con)
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.analysis_panel AS SELECT 11 AS unit_code, 2021 AS year")
    con.execute("INSERT INTO results.runs (run_id, status, vintage, started_at) "
                "VALUES ('r1', 'success', 'v1', TIMESTAMP '2024-01-01'), ('r2', 'failed', 'v2', TIMESTAMP '2024-02-01')")
    con.close()
    text = describe_warehouse(warehouse)
    assert "marts: 1 tables (marts.analysis_panel 1)" in text
    assert "results.runs 2" in text and "latest run: r2 (failed), vintage 'v2'" in text


@pytest.mark.skipif(not (SAMPLE_BASE_DIR.is_dir() and SAMPLE_NEXT_VINTAGE_DIR.is_dir()),
                    reason="the bundled synthetic sample (sample/base, sample/vintage_2022) is not generated yet")
def test_bundled_sample_then_next_vintage(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    start = time.perf_counter()
    base = load_landing(SAMPLE_BASE_DIR, warehouse)
    elapsed = time.perf_counter() - start
    assert "synthetic" in base.vintage.lower() and "synthetic" in base.describe().lower()
    assert len(base.provinces) == 31 and set(range(2013, 2022)) <= set(base.years)
    assert 1984 in base.years  # the fixed-telephone cross-section
    assert elapsed < 20, elapsed
    nxt = load_landing(SAMPLE_NEXT_VINTAGE_DIR, warehouse)
    assert 2022 in nxt.years and nxt.revisions > 0
    n_rev, n_2021 = _query(warehouse, "SELECT count(*), count(*) FILTER (year = 2021) FROM raw.revisions")[0]
    assert n_rev == nxt.revisions and n_2021 > 0
    # every revision's new value is what raw.observations now holds
    assert _query(warehouse, "SELECT count(*) FROM raw.revisions r JOIN raw.observations o "
                             "USING (indicator_code, unit_code, year) WHERE o.value IS DISTINCT FROM r.new_value") \
        == [(0,)]
    before = snapshot(warehouse)
    assert load_landing(SAMPLE_NEXT_VINTAGE_DIR, warehouse).files_loaded == []
    assert snapshot(warehouse) == before


def test_locked_warehouse_is_reported_as_busy(tmp_path):
    import subprocess
    import sys

    from warehouse.errors import WarehouseBusyError

    warehouse = tmp_path / "wh.duckdb"
    load_landing(write_good_landing(tmp_path / "good"), warehouse)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('locked', flush=True); time.sleep(60)", str(warehouse)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(WarehouseBusyError, match="cannot open warehouse"):
            load_landing(_next_vintage(tmp_path / "v2022"), warehouse)
    finally:
        holder.kill()
        holder.wait()
