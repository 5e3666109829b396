"""flows.report.write_report over the fake-run warehouse of tests/results_factory.py."""
from __future__ import annotations

import hashlib
import re
import shutil

import duckdb
import pytest

from results_factory import NEW_RUN, OLD_RUN, SYNTHETIC_VINTAGE, shared_results_warehouse
from warehouse.errors import ResilienceError
from flows.report import FIGURES, write_report
from warehouse.seeds import seed_frame

TABLES = list(seed_frame("report_tables").itertuples(index=False))

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    return shared_results_warehouse(tmp_path_factory)


@pytest.fixture(scope="module")
def latest_report(warehouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("report_latest")
    before = hashlib.sha256(warehouse.read_bytes()).hexdigest()
    # Holding a read-only connection proves the report opens the file read-only too: DuckDB
    # refuses a read-write connection to a file this process already opened read-only.
    with duckdb.connect(str(warehouse), read_only=True):
        paths = write_report(warehouse, out)
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == before
    return out, paths


MAP_NAMES = ["map_dt_2013.png", "map_dt_2022.png", "map_er_2013.png", "map_er_2022.png",
             "map_lisa_dt_2013.png", "map_lisa_dt_2022.png", "map_lisa_er_2013.png", "map_lisa_er_2022.png"]


def test_report_files_and_figures_exist(latest_report):
    out, paths = latest_report
    assert paths[0] == out / "report.md" and paths[1] == out / "report.html"
    figures = paths[2:]
    assert len(figures) == len(FIGURES) + 8 == 12
    for path in figures:
        assert path.exists() and path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 5000
    names = sorted(p.name for p in figures)
    assert names == ["figure1_moran_er_2015.png", "figure2_moran_dt_2015.png",
                     "figure3_moran_er_2020.png", "figure4_moran_dt_2020.png", *MAP_NAMES]


def test_maps_are_choropleths_and_lisa_maps_of_the_first_and_last_year(latest_report):
    out, _ = latest_report
    md = (out / "report.md").read_text(encoding="utf-8")
    maps = re.findall(r"_(Map \d+\. [^_]+)_", md)
    assert len(maps) == 8
    # the fake run's LISA rows span 2013-2022: first and last year, ER and DT, both kinds
    assert "Map 1. ER in 2013 (Fisher-Jenks natural-breaks classes)" in maps
    assert any(m.startswith("Map 8. LISA cluster map of DT in 2022 (adjacency matrix; pseudo p <= 0.05, "
                            "adjustment: none; 999 permutations)") for m in maps)


def test_a_run_without_lisa_rows_says_why_it_has_no_maps(warehouse, tmp_path):
    copy = tmp_path / "nolisa.duckdb"
    shutil.copy(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("delete from results.lisa where run_id = ?", [NEW_RUN])
    paths = write_report(copy, tmp_path / "out")
    assert len(paths) == 2 + len(FIGURES)  # the report, and the Moran figures only
    md = paths[0].read_text(encoding="utf-8")
    assert f"Maps not drawn: run {NEW_RUN} has no LISA results under the adjacency matrix." in md


def test_markdown_has_every_table_run_vintage_and_synthetic_note(latest_report):
    out, _ = latest_report
    md = (out / "report.md").read_text(encoding="utf-8")
    for table in TABLES:
        assert f"## {table.title}" in md
    assert [t.title.split(".")[0] for t in TABLES] == [f"Table {n}" for n in range(3, 11)]
    assert f"| Run id | {NEW_RUN} |" in md
    assert SYNTHETIC_VINTAGE in md
    assert "| Files | 2 files: nbs\\_gdp.csv, cnrds\\_panel.xlsx |" in md  # names (escaped), not the JSON
    assert "SYNTHETIC SAMPLE" in md and "NOT the paper's" in md
    # Stars escaped so Markdown prints them; the SE line below.
    assert "| DT | 0.498\\*\\*\\* |" in md
    assert "|  | (0.025) |" in md
    # The notes say which statistic is printed (Hausman variant, Moran's null, point effects).
    assert "the sigmamore statistic" in md and "plain statistic" in md
    assert "under the randomisation null" in md
    assert "the exact effect at the maximum-likelihood estimates" in md
    # Figures linked relative to the report, and the files are there.
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(links) == 12
    for link in links:
        assert not link.startswith(("/", "http")) and (out / link).exists()


def test_html_is_self_contained_with_tables_and_embedded_figures(latest_report):
    out, _ = latest_report
    page = (out / "report.html").read_text(encoding="utf-8")
    for table in TABLES:
        assert f"<h2>{table.title.replace(chr(39), '&#x27;')}</h2>" in page
    assert NEW_RUN in page and SYNTHETIC_VINTAGE in page
    assert '<div class="synthetic">' in page
    assert "<td>DT</td><td>0.498***</td>" in page
    assert "<td>(0.025)</td>" in page
    assert page.count('src="data:image/png;base64,') == 12
    assert "http://" not in page and "https://" not in page and "<link" not in page
    assert "<script" not in page


def test_no_synthetic_note_for_a_real_vintage(warehouse, tmp_path):
    copy = tmp_path / "real.duckdb"
    shutil.copy(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("update results.runs set vintage = 'NBS yearbook 2023 + CNRDS 2023-06'")
    paths = write_report(copy, tmp_path / "out")
    md, page = (p.read_text(encoding="utf-8") for p in paths[:2])
    assert "NBS yearbook 2023 + CNRDS 2023-06" in md and "NBS yearbook 2023 + CNRDS 2023-06" in page
    assert "SYNTHETIC" not in md and "SYNTHETIC" not in page
    assert 'class="synthetic"' not in page


def test_report_of_a_given_run_is_that_runs_figures_included(warehouse, latest_report, tmp_path):
    paths = write_report(warehouse, tmp_path, run_id=OLD_RUN)
    page = paths[1].read_text(encoding="utf-8")
    assert f"run {OLD_RUN}" in page and "synthetic sample 2013-2021" in page
    assert "<td>DT</td><td>0.450**</td>" in page  # the old run's baseline_pooled dt
    # the figures are drawn from each run's own Moran coordinates, which differ between runs
    latest_figures = latest_report[1][2:]
    for old, new in zip(paths[2:], latest_figures):
        assert old.name == new.name and old.read_bytes() != new.read_bytes()


def test_default_report_folder_is_next_to_the_warehouse_as_the_refresh_writes_it(warehouse, tmp_path):
    copy = tmp_path / "wh" / "warehouse.duckdb"
    copy.parent.mkdir()
    shutil.copy(warehouse, copy)
    paths = write_report(copy)
    assert paths[0] == tmp_path / "wh" / "reports" / NEW_RUN / "report.md"


def test_unknown_run_is_a_clear_error(warehouse, tmp_path):
    with pytest.raises(ResilienceError, match="run 'nope' is not in results.runs"):
        write_report(warehouse, tmp_path, run_id="nope")


def test_no_successful_run_is_a_clear_error(warehouse, tmp_path):
    copy = tmp_path / "none.duckdb"
    shutil.copy(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("update results.runs set status = 'failed'")
    with pytest.raises(ResilienceError, match="no successful run"):
        write_report(copy, tmp_path / "out")
