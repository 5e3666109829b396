"""Seeded SYNTHETIC sample of raw extracts (``resilience sample``), in the real export formats.

Nobody on the project has the real yearbook/CNRDS extracts, so the system ships made-up
ones that exercise every part of it. Every number written here is synthetic; the files say
so in ``vintage.txt`` and in the marker ``SYNTHETIC.txt`` (which the loader records, so
every run on them is flagged synthetic whatever the label says), and ``sample/README.md`` documents the data-generating process, which
:mod:`synthetic.dgp` implements; this module writes its series as files.

Files (``units='province'``): one NBS export per yearbook series (GBK CSV with CRLF, three
UTF-8-with-BOM CSVs, two .xlsx), the CNRDS panel ``cnrds_panel.csv`` and
``cnrds_marketization.xlsx``, and ``vintage.txt``. The optional next vintage repeats the NBS
files for years ``first_year+1 .. last_year+1`` with a few last-year values revised
(``REVISIONS``) and CNRDS rows for ``last_year+1``.

Files (``units='prefecture'`` or ``'county'``: the real units of cpca's registry, with
made-up data): the CNRDS city or county panel ``cnrds_{level}_panel.csv`` (every series the
units have of their own), ``cnrds_province_panel.csv`` and ``nbs_fixed_telephones_1984.csv``
(the province-only series, which the warehouse maps down to the units: indicators.lower_levels),
``units_reference.csv`` (the unit registry, docs/CONTRACTS.md) and ``vintage.txt``.
"""
from __future__ import annotations

import csv
import io
import math
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from synthetic.dgp import _CONS_CATEGORIES, SampleSpec, Simulation, simulate
from warehouse.landing import SYNTHETIC_MARKER
from warehouse.seeds import seed_rows

# How each series is written: reported unit (a known variant where it differs from the
# dictionary's canonical unit), decimals in the reported unit, and the NBS file format.
# Formats: "gbk" (GBK CSV, CRLF), "bom" (UTF-8 with BOM), "xlsx", "cnrds" (panel CSV),
# "cnrds_xlsx" (separate panel workbook).
_REPORTED_UNIT = {"rd_expenditure": "万元", "fdi": "万美元", "trade_total": "万美元",
                  "railway_length": "公里"}
_DECIMALS = {
    "gdp": 2, "gdp_per_capita": 0, "gdp_index": 1, "va_primary": 2, "va_secondary": 2,
    "va_tertiary": 2, "population": 0, "urbanization_rate": 2, "employment": 1,
    "disposable_income_pc": 1, "consumption_pc": 1, "fiscal_revenue": 2,
    "fiscal_expenditure": 2, "fiscal_exp_social_security": 2, "fiscal_exp_science": 2,
    "fiscal_exp_education": 2, "tax_revenue": 2, "deposits": 2, "avg_years_schooling": 2,
    "unemployment_rate": 1, "gfcf": 2, "fai_price_index": 1, "rd_expenditure": 2,
    "hightech_patent_applications": 0, "mobile_phone_penetration": 2,
    "optical_cable_length": 0, "broadband_ports": 1, "domain_names": 2,
    "domestic_patent_applications": 0, "it_employment": 2, "industrial_rd_expenditure": 2,
    "ecommerce_sales": 2, "ecommerce_enterprise_share": 1, "broadband_users": 1,
    "software_revenue": 2, "telecom_volume": 2, "trade_total": -1, "retail_sales": 2,
    "postal_route_length": 0, "express_volume": 2, "express_revenue": 1,
    "exchange_rate": 2, "fdi": 2, "library_holdings": 1, "health_institutions": 0,
    "electricity_consumption": 2, "railway_length": 4, "highway_length": 4,
    "fixed_telephones_1984": 2, "marketization_index": 2,
}
for _c in _CONS_CATEGORIES:
    _DECIMALS[_c] = 1
_UTF8_BOM_SERIES = ("gdp_index", "urbanization_rate", "express_revenue")
_XLSX_SERIES = ("deposits", "fiscal_exp_education")
_CNRDS_XLSX_SERIES = ("marketization_index",)

