"""Writes small, valid NBS and CNRDS extracts for the parser and loader tests.

Each writer takes plain rows of cells so a test can break exactly one thing. The default
values are made up (not real statistics) and easy to check by hand.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl

# province name as printed -> GB/T 2260 code
PROVINCES = {"北京市": 11, "天津市": 12, "河北省": 13, "内蒙古自治区": 15, "西藏自治区": 54}

GDP = {  # 亿元, years 2021, 2020, 2019
    "北京市": ["40,269.6", "36102.6", "35445.1"],
    "天津市": ["15695.0", "14008.0", "14055.5"],
    "河北省": ["40391.3", "36013.8", "34978.6"],
    "内蒙古自治区": ["20514.2", "17258.0", "17212.5"],
    "西藏自治区": ["2080.2", "…", "1697.8"],
}
POPULATION = {  # 万人, years 2021, 2020
    "北京市": [2189, 2189], "天津市": [1373, 1387], "河北省": [7448, 7464],
    "内蒙古自治区": [2400, 2403], "西藏自治区": [366, 365],
}


def nbs_rows(indicator: str, years, rows: dict, header_suffix: str = "年", footnotes: bool = True) -> list[list]:
    out = [["数据库：分省年度数据"], [f"指标：{indicator}"], [f"时间：最近{len(years)}年"],
           ["地区", *[f"{y}{header_suffix}" for y in years]]]
    out += [[name, *cells] for name, cells in rows.items()]
    if footnotes:
        out += [["注：本表数据为合成测试数据。"], ["数据来源：测试"]]
    return out


def cnrds_rows(codes: list[str], labels: list[str], rows: list[list]) -> list[list]:
    return [["Prvcnm", "Sgnyea", *codes], ["省份", "年份", *labels], *rows]


def write_csv(path: Path, rows: list[list], encoding: str = "gbk") -> Path:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    Path(path).write_bytes(buf.getvalue().encode(encoding))
    return Path(path)


def write_xlsx(path: Path, rows: list[list]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    wb.save(path)
    return Path(path)


def gdp_rows(**overrides) -> list[list]:
    rows = {**GDP, **overrides}
    return nbs_rows("地区生产总值(亿元)", [2021, 2020, 2019], rows)


def population_rows() -> list[list]:
    return nbs_rows("年末常住人口(万人)", [2021, 2020], POPULATION)


def panel_rows() -> list[list]:
    """CNRDS panel: ecommerce_sales in 万元 (converted to 亿元) and software_revenue in 亿元."""
    rows = []
    for name in PROVINCES:
        for year in (2020, 2021):
            base = PROVINCES[name] * 1000 + (year - 2020) * 100
            rows.append([name, year, base * 10, base / 10 if name != "西藏自治区" else ""])
    return cnrds_rows(["ecommerce_sales", "软件业务收入"], ["电子商务销售额(万元)", "软件业务收入（亿元）"], rows)


def write_good_landing(folder: Path, vintage: str | None = "synthetic test extracts") -> Path:
    """Three good files (GBK NBS CSV, NBS .xlsx, UTF-8-BOM CNRDS CSV) and vintage.txt."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "gdp.csv", gdp_rows(), "gbk")
    write_xlsx(folder / "population.xlsx", population_rows())
    write_csv(folder / "panel.csv", panel_rows(), "utf-8-sig")
    if vintage:
        (folder / "vintage.txt").write_text(vintage + "\n", encoding="utf-8")
    return folder


def snapshot(warehouse: Path) -> dict | None:
    """Every table's full contents (sorted rows) in the warehouse; None if there is no file."""
    import duckdb

    if not Path(warehouse).exists():
        return None
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY 1, 2").fetchall()
        return {f"{s}.{t}": sorted(con.execute(f"SELECT * FROM {s}.{t}").fetchall(), key=repr)
                for s, t in tables}
    finally:
        con.close()


def assert_refused(warehouse: Path, landing: Path, *patterns: str, file: str | None = None,
                   line: int | None = None, error: type[Exception] | None = None, **load_options):
    """``load_landing`` must raise ``error`` (default ExtractError) whose message matches every
    regex of ``patterns`` and names ``file`` and ``line`` when given, and leave the warehouse
    exactly as it was. Returns the error."""
    import re

    import pytest

    from warehouse.errors import ExtractError
    from warehouse.loader import load_landing

    before = snapshot(warehouse)
    with pytest.raises(error or ExtractError) as err:
        load_landing(landing, warehouse, **load_options)
    message = str(err.value)
    for pattern in patterns:
        assert re.search(pattern, message), (pattern, message)
    if file:
        assert file in message and err.value.file.endswith(file)
    if line is not None:
        assert err.value.line == line and f"line {line}" in message
    assert snapshot(warehouse) == before
    return err.value

