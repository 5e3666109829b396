"""Load a landing folder of raw extracts into schema ``raw`` of the DuckDB warehouse, and
take a load batch out again.

``load_landing`` is all-or-nothing: the new files are parsed into TEMP staging tables and
every check is made (``warehouse.landing``) before ``raw`` is written, and the writes happen
in one explicit transaction (DuckDB autocommits each statement of a multi-statement string,
so statements are executed one by one between ``BEGIN`` and ``COMMIT``). A failed load leaves
the warehouse exactly as it was; if the warehouse file did not exist, none is left behind.

``unload_batch`` undoes a batch in one transaction: the cells it inserted go, the values it
revised come back from ``raw.revisions``, and its ``raw.load_log`` rows get ``unloaded_at``
(so its files can be loaded again). It is refused while a later batch revised the same cells,
unless forced (then those later values stay and only the batch's own cells are undone).

``raw.load_log.rows`` counts the file's data rows (units for NBS and yearbook tables,
unit-years for panels); ``format`` is ``<shape>-<container>``, e.g. ``nbs-csv``,
``nbs-platform-csv``, ``nbs-xls``, ``cnrds-xlsx``, ``yearbook-xls-encrypted``.
"""
from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from warehouse.errors import ResilienceError
from warehouse.landing import (ExtractErrors, Plan, env_memory_limit, make_plan, plan_connection, raise_all,
                               scan_landing)
from warehouse.reference import Reference
from warehouse.schema import ensure_raw_schema, has_table

__all__ = ["ExtractErrors", "LoadSummary", "load_landing", "unload_batch", "year_ranges", "UnloadSummary"]


@dataclass
class LoadSummary:
    """What one ``load_landing`` call did."""

    warehouse: Path
    landing_dir: Path
    vintage: str | None
    batch_id: str | None = None
    files_loaded: list[str] = field(default_factory=list)
    files_unchanged: list[str] = field(default_factory=list)
    files_skipped: list[str] = field(default_factory=list)
    indicators: list[str] = field(default_factory=list)
    provinces: list[int] = field(default_factory=list)  # unit codes (provinces in a province study)
    years: list[int] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    cells: int = 0
    cells_missing: int = 0
    inserted: int = 0
    updated: int = 0
    revisions: int = 0
    large_revisions: int = 0
    unmapped_columns: int = 0
    units_loaded: int = 0

    @property
    def units(self) -> list[int]:
        return self.provinces

    @property
    def latest_year(self) -> int | None:
        return max(self.years) if self.years else None

    def describe(self) -> str:
        lines = [f"warehouse: {self.warehouse}", f"landing folder: {self.landing_dir}",
                 f"vintage: {self.vintage or '(nothing new loaded)'}"]
        if self.batch_id:
            lines.append(f"batch: {self.batch_id}")
        lines.append(f"files loaded: {len(self.files_loaded)}"
                     + (f" ({', '.join(self.files_loaded)})" if 0 < len(self.files_loaded) <= 6 else ""))
        lines.append(f"files unchanged (already loaded): {len(self.files_unchanged)}")
        lines.append(f"files skipped (not an extract): {len(self.files_skipped)}"
                     + (f" ({', '.join(self.files_skipped)})" if self.files_skipped else ""))
        if self.files_loaded:
            lines.append(f"indicators: {len(self.indicators)}")
            what = "provinces" if self.levels in ([], ["province"]) else "/".join(self.levels) + " units"
            lines.append(f"{what} x years: {len(self.provinces)} x {len(self.years)} ({year_ranges(self.years)})")
            lines.append(f"cells: {self.cells}, missing cells: {self.cells_missing}")
            lines.append(f"rows inserted: {self.inserted}, rows revised: {self.updated}, "
                         f"revisions recorded: {self.revisions}"
                         + (f" ({self.large_revisions} large, accepted)" if self.large_revisions else ""))
            if self.unmapped_columns:
                lines.append(f"unmapped yearbook columns (not loaded; see `resilience inspect`): {self.unmapped_columns}")
        if self.units_loaded:
            lines.append(f"units reference: {self.units_loaded} units into raw.units")
        return "\n".join(lines)


