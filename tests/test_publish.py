"""One refresh at a time; a working copy published by atomic swap; readers never blocked or mixed."""
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest

from warehouse.results_store import ensure_schema, write_results
from warehouse import publish, runs
from warehouse.errors import WarehouseBusyError

# A reader process: connect read-only, check that the warehouse is consistent, disconnect;
# repeat until a stop file appears. A consistent state: every results.coefficients run id is a
# succeeded run, and each run has exactly as many coefficient rows as its model_stats say.
READER = textwrap.dedent("""
    import json, sys, time, duckdb
    path, stop, out = sys.argv[1:4]
    import os
    queries, errors, states = 0, [], set()
    while not os.path.exists(stop) or queries == 0:
        try:
            with duckdb.connect(path, read_only=True) as con:
                ok = {r for (r,) in con.execute("select run_id from results.runs where status = 'succeeded'").fetchall()}
                per_run = dict(con.execute("select run_id, count(*) from results.coefficients group by run_id").fetchall())
                claimed = dict(con.execute("select run_id, value from results.model_stats where stat = 'n_coefficients'").fetchall())
            queries += 1
            if not set(per_run) <= ok:
                errors.append(f"coefficients of unfinished runs {sorted(set(per_run) - ok)}")
            if per_run != {k: int(v) for k, v in claimed.items()}:
                errors.append(f"partial run: rows {per_run} vs claimed {claimed}")
            states.add(tuple(sorted(ok)))
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    json.dump({"queries": queries, "errors": errors[:5], "n_errors": len(errors), "states": len(states)}, open(out, "w"))
""")


def _write_run(path: Path, run_id: str, n_coefficients: int, hold_seconds: float = 0.0) -> None:
    """Write one succeeded run the way a refresh does: row by row, holding the write lock."""
    with duckdb.connect(str(path)) as con:
        ensure_schema(con)
        runs.start_run(con, run_id)
        for i in range(n_coefficients):  # many small writes: a reader of this file would see halves
            con.execute("insert into results.coefficients (run_id, spec_id, term, estimate) values (?, 's', ?, ?)",
                        [run_id, f"t{i}", float(i)])
        time.sleep(hold_seconds)
        write_results(con, run_id, {"model_stats": _stats(n_coefficients)})
        runs.finish_run(con, run_id)


def _stats(n):
    import pandas as pd
    return pd.DataFrame({"spec_id": ["s"], "stat": ["n_coefficients"], "value": [float(n)]})


def _published(tmp_path: Path) -> Path:
    wh = tmp_path / "wh.duckdb"
    _write_run(wh, "r0", 3)
    return wh


def test_second_refresh_is_refused_while_the_first_holds_the_lock(tmp_path):
    wh = tmp_path / "wh.duckdb"
    held, release = threading.Event(), threading.Event()

    def first():
        with publish.refresh_lock(wh, "run-A"):
            held.set()
            release.wait(10)

    t = threading.Thread(target=first)
    t.start()
    assert held.wait(10)
    try:
        with pytest.raises(WarehouseBusyError) as err:
            with publish.refresh_lock(wh):
                pass
        msg = str(err.value)
        assert f"pid {os.getpid()}" in msg and "run run-A" in msg and str(publish.lock_path(wh)) in msg
        assert "try again when it finishes" in msg
    finally:
        release.set()
        t.join()
    with publish.refresh_lock(wh):  # released: the next refresh gets it
        pass


def test_lock_is_refused_across_processes_and_freed_when_the_holder_dies(tmp_path):
    wh = tmp_path / "wh.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from pathlib import Path
            from warehouse.publish import refresh_lock
            with refresh_lock(Path({str(wh)!r}), "run-X"):
                print("held", flush=True)
                time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseBusyError, match=rf"pid {holder.pid}, started .*run run-X"):
            with publish.refresh_lock(wh):
                pass
    finally:
        holder.kill()  # SIGKILL: no cleanup code runs, the kernel drops the flock
        holder.wait()
    with publish.refresh_lock(wh):
        pass


