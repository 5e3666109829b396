"""The options of a dbt build (dbt vars), typed and bounded: data, never code.

dbt renders the values of ``--vars`` as Jinja, so a value such as ``{% do run_query(...) %}``
would run SQL inside the warehouse. Every option therefore passes through
:class:`BuildOptions` first -- the CLI (``resilience build --var K=V``), the Prefect flow and its
deployment (the flow's ``dbt_vars`` parameter is typed with it, so Prefect validates a
deployment run's parameters against the same schema): unknown keys are refused, every value is
a number, a year pair or one of a few words, within a range, and reaches dbt as a JSON number or
word that the project's macros cast again (``| int``, ``| float``) before it enters SQL.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from warehouse.errors import ResilienceError

FIRST_YEAR, LAST_YEAR = 1949, 2100


class BuildOptions(BaseModel):
    """dbt vars of a build (defaults and meaning: ``dbt_project/dbt_project.yml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entropy_mode: Literal["pooled", "per_year"] | None = Field(
        None, description="entropy weights over all unit-years (pooled) or per year")
    entropy_shift: float | None = Field(None, ge=0.0, le=1.0, description="shift added to x' before the proportions")
    entropy_base_years: tuple[int, int] | None = Field(
        None, description="frozen base window [first, last] for the entropy bounds and weights")
    pim_depreciation: float | None = Field(None, gt=0.0, lt=1.0, description="perpetual-inventory depreciation rate")
    pim_growth_years: int | None = Field(None, ge=2, le=20, description="first years whose investment growth gives K_0")
    max_missing_per_series: int | None = Field(None, ge=0, le=100, description="missing cells allowed per series and unit")
    unit_level: Literal["province", "prefecture", "county"] | None = Field(
        None, description="the study's administrative level")

    @field_validator("entropy_base_years", mode="before")
    @classmethod
    def _years(cls, value: Any) -> Any:
        # the CLI passes "2013,2021" or "[2013, 2021]"
        if isinstance(value, str):
            parts = [p.strip() for p in value.strip().strip("[]()").split(",") if p.strip()]
            if len(parts) != 2 or not all(p.isdigit() for p in parts):
                raise ValueError("expected two years, e.g. 2013,2021")
            return tuple(int(p) for p in parts)
        return value

    @model_validator(mode="after")
    def _base_window(self) -> "BuildOptions":
        if self.entropy_base_years is not None:
            first, last = self.entropy_base_years
            if not (FIRST_YEAR <= first <= last <= LAST_YEAR):
                raise ValueError(f"entropy_base_years must be two years {FIRST_YEAR} <= first <= last <= {LAST_YEAR}")
            if self.entropy_mode == "per_year":
                raise ValueError("entropy_base_years needs entropy_mode pooled")
        return self

    def at_level(self, level: str | None) -> "BuildOptions":
        """These options with ``unit_level = level`` (the CLI's ``--level`` and the flow's
        ``level``: one setting, two spellings, refused if they differ)."""
        if level is None or self.unit_level == level:
            return self
        if self.unit_level is not None:
            raise ResilienceError(f"--level {level} and unit_level={self.unit_level} disagree")
        return build_options({**self.model_dump(exclude_none=True), "unit_level": level})

    def dbt_vars(self) -> dict[str, Any]:
        """The options that were set, as dbt ``--vars`` (JSON-safe)."""
        out = self.model_dump(exclude_none=True)
        if "entropy_base_years" in out:
            out["entropy_base_years"] = list(out["entropy_base_years"])
        return out


def build_options(values: dict[str, Any] | BuildOptions | None) -> BuildOptions:
    """Validate ``values`` (a dict such as ``{"entropy_base_years": [2013, 2021]}``); a bad key
    or value is a :class:`~warehouse.errors.ResilienceError` naming it."""
    if isinstance(values, BuildOptions):
        return values
    try:
        return BuildOptions.model_validate(values or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'options'}: {e['msg']}"
                             for e in exc.errors())
        known = ", ".join(BuildOptions.model_fields)
        raise ResilienceError(f"invalid build option ({problems}); known options: {known}") from None
