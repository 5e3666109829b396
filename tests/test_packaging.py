"""The package works installed non-editable: a wheel carries the code, the dbt project, the
synthetic sample and the boundary files, and the CLI finds them outside any checkout."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import duckdb

from warehouse.paths import REPO_ROOT


def test_wheel_installed_elsewhere_loads_the_packaged_sample(tmp_path):
    wheel_dir, site, cwd, src = tmp_path / "wheel", tmp_path / "site", tmp_path / "cwd", tmp_path / "src"
    cwd.mkdir()
    # build from a copy of the sources, so that the build leaves nothing in the checkout
    for part in ("warehouse", "estimation", "flows", "synthetic", "dbt_project", "sample", "boundaries"):
        shutil.copytree(REPO_ROOT / part, src / part, ignore=shutil.ignore_patterns("__pycache__", "target", "logs"))
    shutil.copy(REPO_ROOT / "pyproject.toml", src)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "-w", str(wheel_dir), str(src)], capture_output=True, text=True, cwd=tmp_path)
    assert build.returncode == 0, build.stderr[-3000:]
    [wheel] = list(wheel_dir.glob("*.whl"))
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
                              str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-3000:]
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("RESILIENCE_WAREHOUSE", None)
    where = subprocess.run([sys.executable, "-c", "import warehouse.paths as p; print(p.DBT_PROJECT_DIR); "
                            "print(p.SAMPLE_BASE_DIR); print(p.warehouse_path()); "
                            "from warehouse.boundaries import read_boundaries; "
                            "print(read_boundaries('province', [11]).name_zh[0])"],
                           capture_output=True, text=True, env=env, cwd=cwd)
    dbt_dir, sample_dir, warehouse, beijing = where.stdout.split()
    assert beijing == "北京市"  # the packaged boundary file, read outside the checkout
    assert dbt_dir == str(site / "resilience_data" / "dbt_project")
    assert (site / "resilience_data" / "dbt_project" / "dbt_project.yml").is_file()
    assert sample_dir == str(site / "resilience_data" / "sample" / "base")
    assert warehouse == str(cwd / "data" / "warehouse.duckdb")
    load = subprocess.run([sys.executable, "-m", "flows.cli", "load"], capture_output=True, text=True, env=env, cwd=cwd)
    assert load.returncode == 0, load.stderr[-3000:]
    with duckdb.connect(warehouse, read_only=True) as con:
        assert con.execute("select count(distinct indicator_code) from raw.observations").fetchone()[0] == 58
