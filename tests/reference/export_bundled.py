"""Export the bundled SYNTHETIC panel and weights from a warehouse to tests/reference/data/.

Run by hand (the CSVs are committed; this only documents where they came from):

    .venv/bin/python tests/reference/export_bundled.py [WAREHOUSE.duckdb]

Default warehouse: /work/baseline/before.duckdb (a warehouse built by ``make run`` on the
bundled synthetic sample). Floats are written with ``%.17g`` so that they round-trip exactly.
"""
from __future__ import annotations

import sys
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
DEFAULT = "/work/baseline/before.duckdb"


def main(path: str = DEFAULT) -> None:
    con = duckdb.connect(path, read_only=True)
    panel = con.sql("select * from marts.analysis_panel order by province_code, year").df()
    weights = con.sql("select matrix, province_code_i, province_code_j, weight "
                      "from marts.spatial_weights order by matrix, province_code_i, province_code_j").df()
    con.close()
    (HERE / "data").mkdir(exist_ok=True)
    panel["is_municipality"] = panel["is_municipality"].map({True: "true", False: "false"})
    panel.to_csv(HERE / "data" / "bundled_panel.csv", index=False, float_format="%.17g", na_rep="NA")
    weights.to_csv(HERE / "data" / "bundled_weights.csv", index=False, float_format="%.17g")
    print(f"panel {panel.shape}, weights {weights.shape} written to {HERE / 'data'}")


if __name__ == "__main__":
    main(*sys.argv[1:])
