"""The reference data the loader normalises against: units, indicators and unit conversions.

Provinces, the indicator dictionary and unit conversions are dbt seeds
(``dbt_project/seeds/*.csv``), so dbt and the loader share one source of truth. Units below
the province (prefectures, counties) come from a reference file in the landing folder,
``units_reference.csv`` (docs/CONTRACTS.md), loaded into ``raw.units``: :class:`UnitRegistry`.

Names are matched after :func:`name_key` normalisation (Unicode NFKC, which folds full-width
letters, digits, spaces and parentheses to their ASCII forms; all whitespace removed; case
folded), so ``北京市``, `` 北京市 ``, ``北　京`` and ``BEIJING`` match the seed rows they
should. An unknown name raises :class:`ReferenceLookupError`; the parsers turn it into an
:class:`~warehouse.errors.ExtractError` that names the file and line.
"""
from __future__ import annotations

import csv
import difflib
import io
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from warehouse.errors import ResilienceError
from warehouse.paths import SEEDS_DIR
from warehouse.seeds import seed_rows

_WHITESPACE = re.compile(r"\s+")
LEVELS = ("province", "prefecture", "county")
UNIT_REFERENCE_FILE = "units_reference.csv"
UNIT_REFERENCE_COLUMNS = ("unit_code", "unit_name", "level", "province_code", "lat", "lon", "aliases")


class ReferenceLookupError(ResilienceError):
    """A unit, indicator or unit of measure that the reference data do not know."""


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
    sign: str = "any"  # positive | nonnegative | any
    min_value: float = -math.inf
    max_value: float = math.inf
    max_yoy_change: float | None = None  # index-type series only

    def implausibility(self, value: float) -> str | None:
        """Why ``value`` (canonical unit) is implausible for this series, else None."""
        if self.sign == "positive" and value <= 0:
            return f"{value:g} {self.unit} is not positive"
        if self.sign == "nonnegative" and value < 0:
            return f"{value:g} {self.unit} is negative"
        if not self.min_value <= value <= self.max_value:
            return (f"{value:g} {self.unit} is outside the plausible range [{self.min_value:g}, "
                    f"{self.max_value:g}] of indicators.csv")
        return None


@dataclass(frozen=True)
class Unit:
    """A prefecture or county of the unit registry."""

    code: int
    name: str
    level: str
    province_code: int
    lat: float | None = None
    lon: float | None = None
    aliases: tuple[str, ...] = ()


class UnitRegistry:
    """Prefectures and counties (GB/T 2260 six-digit codes) by level and normalised name.

    A name is looked up within its level; a name that several provinces share is resolved by
    the parent province the extract gives, and refused with the candidates listed otherwise.
    Prefecture names also match without their trailing 市 (``石家庄`` = ``石家庄市``).
    """

    def __init__(self, units: list[Unit] = (), source: str = UNIT_REFERENCE_FILE):
        self.source = source
        self.units = {u.code: u for u in units}
        self._by_name: dict[tuple[str, str], set[int]] = {}
        for u in units:
            for alias in self.keys_of(u):
                self._by_name.setdefault((u.level, alias), set()).add(u.code)

    @staticmethod
    def keys_of(u: Unit) -> set[str]:
        keys = {name_key(u.name), *(name_key(a) for a in u.aliases if a.strip())}
        if u.level == "prefecture" and u.name.endswith("市") and len(u.name) > 2:
            keys.add(name_key(u.name[:-1]))
        return keys

    @property
    def levels(self) -> set[str]:
        return {u.level for u in self.units.values()}

    def __len__(self) -> int:
        return len(self.units)

    def merged(self, other: "UnitRegistry") -> "UnitRegistry":
        """This registry with ``other``'s units added or replacing ones of the same code."""
        return UnitRegistry(list({**self.units, **other.units}.values()), other.source)

    def knows(self, name: str, level: str) -> bool:
        return (level, name_key(name)) in self._by_name

    def resolve(self, name: str, level: str, province: int | None = None, provinces=None) -> int:
        """Code of unit ``name`` of ``level``, inside ``province`` when given."""
        if level not in self.levels:
            held = ", ".join(sorted(self.levels)) or "no units"
            raise ReferenceLookupError(f"a {level} unit {str(name).strip()!r}, but {self.source} holds {held}: "
                                       f"add the {level} units to {UNIT_REFERENCE_FILE}")
        codes = self._by_name.get((level, name_key(name)), set())
        if not codes:
            raise ReferenceLookupError(f"unknown {level} name {str(name).strip()!r} (not a name or alias in "
                                       f"{self.source})")
        if province is not None:
            inside = {c for c in codes if self.units[c].province_code == province}
            if not inside:
                where = "; ".join(f"{self.units[c].name} ({c}) is in province {self.units[c].province_code}"
                                  for c in sorted(codes))
                raise ReferenceLookupError(f"{level} {str(name).strip()!r} is filed under province {province}, "
                                           f"but {where}")
            codes = inside
        if len(codes) > 1:
            cands = ", ".join(f"{self.units[c].name} {c} (province {self.units[c].province_code})" for c in sorted(codes))
            raise ReferenceLookupError(f"ambiguous {level} name {str(name).strip()!r}: candidates {cands}; "
                                       "add a province column (Prvcnm) or use the unit code")
        return next(iter(codes))

    def by_code(self, code: int, level: str) -> Unit:
        unit = self.units.get(code)
        if unit is None or unit.level != level:
            raise ReferenceLookupError(f"unknown {level} code {code} (not in {self.source})")
        return unit