# Revised last-year values in the next vintage: (indicator, province code, relative change).
REVISIONS = (("retail_sales", 32, 0.004), ("express_volume", 33, -0.006),
             ("deposits", 41, 0.003), ("library_holdings", 51, 0.012),
             ("gdp_per_capita", 44, -0.002))

NBS_ORDER_NOTE = "注：本数据为合成样本（synthetic），仅用于测试，不是国家统计局的真实数据。"


# ---------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------

def indicator_dictionary() -> pd.DataFrame:
    """The dictionary seed ``indicators.csv`` (code, name_zh, unit, source, ...)."""
    return pd.DataFrame(seed_rows("indicators"))


def _unit_factor(reported: str, canonical: str) -> float:
    if reported == canonical:
        return 1.0
    for row in seed_rows("units"):
        if row["unit"] == reported and row["canonical_unit"] == canonical:
            return float(row["factor"])
    raise KeyError(f"units.csv has no conversion {reported} -> {canonical}")


# ---------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------

def _fmt(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def _reported(code: str, canonical_unit: str) -> tuple[str, float, int]:
    """Reported unit, factor canonical -> reported, decimals in the reported unit."""
    unit = _REPORTED_UNIT.get(code, canonical_unit)
    to_canonical = _unit_factor(unit, canonical_unit)
    decimals = _DECIMALS[code] + round(math.log10(to_canonical)) if unit != canonical_unit else _DECIMALS[code]
    return unit, 1 / to_canonical, max(decimals, 0)


def _nbs_rows(sim, row, years_desc, overrides, is_1984=False) -> list[list[str]]:
    code, name, canonical = row["code"], row["name_zh"], row["unit"]
    unit, factor, decimals = _reported(code, canonical)
    lines = [["数据库：分省年度数据"], [f"指标：{name}({unit})"],
             ["时间：1984年" if is_1984 else f"时间：最近{len(years_desc)}年"],
             ["地区", *[f"{y}年" for y in years_desc]]]
    for u, p in enumerate(sim.units.itertuples()):
        cells = [p.unit_name]
        for y in years_desc:
            if is_1984:
                cells.append(_fmt(sim.telephones_1984[u] * factor, decimals))
                continue
            t = int(np.where(sim.years == y)[0][0])
            if sim.missing[code][u, t]:
                # mostly the NBS ellipsis, sometimes an empty cell, as in real downloads
                cells.append("" if (u + t) % 5 == 0 else "…")
            else:
                v = overrides.get((code, p.unit_code, int(y)), sim.values[code][u, t])
                cells.append(_fmt(v * factor, decimals))
        lines.append(cells)
    lines.append(["注：1984年数据按现行行政区划整理。" if is_1984 else NBS_ORDER_NOTE])
    lines.append(["数据来源：国家统计局"])
    return lines


def _write_csv(path: Path, rows: list[list[str]], encoding: str, newline: str) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=newline).writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


_FIXED_ZIP_TIME = (2024, 6, 1, 0, 0, 0)
_FIXED_DOC_TIME = datetime(2024, 6, 1, 0, 0, 0)


def _write_xlsx(path: Path, rows: list[list], sheet: str = "Sheet1") -> None:
    """An .xlsx whose bytes depend only on ``rows``: fixed document properties and fixed zip
    entry timestamps (openpyxl stamps both with the current time; nothing exposes an option,
    so we write through ExcelWriter and re-pack the archive)."""
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(r)
    wb.properties.creator = "resilience synthetic sample"
    wb.properties.created = _FIXED_DOC_TIME
    wb.properties.modified = _FIXED_DOC_TIME
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            info = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            dst.writestr(info, src.read(name))
    path.write_bytes(out.getvalue())


def _numeric_xlsx_rows(rows: list[list[str]]) -> list[list]:
    """CSV-style text rows with numbers as numbers and empty cells as empty (xlsx style)."""
    out = []
    for r in rows:
        cells = []
        for c in r:
            if c == "":
                cells.append(None)
            else:
                try:
                    cells.append(float(c) if "." in c else int(c))
                except ValueError:
                    cells.append(c)
        out.append(cells)
    return out


