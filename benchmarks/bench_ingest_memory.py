"""Peak memory of loading one large extract (issue 10: <= 500 MB for a 200 MB extract).

Writes, in a temporary folder, a county-level CNRDS panel of about ``--mb`` MB (every county of
the cpca package's adcodes.csv, MIT, × the years 1949.., every dictionary series, plausible
made-up values) and its ``units_reference.csv``, then loads it into a fresh warehouse in a
child process and prints the file size, the child's peak RSS and the time. Also hashes the
file a second time as an already-loaded file (the unchanged path) and prints that peak.

    .venv/bin/python benchmarks/bench_ingest_memory.py [--mb 200]
"""
from __future__ import annotations

import argparse
import csv
import math
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "tests")]

from units_factory import PROVINCE_NAMES as PROVINCES  # noqa: E402
from units_factory import units as registry_units  # noqa: E402
from units_factory import write_units_reference  # noqa: E402
from warehouse.seeds import seed_rows  # noqa: E402


def write_panel(folder: Path, target_mb: float) -> Path:
    units = registry_units("county")
    write_units_reference(folder / "units_reference.csv", "county")
    series = [r for r in seed_rows("indicators") if r["frequency"] == "annual"]
    rng = random.Random(1)
    years = range(1949, 2026)

    def cells(code, year, decimals):
        out = [PROVINCES[code // 10000], code, year]
        for s in series:
            if s["max_yoy_change"]:  # index-type series stay near their centre
                centre = (float(s["min_value"]) + float(s["max_value"])) / 2
                out.append(f"{centre + rng.uniform(-5, 5):.{decimals}f}")
            else:
                out.append(f"{rng.uniform(0, min(float(s['max_value']), 1000.0)):.{decimals}f}")
        return out

    # more printed decimals when every county x year at 6 decimals is still short of the target
    sample = sum(len(",".join(map(str, cells(units[0][0], 2000, 6)))) + 1 for _ in range(50)) / 50
    extra = max(0, math.ceil((target_mb * 1e6 / (len(units) * len(years)) - sample) / len(series)))
    decimals = min(6 + extra, 12)
    path = folder / "county_panel.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Prvcnm", "Cntcd", "Sgnyea", *[s["code"] for s in series]])
        w.writerow(["省份", "县代码", "年份", *[f"{s['name_zh']}({s['unit']})" for s in series]])
        wanted = len(units)
        for i, (code, name, _, _) in enumerate(units):
            if i >= wanted:
                break
            for year in years:
                w.writerow(cells(code, year, decimals))
            if i == 10:  # enough rows to know the size of one unit's rows
                wanted = max(int(target_mb * 1e6 / (fh.tell() / 11)), 12)
    return path


CHILD = """
import resource, sys, time
from warehouse.loader import load_landing
t = time.perf_counter()
s = load_landing(sys.argv[1], sys.argv[2], vintage='benchmark 2025')
print(f"{time.perf_counter() - t:.1f} {s.cells} {len(s.units)} {len(s.years)}")
"""


def run_child(landing: Path, warehouse: Path) -> tuple[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run([sys.executable, "-c", CHILD, str(landing), str(warehouse)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    if done.returncode:
        raise SystemExit(f"the load failed:\n{done.stderr[-3000:]}")
    out = done.stdout
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return out.strip(), max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=200.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        landing = Path(tmp) / "landing"
        landing.mkdir()
        start = time.perf_counter()
        panel = write_panel(landing, args.mb)
        size = panel.stat().st_size / 1e6
        print(f"extract: {panel.name} {size:.1f} MB (written in {time.perf_counter() - start:.0f} s)")
        out, peak = run_child(landing, Path(tmp) / "wh.duckdb")
        seconds, cells, n_units, n_years = out.split()[-4:]
        print(f"load: {int(cells):,} cells, {n_units} counties x {n_years} years in {seconds} s; "
              f"peak RSS {peak:.0f} MB (target <= 500 MB)")
        out, peak2 = run_child(landing, Path(tmp) / "wh.duckdb")
        print(f"second load (file already loaded, only hashed): {out.split()[0]} s; peak RSS so far {peak2:.0f} MB")


if __name__ == "__main__":
    main()
