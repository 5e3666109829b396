"""PCA composites ``er_pca`` and ``dt_pca`` (robustness, the paper's Table 5 col. 3).

Method (docs/METHODS.md "PCA composite"): for each index, the sub-indicators of Table 1 or 2
(the columns of int_sub_indicators listed for the index in the seed index_indicators) are
standardised to z-scores over all n unit-years
(sample standard deviation, ddof = 1), negative indicators (the unemployment rate) are
sign-flipped so that every column points towards "more resilient", the correlation matrix
R = Z'Z / (n - 1) is eigen-decomposed, components with eigenvalue >= 1 (Kaiser criterion)
are kept, each eigenvector u_k is oriented so its loadings sum to a positive number, and
    F = sum_k (lambda_k / sum_kept lambda) * Z u_k,
a score centred at 0. numpy's ``eigh`` does the decomposition; no library offers this
exact Kaiser-plus-variance-share combination, so the few lines are ours (checked in
tests/test_dbt_pca.py against scikit-learn's PCA).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def pca_composite(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (score F per row, kept eigenvalues, kept oriented eigenvectors as columns)."""
    x = np.asarray(values, dtype=float)
    if np.isnan(x).any():
        raise ValueError("pca_composite: input contains NaN")
    sd = x.std(axis=0, ddof=1)
    if (sd == 0).any():
        raise ValueError(f"pca_composite: constant column(s) {np.flatnonzero(sd == 0).tolist()}")
    z = (x - x.mean(axis=0)) / sd
    corr = z.T @ z / (len(z) - 1)
    eigenvalues, eigenvectors = np.linalg.eigh(corr)          # ascending order
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
    keep = eigenvalues >= 1.0
    if not keep.any():                                        # cannot happen for a correlation matrix (mean eigenvalue is 1); kept for clarity
        keep[0] = True
    lam, vec = eigenvalues[keep], eigenvectors[:, keep]
    vec = vec * np.where(vec.sum(axis=0) < 0, -1.0, 1.0)
    scores = z @ vec @ (lam / lam.sum())
    return scores, lam, vec


def pca_indices(wide: pd.DataFrame, indicators: pd.DataFrame) -> pd.DataFrame:
    """``wide`` has unit_code, year and one column per sub-indicator; ``indicators`` (the seed
    index_indicators) index, indicator, direction. Returns one row per index, unit_code and
    year with ``pca_score``, ``n_components``, ``explained_share``."""
    wide = wide.set_index(["unit_code", "year"]).sort_index()
    frames = []
    for index, part in indicators.groupby("index", sort=True):
        columns = sorted(part["indicator"])
        negative = set(part.loc[part.direction == "negative", "indicator"])
        signs = np.array([-1.0 if c in negative else 1.0 for c in columns])
        scores, lam, _ = pca_composite(wide[columns].to_numpy(dtype=float) * signs)
        out = wide.index.to_frame(index=False)
        out["index"] = index
        out["pca_score"] = scores
        out["n_components"] = len(lam)
        out["explained_share"] = lam.sum() / len(columns)
        frames.append(out)
    return pd.concat(frames, ignore_index=True)[
        ["index", "unit_code", "year", "pca_score", "n_components", "explained_share"]]


def model(dbt, session):
    dbt.config(materialized="table")
    return pca_indices(dbt.ref("int_sub_indicators").df(), dbt.ref("index_indicators").df())
