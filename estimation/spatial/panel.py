"""Balanced-panel arrays for the spatial models: (T, N) blocks ordered by year, then province_code.

Every spatial estimator works on arrays shaped (T, N) or (T, N, k) whose province axis
follows :attr:`SpatialWeights.codes`, so that W y_t is ``y[t] @ W.T``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .weights import SpatialInputError

PANEL_TABLE = "marts.analysis_panel"
EFFECTS = ("twoways", "entity")


def panel_block(panel: pd.DataFrame, columns: list[str], codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (values (T, N, len(columns)), years) for a balanced, complete panel.

    Raises :class:`SpatialInputError` naming the table, the province-year row and the
    reason when a column is missing, a value is null, or a province-year is absent/duplicated.
    """
    missing = [c for c in ["province_code", "year", *columns] if c not in panel.columns]
    if missing:
        raise SpatialInputError(f"{PANEL_TABLE}: missing columns {missing}")
    frame = panel[["province_code", "year", *columns]]
    dup = frame.duplicated(["province_code", "year"], keep=False)
    if dup.any():
        index = frame[dup].index[0]
        raise SpatialInputError(f"{PANEL_TABLE}: row {index} ({_where(frame, index)}): duplicate province-year")
    for column in columns:
        null = frame[column].isna()
        if null.any():
            index = frame[null].index[0]
            raise SpatialInputError(
                f"{PANEL_TABLE}: row {index} ({_where(frame, index)}): "
                f"{column} is null; the spatial models need a balanced, complete panel"
            )
    years = np.sort(frame["year"].unique())
    full = pd.MultiIndex.from_product([years, codes], names=["year", "province_code"])
    indexed = frame.set_index(["year", "province_code"])
    absent = full.difference(indexed.index)
    if len(absent):
        year, code = absent[0]
        raise SpatialInputError(
            f"{PANEL_TABLE}: no row for province_code {code}, year {year}; the spatial models need a balanced panel"
        )
    extra = indexed.index.difference(full)
    if len(extra):
        year, code = extra[0]
        raise SpatialInputError(f"{PANEL_TABLE}: province_code {code} (year {year}) is not in the weights matrix")
    values = indexed.loc[full, columns].to_numpy(dtype=float)
    return values.reshape(len(years), len(codes), len(columns)), years


def _where(frame: pd.DataFrame, index) -> str:
    return f"province_code {int(frame.at[index, 'province_code'])}, year {int(frame.at[index, 'year'])}"


def spatial_lag(w: np.ndarray, a: np.ndarray) -> np.ndarray:
    """W applied to each period of a (T, N) or (T, N, k) array."""
    if a.ndim == 2:
        return a @ w.T
    return np.einsum("ij,tjk->tik", w, a)


def within(a: np.ndarray, effects: str) -> np.ndarray:
    """Remove province means (``entity``) and also year means (``twoways``) from (T, N[, k])."""
    if effects not in EFFECTS:
        raise ValueError(f"effects must be one of {EFFECTS}, got {effects!r}")
    out = a - a.mean(axis=0, keepdims=True)
    if effects == "twoways":
        out = out - out.mean(axis=1, keepdims=True)
    return out
