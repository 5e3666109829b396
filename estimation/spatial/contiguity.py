"""Contiguity (0-1 adjacency, 邻接矩阵) weights from unit boundaries.

c_ij = 1 if the boundaries of units i and j touch (i != j), else 0:

* **queen**: they share at least one point;
* **rook**: they share a segment of positive length.

Contiguity is found by libpysal (``Graph.build_contiguity`` with ``strict=True``: geometric
predicates, so it does not rely on neighbouring polygons having identical vertices).

**Islands.** A unit without a land neighbour (at province level Hainan, whose nearest land
neighbour across the Qiongzhou Strait is Guangdong) would have an empty row, which cannot be
row-standardised. The rule is explicit:

* ``islands=None``: no rule; such a unit stays without neighbours and
  :func:`~estimation.spatial.weights.row_standardise` refuses it, naming it;
* ``islands="nearest"``: each unit without neighbours is linked, in both directions, to the
  unit whose boundary is nearest (c_ij = c_ji = 1). This is the common practice for Hainan in
  Chinese provincial studies (Hainan - Guangdong). Distances are measured in an azimuthal
  equidistant projection centred on the island, so they are true distances from it (km).
  Groups of units that touch each other but nothing else (an archipelago of several counties)
  are not islands under this rule and stay a separate component.

Geometries are shapely polygons in longitude/latitude degrees (EPSG:4326), one per unit, in
the order of the matrix.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import geopandas as gpd
import numpy as np
from libpysal.graph import Graph

from estimation.errors import SpatialInputError

RULES = ("queen", "rook")
ISLAND_RULES = (None, "nearest")


def contiguity(geometries: Sequence, rule: str = "queen", islands: str | None = None,
               codes=None) -> np.ndarray:
    """The symmetric 0-1 contiguity matrix C of ``geometries`` (module docstring)."""
    if rule not in RULES:
        raise SpatialInputError(f"contiguity: rule must be one of {RULES}, not {rule!r}")
    if islands not in ISLAND_RULES:
        raise SpatialInputError(f"contiguity: islands must be empty or 'nearest', not {islands!r}")
    shapes = gpd.GeoSeries(list(geometries), crs="EPSG:4326")
    codes = np.arange(len(shapes)) if codes is None else np.asarray(codes)
    empty = np.flatnonzero(shapes.isna().to_numpy() | shapes.is_empty.to_numpy())
    if empty.size:
        raise SpatialInputError(f"contiguity: unit {codes[empty[0]]} has no boundary geometry")
    c = touching(shapes, rook=rule == "rook")
    if islands == "nearest":
        for i in np.flatnonzero(c.sum(axis=1) == 0):
            j = nearest_unit(shapes, i)
            c[i, j] = c[j, i] = 1.0
    return c


def touching(shapes: gpd.GeoSeries, rook: bool) -> np.ndarray:
    """0-1 matrix of pairs whose boundaries share a point (queen) or a segment (rook)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # libpysal warns about islands; the caller's rule handles them
        graph = Graph.build_contiguity(shapes.reset_index(drop=True), rook=rook, strict=True)
    adjacency = graph.adjacency
    pairs = adjacency[adjacency > 0].index
    c = np.zeros((len(shapes), len(shapes)))
    c[pairs.get_level_values("focal").to_numpy(int), pairs.get_level_values("neighbor").to_numpy(int)] = 1.0
    return c


def nearest_unit(shapes: gpd.GeoSeries, i: int) -> int:
    """Position of the unit whose boundary is nearest to unit ``i``'s (km, azimuthal
    equidistant projection centred on unit ``i``)."""
    centre = shapes.iloc[i].representative_point()
    projected = shapes.to_crs(f"+proj=aeqd +lat_0={centre.y} +lon_0={centre.x} +datum=WGS84 +units=km")
    distance = projected.distance(projected.iloc[i]).to_numpy(dtype=float, copy=True)
    distance[i] = np.inf
    return int(np.argmin(distance))

