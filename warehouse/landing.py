"""A landing folder read and checked against the warehouse, without writing it: the plan
that ``warehouse.loader.load_landing`` commits and ``resilience inspect`` prints.

Steps: scan the folder (symbolic links are followed only to files inside it; ``vintage.txt``
must be one short printable line), read ``manifest.csv`` and ``units_reference.csv``, hash
every extract in a stream, parse the new ones into a staging table of the connection (TEMP
tables: the records never sit in Python memory as a whole), then resolve each cell against
the warehouse in SQL: conflicts within the batch, revisions of loaded values, probable unit
mislabels, large revisions, implausible year-on-year changes of index-type series.

Rules (docs/CONTRACTS.md):

* Within one batch, files are ordered by the latest year they cover; a file covering a later
  year revises one covering an earlier year. Files of the same latest year must agree "within
  the rounding of the coarser one" (half the last printed digit), else they conflict.
* A later value that differs from the current one beyond rounding replaces it and the old row
  is kept in ``raw.revisions``; a missing cell never erases a loaded value.
* A revision by a power of ten close to a unit factor (10^2, 10^4, 10^8, within a factor
  1.25) is refused as a probable unit mislabel. A revision larger than
  ``LARGE_REVISION`` (25 % of the old value) needs ``accept_revisions``.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from warehouse.errors import ExtractError, ResilienceError
from warehouse.extracts import EXTRACT_SUFFIXES, RECORD_COLUMNS, ParseContext, ParsedExtract, parse_extract, sha256_of
from warehouse.extracts.manifest import MANIFEST_FILE, Manifest, normalise_variant, read_manifest
from warehouse.reference import (UNIT_REFERENCE_FILE, Reference, Unit, UnitRegistry, load_reference,
                                 read_unit_reference)
from warehouse.schema import column, has_table

VINTAGE_FILE = "vintage.txt"
#: A file of this name marks a landing folder as synthetic data (the bundled sample writes it);
#: every file of such a batch is recorded as synthetic in raw.load_log, and runs on it say so.
SYNTHETIC_MARKER = "SYNTHETIC.txt"
VINTAGE_MAX_CHARS = 120
LARGE_REVISION = 0.25  # relative change of a loaded value that needs accept_revisions
UNIT_FACTORS = (2, 4, 8)  # powers of ten of 百, 万, 亿
MISLABEL_BAND = math.log10(1.25)
MAX_LISTED = 12


class ExtractErrors(ExtractError):
    """Several problems in one batch; ``errors`` holds each one, the message names them all."""

    def __init__(self, errors: list[ExtractError]):
        self.errors = errors
        first = errors[0]
        self.file, self.reason, self.line = first.file, first.reason, first.line
        shown = "\n".join(f"  {e}" for e in errors[:MAX_LISTED])
        more = f"\n  ... and {len(errors) - MAX_LISTED} more" if len(errors) > MAX_LISTED else ""
        ResilienceError.__init__(self, f"{len(errors)} problems in the landing files, nothing was loaded:\n{shown}{more}")


def raise_all(errors: list[ExtractError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ExtractErrors(errors)


@dataclass
class Landing:
    folder: Path
    extracts: list[tuple[str, Path]]  # (name in the folder, path to read)
    skipped: list[str]
    vintage: str | None
    manifest: Path | None
    units_reference: Path | None
    synthetic: bool = False


def scan_landing(folder: Path) -> Landing:
    folder = Path(folder)
    if not folder.is_dir():
        raise ResilienceError(f"landing folder {folder} does not exist or is not a folder")
    root = folder.resolve()
    extracts, skipped = [], []
    vintage = manifest = units = None
    synthetic = False
    for entry in sorted(folder.iterdir()):
        path = _inside(entry, root)
        name = entry.name
        if name == VINTAGE_FILE and path.is_file():
            vintage = read_vintage(path)
        elif name == MANIFEST_FILE and path.is_file():
            manifest = path
        elif name == UNIT_REFERENCE_FILE and path.is_file():
            units = path
        elif name == SYNTHETIC_MARKER and path.is_file():
            synthetic = True
        elif path.is_file() and entry.suffix.lower() in EXTRACT_SUFFIXES and not name.startswith(("~$", ".")):
            extracts.append((name, path))
        else:
            skipped.append(name)
    if not extracts:
        raise ResilienceError(f"landing folder {folder} holds no extracts (*{', *'.join(EXTRACT_SUFFIXES)})")
    return Landing(folder, extracts, skipped, vintage, manifest, units, synthetic)


def _inside(entry: Path, root: Path) -> Path:
    """The path to read for a folder entry: a symbolic link is followed only to a file inside
    the landing folder (never printed or read otherwise)."""
    if not entry.is_symlink():
        return entry
    target = entry.resolve()
    if root not in target.parents:
        raise ExtractError(str(entry), "is a symbolic link to a file outside the landing folder; refused "
                                       "(copy the file into the folder instead)")
    return target


def read_vintage(path: Path) -> str | None:
    """The vintage label: one short printable line (UTF-8), else ExtractError."""
    data = path.read_bytes()[: 4 * VINTAGE_MAX_CHARS + 8]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ExtractError(str(path), "is not UTF-8 text; write the vintage label as one line of UTF-8") from None
    lines = [ln.strip() for ln in text.strip().splitlines()]
    if len(lines) > 1 or path.stat().st_size > 4 * VINTAGE_MAX_CHARS + 8:
        raise ExtractError(str(path), "must hold one line (the vintage label), not several", 2)
    label = lines[0] if lines else ""
    if not label:
        return None
    if len(label) > VINTAGE_MAX_CHARS:
        raise ExtractError(str(path), f"the vintage label is longer than {VINTAGE_MAX_CHARS} characters", 1)
    if any(not ch.isprintable() for ch in label):
        raise ExtractError(str(path), "the vintage label holds control characters", 1)
    return label


def vintage_year(label: str | None, today: datetime | None = None) -> int:
    """The year a vintage stands for: the latest four-digit year 1949-2100 written in its
    label (``yearbook 2023`` -> 2023), else the load date's year. Years up to this + 1 load."""
    years = [int(y) for y in re.findall(r"(?<!\d)(19[4-9]\d|20\d\d|2100)(?!\d)", label or "")]
    years = [y for y in years if y >= 1949]
    return max(years) if years else (today or datetime.now(timezone.utc)).year


