"""Shared test settings: the application's Prefect and dbt defaults (no telemetry, generous
Prefect start-up; set by importing flows), a headless plot backend."""
import os

import flows  # noqa: F401  (sets the defaults before any test imports Prefect)

os.environ.setdefault("MPLBACKEND", "Agg")
