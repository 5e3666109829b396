"""Spatial weights: how a matrix is built, checked, and its spectrum.

**Building** (one definition each; the warehouse's dbt model, the synthetic sample and the
tests all call these): each returns the non-negative, zero-diagonal matrix *before*
row-standardisation as a dense array; :func:`row_standardise` divides every row by its sum.

* :func:`inverse_distance`: w_ij = 1/d_ij^power, d the great-circle (haversine, R = 6371 km)
  distance between the units' coordinates;
* :func:`economic_distance`: w_ij = 1/|x_i - x_j| (e.g. x the mean real GDP per capita);
* :func:`k_nearest`: w_ij = 1 for the k nearest units j of i (asymmetric);
* :func:`economic_distance_nearest`: w_ij = 1/|x_i - x_j| among the k nearest units j of i
  (economic distance kept sparse for many units);
* :func:`distance_band`: w_ij = 1 (or 1/d_ij^power) for d_ij <= threshold;
* :func:`contiguity` (module :mod:`.contiguity`): w_ij = 1 if the boundaries of i and j touch
  (queen: a shared point; rook: a shared segment), with an explicit rule for islands
  (``islands="nearest"``: Hainan is linked to Guangdong).

**Using**: :class:`SpatialWeights` holds a row-standardised N x N matrix (units in the order of
``codes``). Up to ``EXACT_MAX_N`` units (or for a dense W) it holds the matrix dense with its
eigenvalues, computed once: every log-determinant ln|I - rho W| = sum_i ln(1 - rho w_i) and
every LeSage-Pace effect is then exact and O(N). A W that is similar to a symmetric matrix
(D^-1 C with C symmetric: inverse distance, economic distance, contiguity) has real
eigenvalues, obtained stably from the symmetric form (Ord 1975); any other W (e.g. k nearest
neighbours) may have complex ones, which come in conjugate pairs, so the sums above stay
real. A larger sparse W (k nearest neighbours, distance band, contiguity of ~2,800 counties)
is held as a ``scipy.sparse`` CSR matrix without eigenvalues (a dense eigendecomposition
would take a minute at N = 2,800); :mod:`estimation.spatial.logdet` then works from sparse LU
factorisations and trace estimators.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from estimation.errors import SpatialInputError

EARTH_RADIUS_KM = 6371.0
ROW_SUM_TOL = 1e-8


# --------------------------------------------------------------------------- building

def haversine_km(lat, lon) -> np.ndarray:
    """Great-circle distances (km) between all pairs of points given in degrees."""
    phi, lam = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float))
    h = (np.sin((phi[None, :] - phi[:, None]) / 2) ** 2
         + np.cos(phi[:, None]) * np.cos(phi[None, :]) * np.sin((lam[None, :] - lam[:, None]) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(h))


def inverse_distance(lat, lon, power: float = 1.0) -> np.ndarray:
    """w_ij = 1/d_ij^power (zero diagonal), d the haversine distance in km."""
    d = haversine_km(lat, lon)
    _check_distinct(d, "inverse_distance")
    with np.errstate(divide="ignore"):
        w = np.where(np.eye(len(d), dtype=bool), 0.0, 1.0 / d ** power)
    return w


def economic_distance(values) -> np.ndarray:
    """w_ij = 1/|x_i - x_j| (zero diagonal)."""
    x = np.asarray(values, float)
    gap = np.abs(x[:, None] - x[None, :])
    _check_distinct(gap, "economic_distance")
    with np.errstate(divide="ignore"):
        return np.where(np.eye(len(x), dtype=bool), 0.0, 1.0 / gap)


def k_nearest(lat, lon, k: int) -> np.ndarray:
    """w_ij = 1 for the k nearest units j != i by great-circle distance (ties: lower index)."""
    d = haversine_km(lat, lon)
    if not 1 <= k < len(d):
        raise SpatialInputError(f"k_nearest: k = {k} must be between 1 and N - 1 = {len(d) - 1}")
    np.fill_diagonal(d, np.inf)
    nearest = np.argsort(d, axis=1, kind="stable")[:, :k]
    w = np.zeros_like(d)
    np.put_along_axis(w, nearest, 1.0, axis=1)
    return w


def economic_distance_nearest(values, lat, lon, k: int) -> np.ndarray:
    """w_ij = 1/|x_i - x_j| for the k nearest units j of i by great-circle distance, else 0."""
    return economic_distance(values) * k_nearest(lat, lon, k)


def distance_band(lat, lon, threshold_km: float, power: float = 0.0) -> np.ndarray:
    """w_ij = 1/d_ij^power for 0 < d_ij <= threshold (power 0: binary)."""
    d = haversine_km(lat, lon)
    inside = (d <= threshold_km) & ~np.eye(len(d), dtype=bool)
    with np.errstate(divide="ignore"):
        w = np.where(inside, 1.0 / np.where(inside, d, 1.0) ** power, 0.0)
    return w


def contiguity(geometries, rule: str = "queen", islands: str | None = None, codes=None) -> np.ndarray:
    """w_ij = 1 if the boundaries of units i and j touch (``rule`` queen or rook), with the
    island rule ``islands`` (None or "nearest"): :func:`estimation.spatial.contiguity.contiguity`."""
    from estimation.spatial.contiguity import contiguity as build  # geopandas: imported on use only

    return build(geometries, rule=rule, islands=islands, codes=codes)


def row_standardise(c: np.ndarray, name: str = "W", codes=None) -> np.ndarray:
    """C / row sums; a unit without neighbours (zero row) is an error naming it."""
    c = np.asarray(c, float)
    sums = c.sum(axis=1)
    empty = np.flatnonzero(sums <= 0)
    if empty.size:
        label = codes[empty[0]] if codes is not None else empty[0]
        raise SpatialInputError(f"weights matrix {name!r}: unit {label} has no neighbours")
    return c / sums[:, None]


def _check_distinct(d: np.ndarray, what: str) -> None:
    off = np.where(np.eye(len(d), dtype=bool), np.inf, d)
    if (off == 0).any():
        i, j = np.argwhere(off == 0)[0]
        raise SpatialInputError(f"{what}: units at positions {i} and {j} coincide (distance 0)")


# --------------------------------------------------------------------------- using

#: Up to this N the eigenvalues of W are computed (dense, O(N^3) once: ~1-3 s at N = 1000 for a
#: non-symmetric W) and every log-determinant, trace and effect is exact from them.
EXACT_MAX_N = 1000
#: Above EXACT_MAX_N, a W with at most this share of non-zero entries is held sparse and its
#: log-determinants come from sparse LU factorisations (estimation.spatial.logdet); a denser W
#: (e.g. inverse distance between all pairs) keeps the dense eigenvalue route, which is then
#: the faster exact one (sparse LU of a dense matrix is a dense LU per evaluation).
SPARSE_MAX_DENSITY = 0.1
METHODS = ("auto", "eigen", "sparse")


@dataclass(frozen=True)
class SpatialWeights:
    """A row-standardised N x N weights matrix, dense with its eigenvalues (real or complex) or
    sparse (``scipy.sparse`` CSR) without them; :meth:`from_dense`, :meth:`from_sparse` and
    :meth:`from_long` choose (``method="auto"``: eigenvalues up to ``EXACT_MAX_N`` units or for a
    dense W, sparse above) and check the matrix.

    ``rho_bounds`` is the admissible interval of a spatial autoregressive parameter,
    (1/w_min, 1/w_max) = (1/w_min, 1) over the *real* eigenvalues (LeSage & Pace 2009, sec.
    4.3): I - rho W is singular only where rho w = 1, which needs a real w, so this is the
    largest interval around 0 on which I - rho W is non-singular. Without a negative real
    eigenvalue the lower bound is -1. A sparse W has no eigenvalues: its interval is (-1, 1),
    inside the admissible one because a row-standardised W has spectral radius 1 (every real
    eigenvalue lies in [-1, 1]); the smallest real eigenvalue of a large non-symmetric W is not
    available cheaply, and negative spatial dependence beyond -1 is not a practical concern.
    ``cache`` holds the sparse LU results shared by every model fitted with this W.
    """

    name: str
    codes: np.ndarray
    matrix: np.ndarray | sparse.csr_array
    eigenvalues: np.ndarray | None = field(default=None, repr=False)
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n(self) -> int:
        return len(self.codes)

    @property
    def is_sparse(self) -> bool:
        return self.eigenvalues is None

    @property
    def rho_bounds(self) -> tuple[float, float]:
        if self.eigenvalues is None:
            return -1.0, 1.0
        real = self.eigenvalues[np.abs(np.imag(self.eigenvalues)) < 1e-10].real
        negative = real[real < 0]
        lower = 1.0 / float(negative.min()) if negative.size else -1.0
        return lower, 1.0 / float(real.max())

    @classmethod
    def from_dense(cls, matrix: np.ndarray, codes=None, name: str = "custom",
                   method: str = "auto") -> "SpatialWeights":
        w = np.asarray(matrix, dtype=float)
        codes = np.arange(len(w)) if codes is None else np.asarray(codes)
        check_row_standardised(w, name, codes)
        if _use_eigenvalues(len(w), np.count_nonzero(w), method):
            return cls(name=name, codes=codes, matrix=w, eigenvalues=eigenvalues(w))
        return cls(name=name, codes=codes, matrix=sparse.csr_array(w))

    @classmethod
    def from_sparse(cls, matrix, codes=None, name: str = "custom",
                    method: str = "auto") -> "SpatialWeights":
        """W from a ``scipy.sparse`` matrix (explicit zeros dropped)."""
        w = sparse.csr_array(matrix, dtype=float)
        w.eliminate_zeros()
        codes = np.arange(w.shape[0]) if codes is None else np.asarray(codes)
        if _use_eigenvalues(w.shape[0], w.nnz, method):
            return cls.from_dense(w.toarray(), codes, name, method="eigen")
        check_row_standardised_sparse(w, name, codes)
        return cls(name=name, codes=codes, matrix=w)

    @classmethod
    def from_long(cls, frame: pd.DataFrame, *, i: str, j: str, weight: str = "weight",
                  codes=None, name: str = "custom", method: str = "auto") -> "SpatialWeights":
        """W from a long frame of its non-zero entries (one row per pair ``i``, ``j``),
        ordered by code. ``codes`` (e.g. the panel's units) must be its set of units."""
        missing = [c for c in (i, j, weight) if c not in frame.columns]
        if missing:
            raise SpatialInputError(f"weights matrix {name!r}: missing columns {missing}")
        if frame.empty:
            raise SpatialInputError(f"weights matrix {name!r}: no entries")
        dup = frame.duplicated([i, j], keep=False)
        if dup.any():
            row = frame[dup].iloc[0]
            raise SpatialInputError(f"weights matrix {name!r}, row {frame[dup].index[0]}: duplicate "
                                    f"pair ({row[i]}, {row[j]})")
        found = np.unique(np.concatenate([frame[i], frame[j]]).astype(int))
        if codes is not None:
            codes = np.unique(np.asarray(codes, dtype=int))
            extra = sorted(set(found) - set(codes))
            if extra:
                raise SpatialInputError(f"weights matrix {name!r}: units not in the panel: {extra}")
            found = codes  # a panel unit without entries has no neighbours: the check names it
        position = pd.Series(np.arange(len(found)), index=found)
        rows = position[frame[i].astype(int)].to_numpy()
        cols = position[frame[j].astype(int)].to_numpy()
        values = frame[weight].to_numpy(dtype=float)
        if _use_eigenvalues(len(found), len(frame), method):
            w = np.zeros((len(found), len(found)))
            w[rows, cols] = values
            return cls.from_dense(w, codes=found, name=name, method="eigen")
        w = sparse.csr_array((values, (rows, cols)), shape=(len(found), len(found)))
        return cls.from_sparse(w, codes=found, name=name, method="sparse")


def _use_eigenvalues(n: int, nonzero: int, method: str) -> bool:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method != "auto":
        return method == "eigen"
    return n <= EXACT_MAX_N or nonzero > SPARSE_MAX_DENSITY * n * n


def check_row_standardised(w: np.ndarray, name: str, codes=None) -> None:
    """Raise :class:`SpatialInputError` unless ``w`` is square, finite, >= 0, zero-diagonal,
    with rows summing to 1. Rows are named by their unit code (``codes``), else by position."""
    codes = np.arange(len(w)) if codes is None else np.asarray(codes)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise SpatialInputError(f"weights matrix {name!r}: not square, shape {w.shape}")
    if not np.all(np.isfinite(w)) or (w < 0).any():
        i, j = np.argwhere(~np.isfinite(w) | (w < 0))[0]
        raise SpatialInputError(f"weights matrix {name!r}: pair ({codes[i]}, {codes[j]}): "
                                f"weight {w[i, j]} is not a finite non-negative number")
    _check_diagonal_and_rows(np.diag(w), w.sum(axis=1), name, codes)


def check_row_standardised_sparse(w: sparse.csr_array, name: str, codes) -> None:
    """:func:`check_row_standardised` for a sparse W (only its stored entries are read)."""
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise SpatialInputError(f"weights matrix {name!r}: not square, shape {w.shape}")
    bad = ~np.isfinite(w.data) | (w.data < 0)
    if bad.any():
        coo = w.tocoo()
        k = int(np.flatnonzero(~np.isfinite(coo.data) | (coo.data < 0))[0])
        raise SpatialInputError(f"weights matrix {name!r}: pair ({codes[coo.row[k]]}, {codes[coo.col[k]]}): "
                                f"weight {coo.data[k]} is not a finite non-negative number")
    _check_diagonal_and_rows(w.diagonal(), np.asarray(w.sum(axis=1)).ravel(), name, codes)


def _check_diagonal_and_rows(diagonal: np.ndarray, sums: np.ndarray, name: str, codes) -> None:
    diag = np.flatnonzero(diagonal != 0)
    if diag.size:
        raise SpatialInputError(f"weights matrix {name!r}: unit {codes[diag[0]]}: non-zero diagonal weight")
    bad = np.flatnonzero(np.abs(sums - 1.0) > ROW_SUM_TOL)
    if bad.size:
        what = "has no neighbours" if sums[bad[0]] == 0 else \
            f"has weights summing to {sums[bad[0]]:.10g}, not 1 (not row-standardised)"
        raise SpatialInputError(f"weights matrix {name!r}: unit {codes[bad[0]]} {what}")


def eigenvalues(w: np.ndarray) -> np.ndarray:
    """Eigenvalues of a row-standardised W: real and sorted when W = D^-1 C with C symmetric,
    else as the general solver returns them (complex ones in conjugate pairs).

    Such a W is similar to the symmetric D^{1/2} W D^{-1/2} = D^{-1/2} C D^{-1/2}, so its
    eigenvalues are real and ``eigvalsh`` gets them stably (Ord 1975). D (row sums of C, up to
    scale) is recovered from W itself where the first row and column are positive:
    d_i w_ij = d_j w_ji, so d_i / d_0 = w_0i / w_i0; a sparse symmetric C is recognised by
    symmetry of W's pattern and d from the row sums of the implied C.
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
    if np.abs(values.imag).max() <= 1e-10 * max(1.0, np.abs(values).max()):
        return np.sort(values.real)
    return values


def log_det(rho, eig: np.ndarray) -> np.ndarray:
    """sum_i ln(1 - rho w_i) for each rho (vectorised, O(N) per value; real for complex w)."""
    rho = np.atleast_1d(np.asarray(rho, dtype=float))
    terms = np.log1p(-np.outer(rho, eig)) if np.isrealobj(eig) else np.log(1 - np.outer(rho, eig))
    return terms.sum(axis=1).real

