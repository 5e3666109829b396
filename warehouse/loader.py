"""Load a landing folder of raw extracts into schema ``raw`` of the DuckDB warehouse.

``load_landing`` is all-or-nothing: every new file is parsed and every cross-file check is
made *before* the warehouse is touched, and the writes happen in one explicit transaction
(DuckDB autocommits each statement of a multi-statement string, so statements are executed
one by one between ``BEGIN`` and ``COMMIT``). A failed load leaves the warehouse exactly as it
was; if the warehouse file did not exist, none is left behind.

Rules (docs/CONTRACTS.md):

* A file whose sha256 is already in ``raw.load_log`` is *unchanged* and not reloaded, so
  loading the same folder twice changes nothing.
* Within one batch, files are ordered by the latest year they cover; a file covering a later
  year revises one covering an earlier year (a 2022 yearbook revises 2021). Two files with
  the same latest year that disagree on a province-year are an error ("conflicting values").
* A later load replaces an already loaded value that differs (relative tolerance 1e-9); the
  replaced value is kept in ``raw.revisions``. Filling a previously missing cell is recorded
  there too, with ``old_value`` NULL.
* A missing cell never erases a loaded value: yearbooks print ``…`` for values they do not
  repeat, which is not a statement that the value is unknown.

``raw.load_log.rows`` counts the file's data rows (provinces for NBS, province-years for
CNRDS); ``format`` is ``nbs-csv``, ``nbs-xlsx``, ``cnrds-csv`` or ``cnrds-xlsx``.
"""
from __future__ import annotations

import itertools
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from warehouse.errors import ExtractError, ResilienceError, WarehouseBusyError
from warehouse.parsers import EXTRACT_SUFFIXES, ParsedExtract, parse_extract, sha256_of
from warehouse.reference import Reference, load_reference

KEY = ["indicator_code", "province_code", "year"]
REL_TOL = 1e-9

OBSERVATIONS_DDL = """CREATE TABLE IF NOT EXISTS raw.observations (
    indicator_code VARCHAR NOT NULL, province_code INTEGER NOT NULL, year INTEGER NOT NULL,
    value DOUBLE, unit VARCHAR, reported_value DOUBLE, reported_unit VARCHAR,
    source_file VARCHAR, source_line INTEGER, vintage VARCHAR, loaded_at TIMESTAMP,
    PRIMARY KEY (indicator_code, province_code, year))"""
LOAD_LOG_DDL = """CREATE TABLE IF NOT EXISTS raw.load_log (
    batch_id VARCHAR NOT NULL, file_name VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, format VARCHAR,
    indicator_codes VARCHAR, rows INTEGER, cells_missing INTEGER, vintage VARCHAR, loaded_at TIMESTAMP)"""
REVISIONS_DDL = """CREATE TABLE IF NOT EXISTS raw.revisions (
    indicator_code VARCHAR, province_code INTEGER, year INTEGER, old_value DOUBLE, new_value DOUBLE,
    old_source_file VARCHAR, new_source_file VARCHAR, old_vintage VARCHAR, new_vintage VARCHAR,
    revised_at TIMESTAMP)"""
UNITS_DDL = """CREATE TABLE IF NOT EXISTS raw.units (
    unit_code INTEGER PRIMARY KEY, unit_name VARCHAR, aliases VARCHAR, level VARCHAR,
    province_code INTEGER, lat DOUBLE, lon DOUBLE, source_file VARCHAR, vintage VARCHAR,
    loaded_at TIMESTAMP)"""
OBS_COLUMNS = ["indicator_code", "province_code", "year", "value", "unit", "reported_value",
               "reported_unit", "source_line"]


class ExtractErrors(ExtractError):
    """Several bad files in one batch; ``errors`` holds each one, the message names them all."""

    def __init__(self, errors: list[ExtractError]):
        self.errors = errors
        first = errors[0]
        self.file, self.reason, self.line = first.file, first.reason, first.line
        lines = "\n".join(f"  {e}" for e in errors)
        ResilienceError.__init__(self, f"{len(errors)} problems in the landing files, nothing was loaded:\n{lines}")


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
    provinces: list[int] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    cells: int = 0
    cells_missing: int = 0
    inserted: int = 0
    updated: int = 0
    revisions: int = 0

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
            lines.append(f"provinces x years: {len(self.provinces)} x {len(self.years)} ({year_ranges(self.years)})")
            lines.append(f"cells: {self.cells}, missing cells: {self.cells_missing}")
            lines.append(f"rows inserted: {self.inserted}, rows revised: {self.updated}, "
                         f"revisions recorded: {self.revisions}")
        return "\n".join(lines)


def year_ranges(years) -> str:
    """``[1984, 2013, 2014, 2015]`` -> ``'1984, 2013-2015'``."""
    parts = []
    for _, run in itertools.groupby(enumerate(sorted(set(years))), lambda t: t[1] - t[0]):
        run = [y for _, y in run]
        parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ", ".join(parts)


