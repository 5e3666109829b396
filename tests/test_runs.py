"""The run registry: running -> succeeded | failed, data vintage from raw.load_log, code version."""
import json
import re
from datetime import datetime

import duckdb
import pytest

from warehouse import runs


@pytest.fixture()
def con():
    c = duckdb.connect()
    yield c
    c.close()


def _load_log(con, rows, observations):
    con.execute("create schema raw")
    con.execute("create table raw.load_log (batch_id varchar, file_name varchar, sha256 varchar, format varchar,"
                " indicator_codes varchar, rows integer, cells_missing integer, vintage varchar, loaded_at timestamp)")
    con.executemany("insert into raw.load_log values (?, ?, ?, 'nbs', 'x', 1, 0, ?, ?)", rows)
    con.execute("create table raw.observations (indicator_code varchar, unit_code integer, year integer, value double)")
    con.executemany("insert into raw.observations values ('gdp', 11, ?, ?)", observations)


def test_run_id_sorts_by_start_time():
    a = runs.new_run_id(datetime(2025, 7, 1, 6, 0, 0))
    b = runs.new_run_id(datetime(2026, 7, 1, 6, 0, 0))
    assert re.fullmatch(r"20250701T060000Z-[0-9a-f]{6}", a)
    assert a < b and runs.new_run_id() != runs.new_run_id()


def test_lifecycle_running_then_succeeded(con):
    runs.start_run(con, "r1", flow_run_id="fr-1", parameters={"seed": 7, "replications": 50})
    row = runs.get_run(con, "r1")
    assert row["status"] == "running" and row["finished_at"] is None and row["flow_run_id"] == "fr-1"
    assert json.loads(row["parameters"]) == {"replications": 50, "seed": 7}
    assert row["code_version"] and row["code_version"] != "unknown"
    runs.finish_run(con, "r1")
    row = runs.get_run(con, "r1")
    assert row["status"] == "succeeded" and row["finished_at"] >= row["started_at"] and row["error"] is None
    with pytest.raises(ValueError, match="is 'succeeded', expected 'running'"):
        runs.finish_run(con, "r1")  # a finished run is never re-finished


def test_duplicate_run_id_is_refused(con):
    runs.start_run(con, "r1")
    with pytest.raises(duckdb.ConstraintException):
        runs.start_run(con, "r1")


def test_fail_records_error_and_vintage(con):
    runs.start_run(con, "r1")
    v = runs.DataVintage("2022 yearbook", 2022, [{"file": "a.csv", "sha256": "ab", "vintage": "2022 yearbook"}])
    runs.fail_run(con, "r1", "step 'load landing' failed: bad", vintage=v)
    row = runs.get_run(con, "r1")
    assert (row["status"], row["error"], row["vintage"], row["latest_year"]) == (
        "failed", "step 'load landing' failed: bad", "2022 yearbook", 2022)
    assert json.loads(row["files"]) == v.files


def test_data_vintage_latest_batch_latest_file_versions_and_last_observed_year(con):
    _load_log(con, [
        ("b1", "gdp.csv", "old", "base", datetime(2025, 1, 1)),
        ("b1", "tel.csv", "t", "base", datetime(2025, 1, 1)),
        ("b2", "gdp.csv", "new", "2022 yearbook", datetime(2026, 1, 1)),
    ], [(2013, 1.0), (2021, 2.0), (2022, 3.0), (2023, None)])
    v = runs.data_vintage(con)
    assert v.vintage == "2022 yearbook"
    assert v.latest_year == 2022  # 2023 has only a missing cell
    assert v.files == [{"file": "gdp.csv", "sha256": "new", "vintage": "2022 yearbook"},
                       {"file": "tel.csv", "sha256": "t", "vintage": "base"}]
    runs.start_run(con, "r1")
    runs.record_vintage(con, "r1")
    row = runs.get_run(con, "r1")
    assert (row["vintage"], row["latest_year"], len(json.loads(row["files"]))) == ("2022 yearbook", 2022, 2)


def test_data_vintage_skips_an_unloaded_batch(con):
    _load_log(con, [
        ("b1", "gdp.csv", "old", "base", datetime(2025, 1, 1)),
        ("b2", "gdp.csv", "new", "2022 yearbook", datetime(2026, 1, 1)),
    ], [(2021, 2.0)])
    con.execute("alter table raw.load_log add column unloaded_at timestamp")
    con.execute("update raw.load_log set unloaded_at = '2026-02-01' where batch_id = 'b2'")  # resilience unload b2
    v = runs.data_vintage(con)
    assert v.vintage == "base" and v.files == [{"file": "gdp.csv", "sha256": "old", "vintage": "base"}]


def test_data_vintage_of_an_unloaded_warehouse_is_empty(con):
    assert runs.data_vintage(con) == runs.DataVintage(None, None, [])


def test_abandoned_running_rows_are_marked_failed(con):
    runs.start_run(con, "old")
    runs.start_run(con, "done")
    runs.finish_run(con, "done")
    runs.start_run(con, "new")
    assert runs.abandon_stale_runs(con, by_run_id="new") == ["old"]
    assert runs.get_run(con, "old")["status"] == "failed"
    assert "abandoned" in runs.get_run(con, "old")["error"]
    assert runs.get_run(con, "done")["status"] == "succeeded"
    assert runs.get_run(con, "new")["status"] == "running"


def test_code_version_falls_back_without_git(monkeypatch, tmp_path):
    monkeypatch.setattr(runs, "REPO_ROOT", tmp_path)  # not a git checkout
    assert runs.code_version().startswith("resilience-warehouse 0.1.0")