def _nbs_file(sim, row, years_desc, out_dir, overrides) -> Path:
    code = row["code"]
    is_1984 = code == "fixed_telephones_1984"
    rows = _nbs_rows(sim, row, [1984] if is_1984 else years_desc, overrides, is_1984)
    if code in _XLSX_SERIES:
        path = out_dir / f"nbs_{code}.xlsx"
        _write_xlsx(path, _numeric_xlsx_rows(rows))
    elif code in _UTF8_BOM_SERIES:
        path = out_dir / f"nbs_{code}.csv"
        _write_csv(path, rows, "utf-8-sig", "\r\n")
    else:
        path = out_dir / f"nbs_{code}.csv"
        _write_csv(path, rows, "gbk", "\r\n")
    return path


def _cnrds_rows(sim, dictionary, codes, years, overrides, name_col="省份") -> list[list[str]]:
    specs = [(c, *_reported(c, dictionary.loc[c, "unit"])) for c in codes]
    rows = [["Prvcnm", "Sgnyea", *codes],
            [name_col, "年份", *[f"{dictionary.loc[c, 'name_zh']}({unit})" for c, unit, _, _ in specs]]]
    for u, p in enumerate(sim.units.itertuples()):
        for y in years:
            t = int(np.where(sim.years == y)[0][0])
            cells = [p.unit_name, str(int(y))]
            for c, _, factor, decimals in specs:
                if sim.missing[c][u, t]:
                    cells.append("")
                else:
                    v = overrides.get((c, p.unit_code, int(y)), sim.values[c][u, t])
                    cells.append(_fmt(v * factor, decimals))
            rows.append(cells)
    return rows


def _revision_overrides(sim: Simulation, year: int) -> dict:
    """Revised values of the next vintage, rounded like the series."""
    out = {}
    for code, unit_code, change in REVISIONS:
        u = int(np.where(sim.units["unit_code"] == unit_code)[0][0])
        t = int(np.where(sim.years == year)[0][0])
        out[(code, unit_code, year)] = round(sim.values[code][u, t] * (1 + change), _DECIMALS[code])
    return out


# The CNRDS city panel's unit columns, per level: prefecture names are unique within a
# province, county names are not (桥西区 of 石家庄市 and of 邢台市), so counties carry their code.
_UNIT_COLUMNS = {"prefecture": (("Ctnm", "城市"),), "county": (("Cntcd", "区县代码"), ("Cntnm", "区县"))}


def _lower_level_files(sim: Simulation, spec: SampleSpec, dictionary: pd.DataFrame, folder: Path,
                       years: list[int], is_next: bool) -> list[Path]:
    """A prefecture or county sample: the units' own series as a CNRDS city panel (parent
    province, unit name, year), the series published for provinces only (the dictionary's
    ``lower_levels = parent``) as province files (the provinces' values: means of their units',
    the 1984 telephones their sum), and the units' reference file."""
    provinces = {int(r["province_code"]): r["name_zh"] for r in seed_rows("provinces")}
    province_only = [c for c in dictionary.index if dictionary.loc[c, "lower_levels"] == "parent"]
    own = [c for c in dictionary.index if c not in province_only]
    columns = _UNIT_COLUMNS[spec.units]
    written = []
    path = folder / f"cnrds_{spec.units}_panel.csv"
    rows = _cnrds_rows(sim, dictionary, own, years, {})
    rows[0] = ["Prvcnm", *(c for c, _ in columns), *rows[0][1:]]
    rows[1] = ["省份", *(label for _, label in columns), *rows[1][1:]]
    keys = [[provinces[int(u.parent_code)], *((str(u.unit_code),) if len(columns) == 2 else ()), u.unit_name]
            for u in sim.units.itertuples() for _ in years]
    rows[2:] = [[*key, *row[1:]] for key, row in zip(keys, rows[2:])]
    _write_csv(path, rows, "utf-8-sig", "\n")
    written.append(path)
    by_province = _province_view(sim, provinces)
    panel = [c for c in province_only if c != "fixed_telephones_1984"]
    path = folder / "cnrds_province_panel.csv"
    _write_csv(path, _cnrds_rows(by_province, dictionary, panel, years, {}), "utf-8-sig", "\n")
    written.append(path)
    if not is_next:
        written.append(_nbs_file(by_province, dictionary.loc["fixed_telephones_1984"], [1984], folder, {}))
        ref = pd.DataFrame({"unit_code": sim.units["unit_code"], "unit_name": sim.units["unit_name"],
                            "level": spec.units, "province_code": sim.units["parent_code"],
                            "lat": sim.units["lat"].round(4), "lon": sim.units["lon"].round(4), "aliases": ""})
        path = folder / "units_reference.csv"
        ref.to_csv(path, index=False, lineterminator="\n")
        written.append(path)
    return written