def year_ranges(years) -> str:
    """``[1984, 2013, 2014, 2015]`` -> ``'1984, 2013-2015'``."""
    parts = []
    for _, run in itertools.groupby(enumerate(sorted(set(years))), lambda t: t[1] - t[0]):
        run = [y for _, y in run]
        parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ", ".join(parts)


def load_landing(landing_dir, warehouse, vintage: str | None = None, reference: Reference | None = None,
                 accept_revisions: bool = False, variant: str | None = None) -> LoadSummary:
    """Load every new extract in ``landing_dir`` into ``warehouse`` in one transaction.

    ``accept_revisions`` lets revisions larger than ``warehouse.landing.LARGE_REVISION``
    through; ``variant`` (全市/市辖区) picks the variant of city yearbook tables."""
    landing_dir, warehouse = Path(landing_dir), Path(warehouse)
    landing = scan_landing(landing_dir)
    summary = LoadSummary(warehouse, landing_dir, vintage or landing.vintage, files_skipped=landing.skipped)
    con, existed = plan_connection(warehouse, write=True)
    try:
        env_memory_limit(con)
        plan = make_plan(con, landing, vintage, variant, reference, accept_revisions)
        summary.files_unchanged = plan.files_unchanged
        raise_all(plan.problems)
        if plan.parsed or plan.units is not None:
            _write(con, plan, summary)
    except BaseException:
        con.close()
        if not existed:
            for leftover in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
                leftover.unlink(missing_ok=True)
        raise
    con.close()
    return summary


def _write(con: duckdb.DuckDBPyConnection, plan: Plan, summary: LoadSummary) -> None:
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    batch_id = f"{loaded_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    parsed = plan.parsed
    if parsed:
        latest = max(p.latest_year for p in parsed)
        summary.vintage = plan.vintage or f"data through {latest}"
    vintage = summary.vintage
    con.execute("BEGIN TRANSACTION")
    try:
        ensure_raw_schema(con)
        if plan.units is not None:
            summary.units_loaded = _write_units(con, plan, vintage, loaded_at)
        if parsed:
            _write_observations(con, batch_id, vintage, loaded_at)
            _write_log(con, plan, batch_id, vintage, loaded_at)
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass  # the failed statement may already have aborted the transaction
        raise
    if not parsed:
        return
    summary.batch_id = batch_id
    summary.files_loaded = [p.file_name for p in parsed]
    summary.indicators = sorted({c for p in parsed for c in p.indicator_codes})
    summary.provinces = sorted({u for p in parsed for u in p.units})
    summary.years = sorted({y for p in parsed for y in p.years})
    summary.levels = sorted({p.level for p in parsed})
    summary.cells = sum(p.cells for p in parsed)
    summary.cells_missing = sum(p.cells_missing for p in parsed)
    summary.inserted, summary.updated = plan.inserted, plan.updated
    summary.revisions = len(plan.revisions)
    summary.large_revisions = len(plan.large_revisions)
    summary.unmapped_columns = sum(len(p.unmapped_columns) for p in parsed)


def _write_units(con, plan: Plan, vintage: str | None, loaded_at) -> int:
    units = list(plan.units.units.values())
    frame = pd.DataFrame({
        "unit_code": [u.code for u in units], "unit_name": [u.name for u in units],
        "aliases": ["|".join(u.aliases) for u in units], "level": [u.level for u in units],
        "province_code": [u.province_code for u in units], "lat": [u.lat for u in units],
        "lon": [u.lon for u in units]}).astype({"lat": "float64", "lon": "float64"})
    frame["source_file"], frame["vintage"], frame["loaded_at"] = plan.landing.units_reference.name, vintage, loaded_at
    con.register("_units", frame)
    con.execute("DELETE FROM raw.units WHERE unit_code IN (SELECT unit_code FROM _units)")
    con.execute("INSERT INTO raw.units BY NAME SELECT * FROM _units")
    con.unregister("_units")
    return len(frame)


