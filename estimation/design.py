"""Turn a :class:`~estimation.specs.Spec` and the analysis panel into estimation arrays.

Applies, in order: the sample filter, the interaction (optionally mean-centred), the one-year
lag within province, and drops rows with a missing value in any variable the spec uses.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from estimation.specs import Spec

PANEL_KEYS = ("province_code", "year")


class PanelError(ValueError):
    """The analysis panel does not satisfy what a specification needs."""


@dataclass
class Design:
    """Arrays for one spec. ``X`` excludes the constant and the absorbed effects."""

    spec: Spec
    y: pd.Series
    X: pd.DataFrame
    entity: np.ndarray
    time: np.ndarray
    Z: pd.DataFrame | None = None  # excluded instruments (fe_2sls)

    @property
    def nobs(self) -> int:
        return len(self.y)


def _interaction_name(a: str, b: str) -> str:
    return f"{a}_x_{b}"


def build_design(panel: pd.DataFrame, spec: Spec) -> Design:
    """Return the :class:`Design` of ``spec`` on ``panel`` (raises :class:`PanelError`)."""
    product = _interaction_name(*spec.interaction) if spec.interaction else None
    base = [c for c in spec.regressors if c != product]
    needed = [*PANEL_KEYS, spec.dependent, *base, *spec.controls, *spec.instruments]
    missing = [c for c in dict.fromkeys(needed) if c not in panel.columns]
    if missing:
        raise PanelError(f"spec {spec.spec_id}: analysis panel lacks columns {missing}")
    df = panel
    if spec.sample:
        try:
            df = df.query(spec.sample)
        except Exception as exc:  # a bad filter in SPECS is a programming error; say which
            raise PanelError(f"spec {spec.spec_id}: sample filter {spec.sample!r}: {exc}") from exc
    df = df.sort_values(list(PANEL_KEYS)).reset_index(drop=True)
    dup = df.duplicated(list(PANEL_KEYS))
    if dup.any():
        row = df.loc[dup.idxmax(), list(PANEL_KEYS)].to_dict()
        raise PanelError(f"analysis panel: duplicate province-year {row}")

    explanatory = list(dict.fromkeys([*base, *spec.controls]))
    work = df[[*PANEL_KEYS, spec.dependent, *explanatory, *spec.instruments]].astype(
        {c: float for c in [spec.dependent, *explanatory, *spec.instruments]})
    order = list(spec.regressors) + [c for c in spec.controls if c not in spec.regressors]
    if spec.interaction:
        a, b = spec.interaction
        usable = work[[a, b, spec.dependent]].notna().all(axis=1)
        if spec.centre:
            for c in (a, b):
                work[c] = work[c] - work.loc[usable, c].mean()
        work[_interaction_name(a, b)] = work[a] * work[b]
    if spec.lag:
        # The lag of x at t is x at t-1 of the same province; a gap in years gives no lag.
        prev = work[[*PANEL_KEYS, *order]].copy()
        prev["year"] = prev["year"] + 1
        prev = prev.rename(columns={c: f"l_{c}" for c in order})
        work = work.merge(prev, on=list(PANEL_KEYS), how="left")
        order = [f"l_{c}" for c in order]
    used = [spec.dependent, *order, *spec.instruments]
    work = work.dropna(subset=used).reset_index(drop=True)
    if len(work) == 0:
        raise PanelError(f"spec {spec.spec_id}: no complete rows in the estimation sample")
    return Design(
        spec=spec,
        y=work[spec.dependent],
        X=work[order],
        entity=work["province_code"].to_numpy(),
        time=work["year"].to_numpy(),
        Z=work[list(spec.instruments)] if spec.instruments else None,
    )


NUMERIC_COLUMNS = ("er", "dt", "er_pca", "dt_pca", "isu", "rm", "cu", "inf", "medical", "ec",
                   "open", "tax", "culture", "iv")
REQUIRED_COLUMNS = ("province_code", "province", "year", "region", "is_municipality",
                    "market_group", *NUMERIC_COLUMNS)


def validate_panel(panel: pd.DataFrame, source: str = "marts.analysis_panel") -> None:
    """Raise :class:`PanelError` naming the row and reason for a panel the suite cannot use:
    missing contract columns, duplicate province-years, non-numeric or infinite values."""
    missing = [c for c in REQUIRED_COLUMNS if c not in panel.columns]
    if missing:
        raise PanelError(f"{source}: missing columns {missing}")
    dup = panel.duplicated(list(PANEL_KEYS))
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise PanelError(f"{source}: row {i}: duplicate province-year "
                         f"{panel.iloc[i][list(PANEL_KEYS)].to_dict()}")
    for c in NUMERIC_COLUMNS:
        values = pd.to_numeric(panel[c], errors="coerce")
        bad = (values.isna() & panel[c].notna()) | np.isinf(values.fillna(0.0))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise PanelError(
                f"{source}: row {i} (province_code={panel.iloc[i]['province_code']}, "
                f"year={panel.iloc[i]['year']}): column {c} = {panel.iloc[i][c]!r} is not a "
                "finite number")
