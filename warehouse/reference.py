"""The reference data the loader normalises against: provinces, indicators and units.

All three are dbt seeds (``dbt_project/seeds/*.csv``) so that dbt and the loader share one
source of truth. Names are matched after :func:`name_key` normalisation (Unicode NFKC, which
folds full-width letters, digits, spaces and parentheses to their ASCII forms; all whitespace
removed; case folded), so ``北京市``, `` 北京市 ``, ``北　京`` and ``BEIJING`` match the seed
rows they should. An unknown name raises :class:`ReferenceLookupError`; the parsers turn it
into an :class:`~warehouse.errors.ExtractError` that names the file and line.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from warehouse.errors import ResilienceError
from warehouse.paths import SEEDS_DIR
from warehouse.seeds import seed_rows

_WHITESPACE = re.compile(r"\s+")


class ReferenceLookupError(ResilienceError):
    """A province, indicator or unit that the seeds do not know."""


def name_key(text: str) -> str:
    """Normalised lookup key: NFKC, whitespace removed, case folded."""
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", str(text))).casefold()


@dataclass(frozen=True)
class Province:
    code: int
    name_zh: str
    name_en: str
    region: str
    in_study_sample: bool


@dataclass(frozen=True)
class Indicator:
    code: str
    name_zh: str
    name_en: str
    unit: str  # canonical unit: values are stored in it
    source: str


class Reference:
    """Lookups over the three seeds; build it with :func:`load_reference`."""

    def __init__(self, provinces: list[tuple[Province, list[str]]],
                 indicators: list[tuple[Indicator, list[str]]],
                 units: list[tuple[str, str, float]], seeds_dir: Path):
        self.seeds_dir = seeds_dir
        self.provinces = {p.code: p for p, _ in provinces}
        self.indicators = {i.code: i for i, _ in indicators}
        self._province_by_key = _index(
            ((name_key(a), p.code) for p, aliases in provinces
             for a in [p.name_zh, p.name_en, str(p.code), *aliases]), "province", seeds_dir / "provinces.csv")
        self._indicator_by_name = _index(
            ((name_key(a), i.code) for i, aliases in indicators for a in [i.name_zh, *aliases]),
            "indicator", seeds_dir / "indicators.csv")
        self._indicator_by_code = {i.code.casefold(): i.code for i, _ in indicators}
        self._factor = {(name_key(u), name_key(c)): f for u, c, f in units}

    def province_code(self, name: str) -> int:
        """GB/T 2260 code of a province name or alias (Chinese, English or pinyin)."""
        code = self._province_by_key.get(name_key(name))
        if code is None:
            raise ReferenceLookupError(
                f"unknown province name {str(name).strip()!r} (not a name or alias in provinces.csv)")
        return code

    def indicator_by_name(self, name: str) -> Indicator:
        """The indicator whose ``name_zh`` or one of whose ``aliases`` is ``name``."""
        code = self._indicator_by_name.get(name_key(name))
        if code is None:
            raise ReferenceLookupError(
                f"indicator name {str(name).strip()!r} is not a name_zh or alias in indicators.csv")
        return self.indicators[code]

    def indicator_by_code(self, code: str) -> Indicator | None:
        """The indicator with this dictionary code (case-insensitive), else None."""
        found = self._indicator_by_code.get(str(code).strip().casefold())
        return self.indicators[found] if found else None

    def conversion_factor(self, unit: str, indicator: Indicator) -> float:
        """Multiplier that turns a value reported in ``unit`` into the indicator's canonical unit."""
        if name_key(unit) == name_key(indicator.unit):
            return 1.0
        factor = self._factor.get((name_key(unit), name_key(indicator.unit)))
        if factor is None:
            raise ReferenceLookupError(
                f"unknown unit {unit!r} for indicator {indicator.code} "
                f"(expected {indicator.unit!r} or a known variant in units.csv)")
        return factor


def _index(pairs, what: str, seed: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if out.setdefault(key, value) != value:
            raise ResilienceError(f"{seed}: {what} alias {key!r} is ambiguous ({out[key]} and {value})")
    return out


def _aliases(cell: str) -> list[str]:
    return [a for a in (cell or "").split("|") if a.strip()]


@lru_cache(maxsize=4)
def load_reference(seeds_dir: Path = SEEDS_DIR) -> Reference:
    """Read ``provinces.csv``, ``indicators.csv`` and ``units.csv`` from ``seeds_dir``."""
    seeds_dir = Path(seeds_dir)
    provinces = [
        (Province(int(r["province_code"]), r["name_zh"], r["name_en"], r["region"],
                  r["in_study_sample"].strip().lower() == "true"), _aliases(r["aliases"]))
        for r in seed_rows("provinces", seeds_dir)
    ]
    indicators = [
        (Indicator(r["code"], r["name_zh"], r["name_en"], r["unit"], r["source"]), _aliases(r["aliases"]))
        for r in seed_rows("indicators", seeds_dir)
    ]
    units = [(r["unit"], r["canonical_unit"], float(r["factor"])) for r in seed_rows("units", seeds_dir)]
    return Reference(provinces, indicators, units, seeds_dir)