def _province_view(sim: Simulation, provinces: dict[int, str]) -> Simulation:
    """The simulation aggregated to its provinces (means of the units' values; the 1984
    telephones summed): what a province-level file of a lower-level sample holds."""
    parent = sim.units["parent_code"].to_numpy()
    codes = np.array(sorted(set(parent)))
    groups = [parent == c for c in codes]
    values = {k: np.array([v[g].mean(axis=0) for g in groups]) for k, v in sim.values.items()}
    missing = {k: np.zeros_like(v, dtype=bool) for k, v in values.items()}
    units = pd.DataFrame({"unit_code": codes, "unit_name": [provinces[int(c)] for c in codes]})
    phones = np.array([sim.telephones_1984[g].sum() for g in groups])
    return Simulation(units, sim.years, values, missing, {}, phones)


def write_sample(out_dir: Path, spec: SampleSpec = SampleSpec(), next_vintage_dir: Path | None = None) -> list[Path]:
    """Write the synthetic extracts of ``spec`` into ``out_dir`` (and the next vintage into
    ``next_vintage_dir``); returns the files written. Same spec, same bytes.

    The next vintage holds what the following yearbook would: NBS files for
    ``first_year+1 .. last_year+1`` (identical overlapping values except ``REVISIONS`` of
    ``last_year``) and CNRDS rows for ``last_year+1`` only."""
    sim = simulate(spec)
    dictionary = indicator_dictionary().set_index("code", drop=False)
    written = []
    base = (Path(out_dir), list(range(spec.first_year, spec.last_year + 1)), False,
            f"yearbooks {spec.first_year + 1}-{spec.last_year + 1}")
    targets = [base]
    if next_vintage_dir is not None:
        targets.append((Path(next_vintage_dir), list(range(spec.first_year + 1, spec.last_year + 2)), True,
                        f"yearbook {spec.last_year + 2} (data to {spec.last_year + 1})"))
    for folder, years, is_next, label in targets:
        folder.mkdir(parents=True, exist_ok=True)
        cnrds_years = [spec.last_year + 1] if is_next else years
        if spec.units == "province":
            overrides = _revision_overrides(sim, spec.last_year) if is_next else {}
            for _, row in dictionary.iterrows():
                if row["source"] != "yearbook" or (is_next and row["code"] == "fixed_telephones_1984"):
                    continue
                written.append(_nbs_file(sim, row, years[::-1], folder, overrides))
            panel_codes = [c for c in dictionary.index
                           if dictionary.loc[c, "source"] == "cnrds" and c not in _CNRDS_XLSX_SERIES]
            path = folder / "cnrds_panel.csv"
            _write_csv(path, _cnrds_rows(sim, dictionary, panel_codes, cnrds_years, overrides), "utf-8-sig", "\n")
            written.append(path)
            path = folder / "cnrds_marketization.xlsx"
            _write_xlsx(path, _numeric_xlsx_rows(
                _cnrds_rows(sim, dictionary, list(_CNRDS_XLSX_SERIES), cnrds_years, overrides)))
            written.append(path)
        else:
            written += _lower_level_files(sim, spec, dictionary, folder, cnrds_years, is_next)
        path = folder / "vintage.txt"
        path.write_text(f"synthetic sample, {label} (seed {spec.seed})\n", encoding="utf-8")
        written.append(path)
        path = folder / SYNTHETIC_MARKER  # the loader marks these files synthetic, whatever the label
        path.write_text(f"Synthetic data written by `resilience sample` (seed {spec.seed}, {spec.units}); "
                        "not real statistics.\n", encoding="utf-8")
        written.append(path)
    return written
