"""The NBS annual export (分省年度数据 and the same shape with city names): one indicator per
file, units as rows, years as columns.

Classic web export::

    数据库：分省年度数据
    指标：地区生产总值(亿元)          <- the last parenthesised group is the unit
    时间：最近9年                      (or 时间：1993-2017)
    地区,2021年,2020年,…
    北京市,40269.6,…
    注：…                              <- one to five lines; continuations start with U+3000
    数据来源：国家统计局

The 2025-26 platform export has no ``指标`` line (``数据库：分省年度数据 `` and
``时间：2011年-2025年 `` only), a tab after every field and a trailing ``\\t,``: the series
and its unit then come from the landing manifest. A year column that is empty for every unit
(the current year; census years of survey series) carries no data and is reported, not loaded.
"""
from __future__ import annotations

from warehouse.errors import ExtractError
from warehouse.extracts.cells import (FOOTNOTE_PREFIXES, blank_row, compact, is_blank, parse_number,
                                      preamble_key, split_label, text, trim, year_of)
from warehouse.extracts.manifest import MANIFEST_FILE
from warehouse.extracts.model import Emitter, ParseContext, ParsedExtract
from warehouse.extracts.units import UnitResolver
from warehouse.reference import ReferenceLookupError

HEADER_NAMES = ("地区", "地区region", "region", "城市", "城市city")


def is_nbs_header(cells) -> bool:
    return bool(cells) and compact(cells[0]).casefold() in HEADER_NAMES


def sniff_nbs(head_rows) -> bool:
    """A preamble line starting with 数据库：/指标：/时间： before a 地区 header."""
    for _, cells in head_rows:
        if blank_row(cells):
            continue
        if is_nbs_header(cells):
            return False
        if preamble_key(cells[0]) in ("数据库", "指标", "时间"):
            return True
    return False


def check_width(file: str, line: int, cells: list, width: int, padded: bool) -> list:
    if len(cells) < width:
        if padded:  # a sheet stores no trailing empty cells: pad
            return list(cells) + [None] * (width - len(cells))
        raise ExtractError(file, f"truncated row: {len(cells)} cells but the header has {width}", line)
    if len(cells) > width and any(not is_blank(c) for c in cells[width:]):
        raise ExtractError(file, f"row has {len(cells)} cells but the header has only {width}", line)
    return list(cells[:width])


def parse_nbs(parsed: ParsedExtract, rows, context: ParseContext, sink) -> None:
    file = str(parsed.path)
    reference = context.reference
    emitter = Emitter(parsed, context, sink)
    padded = parsed.container not in ("csv", "tsv")
    label = label_line = header = header_line = None
    rows = iter(rows)
    for line, cells in rows:
        if blank_row(cells):
            continue
        if is_nbs_header(cells):
            header, header_line = trim(cells), line
            break
        if preamble_key(cells[0]) == "指标":
            if label is not None:
                raise ExtractError(file, f"second 指标 line (the first is line {label_line})", line)
            label = ",".join(text(c) for c in cells if not is_blank(c)).partition(":")[2].strip()
            label_line = line
    if header is None:
        raise ExtractError(file, "no header row starting with 地区 (the file ends after the preamble; truncated?)")
    indicator, unit, unit_line = _series(parsed, context, label, label_line)
    factor = emitter.factor(unit, indicator, unit_line)

    years: list[int] = []
    for col, cell in enumerate(header[1:], start=2):
        year = year_of(cell)
        if year is None:
            raise ExtractError(file, f"unparseable year header {text(cell)!r} in column {col} "
                                     "(expected e.g. 2021年 or 2021)", header_line)
        if year in years:
            raise ExtractError(file, f"year {year} appears twice in the header", header_line)
        years.append(emitter.check_year(year, header_line, f" in column {col}"))
    if not years:
        raise ExtractError(file, "header row has no year columns", header_line)

    resolver = UnitResolver(reference, file)
    width = len(header)
    table, seen = [], {}
    for line, cells in rows:
        if blank_row(cells):
            break  # a blank line ends the data block
        head = text(cells[0])
        if head.casefold().startswith(FOOTNOTE_PREFIXES):
            break
        if not head:
            raise ExtractError(file, "data row without a unit name in the first column", line)
        cells = check_width(file, line, cells, width, padded)
        code = resolver.code(head, line)
        if code in seen:
            raise ExtractError(file, f"duplicate unit-year: {head!r} (unit {code}) already appeared on line "
                                     f"{seen[code]}", line)
        seen[code] = line
        values = [parse_number(cell, file, line, f"{year}年") for year, cell in zip(years, cells[1:])]
        table.append((line, code, values))
    if not table:
        raise ExtractError(file, "no data rows after the header (header only or truncated)", header_line)
    parsed.level = resolver.level
    filled = [any(values[i][0] is not None for _, _, values in table) for i in range(len(years))]
    parsed.empty_years = sorted(y for y, f in zip(years, filled) if not f)
    for line, code, values in table:
        for year, (reported, decimals), keep in zip(years, values, filled):
            if keep:
                emitter.add(indicator, code, year, reported, decimals, unit, factor, line)
    emitter.flush()
    parsed.rows = len(table)
    parsed.indicator_codes = [indicator.code]
    if not parsed.years:
        raise ExtractError(file, "every year column is empty", header_line)


def _series(parsed: ParsedExtract, context: ParseContext, label: str | None, label_line: int | None):
    """(indicator, unit, line of the unit) from the 指标 line and/or the manifest."""
    file, name = str(parsed.path), parsed.file_name
    entries = [e for e in context.manifest.for_file(name) if e.column is None]
    entry = entries[0] if entries else None
    if entry is not None:
        parsed.manifest_rows.append(entry.describe())
    if label is None:
        parsed.format = "nbs-platform"
        if entry is None:
            raise ExtractError(file, "NBS export without an 指标 line: the file does not name its series; add the "
                                     f"row '{name},<indicator code or 中文名>,<unit>' (e.g. '{name},gdp,亿元') to "
                                     f"{MANIFEST_FILE} in the landing folder")
        if not entry.unit:
            raise ExtractError(file, f"{entry.where()}: the file has no 指标 line, so the manifest row needs its "
                                     "unit (third column)")
        parsed.indicator_source = "manifest"
        return entry.indicator, entry.unit, None
    body, unit = split_label(label)
    if not unit:
        raise ExtractError(file, f"unrecognised 指标 line {'指标：' + label!r}: expected 指标：<name>(<unit>)", label_line)
    try:
        indicator = context.reference.indicator_by_name(body)
    except ReferenceLookupError as exc:
        if entry is None:
            raise ExtractError(file, f"unrecognised 指标 line {'指标：' + label!r}: {exc}, or name the series in "
                                     f"{MANIFEST_FILE}", label_line) from None
        indicator = None
    if entry is not None:
        if indicator is not None and indicator.code != entry.indicator.code:
            raise ExtractError(file, f"{entry.where()} says {entry.indicator.code} but the file's 指标 line "
                                     f"(line {label_line}) is {indicator.code} ({body})", label_line)
        if entry.unit and compact(entry.unit) != compact(unit):
            raise ExtractError(file, f"{entry.where()} says unit {entry.unit!r} but the file's 指标 line "
                                     f"(line {label_line}) says {unit!r}", label_line)
        parsed.indicator_source = "指标 line + manifest"
        return entry.indicator, unit, label_line
    parsed.indicator_source = "指标 line"
    return indicator, unit, label_line
