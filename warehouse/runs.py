"""The run registry ``results.runs``: one row per refresh, from start to success or failure.

A run row carries (columns in :data:`warehouse.results_store.RUNS_COLUMNS`):

* ``run_id`` (sortable: UTC start time plus a random suffix) and the Prefect ``flow_run_id``;
* ``started_at`` / ``finished_at`` (UTC, naive TIMESTAMP) and ``status``, one of
  ``running`` -> ``succeeded`` | ``failed`` (``error`` says why a run failed);
* the data vintage it was computed from, read back from ``raw.load_log``: ``vintage`` (the
  label of the most recent load batch), ``latest_year`` (the last year with any observed
  value in ``raw.observations``) and ``files`` (JSON list of ``{file, sha256, vintage}``, the
  latest version of every file ever loaded);
* ``code_version`` (``git describe --always --dirty``, else the installed package version)
  and ``parameters`` (the refresh's parameters as JSON);
* ``synthetic``: whether the data came (in part) from a landing folder marked synthetic;
* ``unit_level``: the administrative level of the panel the run estimated on (province,
  prefecture or county; :func:`panel_level`).

Every function takes an open DuckDB connection and writes nothing else; *which* database file
gets the row (the working copy or the published warehouse) is the caller's business
(``flows.annual_refresh``).
"""
from __future__ import annotations

import json
import secrets
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from typing import Any, Mapping

import duckdb

from warehouse.results_store import RUNS_COLUMNS, ensure_schema
from warehouse.paths import REPO_ROOT
from warehouse.schema import table_columns

RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"
ABANDONED_MESSAGE = (
    "abandoned: the refresh that started this run ended without recording an outcome "
    "(process killed?); found by refresh {run_id}"
)


@dataclass(frozen=True)
class DataVintage:
    """What data a run saw: batch label, last observed year, and the files behind it."""

    vintage: str | None
    latest_year: int | None
    files: list[dict[str, str | None]]
    synthetic: bool = False  # some file was loaded from a folder marked synthetic (landing.SYNTHETIC_MARKER)

    def run_columns(self) -> dict[str, Any]:
        """The columns of ``results.runs`` this vintage fills."""
        return {"vintage": self.vintage, "latest_year": self.latest_year,
                "files": json.dumps(self.files, ensure_ascii=False), "synthetic": self.synthetic}


def utc_now() -> datetime:
    """Current UTC time as a naive datetime (DuckDB TIMESTAMP has no zone)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_run_id(now: datetime | None = None) -> str:
    """A run id that sorts by start time: ``YYYYMMDDTHHMMSSZ-<6 hex>``."""
    now = now or utc_now()
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def code_version() -> str:
    """``git describe --always --dirty`` of the checkout, else ``package <version>``."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=REPO_ROOT,
            capture_output=True, text=True, timeout=10, check=True,
        )
        if out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass  # no git binary, not a checkout (installed wheel), or git refused: fall back
    try:
        return f"resilience-warehouse {metadata.version('resilience-warehouse')} (no git)"
    except metadata.PackageNotFoundError:
        return "unknown"


def data_vintage(con: duckdb.DuckDBPyConnection) -> DataVintage:
    """Read the data vintage from ``raw.load_log`` / ``raw.observations`` (empty if not loaded)."""
    tables = {
        name for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        ).fetchall()
    }
    if "load_log" not in tables:
        return DataVintage(None, None, [])
    # an unloaded batch (resilience unload) no longer backs any value
    loaded = "unloaded_at is null" if "unloaded_at" in table_columns(con, "load_log") else "true"
    latest = con.execute(
        f"select vintage from raw.load_log where {loaded} order by loaded_at desc, batch_id desc limit 1"
    ).fetchone()
    marked = "coalesce(synthetic, false)" if "synthetic" in table_columns(con, "load_log") else "false"
    files = con.execute(
        f"""
        select file_name, sha256, vintage, {marked} from raw.load_log where {loaded}
        qualify row_number() over (partition by file_name order by loaded_at desc, batch_id desc) = 1
        order by file_name
        """
    ).fetchall()
    latest_year = None
    if "observations" in tables:
        (latest_year,) = con.execute(
            "select max(year) from raw.observations where value is not null"
        ).fetchone()
    return DataVintage(
        vintage=latest[0] if latest else None,
        latest_year=int(latest_year) if latest_year is not None else None,
        files=[{"file": f, "sha256": s, "vintage": v} for f, s, v, _ in files],
        synthetic=any(marked for *_, marked in files),
    )