# --------------------------------------------------------------------------- plan

@dataclass
class Plan:
    """What loading the folder would do; ``problems`` are the reasons it would be refused."""

    landing: Landing
    vintage: str | None
    max_year: int
    manifest: Manifest
    units: UnitRegistry | None
    files_unchanged: list[str] = field(default_factory=list)
    parsed: list[ParsedExtract] = field(default_factory=list)
    problems: list[ExtractError] = field(default_factory=list)
    large_revisions: pd.DataFrame | None = None
    revisions: pd.DataFrame | None = None
    inserted: int = 0
    updated: int = 0
    per_file: dict = field(default_factory=dict)  # file -> {"inserted": n, "revised": n}

    @property
    def staged(self) -> bool:
        return bool(self.parsed)


def make_plan(con: duckdb.DuckDBPyConnection, landing: Landing, vintage: str | None, variant: str | None,
              reference: Reference | None, accept_revisions: bool) -> Plan:
    """Stage the new files of ``landing`` in TEMP tables of ``con`` and resolve them against
    its ``raw`` tables (if any). Never writes ``raw``."""
    reference = reference or load_reference()
    label = vintage or landing.vintage
    problems: list[ExtractError] = []
    manifest = Manifest(None, [])
    if landing.manifest is not None:
        try:
            manifest = read_manifest(landing.manifest, reference)
        except ExtractError as exc:
            problems.append(exc)
    names = {name for name, _ in landing.extracts}
    for entry in manifest.entries:
        if entry.file not in names:
            problems.append(ExtractError(str(manifest.path), f"a row for {entry.file!r}, which is not an extract in "
                                                             "the landing folder", entry.line))
    units = None
    registry = _warehouse_units(con)
    if landing.units_reference is not None:
        try:
            units = read_unit_reference(landing.units_reference, reference.provinces)
            if all(registry.units.get(u.code) == u for u in units.units.values()):
                units = None  # raw.units holds these units already: nothing to write
            else:
                registry = registry.merged(units)
        except ExtractError as exc:
            problems.append(exc)
    reference = reference.with_units(registry)
    if variant is not None:
        variant = normalise_variant(variant, "--variant", None)
    plan = Plan(landing, label, vintage_year(label) + 1, manifest, units)
    known = _known_shas(con)
    new, seen = [], {}
    for name, path in landing.extracts:
        digest = sha256_of(path)
        if digest in known or digest in seen:
            plan.files_unchanged.append(name)
        else:
            seen[digest] = name
            new.append((name, path, digest))
    _create_staging(con)
    context = ParseContext(reference, manifest, plan.max_year, variant)
    for name, path, digest in new:
        try:
            plan.parsed.append(_stage(con, name, path, digest, context))
        except ExtractError as exc:
            con.execute("DELETE FROM _batch WHERE source_file = ?", [name])
            problems.append(exc)
    plan.problems = problems
    if plan.parsed:
        _resolve(con, plan, reference, accept_revisions)
    return plan


