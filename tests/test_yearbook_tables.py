"""Issue 16: statistical-yearbook tables (one year, many indicators; CNKI copies, encrypted,
disguised; multi-year one-indicator tables), mapped through the manifest. Fixtures made by
tests/fixtures/make_yearbook_fixtures.py."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import duckdb
import pytest

from extract_factory import assert_refused, nbs_rows, snapshot, write_csv
from flows.cli import main
from warehouse.errors import ExtractError
from warehouse.extracts import parse_extract
from warehouse.extracts.manifest import read_manifest
from warehouse.extracts.model import ParseContext
from warehouse.loader import load_landing
from warehouse.reference import load_reference

FIXTURES = Path(__file__).parent / "fixtures" / "yearbook"
FOUR = {"地方一般公共预算支出": "fiscal_expenditure", "教育支出": "fiscal_exp_education",
        "科学技术支出": "fiscal_exp_science", "社会保障和就业支出": "fiscal_exp_social_security"}
FILES = ["yb_7-6_2021.xls", "yb_7-6_2022_cnki.xls", "yb_7-6_2023_cnki.xlsx"]
PROVINCE_CODES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
                  53, 54, 61, 62, 63, 64, 65]


def _generator():
    spec = importlib.util.spec_from_file_location("make_yearbook_fixtures",
                                                  FIXTURES.parent / "make_yearbook_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _manifest(files) -> str:
    lines = ["file,indicator,unit,column"]
    lines += [f"{f},{code},,{column}" for f in files for column, code in FOUR.items()]
    return "\n".join(lines) + "\n"


def _landing(tmp_path, files, manifest=None, folder="landing"):
    landing = tmp_path / folder
    landing.mkdir()
    for name in files:
        shutil.copy(FIXTURES / name, landing / name)
    if manifest:
        (landing / "manifest.csv").write_text(manifest, encoding="utf-8")
    return landing


def _parse(path, manifest_text=None, tmp_path=None):
    ref = load_reference()
    context = ParseContext(ref)
    if manifest_text:
        m = tmp_path / "manifest.csv"
        m.write_text(manifest_text, encoding="utf-8")
        context = ParseContext(ref, read_manifest(m, ref))
    return parse_extract(path, context)


def test_table_7_6_of_three_years_gives_the_four_budget_series(tmp_path, capsys):
    """The issue's acceptance case: 2021 .xls, 2022 encrypted CNKI .xls, 2023 CNKI .xlsx."""
    landing = _landing(tmp_path, FILES, _manifest(FILES))
    warehouse = tmp_path / "wh.duckdb"
    assert main(["inspect", str(landing), "--warehouse", str(warehouse)]) == 0
    out = capsys.readouterr().out
    assert "yb_7-6_2022_cnki.xls\n  format: yearbook-xls-encrypted" in out
    assert ("mapped columns: 地方一般公共预算支出 -> fiscal_expenditure; 教育支出 -> fiscal_exp_education; "
            "科学技术支出 -> fiscal_exp_science; 社会保障和就业支出 -> fiscal_exp_social_security") in out
    assert "unmapped columns (not loaded; map them with a manifest row file,indicator,unit,column): " \
           "一般公共服务支出; 公共安全支出; 文化旅游体育与传媒支出" in out
    assert not warehouse.exists()

    summary = load_landing(landing, warehouse)
    assert summary.indicators == sorted(FOUR.values()) and summary.years == [2021, 2022, 2023]
    assert summary.provinces == PROVINCE_CODES and summary.cells == 4 * 31 * 3 and summary.cells_missing == 0
    assert summary.unmapped_columns == 9
    gen = _generator()
    cols = {"fiscal_expenditure": 0, "fiscal_exp_education": 3, "fiscal_exp_science": 4,
            "fiscal_exp_social_security": 6}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        got = {(i, u, y): v for i, u, y, v in con.execute(
            "SELECT indicator_code, unit_code, year, value FROM raw.observations").fetchall()}
        log = con.execute("SELECT file_name, format, unmapped_columns, unmapped, manifest FROM raw.load_log "
                          "ORDER BY file_name").fetchall()
    assert len(got) == 372
    for year in (2021, 2022, 2023):
        table = gen.values(year)
        for p, code in enumerate(PROVINCE_CODES):
            for ind, col in cols.items():
                assert got[ind, code, year] == table[p][col], (ind, code, year)
    assert [(f, fmt, n) for f, fmt, n, _, _ in log] == [
        ("yb_7-6_2021.xls", "yearbook-xls", 3), ("yb_7-6_2022_cnki.xls", "yearbook-xls-encrypted", 3),
        ("yb_7-6_2023_cnki.xlsx", "yearbook-xlsx", 3)]
    assert log[0][3] == "一般公共服务支出 | 公共安全支出 | 文化旅游体育与传媒支出"
    assert log[0][4].startswith("line 2: indicator=fiscal_expenditure column=地方一般公共预算支出")


