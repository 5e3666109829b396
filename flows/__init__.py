"""The application: the ``resilience`` CLI, the wiring of estimation to the warehouse, the Prefect
flows and deployments, and the report.

Prefect's defaults for this application are set here, before Prefect is imported anywhere in
it (a user's own environment still wins): no telemetry heartbeat to Prefect's servers (the
machine may have no internet, and the heartbeat then logs an ERROR with two tracebacks while
nothing is wrong), and time for a server to start on a small machine. dbt gets the same
treatment.
"""
import os

for _key, _value in {"PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                     "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
                     "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}.items():
    os.environ.setdefault(_key, _value)
