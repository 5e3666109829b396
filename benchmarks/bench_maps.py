"""Time maps and contiguity at province (30), prefecture (370) and county (2,875) level.

Run: .venv/bin/python benchmarks/bench_maps.py [--levels province prefecture county]

The units are the packaged boundaries themselves (boundaries/<level>.fgb): the warehouse need
not hold prefecture or county data for this. The mapped values are SYNTHETIC (a smooth field of
longitude and latitude plus noise). Steps timed: reading the boundary file, queen contiguity
with the island rule, row-standardising it into a SpatialWeights (with its eigenvalues up to
1,000 units, sparse above), local Moran with 999 conditional permutations, a choropleth and a LISA
cluster map written as PNG.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from estimation.spatial.lisa import local_moran
from estimation.spatial.weights import SpatialWeights, contiguity, row_standardise
from flows.maps import choropleth, lisa_map
from warehouse.boundaries import read_boundaries

OUTSIDE_THE_STUDY = (54, 71, 81, 82)  # Tibet, Taiwan, Hong Kong, Macao (province codes)


def timed(label: str, func, *args, **kwargs):
    start, cpu = time.perf_counter(), time.process_time()
    out = func(*args, **kwargs)
    print(f"  {label:<44s} {time.perf_counter() - start:8.2f} s wall {time.process_time() - cpu:8.2f} s cpu",
          flush=True)
    return out


def bench(level: str, out_dir: Path) -> None:
    shapes = timed(f"read boundaries/{level}.fgb", read_boundaries, level)
    shapes = shapes[~shapes.province_code.isin(OUTSIDE_THE_STUDY)].reset_index(drop=True)
    shapes["unit_name"] = shapes["unit_code"].astype(str)
    print(f"{level}: {len(shapes)} units")
    codes = shapes["unit_code"].to_numpy()
    c = timed("queen contiguity, island rule nearest", contiguity, shapes.geometry, "queen", "nearest", codes)
    sw = timed("SpatialWeights (eigenvalues, or sparse > 1,000)", lambda: SpatialWeights.from_dense(
        row_standardise(c, level, codes), codes=codes, name="adjacency"))
    points = shapes.geometry.representative_point()
    rng = np.random.default_rng(1)
    values = np.sin(points.x.to_numpy() / 8) + np.cos(points.y.to_numpy() / 5) + rng.normal(0, 0.3, len(codes))
    lisa = timed("local Moran, 999 permutations", local_moran, values, sw, permutations=999, seed=1)
    timed("choropleth PNG", choropleth, shapes, lisa.set_index("unit_code")["value"], variable="synthetic",
          year=2021, path=out_dir / f"{level}_choropleth.png", data_note="SYNTHETIC values.")
    timed("LISA cluster map PNG", lisa_map, shapes, lisa, variable="synthetic", year=2021, matrix="adjacency",
          alpha=0.05, adjustment="none", permutations=999, path=out_dir / f"{level}_lisa.png",
          data_note="SYNTHETIC values.")
    print(f"  {int(lisa['significant'].sum())} of {len(lisa)} units significant at p <= 0.05", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", nargs="+", default=["province", "prefecture", "county"])
    parser.add_argument("--keep", default=None, help="folder to keep the PNG files in")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(args.keep or tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        for level in args.levels:
            bench(level, out_dir)


if __name__ == "__main__":
    main()
