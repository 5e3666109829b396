"""Compare the results of two warehouses: per results table and spec, the largest relative
difference of every numeric column, rows matched by their key (spec, term, stat, ...).

Run: .venv/bin/python benchmarks/compare_results.py BEFORE.duckdb AFTER.duckdb [--run-a ID]
[--run-b ID] [--threshold 1e-12]

Each warehouse's latest successful run is compared unless a run id is given. The relative
difference is |a - b| / max(1, |a|) (absolute below 1), NaN on both sides counts as equal.
Printed: the largest difference per table, then per table and spec the largest difference
over its numeric columns with the column and row where it occurs (above ``--threshold``).
A warehouse written before a column was renamed is read under the new name (the store's
RENAMED_COLUMNS, e.g. spatial_effects' old ``estimate``, the draws' mean, is compared with
``sim_mean``). Rows and columns present on one side only are listed, not compared. Both
files are opened read-only.
"""
from __future__ import annotations

import argparse

import duckdb
import numpy as np
import pandas as pd

from warehouse.results_store import RENAMED_COLUMNS

#: Row keys of each results table, beside spec_id (``rank`` numbers the profile's grid points).
KEYS: dict[str, list[str]] = {
    "coefficients": ["term"], "model_stats": ["stat"], "mediation": ["mediator", "method"],
    "moran": ["matrix", "variable", "year"], "moran_quadrants": ["matrix", "variable", "year", "unit"],
    "spatial_effects": ["term", "effect"], "spatial_profile": ["rank"],
}


def latest_run(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("select run_id from results.runs where status = 'succeeded' "
                      "order by finished_at desc limit 1").fetchone()
    if row is None:
        raise SystemExit("no successful run in the warehouse")
    return row[0]


def load(con: duckdb.DuckDBPyConnection, table: str, run_id: str) -> pd.DataFrame:
    frame = con.execute(f"select * from results.{table} where run_id = ?", [run_id]).df()
    renamed = {old: new for old, new in RENAMED_COLUMNS.get(table, {}).items() if new not in frame.columns}
    frame = frame.drop(columns=["run_id"]).rename(columns=renamed)
    frame = frame.rename(columns={"province_code": "unit", "unit_code": "unit"})
    if table == "spatial_profile":
        frame["rank"] = frame.groupby("spec_id")["rho"].rank(method="first")
    return frame


def relative_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = np.abs(a - b) / np.maximum(1.0, np.abs(a))
    d[np.isnan(a) & np.isnan(b)] = 0.0
    d[np.isnan(d)] = np.inf
    return d


def compare_table(a: pd.DataFrame, b: pd.DataFrame, table: str) -> pd.DataFrame:
    """One row per (spec_id, column): the largest relative difference and where it occurs."""
    keys = ["spec_id", *KEYS[table]]
    merged = a.merge(b, on=keys, how="outer", suffixes=("_a", "_b"), indicator=True)
    alone = merged[merged["_merge"] != "both"]
    for side, label in (("left_only", "before only"), ("right_only", "after only")):
        rows = alone[alone["_merge"] == side]
        if len(rows):
            print(f"  {table}: {len(rows)} rows {label}, e.g. {rows.iloc[0][keys].to_dict()}")
    merged = merged[merged["_merge"] == "both"]
    only = sorted(set(a.columns) ^ set(b.columns))
    if only:
        print(f"  {table}: columns on one side only: {only}")
    numeric = [c for c in a.columns if c not in keys and c in b.columns
               and pd.api.types.is_numeric_dtype(a[c]) and pd.api.types.is_numeric_dtype(b[c])]
    out = []
    for spec_id, rows in merged.groupby("spec_id"):
        for column in numeric:
            d = relative_difference(rows[f"{column}_a"].to_numpy(float), rows[f"{column}_b"].to_numpy(float))
            i = int(np.argmax(d))
            out.append({"table": table, "spec_id": spec_id, "column": column, "max_rel_diff": d[i],
                        "at": ", ".join(str(rows.iloc[i][k]) for k in KEYS[table])})
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--run-a")
    parser.add_argument("--run-b")
    parser.add_argument("--threshold", type=float, default=1e-12,
                        help="print only spec/columns whose difference exceeds this")
    args = parser.parse_args()
    with duckdb.connect(args.before, read_only=True) as ca, duckdb.connect(args.after, read_only=True) as cb:
        run_a, run_b = args.run_a or latest_run(ca), args.run_b or latest_run(cb)
        print(f"before {args.before} run {run_a}\nafter  {args.after} run {run_b}")
        frames = [compare_table(load(ca, t, run_a), load(cb, t, run_b), t) for t in KEYS]
    report = pd.concat(frames, ignore_index=True)
    worst = report.groupby("table")["max_rel_diff"].max()
    print("\nlargest relative difference per table:")
    print(worst.map("{:.3g}".format).to_string())
    by_spec = report.loc[report.groupby(["table", "spec_id"])["max_rel_diff"].idxmax()]
    shown = by_spec[by_spec.max_rel_diff > args.threshold].sort_values(
        ["table", "max_rel_diff"], ascending=[True, False])
    print(f"\nper table and spec, the largest difference over its columns (above {args.threshold:g}):")
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(shown.assign(max_rel_diff=shown.max_rel_diff.map("{:.3g}".format)).to_string(index=False)
              if len(shown) else "  none")

if __name__ == "__main__":
    main()
