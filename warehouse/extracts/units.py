"""Unit names of one extract -> GB/T 2260 codes, at the file's administrative level."""
from __future__ import annotations

from warehouse.errors import ExtractError
from warehouse.reference import Reference, ReferenceLookupError, UnitRegistry, name_key


class UnitResolver:
    """Resolves the unit names of one file; the level is fixed by the caller (a CNRDS column
    such as ``Ctnm``) or by the first name (a province, else a prefecture, else a county of
    the unit registry)."""

    def __init__(self, reference: Reference, file: str, level: str | None = None):
        self.reference, self.file, self.level = reference, file, level

    def code(self, name: str, line: int, province: int | None = None) -> int:
        if self.level is None:
            self.level = self._detect(name, line)
        try:
            code = self.reference.unit_code(name, self.level, province)
        except ReferenceLookupError as exc:
            raise ExtractError(self.file, str(exc), line) from None
        if self.level == "province" and province is not None and code != province:
            raise ExtractError(self.file, f"province {name!r} ({code}) given with parent province {province}", line)
        return code

    def by_code(self, code_text: str, line: int, province: int | None = None) -> int:
        try:
            code = int(float(code_text))
            unit = self.reference.registry.by_code(code, self.level)
        except (ValueError, ReferenceLookupError) as exc:
            reason = str(exc) if isinstance(exc, ReferenceLookupError) else f"unit code {code_text!r} is not a number"
            raise ExtractError(self.file, reason, line) from None
        if province is not None and unit.province_code != province:
            raise ExtractError(self.file, f"{self.level} {unit.name} ({code}) is filed under province {province}, but "
                                          f"it is in province {unit.province_code}", line)
        return code

    def check_name(self, code: int, name: str, line: int) -> None:
        """A row that gives both the code and the name: they must be the same unit."""
        unit = self.reference.registry.units[code]
        if name and name_key(name) not in UnitRegistry.keys_of(unit):
            raise ExtractError(self.file, f"unit code {code} is {unit.name} in {self.reference.registry.source}, but the "
                                          f"row names it {name!r}", line)

    def province(self, name: str, line: int) -> int:
        try:
            return self.reference.province_code(name)
        except ReferenceLookupError as exc:
            raise ExtractError(self.file, str(exc), line) from None

    def _detect(self, name: str, line: int) -> str:
        if self.reference.is_province(name):
            return "province"
        registry = self.reference.registry
        for level in ("prefecture", "county"):
            if registry.knows(name, level):
                return level
        where = (f", nor a prefecture or county of {registry.source}" if len(registry)
                 else "; for prefectures or counties put a units_reference.csv in the landing folder")
        raise ExtractError(self.file, f"unknown province name {str(name).strip()!r} (not a name or alias in "
                                      f"provinces.csv{where})", line)
