"""Parsers for the two raw extract formats (docs/CONTRACTS.md, "Raw extract formats").

* **NBS provincial annual export**: preamble (``数据库：…``, ``指标：<name>(<unit>)``, ``时间：…``),
  a header ``地区,2021年,2020年,…``, one row per province, footnotes (``注：…``, ``数据来源：…``).
* **CNRDS-style panel**: row 1 codes (``Prvcnm``, ``Sgnyea``, indicator codes), row 2 labels
  ``<name>(<unit>)``, then one row per province-year.

Both arrive as CSV (UTF-8, UTF-8 with BOM, or GBK/GB18030) or as the first sheet of an .xlsx.
A file is first turned into numbered rows of cells (:func:`read_rows`), then sniffed and
parsed by one format-specific function. Every problem raises
:class:`~warehouse.errors.ExtractError` naming the file, the line (the sheet row for .xlsx) and
the reason. Values are converted to the dictionary's canonical unit; the reported value and
unit are kept next to them.

We wrote our own reader because pandas' ``read_csv``/``read_excel`` cannot parse a preamble of
variable length with footnotes and keep the source line of every cell, which the error
messages and ``raw.observations.source_line`` need.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from warehouse.errors import ExtractError
from warehouse.reference import Indicator, Reference, ReferenceLookupError, load_reference, name_key

EXTRACT_SUFFIXES = (".csv", ".xlsx")

# Missing-value markers of yearbook exports, compared after name_key() (NFKC folds "…" to
# "...", the full-width hyphen "－" to "-").
MISSING_MARKERS = frozenset({"", "...", "..", "-", "--", "—", "——", "–", "/", "null", "none",
                             "na", "n/a", "nan", "#n/a", "缺失", "无"})
FOOTNOTE_PREFIXES = ("注", "数据来源", "附注", "资料来源", "说明")
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?$")
_YEAR = re.compile(r"^(\d{4})(年)?$")
_LABEL = re.compile(r"^(.*)\(([^()]*)\)$")  # last parenthesised group = unit (after NFKC)

# (indicator_code, province_code, year, value, unit, reported_value, reported_unit, source_line)
Record = tuple[str, int, int, "float | None", str, "float | None", str, int]


@dataclass
class ParsedExtract:
    """One landing file, parsed and converted; ``records`` are raw.observations rows."""

    path: Path
    sha256: str
    format: str  # "nbs" | "cnrds"
    container: str  # "csv" | "xlsx"
    encoding: str | None
    indicator_codes: list[str]
    rows: int  # data rows in the file
    records: list[Record] = field(repr=False)

    @property
    def file_name(self) -> str:
        return self.path.name

    @property
    def cells_missing(self) -> int:
        return sum(1 for r in self.records if r[3] is None)

    @property
    def years(self) -> set[int]:
        return {r[2] for r in self.records}

    @property
    def latest_year(self) -> int:
        return max(self.years)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def parse_extract(path: Path, reference: Reference | None = None) -> ParsedExtract:
    """Read, sniff and parse one extract file; raise ExtractError on any problem."""
    path = Path(path)
    reference = reference or load_reference()
    data = path.read_bytes()
    rows, container, encoding = read_rows(path, data)
    if not rows:
        raise ExtractError(str(path), "file is empty (no rows)")
    kind = sniff_format(rows)
    if kind is None:
        line, cells = rows[0]
        raise ExtractError(
            str(path), "unrecognised extract format: expected an NBS export (a preamble line "
            "starting with 数据库： or 指标：) or a CNRDS panel (row 1 starting with Prvcnm), "
            f"found {_text(cells[0])!r}", line)
    parse = _parse_nbs if kind == "nbs" else _parse_cnrds
    indicator_codes, n_rows, records = parse(str(path), rows, container, reference)
    return ParsedExtract(path, hashlib.sha256(data).hexdigest(), kind, container, encoding,
                         indicator_codes, n_rows, records)


# --------------------------------------------------------------------------- reading

def read_rows(path: Path, data: bytes | None = None) -> tuple[list[tuple[int, list]], str, str | None]:
    """Numbered rows of a CSV or of an .xlsx's first sheet.

    Returns ``(rows, container, encoding)``; each row is ``(line_number, cells)`` exactly as
    read (a ragged CSV row stays short, so truncation can be detected). Trailing blank rows
    are dropped; inner blank rows are kept because a blank line ends the NBS data block.
    """
    path = Path(path)
    data = path.read_bytes() if data is None else data
    if path.suffix.lower() == ".xlsx":
        return _read_xlsx(path, data), "xlsx", None
    text, encoding = decode_bytes(str(path), data)
    rows: list[tuple[int, list]] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for cells in reader:
            rows.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ExtractError(str(path), f"malformed CSV ({exc}); is the file truncated?", start) from None
    while rows and _blank_row(rows[-1][1]):
        rows.pop()
    return rows, "csv", encoding


def decode_bytes(file: str, data: bytes) -> tuple[str, str]:
    """Decode as UTF-8 (with or without BOM), else GBK (as its superset GB18030)."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise ExtractError(file, _decode_reason("UTF-8 (it starts with a UTF-8 BOM)", data, exc.start + 3),
                               _line_of(data, exc.start + 3)) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_exc:
        utf8_offset = utf8_exc.start
    try:
        return data.decode("gb18030"), "gbk"
    except UnicodeDecodeError as exc:
        reason = _decode_reason("UTF-8 or GBK/GB18030", data, exc.start)
        reason += f" (the first invalid UTF-8 byte is at offset {utf8_offset})"
        raise ExtractError(file, reason, _line_of(data, exc.start)) from None


