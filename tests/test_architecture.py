"""The structure the code relies on: layers that point one way, a specification added as one
row of the seed reaches results.* and its paper table, and the estimation library used alone."""
from __future__ import annotations

import ast
import runpy
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pytest

from warehouse.paths import DBT_PROJECT_DIR, REPO_ROOT

# package -> packages it must not import (docs/DESIGN.md "Shape": data flows one way)
FORBIDDEN = {"warehouse": {"estimation", "flows", "synthetic"},
             "estimation": {"warehouse", "flows", "synthetic"},
             "synthetic": {"flows"}}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_point_one_way(package):
    offenders = {str(p.relative_to(REPO_ROOT)): sorted(imported_packages(p) & FORBIDDEN[package])
                 for p in (REPO_ROOT / package).rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_knn_sdm_example_uses_only_estimation_and_recovers_the_planted_model():
    example = REPO_ROOT / "docs" / "examples" / "sdm_knn.py"
    assert imported_packages(example) <= {"__future__", "numpy", "pandas", "estimation"}
    out = runpy.run_path(str(example))
    fitted = out["main"]()
    result, weights = fitted["result"], fitted["weights"]
    assert np.iscomplexobj(weights.eigenvalues)          # the asymmetric W the example is about
    truth = np.r_[out["BETA"], out["THETA"], out["RHO"]]
    z = (result.params.to_numpy() - truth) / result.std_errors.to_numpy()
    assert np.all(np.abs(z) < 3.5), z
    effects = fitted["effects"].set_index(["term", "effect"])["estimate"]
    for term in ("x1", "x2"):
        assert effects[(term, "total")] == pytest.approx(effects[(term, "direct")] + effects[(term, "indirect")])


def test_a_spec_added_as_one_seed_row_reaches_results_and_its_paper_table(tmp_path):
    from dbt_fixtures import built_sample_warehouse
    from flows.pipeline import estimate_and_publish
    from warehouse.dbt_runner import dbt_build

    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    with open(project / "seeds" / "specs.csv", "a", encoding="utf-8") as fh:
        fh.write("excl_2020,ols,er,dt,all,unit time,year != 2020,cluster_unit_stata,,,,,,,,,,"
                 'table5,excl_2020,6,"(6) ER, without 2020",model,\n')
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built_sample_warehouse(), warehouse)
    dbt_build(warehouse, select="resource_type:seed path:models/marts/results", project_dir=project)
    run_id = estimate_and_publish(warehouse, replications=20, seed=1)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        nobs, estimate, p_value = con.execute(
            "select nobs, estimate, p_value from results.coefficients "
            "where run_id = ? and spec_id = 'excl_2020' and term = 'dt'", [run_id]).fetchone()
        header = con.execute("select header from marts.dim_report_columns where column_key = 'excl_2020'").fetchone()
        cell = con.execute("select excl_2020 from marts.rpt_table5_robustness "
                           "where run_id = ? and row_key = 'dt' and line = 'estimate'", [run_id]).fetchone()
    assert nobs == 30 * 8                                  # 2013-2021 without 2020
    stars = "***" if p_value < 0.01 else "**" if p_value < 0.05 else "*" if p_value < 0.1 else ""
    assert header == ("(6) ER, without 2020",) and cell == (f"{estimate:.3f}{stars}",)
