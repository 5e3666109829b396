"""Parsers of the landing files (docs/CONTRACTS.md, "Raw extract formats").

A file is first read into numbered rows of cells, whatever its container (``reading``:
CSV/TSV as a stream, BIFF8 .xls/.xlsx/.ods through python-calamine, decrypted in memory when
protected with Excel's default password, HTML tables disguised as .xls), then its shape is
sniffed and one parser turns it into observation records:

* ``nbs`` — the NBS export (classic web CSV/.xls and the 2025-26 platform CSV): one
  indicator, units as rows, years as columns;
* ``cnrds`` — CNRDS-style panels of provinces, prefectures or counties;
* ``yearbook`` — statistical-yearbook tables (one year, many indicators; multi-year one-
  indicator tables; City Statistical Yearbook tables with 全市/市辖区 pairs).

Every problem raises :class:`~warehouse.errors.ExtractError` naming the file, the line (the
sheet row for workbooks) and the reason; a file that is not a recognised extract is refused
without quoting its contents. Values are converted to the dictionary's canonical unit, checked
for plausibility, and streamed to a sink in chunks (constant memory for large panels).

We wrote our own readers because pandas' ``read_csv``/``read_excel`` cannot parse a preamble
of variable length with footnotes and keep the source line of every cell, which the error
messages and ``raw.observations.source_line`` need.
"""
from __future__ import annotations

import itertools
from pathlib import Path

from warehouse.errors import ExtractError
from warehouse.extracts.cells import parse_number, parse_value, split_label
from warehouse.extracts.cnrds import parse_cnrds, sniff_cnrds
from warehouse.extracts.model import RECORD_COLUMNS, ParseContext, ParsedExtract, Record
from warehouse.extracts.nbs import parse_nbs, sniff_nbs
from warehouse.extracts.reading import (detect_encoding, iter_text_rows, read_workbook, sha256_of,
                                        sniff_container, sniff_delimiter)
from warehouse.extracts.yearbook import parse_yearbook, sniff_yearbook
from warehouse.reference import load_reference

EXTRACT_SUFFIXES = (".csv", ".tsv", ".xls", ".xlsx", ".ods", ".htm", ".html")
PARSERS = {"nbs": parse_nbs, "cnrds": parse_cnrds, "yearbook": parse_yearbook}
_HEAD = 60

__all__ = ["EXTRACT_SUFFIXES", "RECORD_COLUMNS", "ParseContext", "ParsedExtract", "Record", "parse_extract",
           "parse_number", "parse_value", "sha256_of", "split_label"]


def sniff_format(rows) -> str | None:
    head = list(itertools.islice(rows, _HEAD))
    if sniff_cnrds(head):
        return "cnrds"
    if sniff_nbs(head):
        return "nbs"
    if sniff_yearbook(head):
        return "yearbook"
    return None


def parse_extract(path: Path, context: ParseContext | None = None, sink=None, sha256: str | None = None) -> ParsedExtract:
    """Read, sniff and parse one extract file; raise ExtractError on any problem. Records go
    to ``sink`` (a callable taking a list of records) in chunks, or to ``parsed.records``."""
    path = Path(path)
    context = context or ParseContext(load_reference())
    parsed = ParsedExtract(path, sha256 or sha256_of(path), "", "")
    if path.stat().st_size == 0:
        raise ExtractError(str(path), "file is empty (no rows)")
    container = sniff_container(path)
    if container == "text":
        encoding = detect_encoding(path)
        delimiter = sniff_delimiter(path, encoding)
        parsed.encoding, parsed.container = encoding, "tsv" if delimiter == "\t" else "csv"
        kind = sniff_format(iter_text_rows(path, encoding, delimiter))
        if kind is None:
            raise _unrecognised(path)
        rows = iter_text_rows(path, encoding, delimiter)
        parsed.format = kind
        if kind == "yearbook":
            return _parse_sheets(parsed, [("", list(rows))], context, sink)
        PARSERS[kind](parsed, rows, context, sink)
        return parsed
    parsed.container, sheets = read_workbook(path, container)
    if not any(sheet.rows for sheet in sheets):
        raise ExtractError(str(path), "file is empty (no rows)")
    kinds = [(sheet, sniff_format(iter(sheet.rows))) for sheet in sheets]
    exports = [(s, k) for s, k in kinds if k in ("nbs", "cnrds")]
    if len(exports) > 1:
        raise ExtractError(str(path), "several sheets hold an export (" + ", ".join(s.name for s, _ in exports)
                           + "); save each as its own file")
    if exports:
        sheet, kind = exports[0]
        parsed.format = kind
        PARSERS[kind](parsed, iter(sheet.rows), context, sink)
        return parsed
    tables = [(s.name, s.rows) for s, k in kinds if k == "yearbook"]
    if not tables:
        raise _unrecognised(path, [s.name for s in sheets])
    parsed.format = "yearbook"
    others = len(sheets) - len(tables)
    if others:
        parsed.notes.append(f"{others} sheet(s) without a table (e.g. a URL or an advertisement) not read")
    return _parse_sheets(parsed, tables, context, sink)


def _parse_sheets(parsed, tables, context, sink) -> ParsedExtract:
    parse_yearbook(parsed, tables, context, sink)
    return parsed


def _unrecognised(path: Path, sheets: list[str] | None = None) -> ExtractError:
    where = f" in any of its sheets ({len(sheets)})" if sheets else ""
    return ExtractError(str(path), "unrecognised extract format" + where + ": expected an NBS export (a preamble "
                        "line starting with 数据库：, 指标： or 时间： before a 地区 header), a CNRDS panel (row 1 with "
                        "Prvcnm/Ctnm/Cntnm and Sgnyea) or a yearbook table (a 地区/Region column of unit names); "
                        "the file's contents are not shown", 1)
