"""Spatial weights: the dense matrix from ``marts.spatial_weights`` and its eigenvalues.

``marts.spatial_weights`` is a long frame (``matrix``, ``province_code_i``,
``province_code_j``, ``weight``): dense, zero diagonal, row-standardised (DESIGN.md).
:func:`weights_matrix` turns one named matrix into a :class:`SpatialWeights` ordered by
``province_code`` and computes W's eigenvalues once, since every log-determinant
ln|I - rho W| = sum_i ln(1 - rho w_i) and every LeSage-Pace effect is then O(N).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from warehouse.errors import ResilienceError

WEIGHTS_TABLE = "marts.spatial_weights"
ROW_SUM_TOL = 1e-8


class SpatialInputError(ResilienceError):
    """Bad spatial input (weights or panel); the message names the table, row and reason."""


@dataclass(frozen=True)
class SpatialWeights:
    """A row-standardised N x N weights matrix with its (real) eigenvalues.

    ``rho_bounds`` is the admissible interval (1/w_min, 1/w_max) = (1/w_min, 1) of a
    spatial autoregressive parameter for a row-standardised W with real eigenvalues, on
    which I - rho W is non-singular (LeSage & Pace 2009, sec. 4.3).
    """

    name: str
    codes: np.ndarray
    matrix: np.ndarray
    eigenvalues: np.ndarray = field(repr=False)

    @property
    def n(self) -> int:
        return len(self.codes)

    @property
    def rho_bounds(self) -> tuple[float, float]:
        return 1.0 / float(self.eigenvalues.min()), 1.0 / float(self.eigenvalues.max())

    @classmethod
    def from_dense(cls, matrix: np.ndarray, codes=None, name: str = "custom") -> "SpatialWeights":
        w = np.asarray(matrix, dtype=float)
        codes = np.arange(len(w)) if codes is None else np.asarray(codes)
        check_row_standardised(w, name, codes)
        return cls(name=name, codes=codes, matrix=w, eigenvalues=real_eigenvalues(w))


def check_row_standardised(w: np.ndarray, name: str, codes=None) -> None:
    """Raise :class:`SpatialInputError` unless ``w`` is square, finite, >= 0, zero-diagonal, row sums 1.

    Rows are named by their province code (``codes``), else by position.
    """
    codes = np.arange(len(w)) if codes is None else np.asarray(codes)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise SpatialInputError(f"{WEIGHTS_TABLE} matrix {name!r}: not square, shape {w.shape}")
    if not np.all(np.isfinite(w)) or (w < 0).any():
        i, j = np.argwhere(~np.isfinite(w) | (w < 0))[0]
        raise SpatialInputError(
            f"{WEIGHTS_TABLE} matrix {name!r}: province_code_i {codes[i]}, province_code_j {codes[j]}: "
            f"weight {w[i, j]} is not a finite non-negative number"
        )
    diag = np.flatnonzero(np.diag(w) != 0)
    if diag.size:
        raise SpatialInputError(
            f"{WEIGHTS_TABLE} matrix {name!r}: province_code {codes[diag[0]]}: non-zero diagonal weight"
        )
    bad = np.flatnonzero(np.abs(w.sum(axis=1) - 1.0) > ROW_SUM_TOL)
    if bad.size:
        raise SpatialInputError(
            f"{WEIGHTS_TABLE} matrix {name!r}: province_code_i {codes[bad[0]]}: weights sum to "
            f"{w[bad[0]].sum():.10g}, not 1 (not row-standardised)"
        )


def real_eigenvalues(w: np.ndarray) -> np.ndarray:
    """Eigenvalues of a row-standardised W = D^-1 C with C symmetric (e.g. inverse distance).

    Such a W is similar to the symmetric D^{1/2} W D^{-1/2} = D^{-1/2} C D^{-1/2}, so its
    eigenvalues are real and ``eigvalsh`` gets them stably (Ord 1975). D (row sums of C,
    up to scale) is recovered from W itself: d_i w_ij = d_j w_ji, so d_i / d_0 = w_0i / w_i0.
    If W is not of that form (a zero w_i0, or the transform is not symmetric) fall back to
    the general eigen-solver and insist the spectrum is real.
    """
    n = len(w)
    if n > 1 and np.all(w[1:, 0] > 0) and np.all(w[0, 1:] > 0):
        d = np.ones(n)
        d[1:] = w[0, 1:] / w[1:, 0]
        root = np.sqrt(d)
        s = root[:, None] * w / root[None, :]
        if np.allclose(s, s.T, rtol=1e-9, atol=1e-12):
            return np.sort(np.linalg.eigvalsh((s + s.T) / 2.0))
    values = np.linalg.eigvals(w)
    if np.abs(values.imag).max() > 1e-8:
        raise SpatialInputError(
            f"{WEIGHTS_TABLE}: W has complex eigenvalues (max |imag| {np.abs(values.imag).max():.3g}); "
            "the eigenvalue log-determinant needs a W similar to a symmetric matrix"
        )
    return np.sort(values.real)


def weights_matrix(weights: pd.DataFrame, matrix: str, codes=None) -> SpatialWeights:
    """Dense W for ``matrix`` from the long ``marts.spatial_weights`` frame, ordered by province_code.

    ``codes`` (e.g. the panel's provinces) must equal the matrix's set of provinces.
    """
    needed = ["matrix", "province_code_i", "province_code_j", "weight"]
    missing = [c for c in needed if c not in weights.columns]
    if missing:
        raise SpatialInputError(f"{WEIGHTS_TABLE}: missing columns {missing}")
    long = weights.loc[weights["matrix"] == matrix, needed[1:]]
    if long.empty:
        known = sorted(weights["matrix"].dropna().unique())
        raise SpatialInputError(f"{WEIGHTS_TABLE}: no rows for matrix {matrix!r}; present: {known}")
    dup = long.duplicated(["province_code_i", "province_code_j"], keep=False)
    if dup.any():
        row = long[dup].iloc[0]
        raise SpatialInputError(
            f"{WEIGHTS_TABLE} matrix {matrix!r}, row {long[dup].index[0]}: duplicate pair "
            f"({row.province_code_i}, {row.province_code_j})"
        )
    found = np.unique(np.concatenate([long["province_code_i"], long["province_code_j"]]).astype(int))
    if codes is not None:
        codes = np.unique(np.asarray(codes, dtype=int))
        if not np.array_equal(found, codes):
            extra = sorted(set(found) - set(codes))
            lacking = sorted(set(codes) - set(found))
            raise SpatialInputError(
                f"{WEIGHTS_TABLE} matrix {matrix!r}: provinces differ from the panel's "
                f"(only in weights: {extra}; only in panel: {lacking})"
            )
    codes = found
    wide = long.pivot(index="province_code_i", columns="province_code_j", values="weight")
    wide = wide.reindex(index=codes, columns=codes)
    off_diag = ~np.eye(len(codes), dtype=bool)
    holes = np.argwhere(wide.isna().to_numpy() & off_diag)
    if holes.size:
        i, j = holes[0]
        raise SpatialInputError(
            f"{WEIGHTS_TABLE} matrix {matrix!r}: no weight for pair ({codes[i]}, {codes[j]}); the matrix must be dense"
        )
    w = wide.fillna(0.0).to_numpy(dtype=float)
    return SpatialWeights.from_dense(w, codes=codes, name=matrix)
