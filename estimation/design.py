"""Turn a :class:`~estimation.specs.Spec` and a panel into estimation arrays.

The panel is any DataFrame with one row per unit and period; ``unit`` and ``time`` name its
key columns (e.g. ``province_code`` and ``year``). Applied in order: the sample filter, the
interaction (optionally mean-centred), the one-period lag within the unit, and the dropping of
rows with a missing value in any variable the spec uses.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from estimation.errors import PanelError
from estimation.specs import Spec


@dataclass(frozen=True)
class Design:
    """Arrays for one spec. ``X`` excludes the constant and the absorbed effects; ``unit`` and
    ``time`` are the key values of every row."""

    spec: Spec
    y: pd.Series
    X: pd.DataFrame
    unit: np.ndarray
    time: np.ndarray
    Z: pd.DataFrame | None = None  # excluded instruments (fe_2sls)

    @property
    def nobs(self) -> int:
        return len(self.y)

    @property
    def groups(self) -> int:
        return len(np.unique(self.unit))


def interaction_name(a: str, b: str) -> str:
    return f"{a}_x_{b}"


def lag_name(column: str) -> str:
    return f"l_{column}"


def check_keys(panel: pd.DataFrame, unit: str, time: str, source: str = "panel") -> None:
    """Raise :class:`PanelError` if the key columns are absent or a unit-period repeats."""
    missing = [c for c in (unit, time) if c not in panel.columns]
    if missing:
        raise PanelError(f"{source}: no key column(s) {missing}")
    dup = panel.duplicated([unit, time])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise PanelError(f"{source}: row {i}: duplicate {unit}-{time} "
                         f"{panel.iloc[i][[unit, time]].to_dict()}")


def build_design(panel: pd.DataFrame, spec: Spec, *, unit: str, time: str) -> Design:
    """Return the :class:`Design` of ``spec`` on ``panel`` (raises :class:`PanelError`)."""
    product = interaction_name(*spec.interaction) if spec.interaction else None
    base = [c for c in spec.regressors if c != product]
    filter_columns = spec.sample.columns if spec.sample else []
    needed = [unit, time, spec.dependent, *base, *spec.controls, *spec.instruments, *filter_columns]
    missing = [c for c in dict.fromkeys(needed) if c not in panel.columns]
    if missing:
        raise PanelError(f"spec {spec.spec_id}: the panel lacks columns {missing}")
    df = panel[spec.sample.mask(panel)] if spec.sample else panel
    df = df.sort_values([unit, time]).reset_index(drop=True)
    check_keys(df, unit, time)

    explanatory = list(dict.fromkeys([*base, *spec.controls]))
    numeric = [spec.dependent, *explanatory, *spec.instruments]
    work = df[[unit, time, *dict.fromkeys(numeric)]].astype({c: float for c in numeric})
    order = list(spec.regressors) + [c for c in spec.controls if c not in spec.regressors]
    if spec.interaction:
        a, b = spec.interaction
        usable = work[[a, b, spec.dependent]].notna().all(axis=1)
        if spec.centre:
            for c in (a, b):
                work[c] = work[c] - work.loc[usable, c].mean()
        work[product] = work[a] * work[b]
    if spec.lag:
        # The lag of x at t is x at t-1 of the same unit; a gap in periods gives no lag.
        prev = work[[unit, time, *order]].copy()
        prev[time] = prev[time] + 1
        prev = prev.rename(columns={c: lag_name(c) for c in order})
        work = work.merge(prev, on=[unit, time], how="left")
        order = [lag_name(c) for c in order]
    used = [spec.dependent, *order, *spec.instruments]
    work = work.dropna(subset=used).reset_index(drop=True)
    if len(work) == 0:
        raise PanelError(f"spec {spec.spec_id}: no complete rows in the estimation sample")
    return Design(
        spec=spec, y=work[spec.dependent], X=work[order], unit=work[unit].to_numpy(),
        time=work[time].to_numpy(),
        Z=work[list(spec.instruments)] if spec.instruments else None,
    )


def validate_panel(panel: pd.DataFrame, columns, *, unit: str, time: str,
                   source: str = "panel") -> None:
    """Raise :class:`PanelError` naming the row and reason for a panel the estimators cannot
    use: missing columns, duplicate unit-periods, non-numeric or infinite values in ``columns``."""
    missing = [c for c in columns if c not in panel.columns]
    if missing:
        raise PanelError(f"{source}: missing columns {missing}")
    check_keys(panel, unit, time, source)
    for c in columns:
        values = pd.to_numeric(panel[c], errors="coerce")
        bad = (values.isna() & panel[c].notna()) | np.isinf(values.fillna(0.0))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise PanelError(
                f"{source}: row {i} ({unit}={panel.iloc[i][unit]}, {time}={panel.iloc[i][time]}): "
                f"column {c} = {panel.iloc[i][c]!r} is not a finite number")
