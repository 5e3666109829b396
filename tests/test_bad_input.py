"""Every bad-input case of the loader: a clear error naming file, line and reason, and a
warehouse left exactly as it was (or not created at all).

Each test loads a good batch first, then a landing folder holding the good files (already
loaded, so unchanged) plus one bad file, and compares every table's contents before/after.
"""
from __future__ import annotations

import shutil

import pytest

from extract_factory import (assert_refused, cnrds_rows, gdp_rows, panel_rows, snapshot, write_csv,
                             write_good_landing, write_xlsx)
from warehouse.loader import ExtractErrors, load_landing


@pytest.fixture()
def loaded(tmp_path):
    """(warehouse, bad_dir): a warehouse holding the good batch; bad_dir = copy of the good batch."""
    good = write_good_landing(tmp_path / "good")
    warehouse = tmp_path / "wh.duckdb"
    load_landing(good, warehouse)
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    return warehouse, bad


def test_unknown_province_name(loaded):
    warehouse, bad = loaded
    rows = gdp_rows()
    rows.insert(9, ["火星省", "1", "2", "3"])  # after Tibet on line 9 -> line 10
    write_csv(bad / "gdp_2.csv", rows)
    assert_refused(warehouse, bad, r"unknown province name '火星省'", file="gdp_2.csv", line=10)


def test_unrecognised_indicator_line(loaded):
    warehouse, bad = loaded
    rows = gdp_rows()
    rows[1] = ["指标：火星生产总值(亿元)"]
    write_csv(bad / "mars.csv", rows)
    assert_refused(warehouse, bad, r"unrecognised 指标 line", "火星生产总值", file="mars.csv", line=2)


def test_indicator_line_without_unit(loaded):
    warehouse, bad = loaded
    rows = gdp_rows()
    rows[1] = ["指标：地区生产总值"]
    write_csv(bad / "nounit.csv", rows)
    assert_refused(warehouse, bad, r"unrecognised 指标 line .*<name>\(<unit>\)", file="nounit.csv", line=2)


def test_unknown_unit(loaded):
    warehouse, bad = loaded
    rows = gdp_rows()
    rows[1] = ["指标：地区生产总值(万美元)"]
    write_csv(bad / "gdp_usd.csv", rows)
    assert_refused(warehouse, bad, r"unknown unit '万美元' for indicator gdp \(expected '亿元' or a known variant",
           file="gdp_usd.csv", line=2)


def test_unknown_unit_in_cnrds_label(loaded):
    warehouse, bad = loaded
    rows = panel_rows()
    rows[1][2] = "电子商务销售额(斤)"
    write_csv(bad / "panel_2.csv", rows)
    assert_refused(warehouse, bad, r"unknown unit '斤' for indicator ecommerce_sales", file="panel_2.csv", line=2)


def test_duplicate_province_year_in_nbs_file(loaded):
    warehouse, bad = loaded
    rows = gdp_rows()
    rows.insert(9, ["北京", "1", "2", "3"])  # alias of 北京市 (line 5), on line 10
    write_csv(bad / "gdp_dup.csv", rows)
    assert_refused(warehouse, bad, r"duplicate unit-year", r"line 5", file="gdp_dup.csv", line=10)


def test_duplicate_province_year_in_cnrds_file(loaded):
    warehouse, bad = loaded
    rows = panel_rows()
    rows.append(["Beijing", 2020, 1, 2])  # Beijing 2020 is on line 3
    write_csv(bad / "panel_dup.csv", rows, "utf-8-sig")
    assert_refused(warehouse, bad, r"duplicate unit-year", r"line 3", file="panel_dup.csv", line=13)


def test_conflicting_values_across_files_of_one_batch(tmp_path):
    landing = tmp_path / "batch"
    landing.mkdir()
    write_csv(landing / "a_gdp.csv", gdp_rows())
    write_xlsx(landing / "b_gdp.xlsx", gdp_rows(天津市=["15700.0", "14008.0", "14055.5"]))  # same latest year
    warehouse = tmp_path / "wh.duckdb"
    # the finer value (15695.0, one decimal) is the reference; the coarser .xlsx cell conflicts with it
    err = assert_refused(warehouse, landing, r"conflicting values for gdp, unit 12, year 2021",
                 r"15700 亿元 here vs 15695 亿元 in a_gdp\.csv line 6", file="b_gdp.xlsx", line=6)
    assert err.file.endswith("b_gdp.xlsx")
    assert not warehouse.exists()  # the load failed: no warehouse file left behind


