"""The Prefect API a CLI run talks to: the one named by ``PREFECT_API_URL``, or else a temporary
server on loopback that this process starts, and that dies with it.

Prefect's own temporary ("ephemeral") server is a child process that outlives its parent when
the parent is killed (``kill -9`` of a refresh left a ~200 MB server listening on loopback).
Ours is started the same way (uvicorn on ``prefect.server.api.server:create_app``) but asks the
kernel to send it SIGTERM when its parent dies (Linux ``prctl(PR_SET_PDEATHSIG)``), and is
stopped when the block ends.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Iterator

import httpx

from warehouse.errors import ResilienceError

PR_SET_PDEATHSIG = 1


def _die_with(parent: int):
    def preexec() -> None:  # runs in the child between fork and exec
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
    return preexec


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def prefect_api() -> Iterator[str]:
    """Yield the API URL to use for the block (module docstring)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if os.environ.get("PREFECT_API_URL"):
        yield os.environ["PREFECT_API_URL"]
        return
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
           "PREFECT__SERVER_FINAL": "1"}
    errors = tempfile.TemporaryFile()  # not a pipe: a pipe nobody reads could fill and stall the server
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on"],
        env=env, stdout=subprocess.DEVNULL, stderr=errors, preexec_fn=_die_with(os.getpid()))
    try:
        _wait_healthy(server, errors, url,
                      float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")))
        with temporary_settings({PREFECT_API_URL: url}):
            try:
                yield url
            finally:
                _drain_queued_logs()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        errors.close()


def _drain_queued_logs() -> None:
    """Send Prefect's queued logs and events while the server still answers: after it is
    stopped, the exiting process would retry them for about a minute ("Error logging to API")."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=10)


def _wait_healthy(server: subprocess.Popen, errors, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client() as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                errors.seek(0)
                detail = errors.read().decode(errors="replace")[-500:]
                raise ResilienceError(f"the temporary Prefect server exited with code {server.returncode}: {detail}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(f"{url}/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
    raise ResilienceError(f"the temporary Prefect server did not answer on {url} within {timeout:.0f} s")
