"""Run the dbt project (``dbt_project/``) on a warehouse file, in a child process.

dbt runs in its own Python process (:data:`DBT_MAIN`): when it exits, its DuckDB
connection is closed by the operating system, so the file is free for the next reader or
writer (dbt-duckdb otherwise keeps one connection open for the life of the process). Each call
writes dbt's ``target/`` and ``logs/`` into a fresh temporary folder, so that concurrent builds
on different warehouses (tests, a refresh's working copy) never share dbt state; the warehouse
path reaches ``profiles.yml`` through ``$RESILIENCE_WAREHOUSE``. dbt's console lines are
forwarded to this module's logger as they come (each node's outcome at INFO: the progress of a
long build; its start line at DEBUG).

A failed build raises :class:`DbtBuildError` naming every failed or errored node (from
``target/run_results.json``), with the first failing rows of a failed test (most tests return
one row per problem with a ``message`` column naming series and unit).
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import duckdb

from warehouse.build_options import build_options
from warehouse.errors import ResilienceError
from warehouse.paths import DBT_PROJECT_DIR, WAREHOUSE_ENV
from warehouse.reference import LEVELS, UNIT_REFERENCE_FILE
from warehouse.results_store import ensure_schema

log = logging.getLogger(__name__)

#: Failing rows of a test shown in the error message.
_MAX_FAILURE_ROWS = 5


class DbtBuildError(ResilienceError):
    """``dbt build`` failed: names every failed or errored node and its message."""

    def __init__(self, command: str, failures: list[str]):
        self.failures = failures
        detail = "\n".join(f"  - {f}" for f in failures) or "  (dbt reported no node; see its log above)"
        super().__init__(f"dbt {command} failed:\n{detail}")


@contextlib.contextmanager
def workspace(warehouse: Path) -> Iterator[Path]:
    """A private folder for dbt's target/ and logs/, next to the warehouse
    (``<warehouse>.dbt-<random>``) so that a killed build's leftovers are found and removed
    by the next writer (:func:`warehouse.publish.discard_orphans`)."""
    work = Path(tempfile.mkdtemp(prefix=f"{Path(warehouse).name}.dbt-", dir=Path(warehouse).parent))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


#: What dbt's console script runs. Not ``python -m dbt.cli.main``: the package dbt.cli imports
#: that module first, so runpy warns "found in sys.modules ... unpredictable behaviour" on
#: every build.
DBT_MAIN = "import sys; from dbt.cli.main import cli; sys.exit(cli())"


def run_dbt(command: list[str], warehouse: Path, work: Path, *, extra_vars: dict | None = None,
            project_dir: Path = DBT_PROJECT_DIR) -> tuple[int, list[str]]:
    """Run ``dbt <command>`` on ``warehouse`` in a child process; return (exit code, output lines)."""
    args = [sys.executable, "-c", DBT_MAIN, *command,
            "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
            "--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    if extra_vars:
        args += ["--vars", json.dumps(extra_vars)]
    env = {**os.environ, WAREHOUSE_ENV: str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
           "DBT_USE_COLORS": "False", "DBT_PRINTER_WIDTH": "100"}
    lines: list[str] = []
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          encoding="utf-8", errors="replace", env=env, cwd=work) as proc:
        for line in proc.stdout:
            line = line.rstrip()
            lines.append(line)
            if line:  # a node's start line is detail; its outcome line is progress
                log.log(logging.DEBUG if " START " in line else logging.INFO, "dbt: %s", line)
    return proc.returncode, lines


def _failing_rows(warehouse: Path, compiled_sql: str | None) -> str:
    """The first failing rows of a test (re-run read-only), for the error message."""
    if not compiled_sql:
        return ""
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            cur = con.execute(f"select * from ({compiled_sql}) limit {_MAX_FAILURE_ROWS}")
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
    except duckdb.Error:
        return ""
    if "message" in names:
        shown = [str(r[names.index("message")]) for r in rows]
    else:
        shown = [", ".join(f"{n}={v}" for n, v in zip(names, r)) for r in rows]
    return "; ".join(shown)


def _describe_failures(work: Path, warehouse: Path, output: list[str]) -> list[str]:
    results_file = work / "target" / "run_results.json"
    failures: list[str] = []
    if results_file.exists():
        for result in json.loads(results_file.read_text(encoding="utf-8")).get("results", []):
            status = result.get("status")
            if status not in ("fail", "error", "runtime error"):
                continue
            unique_id = result.get("unique_id", "?")
            kind, name = unique_id.split(".")[0], unique_id.split(".")[2] if unique_id.count(".") >= 2 else unique_id
            text = f"{kind} {name} [{status}]: {result.get('message')}"
            if kind == "test" and status == "fail":
                rows = _failing_rows(warehouse, result.get("compiled_code"))
                if rows:
                    text += f" -> {rows}"
            failures.append(text)
    if not failures:  # dbt stopped before running nodes (e.g. a compilation error): its own words
        lines = [line.strip() for line in output if line.strip()]
        start = next((i for i, line in enumerate(lines) if "error" in line.lower()), max(len(lines) - 5, 0))
        failures = lines[start:start + 10]
    return failures


def study_level(con: duckdb.DuckDBPyConnection, requested: str | None = None) -> str:
    """The study's administrative level: ``requested`` if given (it must have loaded units),
    else the finest level that has observations in ``raw`` (a unit code absent from
    ``raw.units`` is a province's); ``province`` for a warehouse without observations."""
    tables = {r[0] for r in con.execute(
        "select table_name from duckdb_tables() where schema_name = 'raw'").fetchall()}
    units = {}
    if "units" in tables:
        units = dict(con.execute("select level, count(*) from raw.units group by level").fetchall())
    if requested is not None:
        if requested != "province" and not units.get(requested):
            raise ResilienceError(
                f"no {requested}-level units are loaded: the landing folder needs a {UNIT_REFERENCE_FILE} "
                f"with {requested} rows (loaded: {', '.join(f'{n} {lv}' for lv, n in units.items()) or 'none'})")
        return requested
    if "observations" not in tables:
        return "province"
    join = "left join raw.units u using (unit_code)" if "units" in tables else ""
    level = "coalesce(u.level, 'province')" if "units" in tables else "'province'"
    found = {r[0] for r in con.execute(f"select distinct {level} from raw.observations o {join}").fetchall()}
    return max(found, key=LEVELS.index, default="province")


def dbt_build(warehouse: Path, select: str | None = None, extra_vars: dict | None = None,
              project_dir: Path = DBT_PROJECT_DIR) -> None:
    """Run ``dbt build`` (seeds, models, tests) on ``warehouse``.

    ``select`` is a dbt node selection (``--select``; tests run only when every node they test
    is selected, dbt's "cautious" indirect selection); ``extra_vars`` are dbt vars (e.g.
    ``{"entropy_mode": "per_year"}``), validated by :func:`warehouse.build_options.build_options`
    before dbt sees them. The ``results`` schema is created first so that the results marts'
    sources exist before any estimation. The study level (var ``unit_level``) is the one asked
    for or else inferred from the loaded data (:func:`study_level`). Raises
    :class:`DbtBuildError` naming each failed or errored node.
    """
    options = build_options(extra_vars).dbt_vars()
    warehouse = Path(warehouse).resolve()
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse)) as con:
        ensure_schema(con)
        options["unit_level"] = study_level(con, options.get("unit_level"))
    log.info("dbt build at the %s level", options["unit_level"])
    command = ["build"] + (["--select", select, "--indirect-selection", "cautious"] if select else [])
    with workspace(warehouse) as work:
        code, output = run_dbt(command, warehouse, work, extra_vars=options, project_dir=project_dir)
        if code != 0:
            raise DbtBuildError("build", _describe_failures(work, warehouse, output))
