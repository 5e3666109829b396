"""End to end through a real Prefect server: serve ``annual-refresh/annual``, trigger it with the
``prefect deployment run`` CLI, wait for Completed, check the warehouse for the new run; then
trigger it with a build option that carries Jinja and check that the run is refused and the
warehouse unchanged. The server runs with API authentication, as the README sets it up.

The test starts its own server (temporary PREFECT_HOME, a free loopback port) and kills the
server and the serve process whatever happens. Prefect 3.9 takes 11-25 s to start a server on
a 2-core machine, hence the generous timeouts.
"""
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import pytest

from warehouse.paths import REPO_ROOT, SAMPLE_BASE_DIR

PREFECT = str(Path(sys.executable).with_name("prefect"))
SERVER_START_TIMEOUT = 180
DEPLOYMENT_TIMEOUT = 120
RUN_TIMEOUT = 900
AUTH = "resilience:not-a-real-secret"  # user:password of the server's basic authentication


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str, body: dict | None = None, auth: str | None = AUTH):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _wait_for(what: str, check, timeout: float, processes=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc, log in processes:
            if proc.poll() is not None:
                raise AssertionError(f"{what}: process exited with {proc.returncode}:\n{Path(log).read_text()[-3000:]}")
        try:
            result = check()
            if result:
                return result
        except Exception:  # not up yet
            pass
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)  # the server forks uvicorn workers: stop the whole group
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


