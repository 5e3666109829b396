"""Issue 10 (ingest): implausible values stopped at load, undo of a load batch, files in the
landing folder (symlinks, vintage.txt, contents never printed). Every refusal names file, line
and reason and leaves the warehouse exactly as it was."""
from __future__ import annotations

import os
import shutil

import duckdb
import pytest

from extract_factory import assert_refused, gdp_rows, nbs_rows, population_rows, snapshot, write_csv, write_good_landing
from flows.cli import main
from warehouse.errors import ExtractError, ResilienceError
from warehouse.landing import vintage_year
from warehouse.loader import load_landing, unload_batch
from warehouse.status import describe_warehouse


@pytest.fixture()
def loaded(tmp_path):
    """(warehouse, landing): the good batch loaded; landing = a copy of it to add a bad file to."""
    good = write_good_landing(tmp_path / "good", vintage="2022 yearbook (test)")
    warehouse = tmp_path / "wh.duckdb"
    load_landing(good, warehouse)
    landing = tmp_path / "next"
    shutil.copytree(good, landing)
    return warehouse, landing


def _rows(warehouse, sql):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


# --------------------------------------------------------------------------- plausibility

def test_value_outside_the_plausible_range(loaded):
    warehouse, landing = loaded
    write_csv(landing / "gdp_huge.csv", gdp_rows(北京市=["1e30", "36102.6", "35445.1"]))
    assert_refused(warehouse, landing, r"gdp_huge.csv, line 5: implausible gdp for unit 11, 2021: 1e\+30 亿元 is outside "
                                 r"the plausible range \[0, 500000\] of indicators.csv")


def test_non_finite_number_is_refused_at_parse_time(loaded):
    warehouse, landing = loaded
    write_csv(landing / "gdp_inf.csv", gdp_rows(天津市=["1e400", "14008.0", "14055.5"]))
    assert_refused(warehouse, landing, r"gdp_inf.csv, line 6: non-finite number '1e400' in column 2021年")


def test_negative_population(loaded):
    warehouse, landing = loaded
    rows = population_rows()
    rows[5][1] = "-1373"
    write_csv(landing / "pop_neg.csv", rows)
    assert_refused(warehouse, landing, r"pop_neg.csv, line 6: implausible population for unit 12, 2021: -1373 万人 is negative")


def test_years_outside_1949_to_the_vintage_year_plus_one(loaded):
    warehouse, landing = loaded
    rows = nbs_rows("地区生产总值(亿元)", [2035, 2021], {"北京市": ["1", "40269.6"]})
    write_csv(landing / "gdp_2035.csv", rows)
    assert_refused(warehouse, landing, r"gdp_2035.csv, line 4: year 2035 in column 2 is outside \[1949, 2023\] "
                                 r"\(the vintage year \+ 1\)")
    (landing / "gdp_2035.csv").unlink()
    write_csv(landing / "gdp_1948.csv", nbs_rows("地区生产总值(亿元)", [1948], {"北京市": ["1"]}))
    assert_refused(warehouse, landing, r"gdp_1948.csv, line 4: year 1948 in column 2 is outside \[1949, 2023\]")


def test_vintage_year_is_the_labels_latest_year_else_the_load_date():
    from datetime import datetime

    assert vintage_year("China Statistical Yearbook 2023 (data to 2022)") == 2023
    assert vintage_year("synthetic sample, yearbooks 2014-2022 (seed 20240601)") == 2022
    assert vintage_year("my download", datetime(2026, 3, 1)) == 2026
    assert vintage_year(None, datetime(2027, 1, 1)) == 2027


def test_unit_mislabel_by_a_power_of_ten_is_refused(loaded):
    warehouse, landing = loaded
    rows = gdp_rows()
    rows[1] = ["指标：地区生产总值(万元)"]  # 亿元 numbers labelled 万元: every value 10,000 times too small
    rows[3] = ["地区", "2022年", "2021年", "2020年"]
    write_csv(landing / "gdp_wan.csv", rows)
    assert_refused(warehouse, landing, r"gdp_wan.csv, line 5: probable unit mislabel: gdp, unit 11, 2021 is 3.61026 here "
                                 r"but 40269.6 as loaded from gdp.csv, about 10\^4 \(10,000\) times smaller; is the "
                                 r"unit \(万元\) right\?")


