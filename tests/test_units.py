"""Issue 12 (ingest): the unit registry (units_reference.csv -> raw.units, real names and codes
from cpca's adcodes.csv), prefecture and county extracts (CNRDS city panels, NBS-shaped city
tables, City Statistical Yearbook tables with 全市/市辖区), their refusals, and the migration of
a warehouse keyed by province_code."""
from __future__ import annotations


import duckdb
import openpyxl

from extract_factory import assert_refused, gdp_rows, snapshot, write_csv, write_good_landing
from flows.cli import main
from units_factory import write_units_reference
from warehouse.loader import load_landing

CITIES = {"石家庄市": 130100, "唐山市": 130200, "太原市": 140100, "大同市": 140200}


def _panel(folder, unit_col="Ctnm", rows=None, parent=True, name="city_panel.csv"):
    head = (["Prvcnm"] if parent else []) + [unit_col, "Sgnyea", "gdp", "population"]
    labels = (["省份"] if parent else []) + ["城市", "年份", "地区生产总值(万元)", "年末常住人口(万人)"]
    given = rows is not None
    rows = rows or [[p, c, y, f"{(CITIES.get(c, 130100) // 100) * 10 + y - 2019:.0f}", "500"]
                    for c, p in (("石家庄市", "河北省"), ("唐山市", "河北省"), ("太原市", "山西省"), ("大同市", "山西省"))
                    for y in (2020, 2021)]
    if not parent and not given:
        rows = [r[1:] for r in rows]
    write_csv(folder / name, [head, labels, *rows], "utf-8-sig")
    return folder


def _landing(tmp_path, level="prefecture", folder="landing"):
    landing = tmp_path / folder
    landing.mkdir()
    write_units_reference(landing / "units_reference.csv", level)
    return landing


def _rows(warehouse, sql):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_prefecture_panel_with_the_units_reference(tmp_path):
    landing = _panel(_landing(tmp_path))
    warehouse = tmp_path / "wh.duckdb"
    summary = load_landing(landing, warehouse)
    assert summary.units == sorted(CITIES.values()) and summary.levels == ["prefecture"]
    assert summary.units_loaded > 300 and "prefecture units x years: 4 x 2" in summary.describe()
    # 130100 // 100 * 10 + 2 = 13012 万元 = 1.3012 亿元 for Shijiazhuang 2021
    assert _rows(warehouse, "SELECT value, reported_unit FROM raw.observations WHERE indicator_code = 'gdp' "
                            "AND unit_code = 130100 AND year = 2021") == [(1.3012, "万元")]
    assert _rows(warehouse, "SELECT unit_code, unit_name, level, province_code, source_file FROM raw.units "
                            "WHERE unit_code = 130100") == [(130100, "石家庄市", "prefecture", 13, "units_reference.csv")]
    assert _rows(warehouse, "SELECT level, format FROM raw.load_log") == [("prefecture", "cnrds-csv")]
    before = snapshot(warehouse)
    again = load_landing(landing, warehouse)  # same files, same reference: nothing changes
    assert again.files_unchanged == ["city_panel.csv"] and again.units_loaded == 0
    assert snapshot(warehouse) == before


def test_county_panel_by_code_and_by_name_with_its_parent(tmp_path):
    landing = _landing(tmp_path, "county")
    rows = [["北京市", "110105", 2021, "100", "300"], ["吉林省", "220104", 2021, "200", "80"]]  # both 朝阳区
    _panel(landing, "Cntcd", rows)
    rows = [["北京市", "朝阳区", 2020, "90", "300"], ["吉林省", "朝阳区", 2020, "190", "80"]]
    _panel(landing, "Cntnm", rows, name="county_names.csv")
    warehouse = tmp_path / "wh.duckdb"
    summary = load_landing(landing, warehouse)
    assert summary.units == [110105, 220104] and summary.levels == ["county"]
    assert _rows(warehouse, "SELECT unit_code, year, reported_value FROM raw.observations WHERE indicator_code = 'gdp' "
                            "ORDER BY ALL") == [(110105, 2020, 90.0), (110105, 2021, 100.0), (220104, 2020, 190.0),
                                                (220104, 2021, 200.0)]


