"""marts.fct_index_variants: the index constructions of the specification curve (seed
multiverse_choices, options with index_vars), built by the ordinary dbt build, against the
independent numpy entropy implementation of test_entropy; a bad seed row stops the build with
its line."""
from __future__ import annotations

import duckdb
import numpy as np
import pytest

from dbt_fixtures import dbt_compile_inline, panel_warehouse
from test_entropy import _numpy_entropy
from warehouse.dbt_runner import DbtBuildError


def test_each_construction_matches_numpy_and_differs_from_the_published_indices():
    with duckdb.connect(str(panel_warehouse()), read_only=True) as con:
        long = con.execute("select * from intermediate.int_sub_indicators_long").df()
        variants = con.execute("select * from marts.fct_index_variants").df()
        panel = con.execute("select unit_code, year, er, dt from marts.analysis_panel").df()
    panel = panel.set_index(["unit_code", "year"]).sort_index()
    expected = {"entropy_per_year": ({"scope": "per_year"}, "per_year", None),
                "entropy_frozen": ({"base": (2013, 2017)}, "pooled", (2013, 2017))}
    assert set(variants["variant"]) == set(expected)
    for variant, (numpy_args, mode, window) in expected.items():
        got = variants[variants["variant"] == variant].set_index(["unit_code", "year"]).sort_index()
        assert got.index.equals(panel.index)
        assert (got["entropy_mode"] == mode).all()
        bounds = got[["base_first_year", "base_last_year"]].drop_duplicates()
        assert len(bounds) == 1
        assert tuple(bounds.iloc[0]) == window if window else bounds.isna().all().all()
        for index in ("er", "dt"):
            _, numpy_index = _numpy_entropy(long[long["index"] == index], **numpy_args)
            np.testing.assert_allclose(got[index].to_numpy(), numpy_index.sort_index().to_numpy(), atol=1e-12)
            assert np.abs(got[index] - panel[index]).max() > 1e-4


def test_a_bad_index_construction_row_names_its_seed_line(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema ref; create table ref.multiverse_choices (dimension varchar, option varchar, "
                    "label varchar, sets varchar, index_vars varchar, models varchar)")
        con.execute("""insert into ref.multiverse_choices values
            ('index', 'entropy_pooled', '', '', '', ''),
            ('index', 'weekly', '', '', '{"entropy_mode": "weekly"}', '')""")
    with pytest.raises(DbtBuildError, match=r"multiverse_choices.csv line 3 \(option weekly\): entropy_mode must be "
                                            r"pooled or per_year"):
        dbt_compile_inline(warehouse, "-- depends_on: {{ ref('multiverse_choices') }}\n{{ multiverse_index_variants() }}")