def read_control_csv(path: Path, advice: str = "") -> tuple[csv.DictReader, list[str]]:
    """A UTF-8 control file of the landing folder (units_reference.csv, manifest.csv): its row
    reader and stripped header; undecodable bytes are an ExtractError naming the offset."""
    from warehouse.errors import ExtractError

    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExtractError(str(path), f"not UTF-8 (byte offset {exc.start}){advice}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return reader, [(h or "").strip() for h in reader.fieldnames or []]


def read_unit_reference(path: Path, provinces: dict[int, Province]) -> UnitRegistry:
    """Parse ``units_reference.csv`` (UTF-8; header ``unit_code,unit_name,level,
    province_code,lat,lon,aliases``; lat/lon may be empty; aliases '|'-separated, optional).
    Every problem raises ExtractError naming the line."""
    from warehouse.errors import ExtractError

    file = str(path)
    reader, header = read_control_csv(path)
    missing = [c for c in UNIT_REFERENCE_COLUMNS[:4] if c not in header]
    if missing:
        raise ExtractError(file, f"header lacks {', '.join(missing)} (expected {','.join(UNIT_REFERENCE_COLUMNS)})", 1)
    units, seen = [], {}
    for row in reader:
        line = reader.line_num
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        code_text, level = row["unit_code"], row["level"]
        if not re.fullmatch(r"\d{6}", code_text):
            raise ExtractError(file, f"unit_code {code_text!r} is not a six-digit GB/T 2260 code", line)
        code = int(code_text)
        if level not in ("prefecture", "county"):
            raise ExtractError(file, f"level {level!r} is not prefecture or county", line)
        try:
            province = int(row["province_code"])
        except ValueError:
            raise ExtractError(file, f"province_code {row['province_code']!r} is not a number", line) from None
        if province not in provinces:
            raise ExtractError(file, f"province_code {province} is not a province of provinces.csv", line)
        if code // 10000 != province:
            raise ExtractError(file, f"unit {code} ({row['unit_name']}) does not lie in province {province} "
                                     "(the code's first two digits)", line)
        if not row["unit_name"]:
            raise ExtractError(file, "empty unit_name", line)
        if code in seen:
            raise ExtractError(file, f"unit_code {code} also on line {seen[code]}", line)
        seen[code] = line
        coords = []
        for col in ("lat", "lon"):
            value = row.get(col, "")
            try:
                coords.append(float(value) if value else None)
            except ValueError:
                raise ExtractError(file, f"{col} {value!r} is not a number", line) from None
        aliases = tuple(a.strip() for a in row.get("aliases", "").split("|") if a.strip())
        units.append(Unit(code, row["unit_name"], level, province, coords[0], coords[1], aliases))
    if not units:
        raise ExtractError(file, "no units (header only)", 1)
    return UnitRegistry(units, Path(path).name)


class Reference:
    """Lookups over the seeds (and the unit registry); build it with :func:`load_reference`."""

    def __init__(self, provinces: list[tuple[Province, list[str]]],
                 indicators: list[tuple[Indicator, list[str]]],
                 units: list[tuple[str, str, float]], seeds_dir: Path,
                 registry: UnitRegistry | None = None):
        self.seeds_dir = seeds_dir
        self._raw = (provinces, indicators, units)
        self.provinces = {p.code: p for p, _ in provinces}
        self.indicators = {i.code: i for i, _ in indicators}
        self.registry = registry or UnitRegistry()
        self._province_by_key = _index(
            ((name_key(a), p.code) for p, aliases in provinces
             for a in [p.name_zh, p.name_en, str(p.code), *aliases]), "province", seeds_dir / "provinces.csv")
        self._indicator_by_name = _index(
            ((name_key(a), i.code) for i, aliases in indicators for a in [i.name_zh, *aliases]),
            "indicator", seeds_dir / "indicators.csv")
        self._indicator_names = {name_key(a): a for i, aliases in indicators for a in [i.name_zh, *aliases]}
        self._indicator_by_code = {i.code.casefold(): i.code for i, _ in indicators}
        self._factor = {(name_key(u), name_key(c)): f for u, c, f in units}

    def with_units(self, registry: UnitRegistry) -> "Reference":
        """The same seeds with a unit registry of prefectures/counties."""
        return Reference(*self._raw, self.seeds_dir, registry)

    def is_province(self, name: str) -> bool:
        return name_key(name) in self._province_by_key

    def province_code(self, name: str) -> int:
        """GB/T 2260 code of a province name or alias (Chinese, English or pinyin)."""
        code = self._province_by_key.get(name_key(name))
        if code is None:
            raise ReferenceLookupError(
                f"unknown province name {str(name).strip()!r} (not a name or alias in provinces.csv)")
        return code

    def unit_code(self, name: str, level: str, province: int | None = None) -> int:
        """Code of a unit name at ``level`` (a province, or a prefecture/county of the registry)."""
        if level == "province":
            return self.province_code(name)
        return self.registry.resolve(name, level, province)

    def indicator_by_name(self, name: str) -> Indicator:
        """The indicator whose ``name_zh`` or one of whose ``aliases`` is ``name``."""
        code = self._indicator_by_name.get(name_key(name))
        if code is None:
            raise ReferenceLookupError(
                f"indicator name {str(name).strip()!r} is not a name_zh or alias in indicators.csv"
                + self.suggestion(name))
        return self.indicators[code]

    def indicator(self, code_or_name: str) -> Indicator:
        """An indicator by dictionary code or by Chinese name/alias."""
        return self.indicator_by_code(code_or_name) or self.indicator_by_name(code_or_name)

    def suggestion(self, name: str) -> str:
        """'; nearest dictionary names: ...' (or nothing), pointing at the aliases column."""
        near = difflib.get_close_matches(name_key(name), list(self._indicator_names), n=3, cutoff=0.4)
        if not near:
            return "; add it to the aliases column of indicators.csv if it is a dictionary series"
        names = ", ".join(self._indicator_names[k] for k in near)
        return f"; nearest dictionary names: {names} (add the name to the aliases column of indicators.csv)"

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


def _float(cell: str, default: float | None) -> float | None:
    return float(cell) if (cell or "").strip() else default


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
        (Indicator(r["code"], r["name_zh"], r["name_en"], r["unit"], r["source"], r.get("sign") or "any",
                   _float(r.get("min_value"), -math.inf), _float(r.get("max_value"), math.inf),
                   _float(r.get("max_yoy_change"), None)), _aliases(r["aliases"]))
        for r in seed_rows("indicators", seeds_dir)
    ]
    units = [(r["unit"], r["canonical_unit"], float(r["factor"])) for r in seed_rows("units", seeds_dir)]
    return Reference(provinces, indicators, units, seeds_dir)
