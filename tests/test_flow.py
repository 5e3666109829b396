"""The annual-refresh flow's protocol: run registry, working copy, atomic publish, failure, lock.

The heavy steps (loader, dbt, estimators, report) are replaced by small fakes that write real
tables, so these tests pin the orchestration itself; ``test_refresh_end_to_end.py`` runs the
real steps. One temporary Prefect server serves the whole module.
"""
import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from warehouse.results_store import ensure_schema
from flows import annual_refresh as refresh_module
from warehouse import publish
from warehouse.errors import ExtractError, WarehouseBusyError

from tests.test_publish import READER


@pytest.fixture(scope="module")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


# --- fakes: each does the minimum real work of its step ---------------------------------------

def fake_load(landing_dir, warehouse, vintage=None):
    """Landing files are ``year,value`` CSVs; a line ``CORRUPT`` is a parse error."""
    rows, log = [], []
    for path in sorted(Path(landing_dir).glob("*.csv")):
        for line_no, line in enumerate(path.read_text().splitlines(), start=1):
            if line == "CORRUPT":
                raise ExtractError(path.name, "not a year,value row", line_no)
            year, value = line.split(",")
            rows.append(("gdp", 11, int(year), float(value), path.name))
        log.append((path.name, str(hash(path.read_text())), vintage or "fake vintage"))
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists raw")
        con.execute("create or replace table raw.observations (indicator_code varchar, unit_code integer,"
                    " year integer, value double, source_file varchar)")
        con.executemany("insert into raw.observations values (?, ?, ?, ?, ?)", rows)
        con.execute("create table if not exists raw.load_log (batch_id varchar, file_name varchar, sha256 varchar,"
                    " vintage varchar, loaded_at timestamp)")
        con.executemany("insert into raw.load_log values ('b', ?, ?, ?, now())", log)
    return f"loaded {len(rows)} cells"


def fake_dbt_build(warehouse, select=None, extra_vars=None):
    """The marts of one build: a panel table, and a results mart that is a view over schema
    results (like the real ones), so it shows a run's rows the moment they are written."""
    with duckdb.connect(str(warehouse)) as con:
        ensure_schema(con)
        con.execute("create schema if not exists marts")
        con.execute("create or replace table marts.analysis_panel as"
                    " select year, 'province' as unit_level, avg(value) as dt"
                    " from raw.observations group by year order by year")
        con.execute("""create or replace view marts.latest_coefficients as
            select c.* from results.coefficients c where run_id = (
                select max(run_id) from results.runs where status = 'succeeded')""")


def fake_load_inputs(con):
    return con.execute("select * from marts.analysis_panel").df()


def fake_estimate(panel, *, replications, seed):
    return {"coefficients": pd.concat([_coef("baseline_twfe", panel["dt"].mean(), len(panel)),
                                       _coef("sdm_geographic", panel["dt"].max(), len(panel))]),
            "model_stats": pd.DataFrame({"spec_id": ["baseline_twfe"], "stat": ["replications"],
                                         "value": [float(replications)]}),
            "spatial_profile": pd.DataFrame({"spec_id": ["sdm_geographic"], "rho": [0.3], "log_likelihood": [-1.0]})}


def fake_report(warehouse, out_dir, run_id=None):
    out_dir.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        status = con.execute("select status from results.runs where run_id = ?", [run_id]).fetchone()[0]
    path = out_dir / "report.md"
    path.write_text(f"# run {run_id} ({status})\n")
    return [path]


def _coef(spec, estimate, nobs):
    cols = {"spec_id": [spec], "term": ["dt"], "estimate": [estimate], "std_error": [0.1], "t_stat": [1.0],
            "p_value": [0.3], "ci_low": [0.0], "ci_high": [1.0], "nobs": [nobs], "estimator": ["fake"],
            "cov_type": ["fake"]}
    return pd.DataFrame(cols)


def _failing(message):
    def fail(*args, **kwargs):
        raise RuntimeError(message)
    return fail


@pytest.fixture()
def fakes(monkeypatch):
    steps = {"load_landing": fake_load, "dbt_build": fake_dbt_build, "load_inputs": fake_load_inputs,
             "estimate": fake_estimate, "write_report": fake_report}
    for name, fn in steps.items():
        monkeypatch.setitem(refresh_module.STEP_FUNCTIONS, name, fn)
    return steps


@pytest.fixture()
def landing(tmp_path):
    folder = tmp_path / "landing"
    folder.mkdir()
    (folder / "gdp_2013_2021.csv").write_text("\n".join(f"{y},{y - 2000}" for y in range(2013, 2022)))
    return folder