def _write_observations(con, batch_id: str, vintage: str | None, loaded_at) -> None:
    params = [vintage, loaded_at, batch_id]
    for source in ("_easy", "_final_kind WHERE NOT is_update"):
        con.execute(f"""INSERT INTO raw.observations BY NAME SELECT indicator_code, unit_code, year, value, unit,
            reported_value, reported_unit, source_file, source_line, ?::VARCHAR AS vintage,
            ?::TIMESTAMP AS loaded_at, ?::VARCHAR AS batch_id, tolerance AS rounding FROM {source}""", params)
    con.execute("""UPDATE raw.observations o SET value = f.value, unit = f.unit, reported_value = f.reported_value,
        reported_unit = f.reported_unit, source_file = f.source_file, source_line = f.source_line,
        vintage = ?, loaded_at = ?, batch_id = ?, rounding = f.tolerance
        FROM _final_kind f WHERE f.is_update AND o.indicator_code = f.indicator_code AND o.unit_code = f.unit_code
        AND o.year = f.year""", params)
    con.execute("""INSERT INTO raw.revisions BY NAME SELECT indicator_code, unit_code, year, old_value,
        value AS new_value, old_source_file, source_file AS new_source_file, old_vintage,
        ?::VARCHAR AS new_vintage, ?::TIMESTAMP AS revised_at, CASE WHEN old_in_db THEN old_batch_id ELSE ? END
        AS old_batch_id, ?::VARCHAR AS new_batch_id, old_unit, old_reported_value, old_reported_unit,
        old_source_line, old_loaded_at, old_rounding FROM _rev""", [vintage, loaded_at, batch_id, batch_id])


def _write_log(con, plan: Plan, batch_id: str, vintage: str | None, loaded_at) -> None:
    rows = []
    for p in plan.parsed:
        counts = plan.per_file.get(p.file_name, {"inserted": 0, "revised": 0})
        rows.append({
            "batch_id": batch_id, "file_name": p.file_name, "sha256": p.sha256, "format": p.format_label,
            "indicator_codes": ",".join(p.indicator_codes), "rows": p.rows, "cells_missing": p.cells_missing,
            "vintage": vintage, "loaded_at": loaded_at, "level": p.level, "variant": p.variant,
            "indicator_source": p.indicator_source, "manifest": "; ".join(p.manifest_rows) or None,
            "unmapped_columns": len(p.unmapped_columns), "unmapped": " | ".join(p.unmapped_columns) or None,
            "empty_years": ",".join(map(str, p.empty_years)) or None, "cells": p.cells,
            "inserted": counts["inserted"], "revised": counts["revised"], "unloaded_at": None,
            "note": "; ".join(p.notes) or None, "synthetic": plan.landing.synthetic})
    log = pd.DataFrame(rows)
    log["loaded_at"] = pd.to_datetime(log["loaded_at"])
    log["unloaded_at"] = pd.to_datetime(log["unloaded_at"])
    con.register("_log", log)
    con.execute("INSERT INTO raw.load_log BY NAME SELECT * FROM _log")
    con.unregister("_log")


# --------------------------------------------------------------------------- undo

@dataclass
class UnloadSummary:
    batch_id: str
    deleted: int
    restored: int
    kept_later: int
    files: list[str]

    def describe(self) -> str:
        text = (f"batch {self.batch_id} unloaded ({len(self.files)} files: {', '.join(self.files)}): "
                f"{self.deleted} cells removed, {self.restored} revised values restored")
        if self.kept_later:
            text += f", {self.kept_later} cells kept as later batches revised them (--force)"
        return text


def unload_batch(warehouse, batch_id: str, force: bool = False) -> UnloadSummary:
    """Undo load batch ``batch_id`` in one transaction (see the module docstring)."""
    warehouse = Path(warehouse)
    if not warehouse.exists():
        raise ResilienceError(f"no warehouse at {warehouse}")
    con, _ = plan_connection(warehouse, write=True)
    try:
        if not has_table(con, "load_log"):
            raise ResilienceError("the warehouse has no load log: nothing was loaded")
        con.execute("BEGIN TRANSACTION")
        try:
            ensure_raw_schema(con)
            summary = _unload(con, batch_id, force)
            con.execute("COMMIT")
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                pass
            raise
    finally:
        con.close()
    return summary