def _decode_reason(what: str, data: bytes, offset: int) -> str:
    return f"undecodable encoding: not valid {what}; byte 0x{data[offset]:02x} at byte offset {offset}"


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _read_xlsx(path: Path, data: bytes) -> list[tuple[int, list]]:
    import openpyxl  # lazy: only .xlsx extracts need it

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, XML errors
        raise ExtractError(str(path), f"not a readable .xlsx workbook ({type(exc).__name__}: {exc}); "
                                      "is the file truncated?") from None
    try:
        ws = wb.worksheets[0]
        rows = [(i, list(cells)) for i, cells in enumerate(ws.iter_rows(values_only=True), start=1)]
    except Exception as exc:
        raise ExtractError(str(path), f"cannot read the first sheet ({type(exc).__name__}: {exc})") from None
    finally:
        wb.close()
    while rows and _blank_row(rows[-1][1]):
        rows.pop()
    return rows


def _trim(cells: list) -> list:
    end = len(cells)
    while end and _is_blank(cells[end - 1]):
        end -= 1
    return cells[:end]


def _blank_row(cells: list) -> bool:
    return all(_is_blank(c) for c in cells)


def _is_blank(cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _text(cell) -> str:
    """A cell as stripped text; integral floats from .xlsx lose their '.0'."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return unicodedata.normalize("NFKC", str(cell)).strip()


# --------------------------------------------------------------------------- sniffing

def sniff_format(rows: list[tuple[int, list]]) -> str | None:
    """'nbs' if a preamble line starts with 数据库：/指标：, 'cnrds' if row 1 cell 1 is Prvcnm."""
    first = next((cells for _, cells in rows if not _blank_row(cells)), [])
    if first and _text(first[0]).lstrip("\ufeff").casefold() == "prvcnm":
        return "cnrds"
    for _, cells in rows:
        if _blank_row(cells):
            continue
        head = _text(cells[0])
        if head == "地区":  # the header: the preamble is over
            break
        if _preamble_key(head) in ("数据库", "指标"):
            return "nbs"
    return None


def _preamble_key(text: str) -> str | None:
    key, sep, _ = text.partition(":")  # NFKC turned '：' into ':'
    return key.strip() if sep else None


# --------------------------------------------------------------------------- cells

def parse_value(cell, file: str, line: int, column: str) -> float | None:
    """A numeric cell, None for a missing marker; anything else is an error."""
    if cell is None:
        return None
    if isinstance(cell, bool):
        raise ExtractError(file, f"non-numeric value {cell!r} in column {column}", line)
    if isinstance(cell, (int, float)):
        value = float(cell)
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise ExtractError(file, f"non-numeric value {cell!r} in column {column}", line)
        return value
    if not isinstance(cell, str):
        raise ExtractError(file, f"non-numeric value {cell!r} ({type(cell).__name__}) in column {column}", line)
    text = name_key(cell)
    if text in MISSING_MARKERS:
        return None
    if not _NUMBER.match(text) or not any(ch.isdigit() for ch in text):
        raise ExtractError(
            file, f"non-numeric value {cell.strip()!r} in column {column} "
                  "(not a number and not a missing marker such as empty, …, -, —)", line)
    return float(text.replace(",", ""))


def split_label(text: str) -> tuple[str, str | None]:
    """``'地区生产总值(亿元)'`` -> ``('地区生产总值', '亿元')``; full-width parens allowed."""
    text = unicodedata.normalize("NFKC", text).strip()
    m = _LABEL.match(text)
    if not m:
        return text, None
    return m.group(1).strip(), m.group(2).strip()


def _year_of(cell) -> int | None:
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        return int(cell) if float(cell).is_integer() and 1900 <= cell <= 2100 else None
    m = _YEAR.match(re.sub(r"\s+", "", _text(cell)))
    if m and 1900 <= int(m.group(1)) <= 2100:
        return int(m.group(1))
    return None


def _province(reference: Reference, cell, file: str, line: int) -> int:
    try:
        return reference.province_code(_text(cell))
    except ReferenceLookupError as exc:
        raise ExtractError(file, str(exc), line) from None


def _factor(reference: Reference, unit: str, indicator: Indicator, file: str, line: int) -> float:
    try:
        return reference.conversion_factor(unit, indicator)
    except ReferenceLookupError as exc:
        raise ExtractError(file, str(exc), line) from None


def _convert(value: float | None, factor: float) -> float | None:
    # Round away float noise of the multiplication (e.g. 12345 * 1e-4) to 12 significant
    # digits, far beyond any yearbook's precision, so equal values compare equal.
    if value is None:
        return None
    if factor == 1.0 or value == 0.0:
        return value
    converted = value * factor
    return round(converted, 11 - int(math.floor(math.log10(abs(converted)))))


def _check_width(file: str, line: int, cells: list, width: int, container: str) -> list:
    if len(cells) < width:
        if container == "xlsx":  # a sheet stores no trailing empty cells: pad
            return cells + [None] * (width - len(cells))
        raise ExtractError(file, f"truncated row: {len(cells)} cells but the header has {width}", line)
    if len(cells) > width and any(not _is_blank(c) for c in cells[width:]):
        raise ExtractError(file, f"row has {len(cells)} cells but the header has only {width}", line)
    return cells[:width]


# --------------------------------------------------------------------------- NBS

def _parse_nbs(file: str, rows, container: str, reference: Reference):
    indicator = unit = None
    indicator_line = None
    header_at = None
    for idx, (line, cells) in enumerate(rows):
        if _blank_row(cells):
            continue
        head = _text(cells[0])
        if head == "地区":
            header_at = idx
            break
        if _preamble_key(head) == "指标":
            if indicator is not None:
                raise ExtractError(file, f"second 指标 line (the first is line {indicator_line})", line)
            full = ",".join(_text(c) for c in cells if not _is_blank(c))
            indicator, unit = _parse_indicator_line(file, line, full, reference)
            indicator_line = line
    if indicator is None:
        raise ExtractError(file, "NBS export without an 指标：<name>(<unit>) line before the header")
    if header_at is None:
        raise ExtractError(file, "no header row starting with 地区 (the file ends after the preamble; truncated?)",
                           rows[-1][0])
    factor = _factor(reference, unit, indicator, file, indicator_line)

    header_line, header = rows[header_at][0], _trim(rows[header_at][1])
    years: list[int] = []
    for col, cell in enumerate(header[1:], start=2):
        year = _year_of(cell)
        if year is None:
            raise ExtractError(file, f"unparseable year header {_text(cell)!r} in column {col} "
                                     "(expected e.g. 2021年 or 2021)", header_line)
        if year in years:
            raise ExtractError(file, f"year {year} appears twice in the header", header_line)
        years.append(year)
    if not years:
        raise ExtractError(file, "header row has no year columns", header_line)

    records: list[Record] = []
    seen: dict[int, int] = {}
    width = len(header)
    for line, cells in rows[header_at + 1:]:
        if _blank_row(cells):
            break  # a blank line ends the data block
        head = _text(cells[0])
        if head.startswith(FOOTNOTE_PREFIXES):
            break
        if not head:
            raise ExtractError(file, "data row without a province name in the first column", line)
        cells = _check_width(file, line, cells, width, container)
        code = _province(reference, cells[0], file, line)
        if code in seen:
            raise ExtractError(file, f"duplicate province-year: {head!r} (province {code}) already "
                                     f"appeared on line {seen[code]}", line)
        seen[code] = line
        for year, cell in zip(years, cells[1:]):
            reported = parse_value(cell, file, line, f"{year}年")
            records.append((indicator.code, code, year, _convert(reported, factor), indicator.unit,
                            reported, unit, line))
    if not seen:
        raise ExtractError(file, "no data rows after the header (header only or truncated)", header_line)
    return [indicator.code], len(seen), records


def _parse_indicator_line(file: str, line: int, text: str, reference: Reference):
    body = text.partition(":")[2].strip()
    name, unit = split_label(body)
    if unit is None or not unit:
        raise ExtractError(file, f"unrecognised 指标 line {text!r}: expected 指标：<name>(<unit>)", line)
    try:
        indicator = reference.indicator_by_name(name)
    except ReferenceLookupError as exc:
        raise ExtractError(file, f"unrecognised 指标 line {text!r}: {exc}", line) from None
    return indicator, unit


# --------------------------------------------------------------------------- CNRDS

def _parse_cnrds(file: str, rows, container: str, reference: Reference):
    rows = [(line, cells) for line, cells in rows if not _blank_row(cells)]  # blank lines carry nothing
    code_line, codes = rows[0][0], _trim(rows[0][1])
    if len(rows) < 2:
        raise ExtractError(file, "CNRDS panel without its second header row (labels); truncated?", code_line)
    label_line, labels = rows[1]
    width = len(codes)
    if len(labels) > width and any(not _is_blank(c) for c in labels[width:]):
        raise ExtractError(file, f"label row has {len(labels)} cells but the code row has {width}", label_line)
    labels = list(labels) + [None] * (width - len(labels))

    province_col = year_col = None
    columns: list[tuple[int, Indicator, str, float]] = []  # (col, indicator, unit, factor)
    seen_codes: dict[str, int] = {}
    for col, (code_cell, label_cell) in enumerate(zip(codes, labels)):
        code_text = _text(code_cell).lstrip("\ufeff")
        if code_text.casefold() == "prvcnm":
            province_col = col
            continue
        if code_text.casefold() == "sgnyea":
            year_col = col
            continue
        label = _text(label_cell)
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
            raise ExtractError(file, f"unknown column {col + 1}: code {code_text!r} / label {label!r} "
                                     "is not a code, name or alias in indicators.csv", code_line)
        if not unit:
            raise ExtractError(file, f"column {col + 1} ({code_text}): label {label!r} has no (unit)", label_line)
        if indicator.code in seen_codes:
            raise ExtractError(file, f"indicator {indicator.code} appears in columns {seen_codes[indicator.code]} "
                                     f"and {col + 1}", code_line)
        seen_codes[indicator.code] = col + 1
        columns.append((col, indicator, unit, _factor(reference, unit, indicator, file, label_line)))
    if province_col is None or year_col is None:
        raise ExtractError(file, "CNRDS panel needs both a Prvcnm and a Sgnyea column in row 1", code_line)
    if not columns:
        raise ExtractError(file, "CNRDS panel has no indicator columns", code_line)

    records: list[Record] = []
    seen: dict[tuple[int, int], int] = {}
    for line, cells in rows[2:]:
        cells = _check_width(file, line, cells, width, container)
        code = _province(reference, cells[province_col], file, line)
        year = _year_of(cells[year_col])
        if year is None:
            raise ExtractError(file, f"unparseable year {_text(cells[year_col])!r} in column Sgnyea", line)
        if (code, year) in seen:
            raise ExtractError(file, f"duplicate province-year: {_text(cells[province_col])!r} {year} already "
                                     f"appeared on line {seen[code, year]}", line)
        seen[code, year] = line
        for col, indicator, unit, factor in columns:
            reported = parse_value(cells[col], file, line, _text(codes[col]))
            records.append((indicator.code, code, year, _convert(reported, factor), indicator.unit,
                            reported, unit, line))
    if not seen:
        raise ExtractError(file, "no data rows after the two header rows (header only or truncated)", label_line)
    return [ind.code for _, ind, _, _ in columns], len(seen), records
