"""Balanced-panel arrays for the spatial models: (T, N) blocks ordered by period, then by unit.

Every spatial estimator works on arrays shaped (T, N) or (T, N, k) whose unit axis follows
:attr:`SpatialWeights.codes`, so that W y_t is ``y[t] @ W.T``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from estimation.errors import SpatialInputError

EFFECTS = ("twoways", "entity")


def panel_block(panel: pd.DataFrame, columns: list[str], codes: np.ndarray, *, unit: str,
                time: str) -> tuple[np.ndarray, np.ndarray]:
    """Return (values (T, N, len(columns)), periods) for a balanced, complete panel.

    Raises :class:`SpatialInputError` naming the unit-period row and the reason when a column
    is missing, a value is null, or a unit-period is absent or duplicated.
    """
    missing = [c for c in [unit, time, *columns] if c not in panel.columns]
    if missing:
        raise SpatialInputError(f"panel: missing columns {missing}")
    frame = panel[[unit, time, *columns]]

    def where(index) -> str:
        return f"{unit} {frame.at[index, unit]}, {time} {frame.at[index, time]}"

    dup = frame.duplicated([unit, time], keep=False)
    if dup.any():
        index = frame[dup].index[0]
        raise SpatialInputError(f"panel: row {index} ({where(index)}): duplicate {unit}-{time}")
    for column in columns:
        null = frame[column].isna()
        if null.any():
            index = frame[null].index[0]
            raise SpatialInputError(f"panel: row {index} ({where(index)}): {column} is null; "
                                    "the spatial models need a balanced, complete panel")
    periods = np.sort(frame[time].unique())
    full = pd.MultiIndex.from_product([periods, codes], names=[time, unit])
    indexed = frame.set_index([time, unit])
    absent = full.difference(indexed.index)
    if len(absent):
        period, code = absent[0]
        raise SpatialInputError(f"panel: no row for {unit} {code}, {time} {period}; "
                                "the spatial models need a balanced panel")
    extra = indexed.index.difference(full)
    if len(extra):
        period, code = extra[0]
        raise SpatialInputError(f"panel: {unit} {code} ({time} {period}) is not in the weights matrix")
    values = indexed.loc[full, columns].to_numpy(dtype=float)
    return values.reshape(len(periods), len(codes), len(columns)), periods


def spatial_lag(w, a: np.ndarray) -> np.ndarray:
    """W (dense or ``scipy.sparse``) applied to each period of a (T, N) or (T, N, k) array."""
    if sparse.issparse(w):
        t, n = a.shape[:2]
        stacked = np.moveaxis(a, 1, 0).reshape(n, -1)  # N x (T k): one sparse product
        return np.moveaxis((w @ stacked).reshape(n, *(a.shape[:1] + a.shape[2:])), 0, 1)
    if a.ndim == 2:
        return a @ w.T
    return np.einsum("ij,tjk->tik", w, a)


def within(a: np.ndarray, effects: str) -> np.ndarray:
    """Remove unit means (``entity``) and also period means (``twoways``) from (T, N[, k])."""
    if effects not in EFFECTS:
        raise ValueError(f"effects must be one of {EFFECTS}, got {effects!r}")
    out = a - a.mean(axis=0, keepdims=True)
    if effects == "twoways":
        out = out - out.mean(axis=1, keepdims=True)
    return out
