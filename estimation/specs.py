"""Specifications as data: what one model estimates, parsed from a plain record.

A :class:`Spec` names the estimator, the dependent variable, the regressors of interest, the
controls, the absorbed effects, a sample filter, the covariance and the transformations (lag,
interaction, centring), plus what individual estimators need (instruments, censoring limits,
the mediator, the spatial weights matrix). Adding a robustness column means adding a record:
the application keeps the records in a table (the dbt seed ``specs.csv``) and hands them to
:meth:`Spec.from_record`; nothing here reads files.

Record fields (strings, as in a CSV; empty = default):

=================  ====================================================================
``spec_id``        unique id, e.g. ``baseline_twfe_controls``
``estimator``      one of :data:`ESTIMATORS`
``dependent``      panel column (for ``moran`` and ``lisa``: the variable tested)
``regressors``     space-separated panel columns; a product term ``<a>_x_<b>`` with
                   ``interaction``
``controls``       ``all`` (the control set handed to ``from_record``), ``none``, or names
``effects``        absorbed effects: ``unit time``, ``unit``, ``time`` or empty (pooled)
``sample``         a filter (:class:`SampleFilter`): ``region = 'east'``,
                   ``is_municipality = false and year != 2020``
``cov_type``       a label of :data:`estimation.covariance.COVARIANCES`, ``oim`` or
                   ``information_matrix``
``lag``            ``true``: every explanatory variable x replaced by its lag ``l_x``
``interaction``    ``<a> <b>``: adds the product ``<a>_x_<b>``; ``centre`` = ``true``
                   subtracts the estimation-sample means of both factors first
``endogenous``,    for ``fe_2sls``
``instruments``
``censoring``      ``<lower> <upper>`` for ``tobit_re``
``mediator``       for ``mediation``
``weights``        the spatial weights matrix name (spatial estimators)
``approach``       ``lee_yu`` (default) or ``demeaned`` (spatial lag/error models)
=================  ====================================================================

Other fields of the record (the paper-table layout) are the application's and are ignored.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from estimation.covariance import COVARIANCES, ML_COVARIANCES
from estimation.errors import SpecError

#: Estimators and what they are (the fitting functions: estimation.suite).
ESTIMATORS = {
    "ols": "pooled or fixed-effects OLS",
    "fe_2sls": "fixed-effects 2SLS with weak-instrument diagnostics",
    "tobit_re": "random-effects panel Tobit",
    "hausman": "Hausman test of fixed against random unit effects",
    "mediation": "three-step mediation with Sobel test and unit-cluster bootstrap",
    "sdm": "two-way FE spatial Durbin model",
    "sar": "two-way FE spatial lag model",
    "sem": "two-way FE spatial error model",
    "lm_tests": "LM tests for a spatial lag or error",
    "moran": "global Moran's I by period",
    "lisa": "local Moran's I (LISA) by period, conditional permutation inference",
}
SPATIAL_ESTIMATORS = ("sdm", "sar", "sem", "lm_tests", "moran", "lisa")
EFFECT_NAMES = ("unit", "time")
APPROACHES = ("lee_yu", "demeaned")


@dataclass(frozen=True)
class SampleFilter:
    """A conjunction of ``column op value`` conditions, parsed -- never evaluated as code.

    ``op`` is ``=`` or ``!=``; ``value`` a quoted string, a number, ``true`` or ``false``.
    Example: ``region = 'east' and year != 2020``.
    """

    conditions: tuple[tuple[str, str, object], ...]

    _CONDITION = re.compile(
        r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(!=|=)\s*('(?:[^']*)'|-?\d+(?:\.\d+)?|true|false)\s*$",
        re.IGNORECASE)

    @classmethod
    def parse(cls, text: str, spec_id: str = "?") -> "SampleFilter":
        conditions = []
        for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
            m = cls._CONDITION.match(part)
            if not m:
                raise SpecError(f"spec {spec_id}: sample condition {part!r} is not "
                                "`column = value` or `column != value` (values: 'text', 12, true, false)")
            column, op, raw = m.groups()
            if raw.startswith("'"):
                value: object = raw[1:-1]
            elif raw.lower() in ("true", "false"):
                value = raw.lower() == "true"
            else:
                value = float(raw) if "." in raw else int(raw)
            conditions.append((column, op, value))
        return cls(tuple(conditions))

    @property
    def columns(self) -> list[str]:
        return [c for c, _, _ in self.conditions]

    def mask(self, frame: pd.DataFrame) -> pd.Series:
        keep = pd.Series(True, index=frame.index)
        for column, op, value in self.conditions:
            equal = frame[column] == value
            keep &= equal if op == "=" else ~equal
        return keep

    def __str__(self) -> str:
        def text(v):
            return f"'{v}'" if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v)
        return " and ".join(f"{c} {op} {text(v)}" for c, op, v in self.conditions)


@dataclass(frozen=True)
class Spec:
    """One model (module docstring). ``effects`` are absorbed (``()`` pooled OLS with a
    constant); for ``tobit_re`` the unit effect is random and ``effects`` may only hold
    ``"time"`` (entered as dummies)."""

    spec_id: str
    dependent: str
    regressors: tuple[str, ...] = ()
    controls: tuple[str, ...] = ()
    effects: tuple[str, ...] = ("unit", "time")
    sample: SampleFilter | None = None
    cov_type: str = "cluster_unit_stata"
    estimator: str = "ols"
    lag: bool = False
    interaction: tuple[str, str] | None = None
    centre: bool = False
    endogenous: tuple[str, ...] = ()
    instruments: tuple[str, ...] = ()
    censoring: tuple[float, float] | None = None
    mediator: str | None = None
    weights: str | None = None
    approach: str = "lee_yu"

    def __post_init__(self) -> None:
        where = f"spec {self.spec_id}"
        if self.estimator not in ESTIMATORS:
            raise SpecError(f"{where}: unknown estimator {self.estimator!r}; known: {sorted(ESTIMATORS)}")
        if self.cov_type not in COVARIANCES and self.cov_type not in ML_COVARIANCES:
            raise SpecError(f"{where}: unknown cov_type {self.cov_type!r}; known: "
                            f"{sorted(COVARIANCES) + list(ML_COVARIANCES)}")
        unknown = set(self.effects) - set(EFFECT_NAMES)
        if unknown:
            raise SpecError(f"{where}: unknown effects {sorted(unknown)}; use 'unit' and/or 'time'")
        if self.estimator == "fe_2sls" and not (self.endogenous and self.instruments):
            raise SpecError(f"{where}: fe_2sls needs endogenous and instruments")
        if self.estimator == "tobit_re" and "unit" in self.effects:
            raise SpecError(f"{where}: tobit_re has a random unit effect; effects may only be 'time'")
        if self.estimator == "mediation" and not self.mediator:
            raise SpecError(f"{where}: mediation needs a mediator")
        if self.estimator in SPATIAL_ESTIMATORS and not self.weights:
            raise SpecError(f"{where}: {self.estimator} needs a weights matrix")
        if self.approach not in APPROACHES:
            raise SpecError(f"{where}: approach must be one of {APPROACHES}, not {self.approach!r}")

    @property
    def explanatory(self) -> tuple[str, ...]:
        """Regressors of interest followed by the controls (no duplicates)."""
        return tuple(dict.fromkeys([*self.regressors, *self.controls]))

    @property
    def variables(self) -> tuple[str, ...]:
        """Every panel column the spec reads (a product term counts as its two factors)."""
        product = f"{self.interaction[0]}_x_{self.interaction[1]}" if self.interaction else None
        columns = [self.dependent, *(c for c in self.explanatory if c != product),
                   *(self.interaction or ()), *self.instruments, *((self.mediator,) if self.mediator else ()),
                   *(self.sample.columns if self.sample else ())]
        return tuple(dict.fromkeys(c for c in columns if c))

    @classmethod
    def from_record(cls, record: Mapping[str, object], controls: Sequence[str] = ()) -> "Spec":
        """Parse a record (module docstring); ``controls`` is what ``controls = all`` means."""
        def text(name: str) -> str:
            value = record.get(name)
            if value is None or (isinstance(value, float) and np.isnan(value)):
                return ""
            return str(value).strip()

        def words(name: str) -> tuple[str, ...]:
            return tuple(text(name).split())

        def flag(name: str) -> bool:
            value = text(name).lower()
            if value not in ("", "true", "false"):
                raise SpecError(f"spec {spec_id}: {name} must be true or false, not {value!r}")
            return value == "true"

        spec_id = text("spec_id")
        if not spec_id:
            raise SpecError(f"a spec record without spec_id: {dict(record)}")
        control_text = text("controls").lower()
        chosen = tuple(controls) if control_text == "all" else () if control_text in ("", "none") \
            else words("controls")
        pair = words("interaction")
        if pair and len(pair) != 2:
            raise SpecError(f"spec {spec_id}: interaction needs two variables, got {pair}")
        limits = words("censoring")
        try:
            censoring = (float(limits[0]), float(limits[1])) if limits else None
        except (ValueError, IndexError):
            raise SpecError(f"spec {spec_id}: censoring needs two numbers, got {text('censoring')!r}") from None
        return cls(
            spec_id=spec_id, estimator=text("estimator") or "ols", dependent=text("dependent"),
            regressors=words("regressors"), controls=chosen, effects=words("effects"),
            sample=SampleFilter.parse(text("sample"), spec_id) if text("sample") else None,
            cov_type=text("cov_type") or "cluster_unit_stata", lag=flag("lag"),
            interaction=pair or None, centre=flag("centre"), endogenous=words("endogenous"),
            instruments=words("instruments"), censoring=censoring,
            mediator=text("mediator") or None, weights=text("weights") or None,
            approach=text("approach") or "lee_yu",
        )
