"""raw.observations for developing and testing the dbt project without the loader: the
complete (hole-free) series of the synthetic sample's data-generating process
(``synthetic.sample.simulate``), 31 provinces, the chosen years plus the 1984 telephone
cross-section. The table layout is the loader's contract (docs/CONTRACTS.md, schema ``raw``).
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from synthetic.dgp import SampleSpec, simulate
from warehouse.schema import ensure_raw_schema
from warehouse.seeds import seed_rows


def synthetic_observations(years=range(2013, 2022), seed: int = 7) -> pd.DataFrame:
    """Long frame (indicator_code, unit_code, year, value) of every dictionary series,
    every cell present, in the dictionary's canonical units."""
    years = list(years)
    sim = simulate(SampleSpec(seed=seed, first_year=years[0], last_year=years[-1]))
    codes = sim.units["unit_code"].to_numpy()
    keep = np.isin(sim.years, years)
    frames = [pd.DataFrame({"indicator_code": code, "unit_code": np.repeat(codes, keep.sum()),
                            "year": np.tile(sim.years[keep], len(codes)),
                            "value": values[:, keep].astype(float).ravel()})
              for code, values in sorted(sim.values.items())]
    frames.append(pd.DataFrame({"indicator_code": "fixed_telephones_1984", "unit_code": codes,
                                "year": 1984, "value": sim.telephones_1984}))
    return pd.concat(frames, ignore_index=True)


def write_raw(warehouse: Path, frame: pd.DataFrame | None = None, drop_cells=()) -> pd.DataFrame:
    """Create ``raw.observations`` in ``warehouse`` and fill it with ``frame`` (default: the
    synthetic frame). ``drop_cells``: (indicator_code, unit_code, year) tuples whose value
    is set to NULL, as the loader does for a missing cell."""
    frame = synthetic_observations() if frame is None else frame.copy()
    units = {r["code"]: r["unit"] for r in seed_rows("indicators")}
    for ind, prov, yr in drop_cells:
        mask = (frame.indicator_code == ind) & (frame.unit_code == prov) & (frame.year == yr)
        frame.loc[mask, "value"] = np.nan
    frame["unit"] = frame.indicator_code.map(units)
    frame["reported_value"] = frame["value"]
    frame["reported_unit"] = frame["unit"]
    frame["source_file"] = "fixture"
    frame["source_line"] = 0
    frame["vintage"] = "dbt-fixture (synthetic)"
    frame["loaded_at"] = pd.Timestamp("2026-01-01")
    with duckdb.connect(str(warehouse)) as con:
        ensure_raw_schema(con)  # the loader's tables
        con.execute("delete from raw.observations")
        con.register("_f", frame)
        con.execute("insert into raw.observations by name select indicator_code, unit_code, year, value, unit, "
                    "reported_value, reported_unit, source_file, source_line, vintage, loaded_at from _f")
    return frame


# --- built warehouses shared by the dbt test modules (built once per test session) -------
import atexit  # noqa: E402
import functools  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
_BUILD_ROOT = Path(tempfile.mkdtemp(prefix="resilience-dbt-tests-"))
atexit.register(shutil.rmtree, _BUILD_ROOT, ignore_errors=True)  # the shared builds live for the session


def built_fixture_warehouse(first_year: int = 2013, last_year: int = 2021,
                            vars_json: str | None = None) -> Path:
    """A warehouse with the synthetic raw.observations of ``first_year..last_year`` (the same
    random draws for the shared years) built by dbt with the given vars (JSON string, for
    caching). Read-only use, please: tests that change the data build their own."""
    return _built_fixture_warehouse(first_year, last_year, vars_json)


@functools.cache  # one build per distinct (years, vars), however the caller spells the args
def _built_fixture_warehouse(first_year: int, last_year: int, vars_json: str | None) -> Path:
    import json

    from warehouse.dbt_runner import dbt_build

    name = f"fx_{first_year}_{last_year}_{abs(hash(vars_json)) if vars_json else 'default'}.duckdb"
    path = _BUILD_ROOT / name
    frame = synthetic_observations(years=range(2013, 2023))
    keep = (frame.year == 1984) | frame.year.between(first_year, last_year)
    write_raw(path, frame[keep].reset_index(drop=True))
    dbt_build(path, extra_vars=json.loads(vars_json) if vars_json else None)
    return path


def sample_available() -> bool:
    """True once the loader and the bundled synthetic sample have landed."""
    return (REPO / "warehouse" / "loader.py").exists() and (REPO / "sample" / "base").is_dir()


@functools.cache
def built_sample_warehouse() -> Path:
    """sample/base loaded by warehouse.loader and built by dbt (needs sample_available())."""
    from warehouse.dbt_runner import dbt_build
    from warehouse.loader import load_landing

    path = _BUILD_ROOT / "sample_base.duckdb"
    load_landing(REPO / "sample" / "base", path)
    dbt_build(path)
    return path


def panel_warehouse() -> Path:
    """The built bundled sample when it is present, else the built synthetic fixture."""
    return built_sample_warehouse() if sample_available() else built_fixture_warehouse()


# --- dbt commands only the tests use ------------------------------------------------------

def dbt_docs_generate(warehouse: Path, target_dir: Path) -> Path:
    """``dbt docs generate`` on a built ``warehouse``; the static site (index.html,
    manifest.json, catalog.json) is copied to ``target_dir``."""
    from warehouse.dbt_runner import DbtBuildError, run_dbt, workspace

    with workspace(warehouse) as work:
        code, output = run_dbt(["docs", "generate"], Path(warehouse).resolve(), work)
        if code != 0:
            raise DbtBuildError("docs generate", output[-10:])
        target_dir.mkdir(parents=True, exist_ok=True)
        for name in ("index.html", "manifest.json", "catalog.json"):
            shutil.copy2(work / "target" / name, target_dir / name)
    return target_dir


def dbt_compile_inline(warehouse: Path, sql: str, extra_vars: dict | None = None) -> str:
    """The SQL an inline dbt snippet (Jinja, macros, ``ref``) compiles to against
    ``warehouse``, e.g. ``select * from {{ entropy_index('main.t', 'er') }}``: runs the
    project's macros on small hand-made tables. ``extra_vars`` go to dbt unvalidated, so that
    tests can show what the macros themselves refuse."""
    import json

    from warehouse.dbt_runner import DbtBuildError, run_dbt, workspace

    with workspace(warehouse) as work:
        code, output = run_dbt(["compile", "--quiet", "--output", "json", "--inline", sql],
                               Path(warehouse).resolve(), work, extra_vars=extra_vars)
        start = next((i for i, line in enumerate(output) if line.startswith("{")), None)
        if code != 0 or start is None:
            raise DbtBuildError("compile", output[-10:])
        return json.loads("\n".join(output[start:]))["compiled"]