def test_large_revision_needs_accept_revisions_and_is_shown(loaded, capsys):
    warehouse, landing = loaded
    rows = nbs_rows("地区生产总值(亿元)", [2022, 2021], {"北京市": ["62000.0", "56377.4"]})  # 2021: +40%
    write_csv(landing / "gdp_2022.csv", rows)
    assert_refused(warehouse, landing, r"gdp_2022.csv, line 5: large revision of gdp, unit 11, 2021: 40269.6 \(gdp.csv\) -> "
                                 r"56377.4 \(\+40%, beyond 25%\).*--accept-revisions")
    assert main(["inspect", str(landing), "--warehouse", str(warehouse)]) == 0
    out = capsys.readouterr().out
    assert "large revisions (beyond 25%; a load needs --accept-revisions): 1" in out
    assert "gdp 11 2021: 40269.6 -> 56377.4 (+40%) in gdp_2022.csv line 5" in out
    assert main(["load", str(landing), "--warehouse", str(warehouse), "--accept-revisions"]) == 0
    assert "revisions recorded: 1 (1 large, accepted)" in capsys.readouterr().out
    assert "gdp by '2022 yearbook (test)': 1, largest 40.0%, 1 large" in describe_warehouse(warehouse)


def test_implausible_year_on_year_change_of_an_index_series(loaded):
    warehouse, landing = loaded
    write_csv(landing / "gdp_index.csv", nbs_rows("地区生产总值指数(上年=100)", [2021, 2020, 2019],
                                                  {"北京市": ["108.5", "161.2", "106.1"]}))
    assert_refused(warehouse, landing, r"gdp_index.csv, line 5: implausible year-on-year change of gdp_index, unit 11: "
                                 r"106.1 in 2019 to 161.2 in 2020 \(more than 40")


# --------------------------------------------------------------------------- undo

def _next_vintage(folder):
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "gdp_2022.csv", nbs_rows("地区生产总值(亿元)", [2022, 2021], {
        "北京市": ["41610.9", "40300.0"], "天津市": ["16311.3", "…"], "河北省": ["42370.4", "40391.3"]}))
    return folder


def _observations(warehouse):
    return _rows(warehouse, "SELECT indicator_code, unit_code, year, value, reported_value, reported_unit, "
                            "source_file, source_line, vintage, loaded_at, batch_id FROM raw.observations ORDER BY ALL")


def test_unload_restores_revised_values_and_removes_new_cells(tmp_path, capsys):
    warehouse = tmp_path / "wh.duckdb"
    load_landing(write_good_landing(tmp_path / "base"), warehouse)
    before = _observations(warehouse)
    summary = load_landing(_next_vintage(tmp_path / "v2022"), warehouse)
    assert summary.revisions == 1 and summary.inserted == 3
    assert main(["unload", summary.batch_id, "--warehouse", str(warehouse)]) == 0
    assert capsys.readouterr().out.startswith(f"batch {summary.batch_id} unloaded (1 files: gdp_2022.csv): "
                                              "3 cells removed, 1 revised values restored")
    assert _observations(warehouse) == before
    assert _rows(warehouse, "SELECT count(*) FROM raw.revisions") == [(0,)]
    assert _rows(warehouse, f"SELECT note FROM raw.load_log WHERE batch_id = '{summary.batch_id}'") == [
        ("unloaded: 3 cells removed, 1 revised values restored",)]
    assert "(unloaded " in describe_warehouse(warehouse)
    again = load_landing(tmp_path / "v2022", warehouse)  # an unloaded file can be loaded again
    assert again.files_loaded == ["gdp_2022.csv"] and again.revisions == 1


