"""Run the dbt project (``dbt_project/``) on a warehouse file, in-process.

Uses dbt's programmatic entry point ``dbtRunner`` (dbt-core >= 1.5) rather than a
subprocess so that failures come back as result objects we can turn into one clear
:class:`DbtBuildError`. The warehouse path reaches ``profiles.yml`` through
``$RESILIENCE_WAREHOUSE`` (set for the duration of the call). Each call writes dbt's
``target/`` and ``logs/`` into a fresh temporary folder so that concurrent builds on
different warehouses (tests, a refresh's working copy) never share dbt state.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import duckdb

from estimation.store import ensure_schema
from warehouse.errors import ResilienceError
from warehouse.paths import DBT_PROJECT_DIR, WAREHOUSE_ENV

#: Failing rows of a test shown in the error message (tests return one row per problem,
#: most with a ``message`` column naming series/province).
_MAX_FAILURE_ROWS = 5


class DbtBuildError(ResilienceError):
    """``dbt build`` failed: names every failed or errored node and its message."""

    def __init__(self, command: str, failures: list[str]):
        self.failures = failures
        detail = "\n".join(f"  - {f}" for f in failures) or "  (dbt reported no node; see its log above)"
        super().__init__(f"dbt {command} failed:\n{detail}")


@contextlib.contextmanager
def _dbt_environment(warehouse: Path) -> Iterator[Path]:
    """Set the env vars dbt reads and give dbt a private target/log folder."""
    saved = {k: os.environ.get(k) for k in (WAREHOUSE_ENV, "DBT_SEND_ANONYMOUS_USAGE_STATS")}
    os.environ[WAREHOUSE_ENV] = str(warehouse)
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
    work = Path(tempfile.mkdtemp(prefix="resilience-dbt-"))
    try:
        yield work
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(work, ignore_errors=True)


def _invoke(command: list[str], warehouse: Path, extra_vars: dict | None, work: Path):
    from dbt.cli.main import dbtRunner  # imported lazily: dbt's import takes ~1 s

    args = [
        *command,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(work / "target"),
        "--log-path", str(work / "logs"),
    ]
    if extra_vars:
        args += ["--vars", json.dumps(extra_vars)]
    try:
        return dbtRunner().invoke(args)
    finally:
        _release_duckdb()


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after a command.

    dbt-duckdb caches one environment (and its duckdb connection) on the class for the life
    of the process; left open, it blocks any later read-only or differently configured
    connection to the same file from this process ("Can't open a connection to same
    database file with a different configuration"). Its public close_all_connections()
    only drops the reference, so we close the environment ourselves.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        if env is not None:
            env.close()
            DuckDBConnectionManager._ENV = None


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


def _describe_failures(result, warehouse: Path) -> list[str]:
    failures: list[str] = []
    for node_result in getattr(result.result, "results", None) or []:
        status = str(getattr(node_result.status, "value", node_result.status))
        if status not in ("fail", "error", "runtime error"):
            continue
        node = node_result.node
        text = f"{node.resource_type} {node.name} [{status}]: {node_result.message}"
        if node.resource_type == "test" and status == "fail":
            rows = _failing_rows(warehouse, getattr(node, "compiled_code", None))
            if rows:
                text += f" -> {rows}"
        failures.append(text)
    if not failures and result.exception is not None:
        failures.append(f"{type(result.exception).__name__}: {result.exception}")
    return failures


def dbt_build(warehouse: Path, select: str | None = None, extra_vars: dict | None = None) -> None:
    """Run ``dbt build`` (seeds, models, tests) on ``warehouse``.

    ``select`` is a dbt node selection (``--select``); ``extra_vars`` are dbt vars (e.g.
    ``{"entropy_mode": "per_year"}`` or ``{"entropy_base_years": [2013, 2021]}``). The
    ``results`` schema is created first (:func:`estimation.store.ensure_schema`) so that
    the results marts' sources exist before any estimation. Raises :class:`DbtBuildError`
    naming each failed or errored node, with the first failing rows of failed tests.
    """
    warehouse = Path(warehouse).resolve()
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse)) as con:
        ensure_schema(con)
    command = ["build"] + (["--select", select] if select else [])
    with _dbt_environment(warehouse) as work:
        result = _invoke(command, warehouse, extra_vars, work)
        if not result.success:
            raise DbtBuildError("build", _describe_failures(result, warehouse))


def dbt_docs_generate(warehouse: Path, target_dir: Path) -> Path:
    """Run ``dbt docs generate`` on a built ``warehouse``; copy the static site
    (index.html, manifest.json, catalog.json) to ``target_dir`` and return it."""
    warehouse = Path(warehouse).resolve()
    target_dir = Path(target_dir)
    with _dbt_environment(warehouse) as work:
        result = _invoke(["docs", "generate"], warehouse, None, work)
        if not result.success:
            raise DbtBuildError("docs generate", _describe_failures(result, warehouse))
        target_dir.mkdir(parents=True, exist_ok=True)
        for name in ("index.html", "manifest.json", "catalog.json"):
            shutil.copy2(work / "target" / name, target_dir / name)
    return target_dir


def dbt_compile_inline(warehouse: Path, sql: str, extra_vars: dict | None = None) -> str:
    """Compile an inline dbt SQL snippet (Jinja, macros, ``ref``) against ``warehouse`` and
    return the SQL; e.g. ``select * from {{ entropy_index('main.t', 'er') }}``. Used by the
    tests to run the project's macros on small hand-made tables."""
    warehouse = Path(warehouse).resolve()
    with _dbt_environment(warehouse) as work:
        result = _invoke(["compile", "--quiet", "--inline", sql], warehouse, extra_vars, work)
        if not result.success:
            raise DbtBuildError("compile", _describe_failures(result, warehouse))
        return result.result.results[0].node.compiled_code
