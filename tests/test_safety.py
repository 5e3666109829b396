"""Data safety of the writers (issue 10): options are data not code, one publish path for every
writer that never blocks analysts, files and permissions kept, clean one-line failures, no
leftovers, a temporary Prefect server that dies with its parent."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from dbt_fixtures import built_sample_warehouse
from flows.annual_refresh import check_destinations
from flows.cli import main
from warehouse import publish
from warehouse.errors import ResilienceError
from warehouse.paths import SAMPLE_BASE_DIR, SAMPLE_NEXT_VINTAGE_DIR

CLI = [sys.executable, "-m", "flows.cli"]


@pytest.fixture
def warehouse(tmp_path) -> Path:
    """A private copy of the built bundled sample."""
    path = tmp_path / "wh" / "warehouse.duckdb"
    path.parent.mkdir()
    shutil.copy(built_sample_warehouse(), path)
    return path


def _tables(path: Path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}


@pytest.mark.parametrize("payload", [
    "{% do run_query('drop table if exists raw.revisions') %}2",
    "{% do run_query(\"copy (select 1) to 'OUT'\") %}2",
])
def test_a_build_option_carrying_jinja_is_refused_and_runs_nothing(warehouse, tmp_path, capsys, payload):
    out = tmp_path / "written_by_jinja.csv"
    before = warehouse.read_bytes()
    code = main(["build", "-w", str(warehouse), "--var",
                 f"max_missing_per_series={payload.replace('OUT', str(out))}"])
    assert code == 1
    err = capsys.readouterr().err
    assert "invalid build option (max_missing_per_series: Input should be a valid integer" in err
    assert warehouse.read_bytes() == before and "raw.revisions" in _tables(warehouse)
    assert not out.exists()
    assert main(["build", "-w", str(warehouse), "--var", "no_such_option=1"]) == 1
    assert "no_such_option: Extra inputs are not permitted" in capsys.readouterr().err


READER = textwrap.dedent("""
    import json, os, sys, duckdb
    path, stop, out = sys.argv[1:4]
    queries, errors = 0, []
    while not os.path.exists(stop) or queries == 0:
        try:
            with duckdb.connect(path, read_only=True) as con:
                con.execute("select count(*) from raw.observations").fetchone()
                con.execute("select count(*), avg(er) from marts.analysis_panel").fetchone()
            queries += 1
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    json.dump({"queries": queries, "errors": errors[:5], "n_errors": len(errors)}, open(out, "w"))
""")


@pytest.mark.parametrize("command", [["build"], ["load", str(SAMPLE_NEXT_VINTAGE_DIR)]])
def test_analysts_keep_querying_while_a_command_writes(warehouse, tmp_path, command):
    stop, out = tmp_path / "stop", tmp_path / "reader.json"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(warehouse), str(stop), str(out)])
    try:
        time.sleep(0.5)
        writer = subprocess.run([*CLI, *command, "-w", str(warehouse)], capture_output=True, text=True, timeout=600)
    finally:
        stop.touch()
        reader.wait(60)
    assert writer.returncode == 0, writer.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["n_errors"] == 0, result["errors"]
    assert result["queries"] >= 5
    if command[0] == "load":
        with duckdb.connect(str(warehouse), read_only=True) as con:
            assert con.execute("select max(year) from raw.observations").fetchone()[0] == 2022


def test_a_read_only_published_warehouse_is_refused_not_replaced(warehouse, capsys):
    warehouse.chmod(0o444)
    before = warehouse.read_bytes()
    assert main(["load", str(SAMPLE_NEXT_VINTAGE_DIR), "-w", str(warehouse)]) == 1
    assert "is read-only (mode 0444); refusing to replace it" in capsys.readouterr().err
    assert warehouse.read_bytes() == before and stat.S_IMODE(warehouse.stat().st_mode) == 0o444
    with pytest.raises(ResilienceError, match="read-only"):
        check_destinations(warehouse, warehouse.parent / "reports")


def test_the_published_file_keeps_its_mode_and_group(warehouse):
    group = 1 if os.getuid() == 0 else os.getgid()  # root may give the file another group
    os.chown(warehouse, os.getuid(), group)
    warehouse.chmod(0o640)
    assert main(["load", str(SAMPLE_NEXT_VINTAGE_DIR), "-w", str(warehouse)]) == 0
    st = warehouse.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_gid == group


def test_a_lock_file_that_is_a_symlink_is_refused_and_its_target_untouched(warehouse, tmp_path, capsys):
    target = tmp_path / "precious.txt"
    target.write_text("do not truncate me\n")
    publish.lock_path(warehouse).unlink(missing_ok=True)
    publish.lock_path(warehouse).symlink_to(target)
    assert main(["load", str(SAMPLE_NEXT_VINTAGE_DIR), "-w", str(warehouse)]) == 1
    assert "is a symbolic link; refusing to use it as the warehouse's lock file" in capsys.readouterr().err
    assert target.read_text() == "do not truncate me\n"


def test_unusable_destinations_are_one_line_errors(tmp_path, capsys):
    not_duckdb = tmp_path / "notes.duckdb"
    not_duckdb.write_text("my notes, not a database\n")
    assert main(["load", str(SAMPLE_BASE_DIR), "-w", str(not_duckdb)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"error: {not_duckdb} is not a DuckDB database file"
    assert not_duckdb.read_text() == "my notes, not a database\n"

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    immutable = os.getuid() == 0  # root writes a 0555 folder: make it immutable instead
    if immutable:
        subprocess.run(["chattr", "+i", str(locked)], check=True)
    try:
        assert main(["load", str(SAMPLE_BASE_DIR), "-w", str(locked / "w.duckdb")]) == 1
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(locked)], check=True)
    assert capsys.readouterr().err.strip() == f"error: the warehouse folder {locked} is not writable"


def test_refresh_destinations_are_checked_before_any_work(tmp_path):
    reports = tmp_path / "reports"
    (reports / "latest").mkdir(parents=True)  # a real folder where the refresh keeps a link
    with pytest.raises(ResilienceError, match="latest is not the link a refresh maintains"):
        check_destinations(tmp_path / "w.duckdb", reports)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ResilienceError, match="is not a writable folder"):
        check_destinations(tmp_path / "w.duckdb", tmp_path / "file" / "reports")


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_temporary_prefect_server_dies_with_a_killed_refresh(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    refresh = subprocess.Popen([*CLI, "refresh", str(SAMPLE_BASE_DIR), "-w", str(tmp_path / "w.duckdb"),
                                "--replications", "10"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline, server = time.monotonic() + 120, None
    while time.monotonic() < deadline and server is None:
        for child in _children(refresh.pid):
            if "uvicorn" in Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace"):
                server = child
        time.sleep(0.2)
    assert server is not None, "the refresh started no Prefect server"
    os.kill(refresh.pid, signal.SIGKILL)
    refresh.wait()
    deadline = time.monotonic() + 20
    while _alive(server) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = _alive(server)
    if alive:
        os.kill(server, signal.SIGKILL)
    assert not alive, "the temporary Prefect server outlived the killed refresh"


def test_cli_refresh_is_quiet_cleans_leftovers_and_writes_reports_with_one_mode(tmp_path):
    """The README's command, as written: no ERROR and no traceback when nothing is wrong; what a
    killed refresh left behind (working copy, dbt folder, report staging folder) is removed."""
    wh = tmp_path / "data" / "warehouse.duckdb"
    reports = wh.parent / "reports"
    leftovers = [Path(f"{wh}.work-dead.duckdb"), Path(f"{wh}.dbt-dead"), reports / ".staging-dead"]
    (reports / ".staging-dead").mkdir(parents=True)
    Path(f"{wh}.dbt-dead").mkdir()
    Path(f"{wh}.work-dead.duckdb").write_bytes(b"half a warehouse")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PREFECT_SERVER_", "PREFECT_API_URL", "DBT_SEND"))}  # the CLI's own defaults
    done = subprocess.run([*CLI, "refresh", str(SAMPLE_BASE_DIR), "-w", str(wh), "--replications", "20"],
                          capture_output=True, text=True, env=env, timeout=900)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    errors = [line for line in output.splitlines() if re.search(r"\|\s*(ERROR|CRITICAL)\s*\|", line)]
    assert not errors and "Traceback" not in output, errors or output[-3000:]
    assert not any(p.exists() for p in leftovers)
    [report_dir] = [p for p in reports.iterdir() if not p.name.startswith(".") and p.name != "latest"]
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in report_dir.rglob("*") if p.is_file()}
    assert len(modes) == 2 + 4 + 8 and len(set(modes.values())) == 1, modes   # md, html, figures, maps


def test_a_full_disk_is_a_one_line_error_and_changes_nothing(warehouse, monkeypatch, capsys):
    import errno

    def full(src, dst, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))

    before = warehouse.read_bytes()
    monkeypatch.setattr(publish.shutil, "copyfile", full)
    assert main(["load", str(SAMPLE_NEXT_VINTAGE_DIR), "-w", str(warehouse)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: No space left on device: ") and err.count("\n") == 1
    assert warehouse.read_bytes() == before
    assert sorted(p.name for p in warehouse.parent.iterdir()) == ["warehouse.duckdb", "warehouse.duckdb.refresh.lock"]