def test_publish_swaps_atomically_and_open_readers_keep_the_old_run(tmp_path):
    wh = _published(tmp_path)
    working = publish.make_working_copy(wh, "r1")
    assert working == tmp_path / "wh.duckdb.work-r1.duckdb"
    _write_run(working, "r1", 5)
    old_reader = duckdb.connect(str(wh), read_only=True)
    try:
        publish.publish(working, wh)
        assert not working.exists() and not publish.wal_path(wh).exists()
        # the reader that connected before the swap still sees exactly the old run
        assert old_reader.execute("select list(run_id order by run_id) from results.runs").fetchone()[0] == ["r0"]
    finally:
        old_reader.close()
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("select list(run_id order by run_id) from results.runs").fetchone()[0] == ["r0", "r1"]
        assert con.execute("select count(*) from results.coefficients").fetchone()[0] == 8


def test_first_working_copy_of_a_new_warehouse_starts_empty(tmp_path):
    wh = tmp_path / "new" / "wh.duckdb"
    wh.parent.mkdir()
    working = publish.make_working_copy(wh, "r1")
    assert not working.exists()
    _write_run(working, "r1", 2)
    publish.publish(working, wh)
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("select status from results.runs").fetchall() == [("succeeded",)]


def test_edit_published_works_while_a_reader_is_connected(tmp_path):
    wh = _published(tmp_path)
    reader = duckdb.connect(str(wh), read_only=True)
    try:
        # writing the file in place would need DuckDB's write lock, which the reader blocks
        direct = subprocess.run([sys.executable, "-c", f"import duckdb; duckdb.connect({str(wh)!r})"],
                                capture_output=True, text=True)
        assert direct.returncode != 0 and "lock" in direct.stderr.lower()
        publish.edit_published(wh, "r9", lambda con: runs.start_run(con, "r9"))
    finally:
        reader.close()
    with duckdb.connect(str(wh), read_only=True) as con:
        assert dict(con.execute("select run_id, status from results.runs").fetchall()) == {
            "r0": "succeeded", "r9": "running"}
    assert not list(tmp_path.glob("*.edit-*"))


def test_unapplied_wal_of_the_published_file_is_folded_into_the_copy(tmp_path):
    wh = _published(tmp_path)
    con = duckdb.connect(str(wh))
    con.execute("PRAGMA disable_checkpoint_on_shutdown")
    con.execute("insert into results.coefficients (run_id, spec_id, term) values ('r0', 's', 'late')")
    con.close()
    assert publish.wal_path(wh).exists()
    working = publish.make_working_copy(wh, "r1")
    with duckdb.connect(str(working), read_only=True) as c:
        assert c.execute("select count(*) from results.coefficients where term = 'late'").fetchone()[0] == 1


def test_reader_querying_during_refreshes_always_succeeds_and_never_sees_a_mix(tmp_path):
    wh = _published(tmp_path)
    stop, out = tmp_path / "stop", tmp_path / "reader.json"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(wh), str(stop), str(out)])
    try:
        for i in range(1, 5):  # four refreshes, each holding the working copy's write lock a while
            with publish.refresh_lock(wh):
                working = publish.make_working_copy(wh, f"r{i}")
                _write_run(working, f"r{i}", 20 + i, hold_seconds=0.3)
                publish.publish(working, wh)
            time.sleep(0.2)
    finally:
        stop.touch()
        reader.wait(60)
    result = json.loads(out.read_text())
    assert result["n_errors"] == 0, result["errors"]
    assert result["queries"] >= 10
    assert result["states"] >= 2  # it did see the published warehouse change under it


def test_orphaned_working_copies_are_found_and_deleted(tmp_path):
    wh = _published(tmp_path)
    orphans = [publish.working_copy_path(wh, "a"), publish.wal_path(publish.working_copy_path(wh, "a")),
               publish.working_copy_path(wh, "b", kind="edit")]
    for path in orphans:
        path.write_bytes(b"x")
    other = tmp_path / "other.duckdb.work-a.duckdb"  # another warehouse's copy: not ours
    other.write_bytes(b"x")
    assert publish.discard_orphans(wh) == sorted(orphans)
    assert not any(p.exists() for p in orphans) and other.exists() and wh.exists()