def test_non_numeric_cell(loaded):
    warehouse, bad = loaded
    write_csv(bad / "gdp_text.csv", gdp_rows(河北省=["40391.3", "abc", "34978.6"]))
    assert_refused(warehouse, bad, r"non-numeric value 'abc' in column 2020年", file="gdp_text.csv", line=7)


def test_unparseable_year_header(loaded):
    warehouse, bad = loaded
    rows = gdp_rows()
    rows[3][2] = "2020年度"
    write_csv(bad / "gdp_hdr.csv", rows)
    assert_refused(warehouse, bad, r"unparseable year header '2020年度' in column 3", file="gdp_hdr.csv", line=4)


def test_empty_file(loaded):
    warehouse, bad = loaded
    (bad / "empty.csv").write_bytes(b"")
    assert_refused(warehouse, bad, r"empty.csv: file is empty", file="empty.csv")


def test_header_only_file(loaded):
    warehouse, bad = loaded
    write_csv(bad / "header_only.csv", gdp_rows()[:4])
    assert_refused(warehouse, bad, r"no data rows after the header", file="header_only.csv", line=4)


def test_truncated_csv(loaded):
    warehouse, bad = loaded
    data = write_csv(bad / "cut.csv", gdp_rows()).read_bytes()
    cut = data.index("40391.3".encode()) + len("40391.3")  # Hebei's row, line 7, cut after one value
    (bad / "cut.csv").write_bytes(data[:cut])
    assert_refused(warehouse, bad, r"truncated row: 2 cells but the header has 4", file="cut.csv", line=7)


def test_truncated_cnrds_panel(loaded):
    warehouse, bad = loaded
    write_csv(bad / "panel_cut.csv", cnrds_rows(["gdp"], ["地区生产总值(亿元)"], [])[:1])
    assert_refused(warehouse, bad, r"without its second header row", file="panel_cut.csv", line=1)


def test_truncated_xlsx(loaded, tmp_path):
    warehouse, bad = loaded
    data = write_xlsx(tmp_path / "whole.xlsx", gdp_rows()).read_bytes()
    (bad / "cut.xlsx").write_bytes(data[: len(data) // 2])
    assert_refused(warehouse, bad, r"not a readable \.xlsx workbook", file="cut.xlsx")


def test_undecodable_encoding(loaded):
    warehouse, bad = loaded
    data = write_csv(bad / "mangled.csv", gdp_rows()).read_bytes()
    offset = data.index("天津市".encode("gbk"))  # line 6
    (bad / "mangled.csv").write_bytes(data[:offset] + b"\xff" + data[offset + 1:])
    assert_refused(warehouse, bad, r"undecodable encoding", rf"byte 0xff at byte offset {offset}",
           file="mangled.csv", line=6)


def test_utf16_file_is_undecodable(loaded):
    warehouse, bad = loaded
    write_csv(bad / "utf16.csv", gdp_rows(), "utf-16")
    assert_refused(warehouse, bad, r"undecodable encoding", r"byte offset 0", file="utf16.csv", line=1)


def test_unrecognised_format(loaded):
    warehouse, bad = loaded
    write_csv(bad / "notes.csv", [["some", "table"], ["1", "2"]])
    assert_refused(warehouse, bad, r"unrecognised extract format", file="notes.csv", line=1)


def test_one_bad_file_among_new_good_ones_leaves_every_raw_table_unchanged(loaded):
    warehouse, bad = loaded
    # New good files (not loaded yet) plus one bad: nothing at all may be written.
    write_csv(bad / "gdp_2022.csv", [row[:] for row in gdp_rows()], "utf-8-sig")
    rows = gdp_rows()
    rows[3] = ["地区", "2022年", "2021年", "2020年"]
    write_csv(bad / "gdp_next.csv", rows)
    write_csv(bad / "zz_bad.csv", gdp_rows(北京市=["40269.6", "36102.6", "n.a."]))
    before = snapshot(warehouse)
    assert before["raw.observations"] and before["raw.load_log"]
    assert_refused(warehouse, bad, r"zz_bad.csv, line 5: non-numeric value 'n.a.'")
    assert snapshot(warehouse) == before


def test_every_bad_file_is_reported_and_no_warehouse_is_created(tmp_path):
    landing = write_good_landing(tmp_path / "landing")
    write_csv(landing / "x_bad.csv", gdp_rows(天津市=["1", "2", "oops"]))
    (landing / "y_empty.xlsx").write_bytes(b"")
    warehouse = tmp_path / "sub" / "wh.duckdb"
    with pytest.raises(ExtractErrors) as err:
        load_landing(landing, warehouse)
    message = str(err.value)
    assert "2 problems" in message and "x_bad.csv, line 6" in message and "y_empty.xlsx" in message
    assert not warehouse.exists()