def _warehouse_units(con) -> UnitRegistry:
    if not has_table(con, "units"):
        return UnitRegistry([], "raw.units")
    rows = con.execute("SELECT unit_code, unit_name, level, province_code, lat, lon, aliases FROM raw.units").fetchall()
    return UnitRegistry([Unit(c, n, lv, p, la, lo, tuple(a for a in (al or "").split("|") if a))
                         for c, n, lv, p, la, lo, al in rows], "raw.units")


def _known_shas(con) -> dict[str, str]:
    if not has_table(con, "load_log"):
        return {}
    unloaded = "unloaded_at IS NULL" if "unloaded_at" in _cols(con, "load_log") else "TRUE"
    return dict(con.execute(f"SELECT sha256, file_name FROM raw.load_log WHERE {unloaded}").fetchall())


def _cols(con, table):
    from warehouse.schema import table_columns
    return table_columns(con, table)


def _create_staging(con) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE _batch (indicator_code VARCHAR, unit_code INTEGER, year INTEGER, "
                "value DOUBLE, unit VARCHAR, reported_value DOUBLE, reported_unit VARCHAR, source_line INTEGER, "
                "tolerance DOUBLE, source_file VARCHAR)")


def _stage(con, name: str, path: Path, digest: str, context: ParseContext) -> ParsedExtract:
    def sink(records: list) -> None:
        frame = pd.DataFrame.from_records(records, columns=RECORD_COLUMNS)
        frame["source_file"] = name
        for col in ("value", "reported_value", "tolerance"):
            frame[col] = frame[col].astype("float64")
        con.register("_chunk", frame)
        con.execute("INSERT INTO _batch SELECT indicator_code, unit_code, year, value, unit, reported_value, "
                    "reported_unit, source_line, tolerance, source_file FROM _chunk")
        con.unregister("_chunk")

    parsed = parse_extract(path, context, sink, sha256=digest)
    if parsed.path.name != name:  # a symlink inside the folder: log the folder's name
        parsed.path = parsed.path.with_name(name)
    return parsed


# --------------------------------------------------------------------------- resolution

_SAME = "abs({a}.value - {b}.value) <= greatest({a}.tolerance, {b}.tolerance) + 1e-9 * greatest(abs({a}.value), abs({b}.value)) + 1e-12"


