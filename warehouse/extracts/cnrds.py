"""CNRDS-style panels: two header rows, then one row per unit-year, read as a stream.

Row 1 holds codes: the unit column — ``Prvcnm`` (province name), ``Ctnm``/``Cntnm``
(prefecture/county name, optionally with a ``Prvcnm`` parent column) or ``Ctcd``/``Cntcd``
(six-digit code) — ``Sgnyea`` (year) and dictionary codes or aliases; row 2 Chinese labels
``<name>(<unit>)``::

    Prvcnm,Sgnyea,ecommerce_sales,software_revenue
    省份,年份,电子商务销售额(万元),软件业务收入(亿元)
    北京市,2013,1234.5,…
"""
from __future__ import annotations

from warehouse.errors import ExtractError
from warehouse.extracts.cells import blank_row, is_blank, parse_number, split_label, text, trim, year_of
from warehouse.extracts.model import Emitter, ParseContext, ParsedExtract
from warehouse.extracts.nbs import check_width
from warehouse.extracts.units import UnitResolver
from warehouse.reference import ReferenceLookupError

UNIT_COLUMNS = {"prvcnm": ("province", "name"), "ctnm": ("prefecture", "name"), "cntnm": ("county", "name"),
                "ctcd": ("prefecture", "code"), "cntcd": ("county", "code")}


def sniff_cnrds(head_rows) -> bool:
    first = next((cells for _, cells in head_rows if not blank_row(cells)), [])
    codes = {text(c).casefold() for c in first}
    return "sgnyea" in codes and bool(codes & set(UNIT_COLUMNS))


def parse_cnrds(parsed: ParsedExtract, rows, context: ParseContext, sink) -> None:
    file = str(parsed.path)
    reference = context.reference
    emitter = Emitter(parsed, context, sink)
    padded = parsed.container not in ("csv", "tsv")
    rows = (r for r in rows if not blank_row(r[1]))  # blank lines carry nothing
    code_line, codes = next(rows)
    codes = trim(codes)
    try:
        label_line, labels = next(rows)
    except StopIteration:
        raise ExtractError(file, "CNRDS panel without its second header row (labels); truncated?", code_line) from None
    width = len(codes)
    if len(labels) > width and any(not is_blank(c) for c in labels[width:]):
        raise ExtractError(file, f"label row has {len(labels)} cells but the code row has {width}", label_line)
    labels = list(labels) + [None] * (width - len(labels))

    parent_col = year_col = unit_col = name_col = None
    unit_kind = level = None
    columns = []  # (col, indicator, unit, factor)
    seen_codes: dict[str, int] = {}
    for col, (code_cell, label_cell) in enumerate(zip(codes, labels)):
        code_text = text(code_cell)
        key = code_text.casefold()
        if key == "sgnyea":
            year_col = col
            continue
        if key in UNIT_COLUMNS:
            col_level, kind = UNIT_COLUMNS[key]
            if key == "prvcnm":
                parent_col = col
            else:
                if unit_col is not None and (unit_kind == kind or level != col_level):
                    raise ExtractError(file, f"two unit columns ({text(codes[unit_col])} and {code_text})", code_line)
                if unit_col is not None:  # a code and a name column: the code is the key, the name is checked
                    name_col = unit_col if kind == "code" else col
                    if kind == "name":
                        continue
                unit_col, unit_kind, level = col, kind, col_level
            continue
        label = text(label_cell)
        name, unit = split_label(label)
        indicator = reference.indicator_by_code(code_text)
        if indicator is None:
            for candidate in (code_text, name):
                try:
                    indicator = reference.indicator_by_name(candidate)
                    break
                except ReferenceLookupError:
                    continue
        if indicator is None:
            raise ExtractError(file, f"unknown column {col + 1}: code {code_text!r} / label {label!r} is not a code, "
                                     f"name or alias in indicators.csv{reference.suggestion(name or code_text)}",
                               code_line)
        if not unit:
            raise ExtractError(file, f"column {col + 1} ({code_text}): label {label!r} has no (unit)", label_line)
        if indicator.code in seen_codes:
            raise ExtractError(file, f"indicator {indicator.code} appears in columns {seen_codes[indicator.code]} "
                                     f"and {col + 1}", code_line)
        seen_codes[indicator.code] = col + 1
        columns.append((col, indicator, unit, emitter.factor(unit, indicator, label_line), code_text))
    if unit_col is None:  # a province panel: Prvcnm is the unit column
        unit_col, unit_kind, level, parent_col = parent_col, "name", "province", None
    if unit_col is None or year_col is None:
        raise ExtractError(file, "CNRDS panel needs a unit column (Prvcnm, Ctnm, Cntnm, Ctcd or Cntcd) and a Sgnyea "
                                 "column in row 1", code_line)
    if not columns:
        raise ExtractError(file, "CNRDS panel has no indicator columns", code_line)
    parsed.indicator_source = "row 1 codes"
    parsed.indicator_codes = [ind.code for _, ind, _, _, _ in columns]
    resolver = UnitResolver(reference, file, level)
    parsed.level = level

    seen: dict[tuple[int, int], int] = {}
    for line, cells in rows:
        cells = check_width(file, line, cells, width, padded)
        parent = resolver.province(text(cells[parent_col]), line) if parent_col is not None else None
        if unit_kind == "code":
            code = resolver.by_code(text(cells[unit_col]), line, parent)
            if name_col is not None:
                resolver.check_name(code, text(cells[name_col]), line)
        else:
            code = resolver.code(text(cells[unit_col]), line, parent)
        year = year_of(cells[year_col])
        if year is None:
            raise ExtractError(file, f"unparseable year {text(cells[year_col])!r} in column Sgnyea", line)
        emitter.check_year(year, line)
        if (code, year) in seen:
            raise ExtractError(file, f"duplicate unit-year: {text(cells[unit_col])!r} {year} already appeared on "
                                     f"line {seen[code, year]}", line)
        seen[code, year] = line
        emitter.row(code, year)
        for col, indicator, unit, factor, name in columns:
            reported, decimals = parse_number(cells[col], file, line, name)
            emitter.add(indicator, code, year, reported, decimals, unit, factor, line, track=False)
    emitter.flush()
    if not seen:
        raise ExtractError(file, "no data rows after the two header rows (header only or truncated)", label_line)
    parsed.rows = len(seen)