def load_landing(landing_dir, warehouse, vintage: str | None = None,
                 reference: Reference | None = None) -> LoadSummary:
    """Load every new extract in ``landing_dir`` into ``warehouse`` in one transaction."""
    landing_dir, warehouse = Path(landing_dir), Path(warehouse)
    reference = reference or load_reference()
    extracts, skipped, vintage_file = _scan(landing_dir)
    existed = warehouse.exists()
    known_shas = _known_shas(warehouse) if existed else {}

    summary = LoadSummary(warehouse, landing_dir, vintage or vintage_file, files_skipped=skipped)
    new_paths: list[tuple[Path, str]] = []
    seen_in_batch: dict[str, str] = {}
    for path in extracts:
        digest = sha256_of(path)
        if digest in known_shas or digest in seen_in_batch:
            summary.files_unchanged.append(path.name)
        else:
            seen_in_batch[digest] = path.name
            new_paths.append((path, digest))
    if not new_paths:
        return summary

    parsed, errors = [], []
    for path, _ in new_paths:
        try:
            parsed.append(parse_extract(path, reference))
        except ExtractError as exc:
            errors.append(exc)
    _raise(errors)

    batch = _batch_frame(parsed)
    latest = int(batch["year"].max())
    summary.vintage = vintage or vintage_file or f"data through {latest}"
    summary.files_loaded = [p.file_name for p in parsed]
    summary.indicators = sorted({c for p in parsed for c in p.indicator_codes})
    summary.provinces = sorted(batch["province_code"].unique().tolist())
    summary.years = sorted(batch["year"].unique().tolist())
    summary.cells = len(batch)
    summary.cells_missing = int(batch["value"].isna().sum())

    warehouse.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(warehouse))
    except duckdb.IOException as exc:
        raise WarehouseBusyError(f"cannot open warehouse {warehouse}: {exc}") from None
    try:
        _write(con, parsed, batch, summary)
    except BaseException:
        con.close()
        if not existed:
            for leftover in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
                leftover.unlink(missing_ok=True)
        raise
    con.close()
    return summary


def _scan(landing_dir: Path) -> tuple[list[Path], list[str], str | None]:
    if not landing_dir.is_dir():
        raise ResilienceError(f"landing folder {landing_dir} does not exist or is not a folder")
    extracts, skipped, vintage = [], [], None
    for entry in sorted(landing_dir.iterdir()):
        if entry.name == "vintage.txt" and entry.is_file():
            vintage = _read_vintage(entry)
        elif entry.is_file() and entry.suffix.lower() in EXTRACT_SUFFIXES and not entry.name.startswith(("~$", ".")):
            extracts.append(entry)
        else:
            skipped.append(entry.name)
    if not extracts:
        raise ResilienceError(f"landing folder {landing_dir} holds no *.csv or *.xlsx extracts")
    return extracts, skipped, vintage


def _read_vintage(path: Path) -> str | None:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030", errors="replace")
    first = text.strip().splitlines()
    return first[0].strip() if first and first[0].strip() else None


def _known_shas(warehouse: Path) -> dict[str, str]:
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.IOException as exc:
        raise WarehouseBusyError(f"cannot open warehouse {warehouse}: {exc}") from None
    try:
        exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw' "
                             "AND table_name = 'load_log'").fetchone()[0]
        if not exists:
            return {}
        return dict(con.execute("SELECT sha256, file_name FROM raw.load_log").fetchall())
    finally:
        con.close()


