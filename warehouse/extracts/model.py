"""What a parser produces: observation records, streamed to a sink, and a description of the
file (:class:`ParsedExtract`) that the loader logs and ``resilience inspect`` prints."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from warehouse.errors import ExtractError
from warehouse.extracts.cells import FIRST_YEAR, convert
from warehouse.extracts.manifest import Manifest
from warehouse.reference import Indicator, Reference, ReferenceLookupError

# (indicator_code, unit_code, year, value, unit, reported_value, reported_unit, source_line,
#  tolerance): value in the canonical unit; tolerance = half the last printed digit, in the
# canonical unit (0 for a missing cell).
Record = tuple
RECORD_COLUMNS = ["indicator_code", "unit_code", "year", "value", "unit", "reported_value",
                  "reported_unit", "source_line", "tolerance"]
FLUSH_EVERY = 50_000


@dataclass
class ParseContext:
    """What a parser needs besides the file."""

    reference: Reference
    manifest: Manifest = field(default_factory=lambda: Manifest(None, []))
    max_year: int = 2100  # the vintage year + 1 (loader.vintage_year)
    variant: str | None = None  # 全市/市辖区 for city tables: --variant, else the manifest, else 全市


@dataclass
class ParsedExtract:
    """One landing file, parsed and converted."""

    path: Path
    sha256: str
    format: str  # nbs | nbs-platform | cnrds | yearbook
    container: str  # csv | tsv | xls | xlsx | ods | html (+ -encrypted)
    encoding: str | None = None
    indicator_codes: list[str] = field(default_factory=list)
    indicator_source: str = ""  # 指标 line | manifest | header | row 1 codes
    level: str = "province"
    variant: str | None = None
    rows: int = 0  # data rows: units for NBS/yearbook tables, unit-years for panels
    cells: int = 0
    cells_missing: int = 0
    years: set = field(default_factory=set)
    units: set = field(default_factory=set)
    conversions: dict = field(default_factory=dict)  # (indicator, reported unit) -> factor
    manifest_rows: list[str] = field(default_factory=list)
    mapped_columns: dict = field(default_factory=dict)  # header text -> indicator code
    unmapped_columns: list[str] = field(default_factory=list)
    empty_years: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    records: list | None = field(default=None, repr=False)  # when parsed without a sink

    @property
    def file_name(self) -> str:
        return self.path.name

    @property
    def latest_year(self) -> int:
        return max(self.years)

    @property
    def format_label(self) -> str:
        return f"{self.format}-{self.container}"


class Emitter:
    """Checks, converts and streams the records of one file to a sink in chunks."""

    def __init__(self, parsed: ParsedExtract, context: ParseContext, sink: Callable[[list], None] | None):
        self.parsed, self.context = parsed, context
        self.file = str(parsed.path)
        if sink is None:
            parsed.records = []
            sink = parsed.records.extend
        self._sink, self._buffer = sink, []

    def check_year(self, year: int, line: int, where: str = "") -> int:
        if not FIRST_YEAR <= year <= self.context.max_year:
            raise ExtractError(self.file, f"year {year}{where} is outside [{FIRST_YEAR}, {self.context.max_year}] "
                                          "(the vintage year + 1)", line)
        return year

    def factor(self, unit: str, indicator: Indicator, line: int) -> float:
        try:
            factor = self.context.reference.conversion_factor(unit, indicator)
        except ReferenceLookupError as exc:
            raise ExtractError(self.file, str(exc), line) from None
        self.parsed.conversions[(indicator.code, unit)] = factor
        return factor

    def add(self, indicator: Indicator, unit_code: int, year: int, reported: float | None, decimals: int,
            reported_unit: str, factor: float, line: int, track: bool = True) -> None:
        """One cell; ``track=False`` when the parser records the row's unit and year itself
        (:meth:`row`), which keeps a large panel's inner loop short."""
        value = reported if factor == 1.0 else convert(reported, factor)
        p = self.parsed
        p.cells += 1
        if value is None:
            p.cells_missing += 1
            tolerance = 0.0
        else:
            if not indicator.min_value <= value <= indicator.max_value or (
                    indicator.sign == "positive" and value <= 0) or (indicator.sign == "nonnegative" and value < 0):
                why = indicator.implausibility(value)
                raise ExtractError(self.file, f"implausible {indicator.code} for unit {unit_code}, {year}: {why}", line)
            tolerance = 0.5 * 10.0 ** -decimals * factor
        if track:
            p.years.add(year)
            p.units.add(unit_code)
        self._buffer.append((indicator.code, unit_code, year, value, indicator.unit, reported, reported_unit,
                             line, tolerance))
        if len(self._buffer) >= FLUSH_EVERY:
            self.flush()

    def row(self, unit_code: int, year: int) -> None:
        self.parsed.years.add(year)
        self.parsed.units.add(unit_code)

    def flush(self) -> None:
        if self._buffer:
            self._sink(self._buffer)
            self._buffer = []
