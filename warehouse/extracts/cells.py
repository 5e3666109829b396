"""Cell-level rules shared by every extract shape: text, numbers, missing markers, years,
``<name>(<unit>)`` labels.

A number keeps its *rounding* next to its value: ``0.5 * 10**-decimals`` in the reported
unit, so that a yearbook value printed with one decimal and an export value printed with two
can be compared "within the rounding of the coarser one".
"""
from __future__ import annotations

import math
import re
import unicodedata

from warehouse.errors import ExtractError
from warehouse.reference import name_key

# Missing-value markers of yearbook exports, compared after name_key() (NFKC folds "…" to
# "...", the full-width hyphen "－" to "-").
MISSING_MARKERS = frozenset({"", "...", "..", "-", "--", "—", "——", "–", "/", "null", "none",
                             "na", "n/a", "#n/a", "缺失", "无"})
FOOTNOTE_PREFIXES = ("注", "数据来源", "附注", "资料来源", "说明", "note", "source")
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.(\d+))?([eE][+-]?\d+)?$")
_PLAIN = re.compile(r"-?\d+(?:\.(\d+))?")  # the common case, parsed without normalisation
_YEAR = re.compile(r"^(\d{4})(年)?$")
_LABEL = re.compile(r"^(.*)\(([^()]*)\)$")  # last parenthesised group = unit (after NFKC)
FIRST_YEAR = 1949  # the People's Republic's statistics start here; earlier years are refused


def text(cell) -> str:
    """A cell as NFKC-normalised stripped text; integral floats lose their '.0'."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return unicodedata.normalize("NFKC", str(cell)).replace("\ufeff", "").strip()


def compact(cell) -> str:
    """Text with every space and line break removed (yearbook headers pad and wrap words)."""
    return re.sub(r"\s+", "", text(cell))


def is_blank(cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def blank_row(cells) -> bool:
    return all(is_blank(c) for c in cells)


def trim(cells: list) -> list:
    end = len(cells)
    while end and is_blank(cells[end - 1]):
        end -= 1
    return list(cells[:end])


def _decimals_of_float(value: float) -> int:
    r = repr(value)
    if "e" in r or "E" in r:
        return 0
    return len(r.partition(".")[2].rstrip("0"))


def parse_number(cell, file: str, line: int, column: str) -> tuple[float | None, int]:
    """``(value, decimals)`` of a numeric cell; ``(None, 0)`` for a missing marker.

    Text numbers may carry thousands separators. Non-finite numbers (``inf``, ``1e400``,
    NaN) and anything that is neither a number nor a missing marker raise ExtractError.
    """
    if type(cell) is str:  # the common case first: a plain number, parsed without normalisation
        plain = _PLAIN.fullmatch(cell.strip())
        if plain:
            value = float(plain.group(0))
            if math.isfinite(value):
                return value, len(plain.group(1) or "")
    if cell is None:
        return None, 0
    if isinstance(cell, bool):
        raise ExtractError(file, f"non-numeric value {cell!r} in column {column}", line)
    if isinstance(cell, (int, float)):
        value = float(cell)
        if not math.isfinite(value):
            raise ExtractError(file, f"non-finite number {cell!r} in column {column}", line)
        return value, _decimals_of_float(value)
    if not isinstance(cell, str):
        raise ExtractError(file, f"non-numeric value of type {type(cell).__name__} in column {column}", line)
    key = name_key(cell)
    if key in MISSING_MARKERS:
        return None, 0
    m = _NUMBER.match(key)
    if not m or not any(ch.isdigit() for ch in key):
        raise ExtractError(
            file, f"non-numeric value {_shown(cell)!r} in column {column} "
                  "(not a number and not a missing marker such as empty, …, -, —)", line)
    value = float(key.replace(",", ""))
    if not math.isfinite(value):
        raise ExtractError(file, f"non-finite number {_shown(cell)!r} in column {column}", line)
    decimals = len(m.group(4) or "")
    if m.group(5):  # scientific notation: its rounding is in the mantissa's exponent
        decimals = max(decimals - int(m.group(5)[1:]), 0)
    return value, decimals


def _shown(cell: str) -> str:
    shown = cell.strip()
    return shown if len(shown) <= 40 else shown[:40] + "…"


def parse_value(cell, file: str, line: int, column: str) -> float | None:
    """A numeric cell, None for a missing marker; anything else is an error."""
    return parse_number(cell, file, line, column)[0]


def split_label(label: str) -> tuple[str, str | None]:
    """``'地区生产总值(亿元)'`` -> ``('地区生产总值', '亿元')``; full-width parens allowed; the
    *last* parenthesised group is the unit (``人口数(人口抽样调查)(人)`` -> unit 人)."""
    label = unicodedata.normalize("NFKC", label).strip()
    m = _LABEL.match(label)
    if not m:
        return label, None
    return m.group(1).strip(), m.group(2).strip()


def year_of(cell) -> int | None:
    """2021, 2021.0, '2021', '2021年', '2 0 2 1' -> 2021; anything else None."""
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        return int(cell) if float(cell).is_integer() and 1000 <= cell <= 2999 else None
    m = _YEAR.match(compact(cell))
    return int(m.group(1)) if m else None


def convert(value: float | None, factor: float) -> float | None:
    """``value * factor`` rounded to 12 significant digits (float noise of e.g. 12345 * 1e-4
    would make equal values compare unequal)."""
    if value is None:
        return None
    if factor == 1.0 or value == 0.0:
        return value
    converted = value * factor
    return round(converted, 11 - int(math.floor(math.log10(abs(converted)))))


def preamble_key(cell) -> str | None:
    """``'指标：地区生产总值(亿元)'`` -> ``'指标'``; None when the cell is not ``key：value``."""
    key, sep, _ = text(cell).partition(":")  # NFKC turned '：' into ':'
    return key.strip() if sep else None