def test_html_and_xlsx_disguised_as_xls_are_read_by_content(tmp_path):
    manifest = _manifest(["yb_7-6_2023_cnki.xlsx", "yb_7-6_2023_html.xls", "yb_7-6_2023_xlsx_named.xls"])
    parsed = {name: _parse(FIXTURES / name, manifest, tmp_path) for name in
              ("yb_7-6_2023_cnki.xlsx", "yb_7-6_2023_html.xls", "yb_7-6_2023_xlsx_named.xls")}
    assert parsed["yb_7-6_2023_html.xls"].container == "html"
    assert parsed["yb_7-6_2023_xlsx_named.xls"].container == "xlsx"
    records = [sorted(r[:7] for r in p.records) for p in parsed.values()]
    assert records[0] == records[1] == records[2] and len(records[0]) == 4 * 31


def test_numbers_as_text_with_thousands_separators(tmp_path):
    parsed = _parse(FIXTURES / "yb_7-6_2023_cnki.xlsx", _manifest(["yb_7-6_2023_cnki.xlsx"]), tmp_path)
    gen = _generator()
    guangdong = {(r[0], r[1]): (r[3], r[5]) for r in parsed.records}["fiscal_expenditure", 44]
    assert guangdong == (gen.values(2023)[18][0],) * 2 and guangdong[0] > 1000  # written as '1,234.56'


def test_multi_year_one_indicator_table():
    parsed = _parse(FIXTURES / "yb_rd_multiyear.xls")
    assert parsed.indicator_codes == ["rd_expenditure"] and parsed.indicator_source == "title"
    assert parsed.years == set(range(2017, 2022)) and parsed.rows == 31 and parsed.notes == []
    assert len(parsed.records) == 155  # the 全国 / National Total row is a check, not a unit


def _yearbook_csv(path, title="表 7-6  分地区一般公共预算支出 (2021年)", total="地方合计", total_value="300.00"):
    rows = [[title], [], ["", "", "单位：亿元"], ["地    区", "地方一般公", "教育支出"], ["", "共预算支出", ""],
            [total, total_value, "30.00"], [" 北  京", "100.00", "10.00"], ["天    津", "200.00", "20.00"]]
    write_csv(path, rows, "gbk")
    return path


def test_total_row_checks_the_sum_of_a_complete_table(tmp_path):
    ok = _parse(_yearbook_csv(tmp_path / "partial.csv", total_value="999.00"))
    assert ok.notes == []  # two provinces only: the table is not complete, no check
    assert ok.format == "yearbook" and {r[1] for r in ok.records} == {11, 12}


def test_yearbook_and_export_agree_within_rounding_else_conflict(tmp_path):
    gen = _generator()
    table = gen.values(2021)
    landing = _landing(tmp_path, ["yb_7-6_2021.xls"])
    rounded = {"北京市": [f"{table[0][0]:.1f}"], "天津市": [f"{table[1][0]:.1f}"]}  # the export prints one decimal
    write_csv(landing / "nbs_fiscal_expenditure.csv", nbs_rows("地方一般公共预算支出(亿元)", [2021], rounded))
    warehouse = tmp_path / "wh.duckdb"
    summary = load_landing(landing, warehouse)
    assert summary.revisions == 0
    with duckdb.connect(str(warehouse), read_only=True) as con:  # the finer (yearbook) value is kept
        assert con.execute("SELECT value, source_file FROM raw.observations WHERE indicator_code = "
                           "'fiscal_expenditure' AND unit_code = 11").fetchone() == (table[0][0], "yb_7-6_2021.xls")
    bad = _landing(tmp_path, ["yb_7-6_2021.xls"], folder="bad")
    off = {"北京市": [f"{table[0][0] + 0.3:.1f}"]}
    write_csv(bad / "nbs_fiscal_expenditure.csv", nbs_rows("地方一般公共预算支出(亿元)", [2021], off))
    before = snapshot(tmp_path / "other.duckdb")
    with pytest.raises(ExtractError, match=r"nbs_fiscal_expenditure.csv, line 5: conflicting values for "
                                           r"fiscal_expenditure, unit 11, year 2021.*yb_7-6_2021.xls line \d+"):
        load_landing(bad, tmp_path / "other.duckdb")
    assert before is None and not (tmp_path / "other.duckdb").exists()


# --------------------------------------------------------------------------- refusals