def _resolve(con, plan: Plan, reference: Reference, accept_revisions: bool) -> None:
    tiers = pd.DataFrame({"source_file": [p.file_name for p in plan.parsed],
                          "tier": [p.latest_year for p in plan.parsed]})
    con.register("_tiers_df", tiers)
    con.execute("CREATE OR REPLACE TEMP TABLE _tiers AS SELECT * FROM _tiers_df")
    con.unregister("_tiers_df")
    has_obs = has_table(con, "observations")
    unit_col = column(con, "observations", "unit_code", "province_code") if has_obs else "unit_code"
    # Most cells are new and appear once: they are inserted as they are (_easy). Only keys that
    # repeat within the batch or are already in the warehouse go through the resolution below.
    in_db = (f"""UNION SELECT b.indicator_code, b.unit_code, b.year FROM _batch b SEMI JOIN raw.observations o
                 ON o.indicator_code = b.indicator_code AND o.{unit_col} = b.unit_code AND o.year = b.year"""
             if has_obs else "")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _hard AS SELECT indicator_code, unit_code, year FROM _batch
        GROUP BY ALL HAVING count(*) > 1 {in_db}""")
    con.execute("""CREATE OR REPLACE TEMP VIEW _easy AS SELECT b.*, t.tier FROM _batch b
        ANTI JOIN _hard h USING (indicator_code, unit_code, year) JOIN _tiers t USING (source_file)""")
    con.execute("""CREATE OR REPLACE TEMP TABLE _b AS SELECT b.*, t.tier, row_number() OVER () AS rid
        FROM _batch b SEMI JOIN _hard h USING (indicator_code, unit_code, year) JOIN _tiers t USING (source_file)""")
    # one representative per key and tier: the finest non-missing value
    con.execute("""CREATE OR REPLACE TEMP TABLE _rep AS SELECT * EXCLUDE (k) FROM (
        SELECT *, row_number() OVER (PARTITION BY indicator_code, unit_code, year, tier
                                     ORDER BY value IS NULL, tolerance, source_file, source_line) AS k FROM _b)
        WHERE k = 1""")
    conflicts = con.execute(f"""SELECT b.source_file, b.source_line, b.indicator_code, b.unit_code, b.year,
            b.reported_value, b.reported_unit, r.reported_value, r.reported_unit, r.source_file, r.source_line, b.tier
        FROM _b b JOIN _rep r USING (indicator_code, unit_code, year, tier)
        WHERE b.value IS NOT NULL AND b.rid <> r.rid AND NOT ({_SAME.format(a='b', b='r')})
        ORDER BY b.source_file, b.source_line LIMIT {MAX_LISTED + 1}""").fetchall()
    for f, ln, ind, unit, yr, v, u, rv, ru, rf, rl, tier in conflicts:
        plan.problems.append(ExtractError(f, f"conflicting values for {ind}, unit {unit}, year {yr}: {v:g} {u} here "
                                             f"vs {rv:g} {ru} in {rf} line {rl} (both files cover up to {tier}, so "
                                             "neither revises the other; they differ beyond their rounding)", ln))
    obs_cols = _cols(con, "observations") if has_obs else []
    batch_col = "batch_id" if "batch_id" in obs_cols else "NULL::VARCHAR"
    rounding_col = "coalesce(rounding, 0)" if "rounding" in obs_cols else "0.0"
    existing = f"""SELECT o.indicator_code, o.{unit_col} AS unit_code, o.year, o.value, o.unit, o.reported_value,
            o.reported_unit, o.source_line, {rounding_col} AS tolerance, o.source_file, -1 AS tier, TRUE AS in_db,
            o.vintage, o.loaded_at, {batch_col} AS batch_id
        FROM raw.observations o SEMI JOIN (SELECT DISTINCT indicator_code, unit_code, year FROM _rep) k
          ON o.indicator_code = k.indicator_code AND o.{unit_col} = k.unit_code AND o.year = k.year
        UNION ALL BY NAME""" if has_obs else ""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _chain AS
        WITH rows AS ({existing}
            SELECT indicator_code, unit_code, year, value, unit, reported_value, reported_unit, source_line, tolerance,
                   source_file, tier, FALSE AS in_db, NULL::VARCHAR AS vintage, NULL::TIMESTAMP AS loaded_at,
                   NULL::VARCHAR AS batch_id FROM _rep),
        kept AS (SELECT * FROM (SELECT *, tier = min(tier) OVER (PARTITION BY indicator_code, unit_code, year) AS first
                                FROM rows) WHERE first OR value IS NOT NULL),
        flagged AS (SELECT *, lag(value) OVER w AS prev_value, lag(tolerance) OVER w AS prev_tol,
                           row_number() OVER w AS pos
                    FROM kept WINDOW w AS (PARTITION BY indicator_code, unit_code, year ORDER BY tier))
        SELECT *, first OR (prev_value IS NULL AND value IS NOT NULL)
                  OR abs(value - prev_value) > greatest(tolerance, prev_tol) + 1e-9 * greatest(abs(value), abs(prev_value)) + 1e-12
                  AS changes
        FROM flagged""")
    # a revision: a changing row after the first, against the last changing row before it
    con.execute("""CREATE OR REPLACE TEMP TABLE _rev AS
        WITH c AS (SELECT * FROM _chain WHERE changes),
        paired AS (SELECT *, lag(value) OVER w AS old_value, lag(source_file) OVER w AS old_source_file,
                          lag(vintage) OVER w AS old_vintage, lag(batch_id) OVER w AS old_batch_id,
                          lag(unit) OVER w AS old_unit, lag(reported_value) OVER w AS old_reported_value,
                          lag(reported_unit) OVER w AS old_reported_unit, lag(source_line) OVER w AS old_source_line,
                          lag(loaded_at) OVER w AS old_loaded_at, lag(tolerance) OVER w AS old_rounding,
                          lag(in_db) OVER w AS old_in_db, lag(pos) OVER w AS old_pos
                   FROM c WINDOW w AS (PARTITION BY indicator_code, unit_code, year ORDER BY pos))
        SELECT * FROM paired WHERE old_pos IS NOT NULL""")
    con.execute("""CREATE OR REPLACE TEMP TABLE _final AS SELECT * FROM (
        SELECT *, row_number() OVER (PARTITION BY indicator_code, unit_code, year ORDER BY pos DESC) AS k
        FROM _chain WHERE changes) WHERE k = 1 AND NOT in_db""")
    con.execute("""CREATE OR REPLACE TEMP TABLE _final_kind AS SELECT f.*,
        EXISTS (SELECT 1 FROM _chain c WHERE c.in_db AND c.indicator_code = f.indicator_code
                AND c.unit_code = f.unit_code AND c.year = f.year) AS is_update FROM _final f""")
    con.execute("""CREATE OR REPLACE TEMP VIEW _final_all AS
        SELECT indicator_code, unit_code, year, value, source_file, source_line FROM _final
        UNION ALL SELECT indicator_code, unit_code, year, value, source_file, source_line FROM _easy""")
    plan.updated = con.execute("SELECT count(*) FROM _final_kind WHERE is_update").fetchone()[0]
    inserted = dict(con.execute("""SELECT source_file, count(*) FROM (SELECT source_file FROM _easy UNION ALL
        SELECT source_file FROM _final_kind WHERE NOT is_update) GROUP BY 1""").fetchall())
    revised = dict(con.execute("SELECT source_file, count(*) FROM _rev GROUP BY 1").fetchall())
    plan.inserted = sum(inserted.values())
    for f in set(inserted) | set(revised):
        plan.per_file[f] = {"inserted": inserted.get(f, 0), "revised": revised.get(f, 0)}
    mislabelled = _check_mislabels(con, plan)
    plan.revisions = con.execute("""SELECT indicator_code, unit_code, year, old_value, value AS new_value,
        old_source_file, source_file AS new_source_file, old_vintage, old_in_db FROM _rev
        ORDER BY source_file, indicator_code, unit_code, year""").df()
    plan.large_revisions = con.execute(f"""SELECT indicator_code, unit_code, year, old_value, value AS new_value,
        (value - old_value) / abs(old_value) AS relative_change, old_source_file, source_file, source_line FROM _rev
        WHERE old_value IS NOT NULL AND old_value <> 0 AND abs(value - old_value) > {LARGE_REVISION} * abs(old_value)
        ORDER BY abs(value - old_value) / abs(old_value) DESC""").df()
    if mislabelled:  # already refused as a unit mislabel: not listed twice
        keys = list(zip(plan.large_revisions.indicator_code, plan.large_revisions.unit_code, plan.large_revisions.year))
        plan.large_revisions = plan.large_revisions[[k not in mislabelled for k in keys]].reset_index(drop=True)
    if len(plan.large_revisions) and not accept_revisions:
        for r in plan.large_revisions.head(MAX_LISTED).itertuples():
            plan.problems.append(ExtractError(
                r.source_file, f"large revision of {r.indicator_code}, unit {r.unit_code}, {r.year}: {r.old_value:g} "
                               f"({r.old_source_file}) -> {r.new_value:g} ({r.relative_change:+.0%}, beyond "
                               f"{LARGE_REVISION:.0%}); check it with `resilience inspect` and load with "
                               "--accept-revisions if it is right", r.source_line))
    _check_yoy(con, plan, reference, unit_col, has_obs)