def panel_level(con: duckdb.DuckDBPyConnection) -> str | None:
    """The unit level of ``marts.analysis_panel`` (None if the panel is not built)."""
    try:
        levels = [r[0] for r in con.execute("select distinct unit_level from marts.analysis_panel").fetchall()]
    except duckdb.CatalogException:
        return None
    return ",".join(sorted(levels)) or None


def record_panel_level(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Stamp the run with the unit level of the panel it estimated on."""
    _update(con, run_id, unit_level=panel_level(con))


def succeeded_run_row(
    run_id: str, *, started_at: datetime, parameters: Mapping[str, Any], vintage: DataVintage,
    unit_level: str | None, flow_run_id: str | None = None, **columns: Any,
) -> dict[str, Any]:
    """The ``results.runs`` row of a run that succeeds now, for a writer that writes it in one
    transaction with its results (``columns``: further ones, e.g. ``kind``)."""
    return {"run_id": run_id, "flow_run_id": flow_run_id, "started_at": started_at,
            "finished_at": utc_now(), "status": SUCCEEDED, **vintage.run_columns(),
            "code_version": code_version(), "error": None, "unit_level": unit_level,
            "parameters": json.dumps(dict(parameters), sort_keys=True, default=str), **columns}


def start_run(
    con: duckdb.DuckDBPyConnection, run_id: str, *, flow_run_id: str | None = None,
    parameters: Mapping[str, Any] | None = None, started_at: datetime | None = None,
) -> None:
    """Insert the run row with status ``running``; a duplicate run id raises."""
    ensure_schema(con)
    con.execute(
        "insert into results.runs (run_id, flow_run_id, started_at, status, code_version, parameters)"
        " values (?, ?, ?, ?, ?, ?)",
        [run_id, flow_run_id, started_at or utc_now(), RUNNING, code_version(),
         json.dumps(dict(parameters or {}), sort_keys=True, default=str)],
    )


def record_vintage(con: duckdb.DuckDBPyConnection, run_id: str, vintage: DataVintage | None = None) -> DataVintage:
    """Stamp the run with the data vintage (read from ``con`` unless given); return it."""
    vintage = vintage or data_vintage(con)
    _update(con, run_id, **vintage.run_columns())
    return vintage


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, finished_at: datetime | None = None) -> None:
    """Mark a running run ``succeeded``."""
    _update(con, run_id, status=SUCCEEDED, finished_at=finished_at or utc_now(), error=None,
            expect_status=RUNNING)


def fail_run(
    con: duckdb.DuckDBPyConnection, run_id: str, error: str, *,
    vintage: DataVintage | None = None, finished_at: datetime | None = None,
) -> None:
    """Mark a run ``failed`` with its error (and the data vintage, when it got that far)."""
    values: dict[str, Any] = {"status": FAILED, "finished_at": finished_at or utc_now(), "error": error}
    if vintage is not None:
        values.update(vintage.run_columns())
    _update(con, run_id, **values)


def abandon_stale_runs(con: duckdb.DuckDBPyConnection, by_run_id: str) -> list[str]:
    """Mark every ``running`` row failed; call only while holding the refresh lock.

    Holding the lock proves no other refresh is in progress, so a ``running`` row can only
    be left by a refresh that died without recording its outcome.
    """
    ensure_schema(con)
    stale = [r for (r,) in con.execute(
        "select run_id from results.runs where status = ? and run_id <> ? order by run_id",
        [RUNNING, by_run_id]).fetchall()]
    for run_id in stale:
        _update(con, run_id, status=FAILED, finished_at=utc_now(),
                error=ABANDONED_MESSAGE.format(run_id=by_run_id))
    return stale


def get_run(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    """The run row as a dict; KeyError if absent."""
    cur = con.execute("select * from results.runs where run_id = ?", [run_id])
    row = cur.fetchone()
    if row is None:
        raise KeyError(f"no run {run_id!r} in results.runs")
    return dict(zip([d[0] for d in cur.description], row))


def _update(con: duckdb.DuckDBPyConnection, run_id: str, *, expect_status: str | None = None, **values: Any) -> None:
    unknown = set(values) - set(RUNS_COLUMNS)
    if unknown:
        raise KeyError(f"results.runs has no columns {sorted(unknown)}")
    current = get_run(con, run_id)
    if expect_status is not None and current["status"] != expect_status:
        raise ValueError(
            f"run {run_id} is {current['status']!r}, expected {expect_status!r}; not changing it"
        )
    assignments = ", ".join(f'"{c}" = ?' for c in values)
    con.execute(f"update results.runs set {assignments} where run_id = ?", [*values.values(), run_id])