def _raise(errors: list[ExtractError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ExtractErrors(errors)


def _batch_frame(parsed: list[ParsedExtract]) -> pd.DataFrame:
    frames = []
    for p in parsed:
        df = pd.DataFrame.from_records(p.records, columns=OBS_COLUMNS)
        df["source_file"] = p.file_name
        df["file_latest_year"] = p.latest_year
        frames.append(df)
    batch = pd.concat(frames, ignore_index=True)
    batch["value"] = batch["value"].astype("float64")
    batch["reported_value"] = batch["reported_value"].astype("float64")
    return batch


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12)


def _resolve(batch: pd.DataFrame, existing: pd.DataFrame, vintage: str):
    """Decide the final row of every key; return (inserts, updates, revisions).

    ``existing`` rows (already in the warehouse) come first in each key's chain, then the
    batch's files ordered by the latest year they cover. Each file-tier's non-missing values
    must agree; a non-missing value that differs from the current one replaces it and is
    recorded as a revision; a missing one changes nothing.
    """
    existing = existing.assign(file_latest_year=-1, in_db=True)
    both = pd.concat([existing, batch.assign(in_db=False, vintage=vintage)], ignore_index=True)
    dup = both.duplicated(KEY, keep=False)
    singles = both[~dup & ~both["in_db"]]
    new_rows, updates, revisions, conflicts = [], [], [], []
    chains = both[dup].sort_values(KEY + ["file_latest_year", "source_file"], kind="stable")
    columns = list(chains.columns)
    for _, group in itertools.groupby(chains.itertuples(index=False, name=None), key=lambda r: r[:3]):
        rows = [dict(zip(columns, r)) for r in group]
        current = rows[0] if rows[0]["in_db"] else None
        for _, tier in itertools.groupby(rows[1:] if current is not None else rows, key=lambda r: r["file_latest_year"]):
            tier = list(tier)
            present = [r for r in tier if not pd.isna(r["value"])]
            for other in present[1:]:
                if not _same(other["value"], present[0]["value"]):
                    conflicts.append(_conflict(present[0], other))
            rep = present[0] if present else tier[0]
            if current is None:
                current = rep
            elif not pd.isna(rep["value"]) and (pd.isna(current["value"]) or not _same(current["value"], rep["value"])):
                revisions.append({**{k: rep[k] for k in KEY}, "old_value": current["value"], "new_value": rep["value"],
                                  "old_source_file": current["source_file"], "new_source_file": rep["source_file"],
                                  "old_vintage": current["vintage"], "new_vintage": vintage})
                current = rep
        if rows[0]["in_db"]:
            if current is not rows[0]:
                updates.append(current)
        else:
            new_rows.append(current)
    _raise(conflicts)
    inserts = pd.concat([singles, pd.DataFrame(new_rows, columns=columns)], ignore_index=True) if new_rows else singles
    return (inserts, pd.DataFrame(updates, columns=columns),
            pd.DataFrame(revisions, columns=KEY + ["old_value", "new_value", "old_source_file",
                                                    "new_source_file", "old_vintage", "new_vintage"]))


def _conflict(a: dict, b: dict) -> ExtractError:
    return ExtractError(
        a["source_file"],
        f"conflicting values for {a['indicator_code']}, province {a['province_code']}, year {a['year']}: "
        f"{a['reported_value']:g} {a['reported_unit']} here vs {b['reported_value']:g} {b['reported_unit']} in "
        f"{b['source_file']} line {b['source_line']} (both files cover up to {a['file_latest_year']}, "
        "so neither revises the other)", a["source_line"])


def _write(con: duckdb.DuckDBPyConnection, parsed: list[ParsedExtract], batch: pd.DataFrame,
           summary: LoadSummary) -> None:
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    summary.batch_id = f"{loaded_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        for ddl in (OBSERVATIONS_DDL, LOAD_LOG_DDL, REVISIONS_DDL, UNITS_DDL):
            con.execute(ddl)
        con.register("batch_keys", batch[KEY].drop_duplicates())
        existing = con.execute(
            "SELECT o.indicator_code, o.province_code, o.year, o.value, o.unit, o.reported_value, "
            "o.reported_unit, o.source_line, o.source_file, o.vintage FROM raw.observations o "
            "JOIN batch_keys k USING (indicator_code, province_code, year)").df()
        con.unregister("batch_keys")
        inserts, updates, revisions = _resolve(batch, existing, summary.vintage)

        obs_cols = OBS_COLUMNS + ["source_file"]
        ins = inserts[obs_cols].assign(vintage=summary.vintage, loaded_at=loaded_at)
        con.register("ins", ins)
        con.execute("INSERT INTO raw.observations SELECT indicator_code, province_code, year, value, unit, "
                    "reported_value, reported_unit, source_file, source_line, vintage, loaded_at FROM ins")
        con.unregister("ins")
        if len(updates):
            upd = updates[obs_cols].assign(vintage=summary.vintage, loaded_at=loaded_at)
            con.register("upd", upd)
            con.execute("UPDATE raw.observations o SET value = u.value, unit = u.unit, "
                        "reported_value = u.reported_value, reported_unit = u.reported_unit, "
                        "source_file = u.source_file, source_line = u.source_line, vintage = u.vintage, "
                        "loaded_at = u.loaded_at FROM upd u WHERE o.indicator_code = u.indicator_code "
                        "AND o.province_code = u.province_code AND o.year = u.year")
            con.unregister("upd")
        if len(revisions):
            con.register("rev", revisions.assign(revised_at=loaded_at))
            con.execute("INSERT INTO raw.revisions SELECT indicator_code, province_code, year, old_value, "
                        "new_value, old_source_file, new_source_file, old_vintage, new_vintage, revised_at FROM rev")
            con.unregister("rev")
        log = pd.DataFrame([{
            "batch_id": summary.batch_id, "file_name": p.file_name, "sha256": p.sha256,
            "format": f"{p.format}-{p.container}", "indicator_codes": ",".join(p.indicator_codes),
            "rows": p.rows, "cells_missing": p.cells_missing, "vintage": summary.vintage, "loaded_at": loaded_at,
        } for p in parsed])
        con.register("log", log)
        con.execute("INSERT INTO raw.load_log SELECT batch_id, file_name, sha256, format, indicator_codes, "
                    "rows, cells_missing, vintage, loaded_at FROM log")
        con.unregister("log")
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass  # the failed statement may already have aborted the transaction
        raise
    summary.inserted, summary.updated, summary.revisions = len(inserts), len(updates), len(revisions)