def _unload(con, batch_id: str, force: bool) -> UnloadSummary:
    files = [r[0] for r in con.execute("SELECT file_name FROM raw.load_log WHERE batch_id = ? AND unloaded_at IS NULL "
                                       "ORDER BY file_name", [batch_id]).fetchall()]
    if not files:
        known = con.execute("SELECT count(*) FROM raw.load_log WHERE batch_id = ?", [batch_id]).fetchone()[0]
        raise ResilienceError(f"batch {batch_id!r} " + ("was already unloaded" if known else
                                                         "is not in raw.load_log (see `resilience status`)"))
    # later batches that revised this batch's values depend on it
    later = con.execute("""SELECT new_batch_id, count(*) FROM raw.revisions WHERE old_batch_id = ?
        AND new_batch_id <> ? GROUP BY 1 ORDER BY 1""", [batch_id, batch_id]).fetchall()
    if later and not force:
        names = ", ".join(f"{b} ({n} cells)" for b, n in later)
        raise ResilienceError(f"batch {batch_id} cannot be unloaded: later batches revised its values: {names}; "
                              "unload those first, or use --force to undo only the cells this batch still holds")
    # the first revision of each cell by this batch holds the value before it (unless that
    # value came from a batch unloaded since: then the cell goes)
    con.execute("""CREATE OR REPLACE TEMP TABLE _before AS SELECT * FROM (
        SELECT *, row_number() OVER (PARTITION BY indicator_code, unit_code, year ORDER BY revised_at) AS k
        FROM raw.revisions WHERE new_batch_id = ? AND old_batch_id IS DISTINCT FROM ?
          AND old_batch_id NOT IN (SELECT batch_id FROM raw.load_log WHERE unloaded_at IS NOT NULL)) WHERE k = 1""",
                [batch_id, batch_id])
    if later:  # forced: later batches' revisions now replace what this batch replaced
        con.execute("""UPDATE raw.revisions r SET old_value = b.old_value, old_source_file = b.old_source_file,
            old_vintage = b.old_vintage, old_batch_id = b.old_batch_id, old_unit = b.old_unit,
            old_reported_value = b.old_reported_value, old_reported_unit = b.old_reported_unit,
            old_source_line = b.old_source_line, old_loaded_at = b.old_loaded_at, old_rounding = b.old_rounding
            FROM _before b WHERE r.old_batch_id = ? AND r.new_batch_id <> ? AND r.indicator_code = b.indicator_code
            AND r.unit_code = b.unit_code AND r.year = b.year""", [batch_id, batch_id])
    owned = "FROM raw.observations o WHERE o.batch_id = ?"
    restored = con.execute(f"""SELECT count(*) {owned} AND EXISTS (SELECT 1 FROM _before b WHERE
        b.indicator_code = o.indicator_code AND b.unit_code = o.unit_code AND b.year = o.year)""", [batch_id]).fetchone()[0]
    deleted = con.execute(f"""SELECT count(*) {owned} AND NOT EXISTS (SELECT 1 FROM _before b WHERE
        b.indicator_code = o.indicator_code AND b.unit_code = o.unit_code AND b.year = o.year)""", [batch_id]).fetchone()[0]
    kept = con.execute("SELECT count(*) FROM raw.revisions WHERE old_batch_id = ? AND new_batch_id <> ?",
                       [batch_id, batch_id]).fetchone()[0]
    con.execute("""UPDATE raw.observations o SET value = b.old_value, unit = coalesce(b.old_unit, o.unit),
        reported_value = b.old_reported_value, reported_unit = b.old_reported_unit, source_file = b.old_source_file,
        source_line = b.old_source_line, vintage = b.old_vintage, loaded_at = b.old_loaded_at,
        batch_id = b.old_batch_id, rounding = b.old_rounding
        FROM _before b WHERE o.batch_id = ? AND o.indicator_code = b.indicator_code AND o.unit_code = b.unit_code
        AND o.year = b.year""", [batch_id])
    con.execute("""DELETE FROM raw.observations WHERE batch_id = ?""", [batch_id])
    con.execute("DELETE FROM raw.revisions WHERE new_batch_id = ?", [batch_id])
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    note = f"unloaded: {deleted} cells removed, {restored} revised values restored" + (
        f", forced past later batches ({kept} cells kept)" if later else "")
    con.execute("UPDATE raw.load_log SET unloaded_at = ?, note = ? WHERE batch_id = ?", [now, note, batch_id])
    return UnloadSummary(batch_id, deleted, restored, kept if later else 0, files)
