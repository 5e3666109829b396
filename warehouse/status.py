"""``resilience status``: a plain-text account of what the warehouse holds.

Reads the warehouse read-only: the ``raw`` tables (rows, indicators, provinces x years,
missing cells, load batches and their vintages, revisions), the row counts of the ``marts``
and ``results`` tables if dbt and the estimators have run, and the latest run in
``results.runs``.
"""
from __future__ import annotations

from pathlib import Path

import duckdb

from warehouse.errors import WarehouseBusyError
from warehouse.loader import year_ranges
from warehouse.schema import column


def describe_warehouse(path) -> str:
    path = Path(path)
    if not path.exists():
        return f"warehouse: {path}\nno warehouse file yet (run `resilience load` first)"
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        raise WarehouseBusyError(f"cannot open warehouse {path}: {exc}") from None
    try:
        return "\n".join([f"warehouse: {path}", *_raw_section(con), *_schema_sections(con), *_latest_run(con)])
    finally:
        con.close()


def _tables(con, schema: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? "
        "UNION SELECT view_name FROM duckdb_views() WHERE schema_name = ? AND NOT internal ORDER BY 1",
        [schema, schema]).fetchall()]


def _raw_section(con) -> list[str]:
    raw = set(_tables(con, "raw"))
    if not {"observations", "load_log"} <= raw:
        return ["raw: empty (nothing loaded yet)"]
    counts = {t: con.execute(f"SELECT count(*) FROM raw.{t}").fetchone()[0] for t in sorted(raw)}
    lines = ["raw tables: " + ", ".join(f"raw.{t} {n} rows" for t, n in counts.items())]
    unit_col = column(con, "observations", "unit_code", "province_code")
    n_ind, n_prov, n_missing = con.execute(
        f"SELECT count(DISTINCT indicator_code), count(DISTINCT {unit_col}), count(*) FILTER (value IS NULL) "
        "FROM raw.observations").fetchone()
    years = [r[0] for r in con.execute("SELECT DISTINCT year FROM raw.observations ORDER BY 1").fetchall()]
    lines.append(f"indicators: {n_ind}")
    lines.append(f"provinces x years: {n_prov} x {len(years)} ({year_ranges(years) or 'none'})")
    lines.append(f"missing cells: {n_missing}")
    batches = con.execute(
        "SELECT batch_id, min(loaded_at), count(*), any_value(vintage) FROM raw.load_log "
        "GROUP BY batch_id ORDER BY 2").fetchall()
    lines.append(f"load batches: {len(batches)}")
    lines += [f"  {b} at {t:%Y-%m-%d %H:%M:%S} UTC: {n} files, vintage {v!r}" for b, t, n, v in batches]
    vintages = con.execute("SELECT vintage, count(*) FROM raw.observations GROUP BY 1 ORDER BY 1").fetchall()
    lines.append("current values by vintage: " + "; ".join(f"{v!r} {n}" for v, n in vintages))
    return lines


def _schema_sections(con) -> list[str]:
    lines = []
    for schema in ("marts", "results"):
        tables = _tables(con, schema)
        if tables:
            counts = [f"{schema}.{t} {con.execute(f'SELECT count(*) FROM {schema}.{t}').fetchone()[0]}"
                      for t in tables]
            lines.append(f"{schema}: {len(tables)} tables ({', '.join(counts)})")
        else:
            lines.append(f"{schema}: none (not built yet)")
    return lines


def _latest_run(con) -> list[str]:
    if "runs" not in _tables(con, "results"):
        return []
    row = con.execute("SELECT run_id, status, vintage, started_at, finished_at FROM results.runs "
                      "ORDER BY started_at DESC NULLS LAST LIMIT 1").fetchone()
    if row is None:
        return ["latest run: none"]
    run_id, status, vintage, started, finished = row
    return [f"latest run: {run_id} ({status}), vintage {vintage!r}, started {started}, finished {finished}"]
