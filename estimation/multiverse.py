"""A specification curve: every combination of the researcher's choices around one base
specification, each cell fitted, with its estimate of the focal effect.

Simonsohn, Simmons & Nelson (2020, *Nature Human Behaviour* 4, 1208-1214): rather than a few
robustness columns, estimate every reasonable specification and show the ranked estimates
with the choices behind each.

**Choices.** A *dimension* (index construction, controls, fixed effects, covariance, sample,
lag, model) has *options*. An option sets fields of the base specification's record, in the
grammar of :meth:`estimation.specs.Spec.from_record`, written ``field: value; field: value``
(``effects: unit``, ``sample: region = 'east'``, ``estimator: sdm; weights: geographic``; an
empty value clears the field). ``controls: subsets`` stands for one option per subset of the
control set, from all controls to none (named ``medical+ec+...``, or ``none``). An option may
name a panel *variant* (another construction of the same panel, e.g. other index weights):
its cells are fitted on that panel. ``models`` restricts an option to some options of the
dimension ``model`` (e.g. a lag only for OLS); an empty list means every model.

**Cells.** The Cartesian product of the dimensions, in the order given, keeping the
combinations whose every option applies to the chosen model. A cell's key is its option keys
joined by ``/``; its spec is the base record with each option's fields set, in dimension
order. For ``fe_2sls`` without ``endogenous`` the focal regressor is the endogenous one. The
*baseline* cell is the one whose spec equals the base spec on the base panel; there must be
exactly one, and no two cells may fit the same spec on the same panel.

**Focal estimate** of a cell, for the focal regressor x (the spec's first regressor; ``l_x``
when lagged): the coefficient of x for OLS and 2SLS, with the spec's covariance, p-value and
95% interval (t or normal reference, as the estimator reports them); for the spatial lag
models the LeSage-Pace *direct* effect of x (the analogue of a non-spatial coefficient): the
mean, standard deviation and p-value of its simulated draws, and the interval estimate +- 1.96 se.
A cell that cannot be estimated (a singular design in a small subsample, an estimator
refusing a covariance) yields a row with its ``error`` and no estimate: it is recorded, never
dropped.

**Sampling.** :func:`sample_cells` draws ``n`` cells uniformly without replacement from the
non-baseline cells with ``numpy.random.default_rng(seed)`` and adds the baseline cell, in
grid order: the same ``n`` and ``seed`` give the same cells.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from estimation.design import lag_name
from estimation.errors import SpecError
from estimation.results import Result
from estimation.spatial.models import SpatialModelResult
from estimation.spatial.weights import SpatialWeights
from estimation.specs import Spec
from estimation.suite import fit_spec

MODEL_DIMENSION = "model"
CONTROL_SUBSETS = "subsets"
#: Spec record fields an option may set (the rest of the record is the base spec's).
SETTABLE_FIELDS = ("estimator", "dependent", "regressors", "controls", "effects", "sample",
                   "cov_type", "lag", "endogenous", "instruments", "weights", "approach")
#: Keys of the row :func:`fit_cell` returns, after the spec key and one key per dimension.
ROW_FIELDS = ("is_baseline", "term", "quantity", "estimate", "std_error", "p_value", "ci_low",
              "ci_high", "nobs", "error")
_KEY = re.compile(r"^[A-Za-z0-9_+\-]+$")
_Z95 = stats.norm.ppf(0.975)


@dataclass(frozen=True)
class Option:
    """One option of a choice dimension (module docstring). ``source`` says where it was
    defined (e.g. a file and row), for error messages."""

    dimension: str
    key: str
    label: str = ""
    sets: tuple[tuple[str, str], ...] = ()
    panel: str | None = None
    models: tuple[str, ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        where = self.source or f"option {self.dimension}/{self.key}"
        for name, value in (("dimension", self.dimension), ("option", self.key)):
            if not _KEY.match(value or ""):
                raise SpecError(f"{where}: {name} {value!r} must be letters, digits, _, + or -")
        unknown = [f for f, _ in self.sets if f not in SETTABLE_FIELDS]
        if unknown:
            raise SpecError(f"{where}: cannot set {unknown}; an option sets {list(SETTABLE_FIELDS)}")

    @classmethod
    def parse(cls, dimension: str, key: str, label: str = "", sets: str = "", models: str = "",
              panel: str | None = None, source: str = "") -> "Option":
        """An option from text fields: ``sets`` in the ``field: value; ...`` grammar,
        ``models`` space-separated model option keys."""
        return cls(dimension.strip(), key.strip(), label.strip(), parse_sets(sets, source),
                   panel or None, tuple(models.split()), source)


def parse_sets(text: str, where: str = "option") -> tuple[tuple[str, str], ...]:
    """``"effects: unit; sample: region = 'east'"`` -> ``(("effects", "unit"), ("sample", ...))``."""
    pairs = []
    for part in (p.strip() for p in (text or "").split(";")):
        if not part:
            continue
        name, colon, value = part.partition(":")
        if not colon or not name.strip():
            raise SpecError(f"{where}: {part!r} is not `field: value`")
        pairs.append((name.strip(), value.strip()))
    names = [n for n, _ in pairs]
    if len(set(names)) != len(names):
        raise SpecError(f"{where}: a field is set twice in {text!r}")
    return tuple(pairs)


@dataclass(frozen=True)
class Cell:
    """One specification of the curve: its options, spec and panel variant."""

    key: str
    choices: tuple[tuple[str, str], ...]
    spec: Spec
    panel: str | None = None
    is_baseline: bool = False

    @property
    def choice(self) -> dict[str, str]:
        """Option key by dimension."""
        return dict(self.choices)


@dataclass(frozen=True)
class MultiverseData:
    """What every cell is fitted on: the panels by variant (``None`` = the base panel), the
    weight matrices by name and the panel's key columns; ``unavailable`` gives, for a variant
    that could not be made, the reason (its cells are recorded with it). Shipped to each
    worker once."""

    panels: Mapping[str | None, pd.DataFrame]
    weights: Mapping[str, SpatialWeights] = field(default_factory=dict)
    unit: str = "unit"
    time: str = "time"
    unavailable: Mapping[str, str] = field(default_factory=dict)


def expand_options(options: Sequence[Option], controls: Sequence[str]) -> list[Option]:
    """``options`` with every ``controls: subsets`` option replaced by one option per subset
    of ``controls`` (all of them first, none last; the order of ``controls`` kept)."""
    out = []
    for option in options:
        sets = dict(option.sets)
        if sets.get("controls", "").strip().lower() != CONTROL_SUBSETS:
            out.append(option)
            continue
        for size in range(len(controls), -1, -1):
            for subset in itertools.combinations(controls, size):
                key = "+".join(subset) or "none"
                out.append(replace(option, key=key, label=", ".join(subset) or "no controls",
                                   sets=tuple((f, " ".join(subset) or "none") if f == "controls" else (f, v)
                                              for f, v in option.sets)))
    return out


def build_cells(options: Sequence[Option], base_record: Mapping[str, object],
                controls: Sequence[str]) -> list[Cell]:
    """Every admissible cell of the choice grid around ``base_record`` (module docstring);
    ``controls`` is what ``controls = all`` and ``controls: subsets`` mean."""
    options = expand_options(options, controls)
    dimensions = list(dict.fromkeys(o.dimension for o in options))
    by_dimension = {d: [o for o in options if o.dimension == d] for d in dimensions}
    _check_options(options, by_dimension)
    base = Spec.from_record(base_record, controls)
    cells, seen = [], {}
    for combination in itertools.product(*(by_dimension[d] for d in dimensions)):
        chosen = {o.dimension: o for o in combination}
        model = chosen.get(MODEL_DIMENSION)
        if any(o.models and (model is None or model.key not in o.models) for o in combination):
            continue
        key = "/".join(o.key for o in combination)
        spec = _cell_spec(base_record, combination, controls, key)
        panels = {o.panel for o in combination if o.panel}
        if len(panels) > 1:
            raise SpecError(f"cell {key}: options name two panel variants {sorted(panels)}")
        panel = panels.pop() if panels else None
        identity = (panel, replace(spec, spec_id=""))
        if identity in seen:
            raise SpecError(f"cells {seen[identity]} and {key} fit the same specification on the "
                            "same panel; drop one of the options that make them equal")
        seen[identity] = key
        cells.append(Cell(key, tuple((o.dimension, o.key) for o in combination), spec, panel,
                          is_baseline=panel is None and replace(spec, spec_id=base.spec_id) == base))
    baseline = [c.key for c in cells if c.is_baseline]
    if len(baseline) != 1:
        raise SpecError(f"no cell of the choices reproduces the base spec {base.spec_id} on the base "
                        "panel: every dimension needs an option that leaves the base spec as it is")
    return cells


def _check_options(options: Sequence[Option], by_dimension: dict[str, list[Option]]) -> None:
    seen = set()
    for o in options:
        if (o.dimension, o.key) in seen:
            raise SpecError(f"{o.source or 'choices'}: option {o.dimension}/{o.key} is defined twice")
        seen.add((o.dimension, o.key))
    models = {o.key for o in by_dimension.get(MODEL_DIMENSION, [])}
    for o in options:
        unknown = set(o.models) - models
        if unknown:
            raise SpecError(f"{o.source or o.key}: models {sorted(unknown)} are not options of the "
                            f"dimension {MODEL_DIMENSION!r} ({sorted(models)})")


def _cell_spec(base_record: Mapping[str, object], combination: Sequence[Option],
               controls: Sequence[str], key: str) -> Spec:
    record = dict(base_record)
    for option in combination:
        record.update(dict(option.sets))
    record["spec_id"] = key
    regressors = str(record.get("regressors") or "").split()
    if str(record.get("estimator") or "") == "fe_2sls" and regressors and \
            not str(record.get("endogenous") or "").strip():
        record["endogenous"] = regressors[0]
    try:
        spec = Spec.from_record(record, controls)
    except SpecError as exc:
        sources = ", ".join(o.source or f"{o.dimension}/{o.key}" for o in combination)
        raise SpecError(f"cell {key} ({sources}) is not a valid specification: {exc}") from None
    if not spec.regressors:
        raise SpecError(f"cell {key}: no regressor, so no focal estimate")
    return spec


def sample_cells(cells: Sequence[Cell], n: int | None, seed: int) -> list[Cell]:
    """``n`` cells including the baseline cell, drawn reproducibly (module docstring); all
    cells when ``n`` is None or not smaller than their number."""
    if n is None or n >= len(cells):
        return list(cells)
    if n < 1:
        raise SpecError(f"the number of cells to sample must be at least 1, not {n}")
    others = [i for i, c in enumerate(cells) if not c.is_baseline]
    drawn = np.random.default_rng(seed).choice(len(others), size=n - 1, replace=False)
    keep = {others[i] for i in drawn} | {i for i, c in enumerate(cells) if c.is_baseline}
    return [c for i, c in enumerate(cells) if i in keep]


def focal_term(spec: Spec) -> str:
    """The term whose estimate a cell reports: the first regressor, or its lag."""
    return lag_name(spec.regressors[0]) if spec.lag else spec.regressors[0]


def focal_estimate(result: Result, spec: Spec) -> dict[str, object]:
    """The focal estimate of a fitted cell (module docstring) as row fields."""
    term = focal_term(spec)
    if isinstance(result, SpatialModelResult):
        if result.impacts is None:
            raise SpecError(f"spec {spec.spec_id}: a {spec.estimator} has no direct effect of {term}")
        row = result.impacts[(result.impacts["term"] == term) & (result.impacts["effect"] == "direct")]
        if row.empty:
            raise SpecError(f"spec {spec.spec_id}: no direct effect of {term}")
        estimate, se, p = (float(row.iloc[0][c]) for c in ("estimate", "std_error", "p_value"))
        low, high, quantity = estimate - _Z95 * se, estimate + _Z95 * se, "direct effect"
    else:
        if term not in result.params.index:
            raise SpecError(f"spec {spec.spec_id}: the fit has no term {term}")
        ci = result.conf_int().loc[term]
        estimate, se = float(result.params[term]), float(result.std_errors[term])
        p, low, high, quantity = float(result.pvalues[term]), float(ci["lower"]), float(ci["upper"]), "coefficient"
    values = {"estimate": estimate, "std_error": se, "p_value": p, "ci_low": low, "ci_high": high}
    bad = [k for k, v in values.items() if not np.isfinite(v)]
    if bad or se <= 0:
        raise SpecError(f"spec {spec.spec_id}: {', '.join(bad) or 'std_error'} not finite and positive "
                        "(a singular or degenerate design)")
    return {"term": term, "quantity": quantity, **values, "nobs": int(result.nobs)}


def fit_cell(data: MultiverseData, cell: Cell, *, replications: int = 200, seed: int = 12345) -> dict:
    """Fit one cell; return its row (``spec_key``, one entry per dimension, :data:`ROW_FIELDS`).

    Every cell uses the same ``seed`` (the effect draws of a spatial lag model), so a cell's
    row does not depend on which other cells run, in which batch or on which worker.
    """
    row: dict[str, object] = {"spec_key": cell.key, **cell.choice, "is_baseline": cell.is_baseline,
                              "term": focal_term(cell.spec), "quantity": None, "estimate": None,
                              "std_error": None, "p_value": None, "ci_low": None, "ci_high": None,
                              "nobs": None, "error": None}
    try:
        if cell.panel in data.unavailable:
            raise SpecError(f"panel variant {cell.panel} unavailable: {data.unavailable[cell.panel]}")
        if cell.panel not in data.panels:
            raise SpecError(f"cell {cell.key}: no panel variant {cell.panel!r}")
        result = fit_spec(data.panels[cell.panel], cell.spec, unit=data.unit, time=data.time,
                          weights=data.weights, replications=replications, seed=seed)
        row.update(focal_estimate(result, cell.spec))
    except Exception as exc:  # noqa: BLE001 -- a cell that fails is recorded with its reason
        row["error"] = f"{type(exc).__name__}: {exc}".strip()
    return row


def fit_cells(data: MultiverseData, cells: Sequence[Cell], *, replications: int = 200,
              seed: int = 12345) -> list[dict]:
    """:func:`fit_cell` for each cell, in order."""
    return [fit_cell(data, c, replications=replications, seed=seed) for c in cells]