def _refresh(landing, warehouse, **kw):
    return refresh_module.annual_refresh(landing_dir=str(landing), warehouse=str(warehouse),
                                         replications=7, seed=1, **kw)


def _snapshot(path: Path) -> dict[str, list[tuple]]:
    """Every table's full contents, rows sorted: equal snapshots = identical data."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables"
                             " order by 1, 2").fetchall()
        return {f"{s}.{t}": sorted(con.execute(f'select * from "{s}"."{t}"').fetchall(), key=repr)
                for s, t in tables}


def _runs(path: Path) -> dict[str, dict]:
    with duckdb.connect(str(path), read_only=True) as con:
        frame = con.execute("select * from results.runs order by run_id").df()
    return {r["run_id"]: r for r in frame.to_dict("records")}


# The run registry and the registry's own view: the only relations a failed refresh may change.
REGISTRY_RELATIONS = ("results.runs", "marts.dim_result_runs")


def _only_change_is_one_failed_run(before: dict, after: dict) -> str:
    """Assert that every table is identical except one new run row; return that run id."""
    assert set(before) == set(after)
    for name in before:
        if name not in REGISTRY_RELATIONS:
            assert after[name] == before[name], f"{name} changed"
    new_ids = set()
    for name in REGISTRY_RELATIONS:
        if name in before:
            assert [r for r in after[name] if r[0] in {b[0] for b in before[name]}] == before[name], name
            new_ids |= {r[0] for r in after[name] if r not in before[name]}
    assert len(new_ids) == 1, new_ids
    return new_ids.pop()


def _leftovers(tmp_path: Path) -> list[Path]:
    return [p for p in tmp_path.rglob("*") if ".work-" in p.name or ".edit-" in p.name or ".staging-" in p.name]


# --- tests ------------------------------------------------------------------------------------

def test_refresh_publishes_a_succeeded_run_with_registry_results_marts_and_report(prefect_server, fakes, landing, tmp_path):
    wh = tmp_path / "wh" / "warehouse.duckdb"
    summary = _refresh(landing, wh, vintage="test vintage")
    run_id = summary["run_id"]
    assert summary["warehouse"] == str(wh) and summary["status"] == "succeeded"
    assert summary["reports"] == [str(wh.parent / "reports" / run_id / "report.md")]
    # the report was written from the working copy after the run was marked succeeded
    assert Path(summary["reports"][0]).read_text() == f"# run {run_id} (succeeded)\n"
    assert (wh.parent / "reports" / "latest" / "report.md").read_text() == f"# run {run_id} (succeeded)\n"

    row = _runs(wh)[run_id]
    assert row["status"] == "succeeded" and row["error"] is None
    assert row["flow_run_id"] and row["finished_at"] > row["started_at"]
    assert (row["vintage"], row["latest_year"]) == ("test vintage", 2021)
    assert [f["file"] for f in json.loads(row["files"])] == ["gdp_2013_2021.csv"]
    params = json.loads(row["parameters"])
    assert (params["replications"], params["seed"], params["landing_dir"]) == (7, 1, str(landing))

    with duckdb.connect(str(wh), read_only=True) as con:
        coefs = dict(con.execute("select spec_id, estimate from results.coefficients where run_id = ?",
                                 [run_id]).fetchall())
        marts = con.execute("select distinct run_id from marts.latest_coefficients").fetchall()
    assert coefs == {"baseline_twfe": pytest.approx(17.0), "sdm_geographic": pytest.approx(21.0)}
    assert marts == [(run_id,)]  # the results marts (views) show the run without a second build
    assert _leftovers(tmp_path) == [] and not publish.wal_path(wh).exists()


def test_second_refresh_adds_a_run_and_keeps_the_first(prefect_server, fakes, landing, tmp_path):
    wh = tmp_path / "warehouse.duckdb"
    first = _refresh(landing, wh)["run_id"]
    (landing / "gdp_2022.csv").write_text("2022,30")
    second = _refresh(landing, wh)["run_id"]
    runs = _runs(wh)
    assert [runs[r]["status"] for r in (first, second)] == ["succeeded", "succeeded"]
    assert (runs[first]["latest_year"], runs[second]["latest_year"]) == (2021, 2022)
    with duckdb.connect(str(wh), read_only=True) as con:
        per_run = dict(con.execute("select run_id, count(*) from results.coefficients group by 1").fetchall())
    assert per_run == {first: 2, second: 2}
    assert (wh.parent / "reports" / "latest").resolve() == wh.parent / "reports" / second


def test_refresh_cleans_up_after_a_killed_refresh(prefect_server, fakes, landing, tmp_path):
    wh = tmp_path / "warehouse.duckdb"
    _refresh(landing, wh)
    publish.edit_published(wh, "dead", lambda con: refresh_module.runs.start_run(con, "dead"))
    orphan = publish.working_copy_path(wh, "dead")
    orphan.write_bytes(b"half a warehouse")  # what a kill -9 during dbt build leaves behind
    run_id = _refresh(landing, wh)["run_id"]
    runs = _runs(wh)
    assert runs["dead"]["status"] == "failed" and f"found by refresh {run_id}" in runs["dead"]["error"]
    assert runs[run_id]["status"] == "succeeded" and not orphan.exists()


def test_dbt_vars_reach_the_one_dbt_build_and_the_run_parameters(prefect_server, fakes, landing, tmp_path, monkeypatch):
    calls = []

    def recording_dbt_build(warehouse, select=None, extra_vars=None):
        calls.append((select, extra_vars))
        fake_dbt_build(warehouse, select, extra_vars)

    monkeypatch.setitem(refresh_module.STEP_FUNCTIONS, "dbt_build", recording_dbt_build)
    base_window = {"entropy_base_years": [2013, 2021]}
    run_id = _refresh(landing, tmp_path / "wh.duckdb", dbt_vars=base_window)["run_id"]
    assert calls == [(None, base_window)]
    assert json.loads(_runs(tmp_path / "wh.duckdb")[run_id]["parameters"])["dbt_vars"] == base_window


@pytest.mark.parametrize("broken", ["load_landing", "dbt_build", "estimate", "write_report"])
def test_failed_step_marks_the_run_failed_and_leaves_everything_else_identical(
        prefect_server, fakes, landing, tmp_path, monkeypatch, broken):
    wh = tmp_path / "warehouse.duckdb"
    good = _refresh(landing, wh)["run_id"]
    before = _snapshot(wh)

    if broken == "load_landing":  # a corrupted extract lands with the next yearbook
        (landing / "gdp_2022.csv").write_text("2022,30\nCORRUPT\n")
        expected = ExtractError
    else:
        (landing / "gdp_2022.csv").write_text("2022,30")
        monkeypatch.setitem(refresh_module.STEP_FUNCTIONS, broken, _failing(f"{broken} exploded"))
        expected = RuntimeError
    with pytest.raises(expected):
        _refresh(landing, wh)

    after = _snapshot(wh)
    failed_run_id = _only_change_is_one_failed_run(before, after)
    runs = _runs(wh)
    assert set(runs) - {good} and runs[good]["status"] == "succeeded"
    [failed] = [r for r in runs.values() if r["run_id"] != good]
    assert failed["run_id"] == failed_run_id
    assert failed["status"] == "failed" and failed["finished_at"] is not None
    if broken == "load_landing":
        assert "step 'load landing' failed: ExtractError: gdp_2022.csv, line 2: not a year,value row" == failed["error"]
    else:
        assert f"{broken} exploded" in failed["error"]
    assert _leftovers(tmp_path) == []
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [good, "latest"]
    assert (tmp_path / "reports" / "latest").resolve() == tmp_path / "reports" / good


def test_refresh_is_refused_while_another_holds_the_lock(prefect_server, fakes, landing, tmp_path):
    wh = tmp_path / "warehouse.duckdb"
    _refresh(landing, wh)
    before = _snapshot(wh)
    with publish.refresh_lock(wh, "the-other-run"):
        with pytest.raises(WarehouseBusyError, match=r"another refresh \(pid \d+, started .*run the-other-run\) holds"):
            _refresh(landing, wh)
    assert _snapshot(wh) == before  # refused before it touched anything, registry included


def test_reader_keeps_querying_the_published_warehouse_during_a_refresh(prefect_server, fakes, landing, tmp_path, monkeypatch):
    wh = tmp_path / "warehouse.duckdb"
    _refresh(landing, wh)

    def slow_dbt_build(warehouse, select=None, extra_vars=None):
        with duckdb.connect(str(warehouse)) as con:  # hold the working copy's write lock, like dbt
            con.execute("create schema if not exists marts")
            time.sleep(1.5)
        fake_dbt_build(warehouse, select, extra_vars)

    monkeypatch.setitem(refresh_module.STEP_FUNCTIONS, "dbt_build", slow_dbt_build)
    stop, out = tmp_path / "stop", tmp_path / "reader.json"
    with duckdb.connect(str(wh)) as con:  # the reader's consistency check counts coefficients per run
        con.execute("insert into results.model_stats select run_id, 'x', 'n_coefficients', count(*)"
                    " from results.coefficients group by run_id")
    monkeypatch.setitem(refresh_module.STEP_FUNCTIONS, "estimate", _counting(fake_estimate))
    reader = subprocess.Popen([sys.executable, "-c", READER, str(wh), str(stop), str(out)])
    try:
        _refresh(landing, wh)
    finally:
        stop.touch()
        reader.wait(60)
    result = json.loads(out.read_text())
    assert result["n_errors"] == 0, result["errors"]
    assert result["queries"] >= 5 and result["states"] >= 2


def _counting(estimate):
    """Estimation fake that also states how many coefficient rows the run will have (2)."""
    def run(panel, *, replications, seed):
        frames = estimate(panel, replications=replications, seed=seed)
        frames["model_stats"] = pd.concat([frames["model_stats"], pd.DataFrame(
            {"spec_id": ["x"], "stat": ["n_coefficients"], "value": [2.0]})], ignore_index=True)
        return frames
    return run


# --- the real steps, end to end: sample/base, a corrupted extract, then the 2022 vintage -------

REAL_REPLICATIONS = 50  # small: the suites' statistics are tested elsewhere; this tests the wiring


@pytest.fixture(scope="module")
def real_refreshes(prefect_server, tmp_path_factory):
    """Refresh on the bundled base sample; try a corrupted 2022 extract (fails); land the real
    2022 vintage in the same folder and refresh again. Returns what each step left behind."""
    import shutil

    from warehouse.paths import SAMPLE_BASE_DIR, SAMPLE_NEXT_VINTAGE_DIR

    root = tmp_path_factory.mktemp("real")
    landing, wh = root / "landing", root / "warehouse.duckdb"
    shutil.copytree(SAMPLE_BASE_DIR, landing)
    first = refresh_module.annual_refresh(landing_dir=str(landing), warehouse=str(wh),
                                          replications=REAL_REPLICATIONS, seed=7)
    after_first = _snapshot(wh)

    shutil.copytree(SAMPLE_NEXT_VINTAGE_DIR, landing, dirs_exist_ok=True)
    gdp = landing / "nbs_gdp.csv"
    good_bytes = gdp.read_bytes()
    lines = good_bytes.decode("gbk").split("\r\n")
    row = next(i for i, line in enumerate(lines) if line.startswith("北京市"))
    cells = lines[row].split(",")
    cells[1] += "O"  # a letter O typed into Beijing's newest value
    lines[row] = ",".join(cells)
    gdp.write_bytes("\r\n".join(lines).encode("gbk"))
    with pytest.raises(ExtractError) as corrupted:
        refresh_module.annual_refresh(landing_dir=str(landing), warehouse=str(wh),
                                      replications=REAL_REPLICATIONS, seed=7)
    after_failure = _snapshot(wh)

    gdp.write_bytes(good_bytes)
    second = refresh_module.annual_refresh(landing_dir=str(landing), warehouse=str(wh),
                                           replications=REAL_REPLICATIONS, seed=7)
    return {"wh": wh, "root": root, "first": first, "second": second, "after_first": after_first,
            "after_failure": after_failure, "error": str(corrupted.value),
            "corrupted": (row + 1, cells[1])}


def test_real_refresh_on_the_base_sample_publishes_every_spec(real_refreshes):
    from tests.test_deployment_server import expected_spec_ids

    wh, first = real_refreshes["wh"], real_refreshes["first"]
    runs = _runs(wh)
    row = runs[first["run_id"]]
    assert (row["status"], row["latest_year"]) == ("succeeded", 2021)
    assert row["vintage"].startswith("synthetic sample, yearbooks 2014-2022")
    assert len(json.loads(row["files"])) == len(list(SAMPLE_BASE_FILES()))
    with duckdb.connect(str(wh), read_only=True) as con:
        specs = {s for (s,) in con.execute(
            "select spec_id from results.coefficients where run_id = $r union "
            "select spec_id from results.model_stats where run_id = $r", {"r": first["run_id"]}).fetchall()}
    assert expected_spec_ids() <= specs, sorted(expected_spec_ids() - specs)
    assert [Path(p).name for p in first["reports"][:2]] == ["report.md", "report.html"]
    assert first["run_id"] in Path(first["reports"][0]).read_text()


def test_real_corrupted_extract_fails_the_run_and_changes_nothing_else(real_refreshes):
    before, after = real_refreshes["after_first"], real_refreshes["after_failure"]
    line, cell = real_refreshes["corrupted"]
    assert f"nbs_gdp.csv, line {line}: non-numeric value '{cell}'" in real_refreshes["error"]
    failed_run_id = _only_change_is_one_failed_run(before, after)
    assert sum(k.startswith("marts.") for k in before) > 10  # the marts were among the compared tables
    [row] = [r for r in after["results.runs"] if r[0] == failed_run_id]
    assert "failed" in row and "step 'load landing' failed: ExtractError" in str(row)
    assert _leftovers(real_refreshes["root"]) == []


def test_real_second_refresh_over_2013_2022_and_run_comparison(real_refreshes):
    from tests.test_deployment_server import expected_spec_ids

    wh, first, second = real_refreshes["wh"], real_refreshes["first"], real_refreshes["second"]
    runs = _runs(wh)
    assert [r["status"] for r in runs.values()].count("succeeded") == 2
    row = runs[second["run_id"]]
    assert (row["status"], row["latest_year"]) == ("succeeded", 2022)
    assert row["vintage"].startswith("synthetic sample, yearbook 2023")
    with duckdb.connect(str(wh), read_only=True) as con:
        years = con.execute("select min(year), max(year) from marts.analysis_panel").fetchone()
        nobs = dict(con.execute("select run_id, nobs from results.coefficients"
                                " where spec_id = 'baseline_twfe' and term = 'dt'").fetchall())
        compared = con.execute(
            "select run_id, previous_run_id, estimate from marts.rpt_run_comparison"
            " where spec_id = 'baseline_twfe_controls' and term = 'dt' and effect = 'coefficient'"
            " order by success_seq").fetchall()
        specs = {s for (s,) in con.execute(
            "select spec_id from results.coefficients where run_id = $r union "
            "select spec_id from results.model_stats where run_id = $r", {"r": second["run_id"]}).fetchall()}
    assert years == (2013, 2022)
    assert (nobs[first["run_id"]], nobs[second["run_id"]]) == (270, 300)  # 30 provinces x 9, x 10 years
    assert [(r, p) for r, p, _ in compared] == [(first["run_id"], None), (second["run_id"], first["run_id"])]
    assert expected_spec_ids() <= specs


def test_real_refresh_fills_results_lisa_with_esdas_local_statistics(real_refreshes):
    """results.lisa of the latest run equals esda.Moran_Local run here on the published panel and
    adjacency matrix (a libpysal W built from the mart's rows), with the run's seeds."""
    import esda
    import libpysal
    import numpy as np

    from estimation.spatial.lisa import esda_seed

    wh, second = real_refreshes["wh"], real_refreshes["second"]
    with duckdb.connect(str(wh), read_only=True) as con:
        lisa = con.execute("select * from results.lisa where run_id = ? order by variable, year, unit_code",
                           [second["run_id"]]).df()
        panel = con.execute("select unit_code, year, er, dt from marts.analysis_panel").df()
        pairs = con.execute("select unit_code_i, unit_code_j, weight from marts.spatial_weights "
                            "where matrix = 'adjacency' order by unit_code_i, unit_code_j").df()
    codes = sorted(panel.unit_code.unique())
    assert set(lisa.spec_id) == {"lisa_adjacency_er", "lisa_adjacency_dt"}
    assert len(lisa) == 2 * 10 * 30 and set(lisa.matrix) == {"adjacency"}
    neighbours = {c: pairs.loc[pairs.unit_code_i == c, "unit_code_j"].tolist() for c in codes}
    weights = {c: pairs.loc[pairs.unit_code_i == c, "weight"].tolist() for c in codes}
    w = libpysal.weights.W(neighbours, weights, id_order=codes)
    for (variable, year), rows in lisa.groupby(["variable", "year"]):
        y = panel[panel.year == year].set_index("unit_code").loc[codes, variable].to_numpy()
        reference = esda.Moran_Local(y, w, transformation="r", permutations=999, seed=esda_seed(7, year))
        np.testing.assert_allclose(rows["value"], y, rtol=0, atol=0)
        np.testing.assert_allclose(rows["ii"], reference.Is, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(rows["p"], reference.p_sim, rtol=0, atol=0)
        np.testing.assert_allclose(rows["ii_z"], reference.z_sim, rtol=1e-9)
        pysal_quadrants = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}
        assert rows["quadrant"].tolist() == [pysal_quadrants[q] for q in reference.q]
        assert rows["significant"].tolist() == (reference.p_sim <= 0.05).tolist()


def SAMPLE_BASE_FILES():
    from warehouse.paths import SAMPLE_BASE_DIR

    return [p for p in SAMPLE_BASE_DIR.iterdir() if p.suffix in {".csv", ".xlsx"}]