def test_ambiguous_unknown_and_misfiled_units_are_refused(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    load_landing(write_good_landing(tmp_path / "good"), warehouse)
    landing = _panel(_landing(tmp_path, "county"), "Cntnm", [["朝阳区", 2021, "1", "2"]], parent=False)
    assert_refused(warehouse, landing, r"city_panel.csv, line 3: ambiguous county name '朝阳区': candidates 朝阳区 110105 "
                                 r"\(province 11\), 朝阳区 220104 \(province 22\); add a province column")
    landing = _panel(_landing(tmp_path, "county", "l2"), "Cntnm", [["河北省", "朝阳区", 2021, "1", "2"]])
    assert_refused(warehouse, landing, r"line 3: county '朝阳区' is filed under province 13, but 朝阳区 \(110105\) is in "
                                 r"province 11; 朝阳区 \(220104\) is in province 22")
    landing = _panel(_landing(tmp_path, "county", "l3"), "Cntcd", [["河北省", "110105", 2021, "1", "2"]])
    assert_refused(warehouse, landing, r"line 3: county 朝阳区 \(110105\) is filed under province 13, but it is in province 11")
    landing = _panel(_landing(tmp_path, "prefecture", "l4"), "Ctnm", [["河北省", "火星市", 2021, "1", "2"]])
    assert_refused(warehouse, landing, r"line 3: unknown prefecture name '火星市' \(not a name or alias in units_reference.csv\)")
    landing = _panel(_landing(tmp_path, "prefecture", "l5"), "Cntnm", [["北京市", "朝阳区", 2021, "1", "2"]])
    assert_refused(warehouse, landing, r"line 3: a county unit '朝阳区', but raw.units|units_reference.csv holds prefecture")


def test_units_reference_is_validated(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    landing = _panel(tmp_path / "landing") if (tmp_path / "landing").mkdir() is None else None
    (landing / "units_reference.csv").write_text(
        "unit_code,unit_name,level,province_code,lat,lon\n130100,石家庄市,prefecture,14,38.0,114.5\n", encoding="utf-8")
    assert_refused(warehouse, landing, r"units_reference.csv, line 2: unit 130100 \(石家庄市\) does not lie in province 14")
    assert not warehouse.exists()


def test_nbs_shaped_city_table(tmp_path):
    landing = _landing(tmp_path)
    write_csv(landing / "city_gdp.csv", [["数据库：城市年度数据"], ["指标：地区生产总值(亿元)"], ["时间：最近2年"],
                                         ["地区", "2021年", "2020年"], ["石家庄市", "6490.3", "5935.1"],
                                         ["太原市", "5121.6", "4153.3"], ["数据来源：测试"]])
    summary = load_landing(landing, tmp_path / "wh.duckdb")
    assert summary.units == [130100, 140100] and summary.levels == ["prefecture"]


def _city_yearbook(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "2-1"
    ws.append(["2-1  地区生产总值（2021年）"])
    ws.append(["地区 Region", "地区生产总值（当年价格） （亿元） Gross Regional Product (current prices) "
                              "(100 million yuan)", None, "年末户籍人口（万人） Year-end Registered Population", None])
    ws.append([None, "全市 Total City", "市辖区 Districts under City", "全市 Total City", "市辖区 Districts under City"])
    ws.merge_cells("B2:C2")
    ws.merge_cells("D2:E2")
    ws.merge_cells("A2:A3")
    ws.append(["河北省 Hebei"])
    ws.append(["  石家庄市 Shijiazhuang", "6,490.3", "3,201.5", "1,100", "500"])
    ws.append(["  唐山市 Tangshan", "8,230.6", "4,050.2", "770", "340"])
    ws.append(["山西省 Shanxi"])
    ws.append(["  太原市 Taiyuan", "5,121.6", "4,900.0", "380", "300"])
    ads = wb.create_sheet("广告")
    ads.append(["欢迎订阅《中国城市统计年鉴》"])
    wb.save(path)
    return path


def test_city_yearbook_table_takes_whole_city_by_default(tmp_path, capsys):
    landing = _landing(tmp_path)
    _city_yearbook(landing / "city_2-1.xlsx")
    (landing / "manifest.csv").write_text("file,indicator,unit,column\ncity_2-1.xlsx,gdp,,地区生产总值（当年价格）\n",
                                          encoding="utf-8")
    warehouse = tmp_path / "wh.duckdb"
    assert main(["inspect", str(landing), "--warehouse", str(warehouse)]) == 0
    out = capsys.readouterr().out
    assert "mapped columns: 地区生产总值(当年价格)(亿元)[全市] -> gdp" in out
    assert "unmapped columns (not loaded; map them with a manifest row file,indicator,unit,column): " \
           "年末户籍人口(万人)[全市]" in out
    assert "note: 2 columns of the other variant not loaded" in out and "variant: 全市" in out
    summary = load_landing(landing, warehouse)
    assert summary.units == [130100, 130200, 140100]
    assert _rows(warehouse, "SELECT unit_code, value FROM raw.observations ORDER BY 1") == [
        (130100, 6490.3), (130200, 8230.6), (140100, 5121.6)]
    assert _rows(warehouse, "SELECT level, variant, unmapped_columns FROM raw.load_log") == [("prefecture", "全市", 1)]


def test_city_yearbook_urban_districts_by_option_or_manifest(tmp_path):
    landing = _landing(tmp_path)
    _city_yearbook(landing / "city_2-1.xlsx")
    (landing / "manifest.csv").write_text("file,indicator,unit,column\ncity_2-1.xlsx,gdp,,地区生产总值（当年价格）\n",
                                          encoding="utf-8")
    a = tmp_path / "a.duckdb"
    load_landing(landing, a, variant="市辖区")
    assert _rows(a, "SELECT unit_code, value FROM raw.observations ORDER BY 1") == [
        (130100, 3201.5), (130200, 4050.2), (140100, 4900.0)]
    (landing / "manifest.csv").write_text("file,indicator,unit,column,variant\n"
                                          "city_2-1.xlsx,gdp,,地区生产总值（当年价格）,市辖区\n", encoding="utf-8")
    b = tmp_path / "b.duckdb"
    load_landing(landing, b)
    assert _rows(b, "SELECT unit_code, value FROM raw.observations ORDER BY 1") == _rows(
        a, "SELECT unit_code, value FROM raw.observations ORDER BY 1")
    assert _rows(b, "SELECT variant FROM raw.load_log") == [("市辖区",)]


def test_a_warehouse_keyed_by_province_code_is_migrated_on_the_next_load(tmp_path):
    warehouse = tmp_path / "old.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.observations (indicator_code VARCHAR NOT NULL, province_code INTEGER NOT NULL, "
                    "year INTEGER NOT NULL, value DOUBLE, unit VARCHAR, reported_value DOUBLE, reported_unit VARCHAR, "
                    "source_file VARCHAR, source_line INTEGER, vintage VARCHAR, loaded_at TIMESTAMP, "
                    "PRIMARY KEY (indicator_code, province_code, year))")
        con.execute("CREATE TABLE raw.load_log (batch_id VARCHAR NOT NULL, file_name VARCHAR NOT NULL, sha256 VARCHAR "
                    "NOT NULL, format VARCHAR, indicator_codes VARCHAR, rows INTEGER, cells_missing INTEGER, "
                    "vintage VARCHAR, loaded_at TIMESTAMP)")
        con.execute("CREATE TABLE raw.revisions (indicator_code VARCHAR, province_code INTEGER, year INTEGER, "
                    "old_value DOUBLE, new_value DOUBLE, old_source_file VARCHAR, new_source_file VARCHAR, "
                    "old_vintage VARCHAR, new_vintage VARCHAR, revised_at TIMESTAMP)")
        con.execute("INSERT INTO raw.observations VALUES ('gdp', 11, 2021, 40000.0, '亿元', 40000.0, '亿元', 'old.csv', "
                    "5, 'old', TIMESTAMP '2024-01-01')")
    landing = tmp_path / "landing"
    landing.mkdir()
    write_csv(landing / "gdp.csv", gdp_rows())
    summary = load_landing(landing, warehouse)
    assert summary.revisions == 1
    assert _rows(warehouse, "SELECT column_name FROM duckdb_columns() WHERE table_name = 'observations' "
                            "AND column_name LIKE '%_code'") == [("indicator_code",), ("unit_code",)]
    assert _rows(warehouse, "SELECT old_value, new_value, old_source_file FROM raw.revisions") == [
        (40000.0, 40269.6, "old.csv")]
    assert _rows(warehouse, "SELECT count(*) FROM raw.units") == [(0,)]  # always created
    assert _rows(warehouse, "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'observations' "
                            "AND constraint_type = 'PRIMARY KEY'") == [(0,)]
    assert _rows(warehouse, "SELECT count(*), count(DISTINCT (indicator_code, unit_code, year)) "
                            "FROM raw.observations") == [(3 * 5, 3 * 5)]


def test_county_panel_with_both_a_code_and_a_name_column(tmp_path):
    landing = _landing(tmp_path, "county")
    head = ["Prvcnm", "Cntcd", "Cntnm", "Sgnyea", "gdp"]
    labels = ["省份", "县代码", "县", "年份", "地区生产总值(亿元)"]
    write_csv(landing / "counties.csv", [head, labels, ["北京市", "110105", "朝阳区", 2021, "7000"]], "utf-8-sig")
    warehouse = tmp_path / "wh.duckdb"
    assert load_landing(landing, warehouse).units == [110105]
    write_csv(landing / "counties_bad.csv", [head, labels, ["北京市", "110105", "海淀区", 2020, "7000"]], "utf-8-sig")
    assert_refused(warehouse, landing, r"counties_bad.csv, line 3: unit code 110105 is 朝阳区 in (raw.units|units_reference.csv), but the "
                                 r"row names it '海淀区'")
