"""Import the dbt Python models' plain functions (they live as files under dbt_project/models,
not in a package) so pytest can call their numerical cores directly."""
from __future__ import annotations

import importlib.util
from pathlib import Path

MODELS = Path(__file__).resolve().parents[1] / "dbt_project" / "models" / "intermediate"


def load_model_module(name: str):
    spec = importlib.util.spec_from_file_location(f"dbt_model_{name}", MODELS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
