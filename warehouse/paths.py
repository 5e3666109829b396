"""Where things live: the repository's folders and the warehouse file.

The warehouse path is resolved the same way everywhere (the CLI, dbt's profiles.yml and
the Prefect flow): ``--warehouse`` option, else ``$RESILIENCE_WAREHOUSE``, else
``<repo>/data/warehouse.duckdb``.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
SAMPLE_DIR = REPO_ROOT / "sample"
SAMPLE_BASE_DIR = SAMPLE_DIR / "base"  # synthetic 2013-2021 extracts (+ 1984 telephones)
SAMPLE_NEXT_VINTAGE_DIR = SAMPLE_DIR / "vintage_2022"  # synthetic next yearbook
DEFAULT_WAREHOUSE = REPO_ROOT / "data" / "warehouse.duckdb"
WAREHOUSE_ENV = "RESILIENCE_WAREHOUSE"


def reports_root(warehouse: Path) -> Path:
    """Where reports go: ``reports/`` next to the warehouse file (``reports/<run_id>``, and
    ``reports/latest`` pointing at the latest refresh's)."""
    return Path(warehouse).parent / "reports"


def warehouse_path(explicit: str | os.PathLike | None = None) -> Path:
    """The warehouse file: the explicit argument, else $RESILIENCE_WAREHOUSE, else the default."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(WAREHOUSE_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return DEFAULT_WAREHOUSE
