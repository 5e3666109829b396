"""Issue 11: the shapes people actually download from the NBS database (fixtures made by
tests/fixtures/make_nbs_fixtures.py), the landing manifest, vintages and `resilience inspect`."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest

from extract_factory import assert_refused, gdp_rows, snapshot, write_csv
from flows.cli import main
from warehouse.errors import ExtractError
from warehouse.extracts import parse_extract
from warehouse.extracts.manifest import read_manifest
from warehouse.extracts.model import ParseContext
from warehouse.loader import load_landing
from warehouse.reference import load_reference
from warehouse.status import describe_warehouse

FIXTURES = Path(__file__).parent / "fixtures" / "nbs"


def _landing(tmp_path, *names, manifest: str | None = None, folder="landing") -> Path:
    landing = tmp_path / folder
    landing.mkdir()
    for name in names:
        shutil.copy(FIXTURES / name, landing / name)
    if manifest is not None:
        (landing / "manifest.csv").write_text(manifest, encoding="utf-8")
    return landing


def _parse(path, manifest_text=None, tmp_path=None):
    ref = load_reference()
    context = ParseContext(ref)
    if manifest_text is not None:
        m = tmp_path / "manifest.csv"
        m.write_text(manifest_text, encoding="utf-8")
        context = ParseContext(ref, read_manifest(m, ref))
    return parse_extract(path, context)


def _cells(parsed):
    return {(r[0], r[1], r[2]): r[3] for r in parsed.records}


def test_fixture_bytes_are_the_real_shapes():
    classic = (FIXTURES / "classic_gdp_gbk_crlf.csv").read_bytes()
    assert b"\r\n" in classic and classic.count(b"\r\n") == classic.count(b"\n")
    text = classic.decode("gbk")
    assert "\r\n\u3000\u30002.2023年" in text and '"注：根据第五次全国经济普查结果,对' in text
    assert "北京市,,43760.7" in text  # 2024 empty for every province
    lf = (FIXTURES / "classic_population_gb18030_lf.csv").read_bytes()
    assert b"\r" not in lf and "指标：人口数(人口抽样调查)(人)" in lf.decode("gb18030")
    platform = (FIXTURES / "platform_gdp_2025.csv").read_bytes()
    assert platform.startswith(b"\xef\xbb\xbf\xe6\x95\xb0\xe6\x8d\xae\xe5\xba\x93") and not platform.endswith(b"\n")
    assert "数据库：分省年度数据 \r\n时间：2011年-2025年 \r\n地区\t,2025年\t," in platform.decode("utf-8-sig")
    assert "指标" not in platform.decode("utf-8-sig")
    assert all(line.endswith("\t,") for line in platform.decode("utf-8-sig").splitlines()[2:])
    assert (FIXTURES / "classic_gdp.xls").read_bytes()[:8] == bytes.fromhex("d0cf11e0a1b11ae1")  # OLE2/BIFF8


def test_classic_gbk_crlf_export_with_notes_and_an_empty_year():
    parsed = _parse(FIXTURES / "classic_gdp_gbk_crlf.csv")
    assert (parsed.format, parsed.container, parsed.encoding) == ("nbs", "csv", "gbk")
    assert parsed.indicator_codes == ["gdp"] and parsed.indicator_source == "指标 line"
    assert parsed.empty_years == [2024] and parsed.years == {2019, 2020, 2021, 2022, 2023}
    assert parsed.rows == 6 and parsed.cells == 30 and parsed.cells_missing == 0
    cells = _cells(parsed)
    assert cells["gdp", 15, 2021] == 20514.2 and cells["gdp", 44, 2023] == 135673.2


def test_indicator_name_with_parentheses_needs_an_alias_or_the_manifest(tmp_path):
    path = FIXTURES / "classic_population_gb18030_lf.csv"
    with pytest.raises(ExtractError, match=r"line 2: unrecognised 指标 line '指标：人口数\(人口抽样调查\)\(人\)'.*"
                                           r"aliases column of indicators.csv.*manifest.csv"):
        _parse(path)
    parsed = _parse(path, "file,indicator,unit\nclassic_population_gb18030_lf.csv,population,\n", tmp_path)
    assert parsed.encoding == "gbk" and parsed.indicator_source == "指标 line + manifest"
    assert parsed.empty_years == [2000, 2010]  # census years of a survey series
    cells = _cells(parsed)
    assert cells["population", 11, 2001] == 1456.0  # 14,560,000 人 = 1,456 万人 (the last group is the unit)
    assert parsed.conversions == {("population", "人"): 0.0001}


def test_platform_export_without_indicator_line(tmp_path):
    path = FIXTURES / "platform_gdp_2025.csv"
    with pytest.raises(ExtractError) as err:
        _parse(path)
    assert "add the row 'platform_gdp_2025.csv,<indicator code or 中文名>,<unit>'" in str(err.value)
    parsed = _parse(path, "file,indicator,unit\nplatform_gdp_2025.csv,地区生产总值,亿元\n", tmp_path)
    assert (parsed.format, parsed.container, parsed.encoding) == ("nbs-platform", "csv", "utf-8-sig")
    assert parsed.indicator_source == "manifest" and parsed.empty_years == [2025]
    assert parsed.years == set(range(2019, 2025)) and parsed.rows == 6
    assert _cells(parsed)["gdp", 11, 2022] == round(41610.9 * 1.021, 1)


def test_biff8_xls_download_reads_like_the_csv():
    xls = _parse(FIXTURES / "classic_gdp.xls")
    csv = _parse(FIXTURES / "classic_gdp_gbk_crlf.csv")
    assert (xls.format, xls.container) == ("nbs", "xls") and xls.empty_years == [2024]
    assert _cells(xls) == _cells(csv)


def test_older_then_newer_export_records_revisions_and_status_shows_them(tmp_path, capsys):
    warehouse = tmp_path / "wh.duckdb"
    old = _landing(tmp_path, "classic_gdp_gbk_crlf.csv", folder="download_2024")
    (old / "vintage.txt").write_text("NBS download 2024\n", encoding="utf-8")
    first = load_landing(old, warehouse)
    assert first.inserted == 30
    new = _landing(tmp_path, "platform_gdp_2025.csv", folder="download_2025",
                   manifest="file,indicator,unit\nplatform_gdp_2025.csv,gdp,亿元\n")
    (new / "vintage.txt").write_text("NBS platform 2025\n", encoding="utf-8")
    second = load_landing(new, warehouse)
    assert second.revisions == 18 and second.updated == 18 and second.inserted == 6  # 2020-22 revised, 2024 new
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rev = con.execute("SELECT year, count(*), min(new_value / old_value), max(new_value / old_value) "
                          "FROM raw.revisions GROUP BY 1 ORDER BY 1").fetchall()
        log = con.execute("SELECT format, indicator_source, manifest, empty_years FROM raw.load_log "
                          "WHERE file_name = 'platform_gdp_2025.csv'").fetchone()
    assert [(y, n) for y, n, _, _ in rev] == [(2020, 6), (2021, 6), (2022, 6)]
    factors = {2020: 1.017, 2021: 1.019, 2022: 1.021}  # the census revision written by the fixture script
    assert all(abs(lo - factors[y]) < 2e-4 and abs(hi - factors[y]) < 2e-4 for y, _, lo, hi in rev)
    assert log == ("nbs-platform-csv", "manifest", "line 2: indicator=gdp unit=亿元", "2025")
    text = describe_warehouse(warehouse)
    assert "revisions by indicator and vintage (18 in all" in text and "gdp by 'NBS platform 2025': 18, largest" in text


def test_inspect_prints_what_a_load_would_do_and_writes_nothing(tmp_path, capsys):
    warehouse = tmp_path / "wh.duckdb"
    load_landing(_landing(tmp_path, "classic_gdp_gbk_crlf.csv", folder="old"), warehouse)
    before = snapshot(warehouse)
    new = _landing(tmp_path, "platform_gdp_2025.csv", "classic_gdp.xls",
                   manifest="file,indicator,unit\nplatform_gdp_2025.csv,gdp,亿元\n")
    assert main(["inspect", str(new), "--warehouse", str(warehouse)]) == 0
    out = capsys.readouterr().out
    assert "platform_gdp_2025.csv\n  format: nbs-platform-csv, encoding utf-8-sig" in out
    assert "indicators: gdp from manifest (line 2: indicator=gdp unit=亿元)" in out
    assert "empty year columns (carry no data, not loaded): 2025" in out
    assert "province units x years: 6 x 6 (2019-2024)" in out
    assert "revise 18 loaded values" in out and re.search(r"revises gdp 11 2020: 36102.6 \(classic_gdp_gbk_crlf.csv\) "
                                                          r"-> 36716.3 \(\+1.7%\)", out)
    assert "classic_gdp.xls\n  format: nbs-xls" in out and "no problems: a load would succeed" in out
    assert snapshot(warehouse) == before
    # an unknown indicator name gets the nearest dictionary names
    odd = tmp_path / "odd"
    odd.mkdir()
    rows = gdp_rows()
    rows[1] = ["指标：地区生产总额(亿元)"]
    write_csv(odd / "gdp_typo.csv", rows)
    assert main(["inspect", str(odd / "gdp_typo.csv"), "--warehouse", str(warehouse)]) == 0
    out = capsys.readouterr().out
    assert "nearest dictionary names: 地区生产总值" in out and "aliases column of indicators.csv" in out
    assert snapshot(warehouse) == before


# --------------------------------------------------------------------------- refusals

@pytest.fixture()
def loaded(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    load_landing(_landing(tmp_path, "classic_gdp_gbk_crlf.csv", folder="base"), warehouse)
    return warehouse


def test_missing_manifest_row_is_refused_with_the_row_to_add(loaded, tmp_path):
    landing = _landing(tmp_path, "platform_gdp_2025.csv")
    assert_refused(loaded, landing, r"NBS export without an 指标 line",
             r"add the row 'platform_gdp_2025.csv,<indicator code or 中文名>,<unit>'", file="platform_gdp_2025.csv")


def test_manifest_contradicting_the_indicator_line(loaded, tmp_path):
    landing = _landing(tmp_path, "classic_gdp.xls", manifest="file,indicator,unit\nclassic_gdp.xls,population,\n")
    assert_refused(loaded, landing, r"manifest.csv line 2 says population but the file's 指标 line \(line 2\) is gdp",
             file="classic_gdp.xls", line=2)
    landing = _landing(tmp_path, "classic_gdp.xls", manifest="file,indicator,unit\nclassic_gdp.xls,gdp,万元\n",
                       folder="l2")
    assert_refused(loaded, landing, r"manifest.csv line 2 says unit '万元' but the file's 指标 line \(line 2\) says '亿元'")


def test_unknown_unit_in_the_manifest(loaded, tmp_path):
    landing = _landing(tmp_path, "platform_gdp_2025.csv", manifest="file,indicator,unit\nplatform_gdp_2025.csv,gdp,斤\n")
    assert_refused(loaded, landing, r"manifest.csv, line 2: unknown unit '斤' for indicator gdp")


def test_manifest_row_for_a_file_that_is_not_there(loaded, tmp_path):
    landing = _landing(tmp_path, "platform_gdp_2025.csv",
                       manifest="file,indicator,unit\nplatform_gdp_2025.csv,gdp,亿元\nmissing.csv,gdp,亿元\n")
    assert_refused(loaded, landing, r"manifest.csv, line 3: a row for 'missing.csv', which is not an extract")


def test_xls_with_two_sheets_none_an_export(loaded, tmp_path):
    landing = _landing(tmp_path, "two_sheets_no_export.xls")
    message = str(assert_refused(loaded, landing, r"unrecognised extract format in any of its sheets \(2\)",
                       file="two_sheets_no_export.xls"))
    assert "下载说明" not in message  # the contents of a file that is not an extract are never printed


def test_tab_separated_file_whose_columns_do_not_line_up(loaded, tmp_path):
    landing = tmp_path / "tsv"
    landing.mkdir()
    lines = ["数据库：分省年度数据", "指标：地区生产总值(亿元)", "时间：最近2年", "地区\t2021年\t2020年",
             "北京市\t40269.6\t36102.6", "天津市\t15695.0"]
    (landing / "gdp.tsv").write_bytes("\r\n".join(lines).encode("gbk"))
    assert_refused(loaded, landing, r"truncated row: 2 cells but the header has 3", file="gdp.tsv", line=6)
