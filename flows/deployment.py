"""Serve the deployment ``annual-refresh/annual``: ``python -m flows.deployment``.

Registers the deployment with the Prefect server at ``PREFECT_API_URL`` and runs its runs in
this process until interrupted. Default parameters come from the environment so that a
served deployment can be pointed at other folders without code changes:

* ``RESILIENCE_LANDING_DIR`` (default: the bundled ``sample/base``),
* ``RESILIENCE_WAREHOUSE`` (default: ``data/warehouse.duckdb``),
* ``RESILIENCE_VINTAGE`` (default: read from the landing folder's ``vintage.txt``),
* ``RESILIENCE_REPLICATIONS`` (default 1000), ``RESILIENCE_SEED`` (default 12345),
* ``RESILIENCE_REPORTS_DIR`` (default: ``reports/`` next to the warehouse),
* ``RESILIENCE_CRON`` (default ``0 6 1 7 *``: 06:00 on 1 July, after the yearbook appears).

Any of them can be overridden per run: ``prefect deployment run 'annual-refresh/annual'
--param replications=200``.
"""
from __future__ import annotations

import argparse
import os
from typing import Any

from warehouse.paths import SAMPLE_BASE_DIR, warehouse_path

DEPLOYMENT_NAME = "annual"
DEFAULT_CRON = "0 6 1 7 *"


def default_parameters(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The deployment's default parameters, read from ``RESILIENCE_*`` variables."""
    env = dict(os.environ if env is None else env)
    params: dict[str, Any] = {
        "landing_dir": env.get("RESILIENCE_LANDING_DIR", str(SAMPLE_BASE_DIR)),
        "warehouse": str(warehouse_path(env.get("RESILIENCE_WAREHOUSE"))),
        "vintage": env.get("RESILIENCE_VINTAGE") or None,
        "replications": int(env.get("RESILIENCE_REPLICATIONS", "1000")),
        "seed": int(env.get("RESILIENCE_SEED", "12345")),
    }
    if env.get("RESILIENCE_REPORTS_DIR"):
        params["reports_dir"] = env["RESILIENCE_REPORTS_DIR"]
    return params


def serve(cron: str | None = None, limit: int = 1) -> None:
    """Serve ``annual-refresh/annual`` on an annual cron schedule (blocks until interrupted).

    ``limit=1``: this process runs one refresh at a time; a run triggered meanwhile waits in
    the queue instead of being refused by the refresh lock.
    """
    from prefect.types.entrypoint import EntrypointType

    from flows.annual_refresh import annual_refresh

    annual_refresh.serve(
        name=DEPLOYMENT_NAME,
        cron=cron or os.environ.get("RESILIENCE_CRON", DEFAULT_CRON),
        parameters=default_parameters(),
        description="Annual refresh: load landing extracts, rebuild, re-estimate, publish a run, report.",
        tags=["resilience"],
        limit=limit,
        # runs start in a fresh process that imports ``flows.annual_refresh`` by module name,
        # so serving works from any working directory (the package is installed)
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m flows.deployment", description=__doc__.splitlines()[0])
    parser.add_argument("--cron", default=None, help=f"schedule (default $RESILIENCE_CRON or {DEFAULT_CRON!r})")
    args = parser.parse_args(argv)
    serve(cron=args.cron)


if __name__ == "__main__":
    main()
