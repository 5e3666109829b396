"""Maps (flows.maps, `resilience map`): class bounds by hand, GeoDa's cluster colours on the
drawn map, the command on a built warehouse (read-only), and its one-line errors."""
from __future__ import annotations

import hashlib

import duckdb
import mapclassify
import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from dbt_fixtures import panel_warehouse
from flows.cli import main
from flows.maps import LISA_CATEGORIES, MapError, choropleth, class_labels, lisa_map
from warehouse.boundaries import read_boundaries

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def shapes():
    frame = read_boundaries("province")
    frame = frame[~frame.unit_code.isin((54, 71, 81, 82))].reset_index(drop=True)
    return frame.assign(unit_name=frame.unit_code.astype(str), unit_level="province")


def pixels_of(path, hex_colour: str) -> int:
    image = (matplotlib.image.imread(path)[..., :3] * 255).round().astype(int)
    rgb = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
    return int((image == rgb).all(axis=2).sum())


def test_class_labels_give_every_class_its_bounds_and_count():
    values = np.arange(1.0, 11.0)
    classes = mapclassify.EqualInterval(values, k=2)             # bins 5.5 and 10
    assert class_labels(classes, values) == ["[1.000, 5.500] (5)", "(5.500, 10.000] (5)"]
    quantiles = mapclassify.Quantiles(values, k=4)
    assert class_labels(quantiles, values, decimals=2) == [
        "[1.00, 3.25] (3)", "(3.25, 5.50] (2)", "(5.50, 7.75] (2)", "(7.75, 10.00] (3)"]


def test_lisa_map_colours_significant_clusters_as_geoda_does(shapes, tmp_path):
    lisa = pd.DataFrame({"unit_code": shapes.unit_code, "quadrant": "LL", "significant": False})
    lisa.loc[lisa.unit_code == 65, ["quadrant", "significant"]] = ["HH", True]   # Xinjiang: HH
    lisa.loc[lisa.unit_code == 15, ["quadrant", "significant"]] = ["HL", False]  # not significant
    path = lisa_map(shapes, lisa, variable="er", year=2021, matrix="adjacency", alpha=0.05,
                    adjustment="none", permutations=999, path=tmp_path / "lisa.png")
    assert LISA_CATEGORIES["HH"][1] == "#ff0000"                    # GeoDa: High-High (255, 0, 0)
    assert pixels_of(path, "#ff0000") > 5000                        # Xinjiang is big and red
    assert pixels_of(path, LISA_CATEGORIES["HL"][1]) < 300          # only the legend swatch
    assert pixels_of(path, LISA_CATEGORIES["not significant"][1]) > 20000
    lisa["significant"] = False
    none = lisa_map(shapes, lisa, variable="er", year=2021, matrix="adjacency", alpha=0.05,
                    adjustment="none", permutations=999, path=tmp_path / "none.png")
    assert pixels_of(none, "#ff0000") < 300


def test_choropleth_refuses_a_unit_without_boundary_or_value(shapes, tmp_path):
    values = pd.Series(np.linspace(0, 1, len(shapes)), index=shapes.unit_code)
    with pytest.raises(MapError, match="have no boundary: \\[99\\]"):
        choropleth(shapes, pd.concat([values, pd.Series([0.5], index=[99])]), variable="er", year=2021,
                   path=tmp_path / "x.png")
    with pytest.raises(MapError, match="no value for unit"):
        choropleth(shapes, values.where(values.index != 11), variable="er", year=2021, path=tmp_path / "x.png")


def test_resilience_map_writes_both_kinds_from_the_warehouse_read_only(tmp_path, capsys):
    warehouse = panel_warehouse()
    before = hashlib.sha256(warehouse.read_bytes()).hexdigest()
    with duckdb.connect(str(warehouse), read_only=True) as con:      # readers may hold it meanwhile
        year = con.execute("select max(year) from marts.analysis_panel").fetchone()[0]
        for kind in ("choropleth", "lisa"):
            out = tmp_path / f"{kind}.png"
            assert main(["map", "--variable", "er", "--year", str(year), "--kind", kind, "--out", str(out),
                         "--warehouse", str(warehouse)]) == 0
            assert out.read_bytes()[:8] == PNG_MAGIC and out.stat().st_size > 20000
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == before
    assert main(["map", "--variable", "er", "--year", "1999", "--warehouse", str(warehouse)]) == 1
    assert "error: marts.analysis_panel: no rows for year 1999" in capsys.readouterr().err
    assert main(["map", "--variable", "er", "--year", str(year), "--kind", "lisa", "--matrix", "nope",
                 "--warehouse", str(warehouse)]) == 1
    assert "no weights matrix 'nope'" in capsys.readouterr().err


def test_fisher_jenks_of_many_units_is_deterministic_and_finds_the_natural_break():
    from flows.maps import EXACT_JENKS_MAX, classify

    rng = np.random.default_rng(4)
    y = np.concatenate([rng.normal(0, 0.1, 700), rng.normal(10, 0.1, 700)])   # two clear groups
    assert len(y) > EXACT_JENKS_MAX
    first, method = classify(y, "fisher_jenks", 2)
    again, _ = classify(y, "fisher_jenks", 2)
    assert y[:700].max() <= first.bins[0] < y[700:].min()      # a class's bin is its upper bound
    assert list(first.counts) == [700, 700]
    np.testing.assert_array_equal(first.bins, again.bins)
    assert method == f"Fisher-Jenks classes of {EXACT_JENKS_MAX} evenly spaced quantiles"
    few = y[::5]                                                      # 280 values: the exact algorithm
    exact, label = classify(few, "fisher_jenks", 2)
    assert label == "Fisher-Jenks classes" and list(exact.counts) == [140, 140]