def _check_mislabels(con, plan: Plan) -> set:
    """A revision of an already-loaded value by ~10^2, 10^4 or 10^8: a unit mislabel. Returns
    the keys of those cells."""
    rows = con.execute("""SELECT indicator_code, unit_code, year, old_value, value, old_source_file, source_file,
            source_line, reported_unit, log10(abs(value / old_value)) AS lg FROM _rev
        WHERE old_in_db AND old_value IS NOT NULL AND old_value <> 0 AND value <> 0 AND sign(value) = sign(old_value)
        ORDER BY source_file, source_line""").fetchall()
    shown, keys = 0, set()
    for ind, unit, yr, old, new, old_file, f, ln, rep_unit, lg in rows:
        k = next((k for k in UNIT_FACTORS if abs(abs(lg) - k) <= MISLABEL_BAND), None)
        if k is None:
            continue
        keys.add((ind, unit, yr))
        if shown >= MAX_LISTED:
            continue
        direction = "larger" if lg > 0 else "smaller"
        plan.problems.append(ExtractError(
            f, f"probable unit mislabel: {ind}, unit {unit}, {yr} is {new:g} here but {old:g} as loaded from "
               f"{old_file}, about 10^{k} ({10 ** k:,}) times {direction}; is the unit ({rep_unit}) right?", ln))
        shown += 1
    return keys


