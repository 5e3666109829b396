"""Parsers of the raw extract formats: encodings, containers, units, names, missing cells."""
from __future__ import annotations

import pytest

from extract_factory import (GDP, POPULATION, PROVINCES, gdp_rows, nbs_rows, panel_rows,
                             population_rows, write_csv, write_xlsx)
from warehouse.errors import ExtractError
from warehouse.extracts import parse_extract, parse_value, split_label
from warehouse.reference import ReferenceLookupError, load_reference


def _by_key(parsed):
    return {(r[0], r[1], r[2]): r for r in parsed.records}


def _check_gdp(parsed):
    assert parsed.format == "nbs" and parsed.indicator_codes == ["gdp"]
    assert parsed.rows == 5 and len(parsed.records) == 15
    got = _by_key(parsed)
    assert got["gdp", 11, 2021][3] == 40269.6  # thousands separator '40,269.6'
    assert got["gdp", 13, 2019][3] == 34978.6
    assert got["gdp", 54, 2020][3] is None  # '…' is a missing cell
    assert got["gdp", 15, 2020][7] == 8  # Inner Mongolia is on line 8 (3 preamble lines, header)
    assert parsed.cells_missing == 1 and parsed.latest_year == 2021


def test_nbs_gbk_csv(tmp_path):
    path = write_csv(tmp_path / "gdp.csv", gdp_rows(), "gbk")
    parsed = parse_extract(path)
    assert parsed.encoding == "gbk" and parsed.container == "csv"
    _check_gdp(parsed)


def test_nbs_utf8_bom_csv(tmp_path):
    path = write_csv(tmp_path / "gdp.csv", gdp_rows(), "utf-8-sig")
    parsed = parse_extract(path)
    assert parsed.encoding == "utf-8-sig"
    _check_gdp(parsed)


def test_nbs_xlsx_with_numeric_cells_and_bare_years(tmp_path):
    rows = nbs_rows("年末常住人口(万人)", [2021, 2020], POPULATION, header_suffix="")
    rows[3] = ["地区", 2021, 2020]  # years as numbers, as Excel stores them
    parsed = parse_extract(write_xlsx(tmp_path / "pop.xlsx", rows))
    assert parsed.container == "xlsx" and parsed.indicator_codes == ["population"]
    got = _by_key(parsed)
    assert got["population", 12, 2020][3] == 1387.0
    assert got["population", 54, 2021][3] == 366.0
    assert parsed.years == {2020, 2021}


def test_cnrds_csv_unit_conversion_wan_yuan_to_yi_yuan(tmp_path):
    parsed = parse_extract(write_csv(tmp_path / "panel.csv", panel_rows(), "utf-8-sig"))
    assert parsed.format == "cnrds"
    assert parsed.indicator_codes == ["ecommerce_sales", "software_revenue"]  # alias 软件业务收入 mapped
    got = _by_key(parsed)
    # Beijing 2021: 11100 * 10 = 111000 万元 = 11.1 亿元
    _, _, _, value, unit, reported, reported_unit, _, _ = got["ecommerce_sales", 11, 2021]
    assert (value, unit, reported, reported_unit) == (11.1, "亿元", 111000.0, "万元")
    assert got["software_revenue", 11, 2021][3:7] == (1110.0, "亿元", 1110.0, "亿元")  # full-width （亿元）
    assert got["software_revenue", 54, 2020][3] is None
    assert parsed.rows == 10 and parsed.cells_missing == 2


def test_cnrds_xlsx_and_gbk_csv_agree(tmp_path):
    xlsx = parse_extract(write_xlsx(tmp_path / "panel.xlsx", panel_rows()))
    gbk = parse_extract(write_csv(tmp_path / "panel.csv", panel_rows(), "gbk"))
    assert xlsx.container == "xlsx" and gbk.encoding == "gbk"
    assert [r[:7] for r in xlsx.records] == [r[:7] for r in gbk.records]


def test_nbs_unit_variant_converted(tmp_path):
    rows = nbs_rows("地区生产总值（万元）", [2021], {"北京市": ["402,696,000"], "天津市": ["-"]})
    parsed = parse_extract(write_csv(tmp_path / "gdp_wan.csv", rows))
    got = _by_key(parsed)
    assert got["gdp", 11, 2021][3:7] == (40269.6, "亿元", 402696000.0, "万元")
    assert got["gdp", 12, 2021][3] is None


def test_footnote_and_blank_line_end_the_data_block(tmp_path):
    rows = gdp_rows()
    rows.insert(9, [])  # blank line after the last province, before the footnotes
    parsed = parse_extract(write_csv(tmp_path / "gdp.csv", rows))
    assert parsed.rows == 5


def test_province_aliases_and_full_width_spaces():
    ref = load_reference()
    assert ref.province_code("内蒙古") == 15
    assert ref.province_code(" Inner Mongolia ") == 15
    assert ref.province_code("Nei Mongol") == 15
    assert ref.province_code("广西壮族自治区") == 45
    assert ref.province_code("北\u3000京") == 11
    assert len(ref.provinces) == 31 and not ref.provinces[54].in_study_sample
    with pytest.raises(ReferenceLookupError, match="unknown province name '火星'"):
        ref.province_code("火星")


def test_missing_markers_and_numbers():
    for marker in ["", "…", "...", "-", "—", "－", "null", "NA", None]:
        assert parse_value(marker, "f.csv", 3, "2021年") is None, marker
    assert parse_value("1,234,567.5", "f.csv", 3, "2021年") == 1234567.5
    assert parse_value("-3.5", "f.csv", 3, "2021年") == -3.5
    assert parse_value(" 12 ", "f.csv", 3, "2021年") == 12.0
    for bad in ["abc", "1,23", "12a", "1.2.3"]:
        with pytest.raises(ExtractError, match="non-numeric value"):
            parse_value(bad, "f.csv", 3, "2021年")


def test_split_label_takes_the_last_parenthesised_group():
    assert split_label("地区生产总值(亿元)") == ("地区生产总值", "亿元")
    assert split_label("地区生产总值指数(上年=100)") == ("地区生产总值指数", "上年=100")
    assert split_label("软件业务收入（亿元）") == ("软件业务收入", "亿元")
    assert split_label("某指标(口径)(万元)") == ("某指标(口径)", "万元")


def test_unrecognised_format(tmp_path):
    path = write_csv(tmp_path / "other.csv", [["province", "year", "gdp"], ["Beijing", "2021", "1"]])
    with pytest.raises(ExtractError, match="unrecognised extract format") as err:
        parse_extract(path)
    assert err.value.line == 1 and "other.csv" in str(err.value)


def test_all_provinces_of_the_factory_are_normalised(tmp_path):
    parsed = parse_extract(write_xlsx(tmp_path / "pop.xlsx", population_rows()))
    assert {r[1] for r in parsed.records} == set(PROVINCES.values())
    assert set(GDP) == set(PROVINCES)
