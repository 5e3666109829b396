"""The one reader of the dbt seeds (``dbt_project/seeds/*.csv``) on the Python side.

The seeds are the shared reference data of the loader, the dbt project, the synthetic sample
and the tests: provinces, the indicator dictionary, unit conversions, the sub-indicators of
Tables 1-2, the analysis variables and the specifications. dbt loads them into schema ``ref``;
Python code that runs before or without a warehouse reads the files through this module, as
text (no type guessing), exactly as dbt sees them.
"""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import pandas as pd

from warehouse.paths import SEEDS_DIR


@lru_cache(maxsize=32)
def _read(path: Path) -> tuple[dict[str, str], ...]:
    with open(path, encoding="utf-8", newline="") as fh:
        return tuple(csv.DictReader(fh))


def seed_rows(name: str, seeds_dir: Path = SEEDS_DIR) -> list[dict[str, str]]:
    """The rows of seed ``name`` (``"provinces"`` or ``"provinces.csv"``) as dicts of text."""
    file = name if name.endswith(".csv") else f"{name}.csv"
    return [dict(r) for r in _read(Path(seeds_dir) / file)]


def seed_frame(name: str, seeds_dir: Path = SEEDS_DIR) -> pd.DataFrame:
    """Seed ``name`` as a DataFrame of strings (empty cells are empty strings)."""
    rows = seed_rows(name, seeds_dir)
    return pd.DataFrame(rows, dtype=str) if rows else pd.DataFrame()
