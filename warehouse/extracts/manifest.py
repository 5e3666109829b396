"""The landing manifest ``manifest.csv``: what a file does not say about itself.

UTF-8 CSV, header ``file,indicator,unit`` and optionally ``column``, ``year``, ``variant``:

* ``file`` — a file name in the landing folder (a row for a file that is not there is an error);
* ``indicator`` — a dictionary code or a Chinese name/alias of ``indicators.csv``;
* ``unit`` — the unit the file reports in; required when the file has no ``指标`` line;
* ``column`` — for a yearbook table: the header text (spaces and line breaks removed) of the
  column that holds ``indicator``; one row per mapped column;
* ``year`` — for a yearbook table whose title gives no year;
* ``variant`` — ``全市`` (whole city, the default) or ``市辖区`` (urban districts) for city tables.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from warehouse.errors import ExtractError
from warehouse.extracts.cells import compact
from warehouse.reference import Indicator, Reference, ReferenceLookupError, name_key, read_control_csv

MANIFEST_FILE = "manifest.csv"
MANIFEST_COLUMNS = ("file", "indicator", "unit", "column", "year", "variant")
VARIANTS = {"全市": "全市", "totalcity": "全市", "total": "全市", "市辖区": "市辖区",
            "districtsundercity": "市辖区", "districts": "市辖区"}


@dataclass(frozen=True)
class ManifestEntry:
    file: str
    line: int
    indicator: Indicator
    unit: str | None
    column: str | None  # compacted header text
    year: int | None
    variant: str | None

    def where(self) -> str:
        return f"{MANIFEST_FILE} line {self.line}"

    def describe(self) -> str:
        parts = [f"indicator={self.indicator.code}"]
        parts += [f"{k}={v}" for k, v in (("unit", self.unit), ("column", self.column), ("year", self.year),
                                          ("variant", self.variant)) if v]
        return f"line {self.line}: " + " ".join(parts)


class Manifest:
    def __init__(self, path: Path | None, entries: list[ManifestEntry]):
        self.path = path
        self.entries = entries

    def for_file(self, name: str) -> list[ManifestEntry]:
        return [e for e in self.entries if e.file == name]

    @property
    def files(self) -> set[str]:
        return {e.file for e in self.entries}


def normalise_variant(text: str, file: str, line: int | None) -> str:
    variant = VARIANTS.get(name_key(text))
    if variant is None:
        raise ExtractError(file, f"variant {text!r} is neither 全市 (whole city) nor 市辖区 (urban districts)", line)
    return variant


def read_manifest(path: Path, reference: Reference) -> Manifest:
    file = str(path)
    reader, header = read_control_csv(path, "; save the manifest as UTF-8")
    if "file" not in header or "indicator" not in header:
        raise ExtractError(file, "header must start with file,indicator (optional: unit, column, year, variant)", 1)
    unknown = [h for h in header if h not in MANIFEST_COLUMNS]
    if unknown:
        raise ExtractError(file, f"unknown column(s) {', '.join(unknown)} (known: {', '.join(MANIFEST_COLUMNS)})", 1)
    entries, seen = [], {}
    for row in reader:
        line = reader.line_num
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(row.values()):
            continue
        name, ind = row.get("file", ""), row.get("indicator", "")
        if not name or not ind:
            raise ExtractError(file, "a row needs both file and indicator", line)
        try:
            indicator = reference.indicator(ind)
        except ReferenceLookupError as exc:
            raise ExtractError(file, f"unknown indicator {ind!r}: {exc}", line) from None
        unit = row.get("unit") or None
        if unit:
            try:
                reference.conversion_factor(unit, indicator)
            except ReferenceLookupError as exc:
                raise ExtractError(file, str(exc), line) from None
        column = compact(row.get("column", "")) or None
        year = None
        if row.get("year"):
            if not re.fullmatch(r"\d{4}", row["year"]):
                raise ExtractError(file, f"year {row['year']!r} is not a four-digit year", line)
            year = int(row["year"])
        variant = normalise_variant(row["variant"], file, line) if row.get("variant") else None
        key = (name, column)
        if key in seen:
            raise ExtractError(file, f"a second row for {name}" + (f" column {column}" if column else "")
                               + f" (the first is line {seen[key]})", line)
        seen[key] = line
        entries.append(ManifestEntry(name, line, indicator, unit, column, year, variant))
    return Manifest(Path(path), entries)