@pytest.fixture()
def loaded(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    load_landing(_landing(tmp_path, ["yb_rd_multiyear.xls"], folder="base"), warehouse)
    return warehouse


def test_wrong_password_is_refused(loaded, tmp_path):
    assert_refused(loaded, _landing(tmp_path, ["yb_7-6_2021_other_password.xlsx"]),
             r"yb_7-6_2021_other_password.xlsx: the workbook is encrypted with a password other than Excel's default")


def test_manifest_column_that_no_header_matches(loaded, tmp_path):
    manifest = "file,indicator,unit,column\nyb_7-6_2021.xls,fiscal_exp_science,,科学技术支出合计\n"
    assert_refused(loaded, _landing(tmp_path, ["yb_7-6_2021.xls"], manifest),
             r"yb_7-6_2021.xls: manifest.csv line 2: column '科学技术支出合计' matches no header of the table",
             r"headers: .*科学技术支出")


def test_year_neither_in_title_nor_in_manifest(loaded, tmp_path):
    landing = tmp_path / "noyear"
    landing.mkdir()
    _yearbook_csv(landing / "budget.csv", title="表 7-6  分地区一般公共预算支出")
    assert_refused(loaded, landing, r"budget.csv, line 4: yearbook table without a year: the title gives none; add a year "
                              r"column to its manifest.csv rows")
    (landing / "manifest.csv").write_text("file,indicator,unit,column,year\nbudget.csv,fiscal_expenditure,,"
                                          "地方一般公共预算支出,2021\n", encoding="utf-8")
    summary = load_landing(landing, loaded)
    assert summary.years == [2021] and summary.unmapped_columns == 1  # 教育支出 is not mapped here


def test_total_row_mismatch_of_a_complete_table_is_reported(tmp_path):
    gen = _generator()
    rows = [["7-6  分地区一般公共预算支出 (2021年)"], ["单位：亿元"], ["地    区", "地方一般公共预算支出"],
            ["地方合计", "1000.00"]]  # far from the sum of the 31 provinces
    rows += [[name, f"{v[0]:.2f}"] for (name, _), v in zip(gen.PROVINCES, gen.values(2021))]
    parsed = _parse(write_csv(tmp_path / "t.csv", rows, "gbk"))
    total = sum(round(v[0], 2) for v in gen.values(2021))
    assert parsed.notes == [f"line 4: the total row gives 1000 亿元 for fiscal_expenditure 2021, but the 31 "
                            f"provinces add up to {total:.6g}"]
    rows[3][1] = f"{total:.2f}"
    assert _parse(write_csv(tmp_path / "t2.csv", rows, "gbk")).notes == []


def test_census_table_with_four_header_rows_and_the_unit_in_another_column(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in [["表 1-3  各地区人口（2020年）"], ["地    区", "常住人口", None, None, "单位：人"],
                [None, "年末", None, "家庭户"], [None, "常住", "城镇", "户数"], [None, "人口", "人口", None],
                ["全  国", 3000000, 2000000, 9], ["北  京", 1000000, 900000, 4], ["天  津", 2000000, 1100000, 5]]:
        ws.append(row)
    ws.merge_cells("A2:A5")  # 地区 over the four header rows
    ws.merge_cells("B2:D2")  # the group header over three columns
    wb.save(tmp_path / "census.xlsx")
    manifest = "file,indicator,unit,column\ncensus.xlsx,population,,常住人口年末常住人口\n"
    parsed = _parse(tmp_path / "census.xlsx", manifest, tmp_path)
    assert parsed.mapped_columns == {"常住人口年末常住人口": "population"}
    assert parsed.unmapped_columns == ["常住人口城镇人口", "常住人口家庭户户数"]
    assert {(r[1], r[2]): r[3] for r in parsed.records} == {(11, 2020): 100.0, (12, 2020): 200.0}  # 人 -> 万人


def test_xlsx_encrypted_with_the_default_password_and_named_xls(tmp_path):
    import io

    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    with open(FIXTURES / "yb_7-6_2023_cnki.xlsx", "rb") as fh:
        OOXMLFile(fh).encrypt("VelvetSweatshop", out)
    (tmp_path / "cnki_2023.xls").write_bytes(out.getvalue())
    parsed = _parse(tmp_path / "cnki_2023.xls", _manifest(["cnki_2023.xls"]), tmp_path)
    plain = _parse(FIXTURES / "yb_7-6_2023_cnki.xlsx", _manifest(["yb_7-6_2023_cnki.xlsx"]), tmp_path)
    assert parsed.container == "xlsx-encrypted" and parsed.format_label == "yearbook-xlsx-encrypted"
    assert sorted(r[:7] for r in parsed.records) == sorted(r[:7] for r in plain.records)
