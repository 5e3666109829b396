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
from warehouse.landing import LARGE_REVISION
from warehouse.schema import column, table_columns


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
    n_ind, n_prov, n_missing, top = con.execute(
        f"SELECT count(DISTINCT indicator_code), count(DISTINCT {unit_col}), count(*) FILTER (value IS NULL), "
        f"max({unit_col}) FROM raw.observations").fetchone()
    years = [r[0] for r in con.execute("SELECT DISTINCT year FROM raw.observations ORDER BY 1").fetchall()]
    lines.append(f"indicators: {n_ind}")
    what = "provinces" if (top or 0) < 100 else "units"
    lines.append(f"{what} x years: {n_prov} x {len(years)} ({year_ranges(years) or 'none'})")
    lines.append(f"missing cells: {n_missing}")
    log_cols = table_columns(con, "load_log")
    unloaded = "any_value(unloaded_at)" if "unloaded_at" in log_cols else "NULL"
    batches = con.execute(
        f"SELECT batch_id, min(loaded_at), count(*), any_value(vintage), {unloaded} FROM raw.load_log "
        "GROUP BY batch_id ORDER BY 2").fetchall()
    lines.append(f"load batches: {len(batches)}")
    lines += [f"  {b} at {t:%Y-%m-%d %H:%M:%S} UTC: {n} files, vintage {v!r}"
              + (f" (unloaded {u:%Y-%m-%d %H:%M:%S} UTC)" if u else "") for b, t, n, v, u in batches]
    vintages = con.execute("SELECT vintage, count(*) FROM raw.observations GROUP BY 1 ORDER BY 1").fetchall()
    lines.append("current values by vintage: " + "; ".join(f"{v!r} {n}" for v, n in vintages))
    if "units" in raw:
        levels = con.execute("SELECT level, count(*) FROM raw.units GROUP BY 1 ORDER BY 1").fetchall()
        if levels:
            lines.append("unit registry (raw.units): " + ", ".join(f"{n} {lv}" for lv, n in levels))
    return lines + _revision_lines(con)


def _revision_lines(con) -> list[str]:
    """Revisions per indicator and vintage; the large ones (beyond LARGE_REVISION) listed."""
    if "revisions" not in _tables(con, "raw"):
        return []
    rows = con.execute("""SELECT indicator_code, new_vintage, count(*),
            max(abs(new_value - old_value) / nullif(abs(old_value), 0)),
            count(*) FILTER (abs(new_value - old_value) > ? * abs(old_value) AND old_value <> 0)
        FROM raw.revisions GROUP BY 1, 2 ORDER BY 2, 1""", [LARGE_REVISION]).fetchall()
    if not rows:
        return ["revisions: none"]
    lines = [f"revisions by indicator and vintage ({sum(r[2] for r in rows)} in all; large = beyond "
             f"{LARGE_REVISION:.0%}):"]
    for ind, vintage, n, biggest, large in rows:
        size = f", largest {biggest:.1%}" if biggest is not None else ""
        lines.append(f"  {ind} by {vintage!r}: {n}{size}" + (f", {large} large" if large else ""))
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
