"""The spatial weight matrices of the seed ``weight_matrices`` for the study's unit level (var
``unit_level``), over the study units, as the long list of their non-zero, row-standardised
entries.

Each matrix names a method of :mod:`estimation.spatial.weights` (the one definition of every
weight formula, shared with the synthetic sample and the tests) and its parameters:
``inverse_distance`` (power), ``economic_distance`` (of the mean real GDP per capita),
``economic_distance_nearest`` (among the k nearest), ``k_nearest`` (k), ``distance_band``
(threshold_km, power), ``queen_contiguity`` and ``rook_contiguity`` (islands) from the units'
boundaries (int_unit_boundaries). A dbt Python model because the formulas are Python functions.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd


def _number(value, default=None):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return default
    return value


def _geometries(boundaries: pd.DataFrame, codes) -> list:
    """The units' boundaries (shapely, from WKB) in the order of ``codes``; None where missing."""
    import shapely

    wkb = boundaries.set_index("unit_code")["geometry_wkb"].reindex(codes)
    return [None if pd.isna(w) else shapely.from_wkb(bytes(w)) for w in wkb]


def matrix_entries(units: pd.DataFrame, matrices: pd.DataFrame,
                   boundaries: pd.DataFrame | None = None) -> pd.DataFrame:
    """Long (matrix, unit_code_i, unit_code_j, weight) of every matrix, units by code;
    ``boundaries`` (unit_code, geometry_wkb) for the contiguity matrices."""
    from estimation.spatial import weights as W

    units = units.sort_values("unit_code").reset_index(drop=True)
    codes = units["unit_code"].to_numpy()
    lat, lon = units["lat"].to_numpy(float), units["lon"].to_numpy(float)
    frames = []
    for spec in matrices.itertuples(index=False):
        if spec.method == "inverse_distance":
            c = W.inverse_distance(lat, lon, power=_number(spec.power, 1.0))
        elif spec.method == "economic_distance":
            c = W.economic_distance(units["mean_real_gdp_pc"].to_numpy(float))
        elif spec.method == "economic_distance_nearest":
            c = W.economic_distance_nearest(units["mean_real_gdp_pc"].to_numpy(float), lat, lon,
                                            int(_number(spec.k)))
        elif spec.method == "k_nearest":
            c = W.k_nearest(lat, lon, int(_number(spec.k)))
        elif spec.method == "distance_band":
            c = W.distance_band(lat, lon, float(_number(spec.threshold_km)), power=_number(spec.power, 0.0))
        elif spec.method in ("queen_contiguity", "rook_contiguity"):
            c = W.contiguity(_geometries(boundaries, codes), rule=spec.method.split("_")[0],
                             islands=_number(spec.islands), codes=codes)
        else:
            raise ValueError(f"weight_matrices: matrix {spec.matrix!r} has unknown method {spec.method!r}")
        w = W.row_standardise(c, spec.matrix, codes)
        i, j = np.nonzero(w)
        frames.append(pd.DataFrame({"matrix": spec.matrix, "unit_code_i": codes[i],
                                    "unit_code_j": codes[j], "weight": w[i, j]}))
    return pd.concat(frames, ignore_index=True)


def model(dbt, session):
    dbt.config(materialized="table")
    matrices = dbt.ref("weight_matrices").df()
    level = dbt.config.get("unit_level") or "province"
    return matrix_entries(dbt.ref("int_unit_attributes").df(), matrices[matrices["level"] == level],
                          dbt.ref("int_unit_boundaries").df())
