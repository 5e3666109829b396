"""Serve the deployments ``annual-refresh/annual`` and ``multiverse/on-demand``:
``python -m flows.deployment``.

Registers the deployments with the Prefect server at ``PREFECT_API_URL`` and runs their runs in
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

``multiverse/on-demand`` has no schedule; its defaults: the same warehouse, ``dask_address``
from ``RESILIENCE_DASK_ADDRESS`` (default: a temporary LocalCluster), ``max_specs`` from
``RESILIENCE_MAX_SPECS`` (default: every cell) and the seed; e.g. ``prefect deployment run
'multiverse/on-demand' --param dask_address=tcp://10.0.0.5:8786 --param max_specs=500``.
"""
from __future__ import annotations

import argparse
import os
from typing import Any

from warehouse.paths import SAMPLE_BASE_DIR, warehouse_path

DEPLOYMENT_NAME = "annual"
MULTIVERSE_DEPLOYMENT_NAME = "on-demand"
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


def multiverse_parameters(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The defaults of ``multiverse/on-demand``, read from ``RESILIENCE_*`` variables."""
    env = dict(os.environ if env is None else env)
    return {"warehouse": str(warehouse_path(env.get("RESILIENCE_WAREHOUSE"))),
            "dask_address": env.get("RESILIENCE_DASK_ADDRESS") or None,
            "max_specs": int(env["RESILIENCE_MAX_SPECS"]) if env.get("RESILIENCE_MAX_SPECS") else None,
            "seed": int(env.get("RESILIENCE_SEED", "12345"))}


def deployments(cron: str | None = None) -> list:
    """``annual-refresh/annual`` (annual cron) and ``multiverse/on-demand`` (no schedule)."""
    from prefect.types.entrypoint import EntrypointType

    from flows.annual_refresh import annual_refresh
    from flows.multiverse import multiverse

    # runs start in a fresh process that imports the flow's module by name, so serving works
    # from any working directory (the package is installed)
    return [
        annual_refresh.to_deployment(
            name=DEPLOYMENT_NAME, cron=cron or os.environ.get("RESILIENCE_CRON", DEFAULT_CRON),
            parameters=default_parameters(), tags=["resilience"],
            description="Annual refresh: load landing extracts, rebuild, re-estimate, publish a run, report.",
            entrypoint_type=EntrypointType.MODULE_PATH),
        multiverse.to_deployment(
            name=MULTIVERSE_DEPLOYMENT_NAME, parameters=multiverse_parameters(), tags=["resilience"],
            description="Specification curve around the baseline, fanned out over Dask; published "
                        "as a run of kind multiverse.",
            entrypoint_type=EntrypointType.MODULE_PATH),
    ]


def serve(cron: str | None = None, limit: int = 1) -> None:
    """Serve both deployments (blocks until interrupted).

    ``limit=1``: this process runs one flow run at a time; a run triggered meanwhile waits in
    the queue instead of being refused by the refresh lock (both take it).
    """
    from prefect import serve as serve_deployments

    serve_deployments(*deployments(cron), limit=limit)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m flows.deployment", description=__doc__.splitlines()[0])
    parser.add_argument("--cron", default=None, help=f"schedule (default $RESILIENCE_CRON or {DEFAULT_CRON!r})")
    args = parser.parse_args(argv)
    serve(cron=args.cron)


if __name__ == "__main__":
    main()