@pytest.fixture()
def prefect_env(tmp_path):
    """A running Prefect server of our own; yields the environment that points at it."""
    port = _free_port()
    env = {**os.environ,
           "PREFECT_HOME": str(tmp_path / "prefect_home"),
           "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_UI_ENABLED": "false",
           "PREFECT_RUNNER_POLL_FREQUENCY": "2",
           "PREFECT_LOGGING_LEVEL": "INFO",
           "PREFECT_API_AUTH_STRING": AUTH,
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    env.pop("PREFECT_PROFILE", None)
    log = tmp_path / "server.log"
    server = None
    try:
        with open(log, "w") as out:
            server = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                      env={**env, "PREFECT_SERVER_API_AUTH_STRING": AUTH}, stdout=out,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        _wait_for("the Prefect server", lambda: _get_json(f"{env['PREFECT_API_URL']}/health") is True,
                  SERVER_START_TIMEOUT, [(server, log)])
        yield env
    finally:
        _stop(server)


def serve_command(setup: str = "") -> list[str]:
    """``python -m flows.deployment``, optionally after some setup code (development fakes)."""
    if not setup:
        return [sys.executable, "-m", "flows.deployment"]
    return [sys.executable, "-c", f"{setup}\nfrom flows.deployment import main\nmain()"]


def run_served_deployment(prefect_env, tmp_path, landing: Path, warehouse: Path, runs: list[dict], setup: str = ""):
    """Serve, trigger each run's parameters through the CLI one after the other, wait for a
    terminal state; return [(flow_run_id, state, logs)] in order."""
    api = prefect_env["PREFECT_API_URL"]
    env = {**prefect_env, "RESILIENCE_LANDING_DIR": str(landing), "RESILIENCE_WAREHOUSE": str(warehouse),
           "RESILIENCE_REPLICATIONS": "50"}
    log = tmp_path / "serve.log"
    serve = None
    try:
        with open(log, "w") as out:
            serve = subprocess.Popen(serve_command(setup), cwd=REPO_ROOT, env=env, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deployment = _wait_for("the deployment to be registered",
                               lambda: _get_json(f"{api}/deployments/name/annual-refresh/annual"),
                               DEPLOYMENT_TIMEOUT, [(serve, log)])
        assert deployment["schedules"][0]["schedule"]["cron"] == "0 6 1 7 *"
        assert deployment["parameters"]["landing_dir"] == str(landing)

        return [_trigger_and_wait(api, env, params, serve, log) for params in runs]
    finally:
        _stop(serve)
        print(log.read_text()[-5000:])


def _trigger_and_wait(api: str, env: dict, params: dict, serve, log):
    cli = [PREFECT, "deployment", "run", "annual-refresh/annual"]
    for key, value in params.items():
        cli += ["--param", f"{key}={json.dumps(value)}"]
    triggered = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    if triggered.returncode != 0:  # the server refused to create the run
        return None, {"type": "REFUSED", "message": triggered.stdout + triggered.stderr}, []
    flow_run_id = re.search(r"UUID:\s*([0-9a-f-]{36})", triggered.stdout).group(1)

    def terminal():
        state = _get_json(f"{api}/flow_runs/{flow_run_id}")["state"]
        return state if state["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} else None

    state = _wait_for("the flow run to finish", terminal, RUN_TIMEOUT, [(serve, log)])
    messages: list[str] = []
    while True:  # every log of the run, page by page (the API returns at most 200 at a time)
        page = _get_json(f"{api}/logs/filter", {"logs": {"flow_run_id": {"any_": [flow_run_id]}},
                                                "limit": 200, "offset": len(messages)})
        messages += [entry["message"] for entry in page]
        if len(page) < 200:
            return flow_run_id, state, messages


def expected_spec_ids() -> set[str]:
    """Every seed spec that writes coefficients or model statistics (mediations, Moran's I and
    LISA write their own tables)."""
    from flows.pipeline import seed_specs

    return {s.spec_id for s in seed_specs() if s.estimator not in ("mediation", "moran", "lisa")}


def test_served_deployment_run_through_the_cli_publishes_a_run_with_every_spec(prefect_env, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(SAMPLE_BASE_DIR, landing)
    warehouse = tmp_path / "wh" / "warehouse.duckdb"

    written_by_jinja = tmp_path / "written_by_jinja.csv"
    injected = {"dbt_vars": {"max_missing_per_series":
                             "{% do run_query(\"drop table if exists raw.revisions\") %}"
                             f"{{% do run_query(\"copy (select 1) to '{written_by_jinja}'\") %}}2"}}
    (flow_run_id, state, logs), (bad_run_id, bad_state, bad_logs) = run_served_deployment(
        prefect_env, tmp_path, landing, warehouse, [{"replications": 50, "seed": 7}, injected])
    assert state["type"] == "COMPLETED", (state, logs[-20:])
    # the option carrying Jinja was refused: the server validates deployment parameters against the
    # flow's typed signature (BuildOptions) and creates no run; nothing executed, nothing changed
    assert bad_run_id is None and bad_state["type"] == "REFUSED", bad_state
    assert "Validation failed for field 'dbt_vars.max_missing_per_series'" in " ".join(bad_state["message"].split())
    assert not written_by_jinja.exists()
    # an unauthenticated client is refused by the server
    with pytest.raises(urllib.error.HTTPError, match="401"):
        _get_json(f"{prefect_env['PREFECT_API_URL']}/flow_runs/{flow_run_id}", auth=None)

    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from results.runs").fetchone()[0] == 1  # the refused run left no row
        assert con.execute("select count(*) from raw.revisions").fetchone()[0] == 0  # the table is there
        run = con.execute("select run_id, status, latest_year, parameters, code_version from results.runs"
                          " where flow_run_id = ?", [flow_run_id]).fetchall()
        assert len(run) == 1
        run_id, status, latest_year, parameters, code_version = run[0]
        assert (status, latest_year) == ("succeeded", 2021)
        assert json.loads(parameters)["replications"] == 50 and json.loads(parameters)["seed"] == 7
        specs = {s for (s,) in con.execute(
            "select spec_id from results.coefficients where run_id = ? union "
            "select spec_id from results.model_stats where run_id = ?", [run_id, run_id]).fetchall()}
    assert expected_spec_ids() <= specs, sorted(expected_spec_ids() - specs)
    # progress of the long loops reached the Prefect logs through the forwarded loggers
    assert any("draws" in m for m in logs), logs[:30]
    assert list((warehouse.parent / "reports" / run_id).iterdir())
