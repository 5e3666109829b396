"""Statistical-yearbook tables: one year and many indicators (China Statistical Yearbook,
its CNKI bilingual copies), multi-year one-indicator tables, and City Statistical Yearbook
tables with 全市/市辖区 column pairs.

A sheet is read as a sequence of *blocks*. Each block has title rows (a table number such as
``7-6``, ``续表``/``continued``, the year in parentheses), unit rows (``单位：亿元``; the
English ``(100 million yuan)`` is ignored), a header of one to four rows above the first unit
row (words broken across rows and padded with spaces are joined; merged cells spread; the
English part of a bilingual header is dropped), then unit rows: a total row (全国, 地方合计,
总计, National Total) used only to check the sum, province label rows without values that
give the parent of the city rows below them, blank rows between regional groups, and
footnotes that end the block. A new title row starts a new block (a continued table), on the
same sheet or the next.

A column maps to a series when its header is a dictionary name or alias, or through a
manifest row ``file,indicator,unit,column`` (table-specific meanings belong there, not in the
global aliases). Unmapped columns are listed, never dropped silently. The year comes from the
title, else the manifest's ``year``; the unit from the header text, else the unit row, else
the manifest.
"""
from __future__ import annotations

import re

from warehouse.errors import ExtractError
from warehouse.extracts.cells import (FOOTNOTE_PREFIXES, blank_row, compact, is_blank, parse_number, split_label,
                                      text, year_of)
from warehouse.extracts.manifest import MANIFEST_FILE
from warehouse.extracts.model import Emitter, ParseContext, ParsedExtract
from warehouse.extracts.units import UnitResolver
from warehouse.reference import ReferenceLookupError, name_key

REGION_HEADERS = {"地区", "地区region", "region", "城市", "城市city", "地区名称", "省份", "地区district", "city"}
TOTAL_ROWS = {"全国", "全国总计", "全国合计", "地方合计", "总计", "合计", "nationaltotal", "total", "全国nationaltotal",
              "地方合计total"}
REGION_GROUPS = ("东部", "中部", "西部", "东北")
VARIANT_WORDS = {"全市": "全市", "市辖区": "市辖区"}
_TITLE = re.compile(r"^\s*\d{1,2}\s*[-—–]\s*\d{1,3}|续表|continued", re.I)
_TITLE_YEAR = re.compile(r"[(（]\s*(\d{4})\s*年?\s*[)）]|(\d{4})\s*年")
_UNIT_ROW = re.compile(r"^单位[:：]\s*(.+)$")
_ENGLISH = re.compile(r"[A-Za-z]{3,}")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def chinese_part(value) -> str:
    """The Chinese text of a bilingual cell, spaces and line breaks removed:
    ``'地方一般公\\n共预算支出\\nGeneral Public'`` -> ``'地方一般公共预算支出'``."""
    s = compact(value)
    m = _ENGLISH.search(s)
    if m and _CJK.search(s[:m.start()]):
        s = s[:m.start()]
    return s.strip()


def is_region_header(value) -> bool:
    s = compact(value).casefold()
    return s in REGION_HEADERS or (s.startswith("地区") and len(s) <= 10)


def sniff_yearbook(head_rows) -> bool:
    return any(is_region_header(c) for _, cells in head_rows for c in cells[:3] if not is_blank(c))


class _Block:
    def __init__(self, sheet: str):
        self.sheet = sheet
        self.titles: list[str] = []
        self.unit: str | None = None
        self.header: list[tuple[int, list]] = []
        self.region_col: int | None = None
        self.skip_cols: set[int] = set()
        self.columns: list = []
        self.maps: list = []
        self.total = None
        self.parent: int | None = None
        self.sums: dict = {}


def parse_yearbook(parsed: ParsedExtract, tables, context: ParseContext, sink) -> None:
    """``tables``: ``[(sheet name, rows)]``; every block of every sheet is parsed."""
    file = str(parsed.path)
    emitter = Emitter(parsed, context, sink)
    state = _State(parsed, context, emitter)
    for sheet, rows in tables:
        # errors of a workbook with several sheets name the sheet: "file.xls (sheet 7-6), line 9"
        state.file = emitter.file = f"{file} (sheet {sheet})" if len(tables) > 1 else file
        state.resolver.file = state.file
        state.sheet(sheet, rows)
    state.file = emitter.file = file
    emitter.flush()
    state.finish()