def test_unload_is_refused_while_a_later_batch_revised_its_cells_unless_forced(tmp_path, capsys):
    warehouse = tmp_path / "wh.duckdb"
    first = load_landing(write_good_landing(tmp_path / "base"), warehouse)
    second = load_landing(_next_vintage(tmp_path / "v2022"), warehouse)
    before = snapshot(warehouse)
    with pytest.raises(ResilienceError, match=rf"batch {first.batch_id} cannot be unloaded: later batches revised its "
                                              rf"values: {second.batch_id} \(1 cells\)"):
        unload_batch(warehouse, first.batch_id)
    assert snapshot(warehouse) == before
    assert main(["unload", first.batch_id, "--warehouse", str(warehouse)]) == 1
    assert "--force" in capsys.readouterr().err
    forced = unload_batch(warehouse, first.batch_id, force=True)
    assert forced.kept_later == 1 and forced.restored == 0
    # only the later batch's own cells remain: Beijing 2021 as it revised it, and its 2022 values
    # (Hebei 2021, which it repeated unchanged, was the first batch's cell and goes with it)
    assert _rows(warehouse, "SELECT indicator_code, unit_code, year, value FROM raw.observations ORDER BY ALL") == [
        ("gdp", 11, 2021, 40300.0), ("gdp", 11, 2022, 41610.9), ("gdp", 12, 2022, 16311.3),
        ("gdp", 13, 2022, 42370.4)]
    unload_batch(warehouse, second.batch_id)  # the cell it revised came from an unloaded batch: it goes too
    assert _rows(warehouse, "SELECT count(*) FROM raw.observations") == [(0,)]


def test_unload_of_an_unknown_batch(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    load_landing(write_good_landing(tmp_path / "base"), warehouse)
    with pytest.raises(ResilienceError, match="batch 'nope' is not in raw.load_log"):
        unload_batch(warehouse, "nope")


# --------------------------------------------------------------------------- files

def test_symlink_to_a_file_outside_the_landing_folder_is_refused_without_printing_it(loaded):
    warehouse, landing = loaded
    os.symlink("/etc/passwd", landing / "passwd.csv")
    message = str(assert_refused(warehouse, landing, r"passwd.csv: is a symbolic link to a file outside the landing folder; "
                                           r"refused", error=ExtractError))
    assert "root:x:0" not in message


def test_symlink_inside_the_landing_folder_is_followed(tmp_path):
    landing = write_good_landing(tmp_path / "landing")
    (landing / "sub").mkdir()
    (landing / "gdp.csv").rename(landing / "sub" / "gdp_real.csv")
    os.symlink(landing / "sub" / "gdp_real.csv", landing / "gdp.csv")
    summary = load_landing(landing, tmp_path / "wh.duckdb")
    assert "gdp.csv" in summary.files_loaded and "gdp" in summary.indicators


def test_vintage_txt_is_validated(loaded):
    warehouse, landing = loaded
    write_csv(landing / "gdp_2.csv", nbs_rows("地区生产总值(亿元)", [2018], {"北京市": ["30000"]}))
    (landing / "vintage.txt").unlink()
    os.symlink("/etc/passwd", landing / "vintage.txt")
    message = str(assert_refused(warehouse, landing, r"vintage.txt: is a symbolic link to a file outside the landing folder"))
    assert "root:x:0" not in message
    (landing / "vintage.txt").unlink()
    (landing / "vintage.txt").write_text("line one\nline two\n", encoding="utf-8")
    assert_refused(warehouse, landing, r"vintage.txt, line 2: must hold one line \(the vintage label\), not several")
    (landing / "vintage.txt").write_text("label\x1b[31m red\n", encoding="utf-8")
    assert_refused(warehouse, landing, r"vintage.txt, line 1: the vintage label holds control characters")
    (landing / "vintage.txt").write_text("x" * 200 + "\n", encoding="utf-8")
    assert_refused(warehouse, landing, r"vintage.txt, line 1: the vintage label is longer than 120 characters")


def test_a_file_that_is_not_an_extract_is_never_quoted(loaded):
    warehouse, landing = loaded
    (landing / "notes.csv").write_text("secret-token,hunter2\nroot:x:0:0,more\n", encoding="utf-8")
    message = str(assert_refused(warehouse, landing, r"notes.csv, line 1: unrecognised extract format"))
    assert "secret-token" not in message and "hunter2" not in message and "root:x:0" not in message