def _check_yoy(con, plan: Plan, reference: Reference, unit_col: str, has_obs: bool) -> None:
    limits = pd.DataFrame([(i.code, i.max_yoy_change) for i in reference.indicators.values() if i.max_yoy_change],
                          columns=["indicator_code", "max_yoy_change"])
    if limits.empty:
        return
    con.register("_yoy_limits", limits)
    other = (f"""UNION ALL SELECT o.indicator_code, o.{unit_col}, o.year, o.value, NULL, NULL FROM raw.observations o
               WHERE o.indicator_code IN (SELECT indicator_code FROM _yoy_limits)
               AND NOT EXISTS (SELECT 1 FROM _final f WHERE f.indicator_code = o.indicator_code
                               AND f.unit_code = o.{unit_col} AND f.year = o.year)""" if has_obs else "")
    rows = con.execute(f"""WITH v AS (
            SELECT indicator_code, unit_code, year, value, source_file, source_line FROM _final_all
            WHERE indicator_code IN (SELECT indicator_code FROM _yoy_limits) {other})
        SELECT coalesce(b.source_file, a.source_file), coalesce(b.source_line, a.source_line), a.indicator_code,
               a.unit_code, a.year, a.value, b.year, b.value, l.max_yoy_change
        FROM v a JOIN v b ON a.indicator_code = b.indicator_code AND a.unit_code = b.unit_code AND b.year = a.year + 1
        JOIN _yoy_limits l ON l.indicator_code = a.indicator_code
        WHERE (a.source_file IS NOT NULL OR b.source_file IS NOT NULL) AND a.value IS NOT NULL AND b.value IS NOT NULL
          AND abs(b.value - a.value) > l.max_yoy_change
        ORDER BY 1, 2 LIMIT {MAX_LISTED}""").fetchall()
    con.unregister("_yoy_limits")
    for f, ln, ind, unit, y0, v0, y1, v1, limit in rows:
        plan.problems.append(ExtractError(f, f"implausible year-on-year change of {ind}, unit {unit}: {v0:g} in {y0} "
                                             f"to {v1:g} in {y1} (more than {limit:g}, max_yoy_change of "
                                             "indicators.csv)", ln))


def plan_connection(warehouse: Path, write: bool) -> tuple[duckdb.DuckDBPyConnection, bool]:
    """(connection, existed): the warehouse (read-only for a dry run), or a fresh in-memory
    database for a dry run against no warehouse."""
    from warehouse.errors import WarehouseBusyError

    existed = Path(warehouse).exists()
    if not write and not existed:
        return duckdb.connect(), False
    if write:
        Path(warehouse).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(warehouse), read_only=not write)
    except duckdb.IOException as exc:
        raise WarehouseBusyError(f"cannot open warehouse {warehouse}: {exc}") from None
    except duckdb.Error as exc:
        raise ResilienceError(f"cannot open warehouse {warehouse}: {type(exc).__name__}: {exc}") from None
    return con, existed


def env_memory_limit(con) -> None:
    """Cap DuckDB's memory for a load (it spills to disk beyond it): RESILIENCE_LOAD_MEMORY,
    192MB by default, so that a 200 MB extract loads within 500 MB (benchmarks/bench_ingest_memory.py)."""
    limit = os.environ.get("RESILIENCE_LOAD_MEMORY", "192MB")
    if re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)", limit.strip(), re.I):
        con.execute(f"SET memory_limit = '{limit.strip()}'")