class _State:
    def __init__(self, parsed: ParsedExtract, context: ParseContext, emitter: Emitter):
        self.parsed, self.context, self.emitter = parsed, context, emitter
        self.file = str(parsed.path)
        self.entries = context.manifest.for_file(parsed.file_name)
        self.used_entries: set[int] = set()
        self.resolver = UnitResolver(context.reference, self.file)
        self.seen: dict[tuple, int] = {}
        self.unmapped: dict[str, None] = {}
        self.other_variant: dict[str, None] = {}
        self.title_year: int | None = None
        self.variant = context.variant or next((e.variant for e in self.entries if e.variant), None)
        self.blocks = 0

    # ---- blocks
    def sheet(self, sheet: str, rows) -> None:
        block = _Block(sheet)
        i, rows = 0, list(rows)
        while i < len(rows):
            line, cells = rows[i]
            if blank_row(cells):
                i += 1
                continue
            first = next((text(c) for c in cells if not is_blank(c)), "")
            if block.region_col is None:
                region = next((c for c, v in enumerate(cells) if is_region_header(v)), None)
                if region is None:
                    self._pre_header(block, cells)
                    i += 1
                    continue
                block.region_col = region
                i = self._header(block, rows, i)
                continue
            if _TITLE.search(first) and not self._numbers(block, cells):
                self.close(block)
                block = _Block(sheet)  # a continued table: its own title, unit and header
                continue
            if first.casefold().startswith(FOOTNOTE_PREFIXES):
                self.close(block)
                block = _Block(sheet)
                i += 1
                continue
            self._data_row(block, line, cells)
            i += 1
        self.close(block)

    def _pre_header(self, block: _Block, cells) -> None:
        for cell in cells:
            t = compact(cell)
            if not t:
                continue
            m = _UNIT_ROW.match(t)
            if m:
                block.unit = chinese_part(m.group(1)) or m.group(1)
            elif _CJK.search(t) or _TITLE.search(t):
                block.titles.append(text(cell))
                y = _TITLE_YEAR.search(t)
                if y and self.title_year is None:
                    self.title_year = int(y.group(1) or y.group(2))

    def _header(self, block: _Block, rows, i: int) -> int:
        """Collect header rows from row i; return the index of the first data row."""
        region = block.region_col
        header = []
        while i < len(rows):
            line, cells = rows[i]
            if blank_row(cells):
                i += 1
                continue
            name = cells[region] if region < len(cells) else None
            if header and not is_blank(name) and not is_region_header(name) and self._is_row_name(name):
                break
            if len(header) >= 6:
                raise ExtractError(self.file, "yearbook table: no unit rows found below a header of six rows "
                                              "(is the 地区 column empty?)", line)
            cells = list(cells)
            for c, v in enumerate(cells):  # census tables print 单位：人 inside the header block
                m = _UNIT_ROW.match(compact(v))
                if m:
                    block.unit, cells[c] = chinese_part(m.group(1)) or m.group(1), None
            header.append((line, cells))
            i += 1
        block.header = header
        width = max(len(c) for _, c in header)
        for _, cells in header:  # an English Region column beside the Chinese one holds no values
            for c, v in enumerate(cells):
                if c != region and is_region_header(v):
                    block.skip_cols.add(c)
        for c in range(width):
            if c == region or c in block.skip_cols:
                continue
            pieces = []
            for _, cells in header:
                piece = chinese_part(cells[c]) if c < len(cells) else ""
                if piece and (not pieces or pieces[-1] != piece):
                    pieces.append(piece)
            if pieces:
                block.columns.append((c, pieces))
        self._map_columns(block, header[0][0] if header else 0)
        self.blocks += 1
        return i

    def _is_row_name(self, cell) -> bool:
        key = name_key(chinese_part(cell))
        if key in TOTAL_ROWS or key.startswith(REGION_GROUPS):
            return True
        ref = self.context.reference
        name = chinese_part(cell)
        return ref.is_province(name) or any(ref.registry.knows(name, lv) for lv in ("prefecture", "county"))

    def _numbers(self, block: _Block, cells) -> bool:
        return any(isinstance(c, (int, float)) and not isinstance(c, bool) for c in cells)

    # ---- mapping
    def _map_columns(self, block: _Block, header_line: int) -> None:
        years = [year_of(pieces[-1]) for _, pieces in block.columns]
        if block.columns and sum(y is not None for y in years) >= 2 and all(y is not None for y in years):
            self._map_years(block, years, header_line)
            return
        year = self._year(header_line)
        for col, pieces in block.columns:
            variant = VARIANT_WORDS.get(pieces[-1]) if len(pieces) > 1 else None
            base = "".join(pieces[:-1]) if variant else "".join(pieces)
            label = base + (f"[{variant}]" if variant else "")
            if variant and variant != (self.variant or "全市"):
                self.other_variant[label] = None
                continue
            name, unit = split_label(base)
            indicator, entry_unit = self._indicator_for(base, name)
            if indicator is None:
                self.unmapped[label] = None
                continue
            unit = unit if unit and self._known_unit(unit, indicator) else (block.unit or entry_unit)
            if entry_unit and unit and compact(entry_unit) != compact(unit) and block.unit is None:
                unit = entry_unit
            if not unit:
                raise ExtractError(self.file, f"column {label!r}: no unit (no 单位 row, none in the header, none in "
                                              f"{MANIFEST_FILE})", header_line)
            factor = self.emitter.factor(unit, indicator, header_line)
            if variant:
                self.parsed.variant = variant
            self.parsed.mapped_columns[label] = indicator.code
            block.maps.append((col, indicator, unit, factor, year))

    def _known_unit(self, unit: str, indicator) -> bool:
        try:
            self.context.reference.conversion_factor(unit, indicator)
            return True
        except ReferenceLookupError:
            return False

    def _map_years(self, block: _Block, years: list[int], header_line: int) -> None:
        entries = [e for e in self.entries if e.column is None]
        indicator = entries[0].indicator if entries else None
        if entries:
            self.used_entries.add(entries[0].line)
            self.parsed.manifest_rows.append(entries[0].describe())
        if indicator is None:
            for title in block.titles:
                name = re.sub(r"^[\d\s\-—–.]+", "", chinese_part(title))
                name = re.sub(r"^(各地区|分地区|各省|分省)", "", name)
                name, _ = split_label(name)
                try:
                    indicator = self.context.reference.indicator_by_name(name)
                    break
                except ReferenceLookupError:
                    continue
        if indicator is None:
            raise ExtractError(self.file, "multi-year yearbook table: its title names no dictionary series; add the "
                                          f"row '{self.parsed.file_name},<indicator>,<unit>' to {MANIFEST_FILE}",
                               header_line)
        unit = block.unit or (entries[0].unit if entries else None)
        if not unit:
            raise ExtractError(self.file, "multi-year yearbook table without a unit (no 单位 row): add it to the "
                                          f"manifest row of {self.parsed.file_name}", header_line)
        factor = self.emitter.factor(unit, indicator, header_line)
        for (col, pieces), year in zip(block.columns, years):
            block.maps.append((col, indicator, unit, factor, self.emitter.check_year(year, header_line)))
        self.parsed.mapped_columns[f"{years[0]}..{years[-1]}"] = indicator.code
        self.parsed.indicator_source = "manifest" if entries else "title"

    def _indicator_for(self, base: str, name: str):
        keys = {compact(base), compact(name)}
        for entry in self.entries:
            if entry.column and compact(split_label(entry.column)[0]) in keys | {compact(split_label(base)[0])} \
                    or entry.column in keys:
                if entry.line not in self.used_entries:
                    self.parsed.manifest_rows.append(entry.describe())
                self.used_entries.add(entry.line)
                return entry.indicator, entry.unit
        try:
            return self.context.reference.indicator_by_name(name), None
        except ReferenceLookupError:
            return None, None

    def _year(self, header_line: int) -> int:
        entry_year = next((e.year for e in self.entries if e.year), None)
        year = self.title_year or entry_year
        if year is None:
            raise ExtractError(self.file, "yearbook table without a year: the title gives none; add a year column to "
                                          f"its {MANIFEST_FILE} rows (file,indicator,unit,column,year)", header_line)
        if entry_year and self.title_year and entry_year != self.title_year:
            raise ExtractError(self.file, f"{MANIFEST_FILE} says year {entry_year} but the title says "
                                          f"{self.title_year}", header_line)
        return self.emitter.check_year(year, header_line)

    # ---- data
    def _data_row(self, block: _Block, line: int, cells) -> None:
        region = block.region_col
        raw_name = cells[region] if region < len(cells) else None
        name = chinese_part(raw_name)
        if not name:
            if any(not is_blank(c) for c in cells):
                raise ExtractError(self.file, "yearbook row with values but no unit name in the 地区 column", line)
            return
        key = name_key(name)
        values = [(col, ind, unit, factor, year, cells[col] if col < len(cells) else None)
                  for col, ind, unit, factor, year in block.maps]
        if key in TOTAL_ROWS:
            block.total = (line, values)
            return
        if key.startswith(REGION_GROUPS) and key.endswith("地区"):
            return
        empty = all(is_blank(c) for i, c in enumerate(cells) if i != region and i not in block.skip_cols)
        ref = self.context.reference
        if empty and ref.is_province(name) and self.resolver.level in (None, "prefecture", "county") \
                and not ref.registry.knows(name, "prefecture"):
            block.parent = ref.province_code(name)  # a province label row of a city table
            return
        parent = block.parent if self.resolver.level != "province" else None
        if self.resolver.level is None and ref.is_province(name):
            parent = None
        code = self.resolver.code(name, line, parent)
        for col, indicator, unit, factor, year, cell in values:
            k = (indicator.code, code, year)
            if k in self.seen:
                raise ExtractError(self.file, f"{indicator.code} for {name} ({code}), {year} appears twice (first on "
                                              f"line {self.seen[k]})", line)
            self.seen[k] = line
            reported, decimals = parse_number(cell, self.file, line, f"column {col + 1}")
            self.emitter.add(indicator, code, year, reported, decimals, unit, factor, line)
            total = block.sums.setdefault(col, [0.0, 0.0, 0, True])
            if reported is None:
                total[3] = False
            else:
                total[0] += reported
                total[1] += 0.5 * 10.0 ** -decimals
                total[2] += 1
        self.parsed.rows += 1

    def close(self, block: _Block) -> None:
        """Check a complete province table's units against its total row (beyond rounding)."""
        if block.total is None or self.resolver.level != "province":
            return
        line, values = block.total
        for col, indicator, unit, factor, year, cell in values:
            got = block.sums.get(col)
            if not got or not got[3] or got[2] < len(self.context.reference.provinces):
                continue  # not every province, or a missing cell: the total cannot be checked
            reported, decimals = parse_number(cell, self.file, line, f"column {col + 1}")
            if reported is None:
                continue
            if abs(reported - got[0]) > got[1] + 0.5 * 10.0 ** -decimals + 1e-9 * abs(reported):
                self.parsed.notes.append(f"line {line}: the total row gives {reported:g} {unit} for {indicator.code} "
                                         f"{year}, but the {got[2]} provinces add up to {got[0]:.6g}")

    def finish(self) -> None:
        p = self.parsed
        p.format = "yearbook"
        p.unmapped_columns = list(self.unmapped)
        if self.other_variant:
            p.notes.append(f"{len(self.other_variant)} columns of the other variant not loaded "
                           f"(the table's {self.variant or '全市'} columns are)")
        p.level = self.resolver.level or "province"
        if not p.indicator_source:
            p.indicator_source = "manifest" if self.used_entries else "header"
        p.indicator_codes = sorted(set(p.mapped_columns.values()))
        p.rows = len(p.units)  # units read (a continued table repeats them)
        for entry in self.entries:
            if entry.column and entry.line not in self.used_entries:
                raise ExtractError(self.file, f"{entry.where()}: column {entry.column!r} matches no header of the table "
                                              f"(headers: {', '.join(list(p.mapped_columns) + p.unmapped_columns) or 'none'})")
        if self.blocks == 0:
            raise ExtractError(self.file, "yearbook table without a header row (no 地区/Region column)")
        if not p.mapped_columns:
            raise ExtractError(self.file, "no column of the yearbook table maps to a dictionary series; map them with "
                                          f"{MANIFEST_FILE} rows file,indicator,unit,column (headers: "
                                          f"{', '.join(p.unmapped_columns)})")
        if p.rows == 0:
            raise ExtractError(self.file, "yearbook table without unit rows")
