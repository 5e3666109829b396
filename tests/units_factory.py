"""Real prefecture and county names and codes for the tests and the ingest benchmark, from the
cpca package's adcodes.csv (MIT). The file is read directly: importing cpca needs
pkg_resources, which a plain venv lacks."""
from __future__ import annotations

import csv
import importlib.util
from functools import lru_cache
from pathlib import Path

from synthetic.dgp import PLACEHOLDER_NAMES
from warehouse.seeds import seed_rows

PROVINCE_NAMES = {int(r["province_code"]): r["name_zh"] for r in seed_rows("provinces")}


@lru_cache(maxsize=1)
def adcodes() -> tuple[tuple[int, str, float | None, float | None], ...]:
    """(six-digit code, name, lat, lon) of every unit in cpca's adcodes.csv."""
    spec = importlib.util.find_spec("cpca")
    path = Path(spec.submodule_search_locations[0]) / "resources" / "adcodes.csv"
    out = {}
    with open(path, encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            code = int(r["adcode"]) // 10**6
            lat = float(r["latitude"]) if r["latitude"] else None
            lon = float(r["longitude"]) if r["longitude"] else None
            out[code] = (code, r["name"], lat, lon)
    return tuple(sorted(out.values()))


def units(level: str) -> list[tuple[int, str, float | None, float | None]]:
    """Prefectures (code ends in 00, not 0000) or counties (code does not end in 00) of the 31
    provinces."""
    keep = []
    for code, name, lat, lon in adcodes():
        if code // 10000 not in PROVINCE_NAMES or code % 10000 == 0 or name in PLACEHOLDER_NAMES:
            continue
        if (level == "prefecture") == (code % 100 == 0):
            keep.append((code, name, lat, lon))
    return keep


def write_units_reference(path: Path, level: str, codes=None) -> Path:
    """``units_reference.csv`` of the contract (docs/CONTRACTS.md) for ``level``."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["unit_code", "unit_name", "level", "province_code", "lat", "lon", "aliases"])
        for code, name, lat, lon in units(level):
            if codes is None or code in codes:
                w.writerow([code, name, level, code // 10000, "" if lat is None else lat, "" if lon is None else lon, ""])
    return Path(path)
