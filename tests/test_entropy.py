"""The entropy macro (dbt_project/macros/entropy_index.sql): a hand-worked example, an
independent numpy implementation on the synthetic panel, per-year mode and the frozen base."""
from __future__ import annotations

import json
import math

import duckdb
import numpy as np
import pandas as pd
import pytest

from dbt_fixtures import built_fixture_warehouse, panel_warehouse
from dbt_fixtures import dbt_compile_inline

HAND_ROWS = [  # index, dimension, indicator, direction, unit_code, year, value
    ("er", "d1", "a", "positive", 1, 2013, 1.0),
    ("er", "d1", "a", "positive", 2, 2013, 2.0),
    ("er", "d1", "a", "positive", 3, 2013, 4.0),
    ("er", "d2", "b", "negative", 1, 2013, 10.0),
    ("er", "d2", "b", "negative", 2, 2013, 30.0),
    ("er", "d2", "b", "negative", 3, 2013, 20.0),
    ("dt", "d9", "c", "positive", 1, 2013, 5.0),  # another index: must be ignored
]


def _run_macro(tmp_path, rows, extra_vars=None) -> pd.DataFrame:
    warehouse = tmp_path / "hand.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create or replace table main.hand (index varchar, dimension varchar, indicator varchar,"
                    " direction varchar, unit_code integer, year integer, value double)")
        con.executemany("insert into main.hand values (?, ?, ?, ?, ?, ?, ?)", rows)
    sql = dbt_compile_inline(warehouse, "select * from {{ entropy_index('main.hand', 'er') }}", extra_vars)
    with duckdb.connect(str(warehouse)) as con:
        return con.execute(sql).df().sort_values(["indicator", "unit_code", "year"]).reset_index(drop=True)


def test_hand_worked_example(tmp_path):
    out = _run_macro(tmp_path, HAND_ROWS)
    assert set(out.indicator) == {"a", "b"}
    # a (positive): x' = (x - 1)/3 = 0, 1/3, 1; sum 4/3 -> p = 0, 1/4, 3/4
    # b (negative): x' = (30 - x)/20 = 1, 0, 1/2; sum 3/2 -> p = 2/3, 0, 1/3
    assert out.x_std.tolist() == pytest.approx([0, 1 / 3, 1, 1, 0, 0.5], abs=1e-15)
    e_a = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75)) / math.log(3)  # 0 ln 0 = 0
    e_b = -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3)) / math.log(3)
    assert e_a == pytest.approx(0.5118595, abs=1e-7) and e_b == pytest.approx(0.5793802, abs=1e-7)
    w_a = (1 - e_a) / ((1 - e_a) + (1 - e_b))
    assert w_a == pytest.approx(0.5371499, abs=1e-7)
    weights = out.groupby("indicator")[["e_j", "g_j", "w_j", "min_value", "max_value", "n"]].first()
    assert weights.loc["a", "e_j"] == pytest.approx(e_a, abs=1e-14)
    assert weights.loc["b", "e_j"] == pytest.approx(e_b, abs=1e-14)
    assert weights.loc["a", "w_j"] == pytest.approx(w_a, abs=1e-14)
    assert weights.w_j.sum() == pytest.approx(1.0, abs=1e-15)
    assert weights.loc["b", ["min_value", "max_value", "n"]].tolist() == [10.0, 30.0, 3]
    index = out.groupby("unit_code").contribution.sum()
    w_b = 1 - w_a
    assert index.tolist() == pytest.approx([w_b * 1.0, w_a / 3, w_a + 0.5 * w_b], abs=1e-14)


def test_shift_changes_proportions_only(tmp_path):
    out = _run_macro(tmp_path, HAND_ROWS, {"entropy_shift": 0.0001})
    p_a = np.array([0, 1 / 3, 1]) + 1e-4
    p_a /= p_a.sum()
    e_a = -(p_a * np.log(p_a)).sum() / math.log(3)
    assert out.loc[out.indicator == "a", "e_j"].iloc[0] == pytest.approx(e_a, abs=1e-14)
    assert out.x_std.max() <= 1.0  # the index itself is not shifted


def _numpy_entropy(long: pd.DataFrame, scope: str = "pooled", base: tuple[int, int] | None = None):
    """Independent implementation of eqs. 4-10; returns (weights by indicator[, year], index by row)."""
    long = long.copy()
    long["scope"] = "pooled" if scope == "pooled" else long.year.astype(str)
    weights, parts = [], []
    for (_, _), g in long.groupby(["indicator", "scope"]):
        basis = g if base is None else g[g.year.between(*base)]
        lo, hi = basis.value.min(), basis.value.max()
        sign_negative = g.direction.iloc[0] == "negative"
        std = lambda v: ((hi - v) if sign_negative else (v - lo)) / (hi - lo)  # noqa: E731
        xb = std(basis.value.to_numpy())
        p = xb / xb.sum()
        plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0.0)
        e = -plogp.sum() / np.log(len(basis))
        weights.append({"indicator": g.indicator.iloc[0], "scope": g.scope.iloc[0], "e_j": e})
        parts.append(g.assign(x=np.clip(std(g.value.to_numpy()), 0, 1)))
    w = pd.DataFrame(weights)
    w["w_j"] = (1 - w.e_j) / (1 - w.e_j).groupby(w.scope).transform("sum")
    rows = pd.concat(parts).merge(w, on=["indicator", "scope"])
    rows["c"] = rows.w_j * rows.x
    return w, rows.groupby(["unit_code", "year"]).c.sum()


def _tables(warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        long = con.execute("select * from intermediate.int_sub_indicators_long").df()
        weights = con.execute("select * from marts.fct_entropy_weights").df()
        panel = con.execute("select unit_code, year, er, dt from marts.analysis_panel").df()
    return long, weights, panel.set_index(["unit_code", "year"])


def _macro_on(warehouse, index, extra_vars=None) -> pd.DataFrame:
    """The macro's output on a built warehouse's int_sub_indicators_long (no rebuild)."""
    sql = dbt_compile_inline(
        warehouse, f"select * from {{{{ entropy_index(ref('int_sub_indicators_long'), '{index}') }}}}", extra_vars)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).df()


def test_pooled_build_matches_numpy():
    long, weights, panel = _tables(panel_warehouse())
    for index in ("er", "dt"):
        w_np, idx_np = _numpy_entropy(long[long["index"] == index])
        got = weights[weights["index"] == index].set_index("indicator").sort_index()
        exp = w_np.set_index("indicator").sort_index()
        assert len(got) == len(exp) == (15 if index == "er" else 19)
        assert (got.weight_scope == "pooled").all() and got.year.isna().all()
        np.testing.assert_allclose(got.e_j.to_numpy(), exp.e_j.to_numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(got.w_j.to_numpy(), exp.w_j.to_numpy(), rtol=0, atol=1e-12)
        assert got.w_j.sum() == pytest.approx(1.0, abs=1e-12)
        np.testing.assert_allclose(panel[index].sort_index().to_numpy(), idx_np.sort_index().to_numpy(), atol=1e-12)


def test_per_year_mode_matches_numpy():
    warehouse = panel_warehouse()
    long, _, _ = _tables(warehouse)
    for index in ("er", "dt"):
        out = _macro_on(warehouse, index, {"entropy_mode": "per_year"})
        w_np, idx_np = _numpy_entropy(long[long["index"] == index], "per_year")
        got = out.groupby(["indicator", "weight_scope"])[["e_j", "w_j", "n"]].first().sort_index()
        exp = w_np.set_index(["indicator", "scope"]).sort_index()
        assert len(got) == len(exp) == (15 if index == "er" else 19) * long.year.nunique()
        assert (got.n == 30).all()
        np.testing.assert_allclose(got.w_j.to_numpy(), exp.w_j.to_numpy(), atol=1e-12)
        assert got.groupby(level="weight_scope").w_j.sum().to_numpy() == pytest.approx(1.0, abs=1e-12)
        idx = out.groupby(["unit_code", "year"]).contribution.sum().sort_index()
        np.testing.assert_allclose(idx.to_numpy(), idx_np.sort_index().to_numpy(), atol=1e-12)


def test_frozen_base_keeps_indices_when_a_year_is_added():
    """Issue 6 item 5: with entropy_base_years = the base run's years, adding 2022 leaves the
    base years' indices and weights exactly as the base run computed them (pooled default)."""
    base = built_fixture_warehouse(2013, 2021)
    extended = built_fixture_warehouse(2013, 2022, json.dumps({"entropy_base_years": [2013, 2021]}))
    _, w_base, p_base = _tables(base)
    long_ext, w_ext, p_ext = _tables(extended)
    key = ["index", "indicator"]
    merged = w_base.merge(w_ext, on=key, suffixes=("_base", "_ext"))
    assert len(merged) == 34
    for col in ("w_j", "min_value", "max_value", "e_j"):
        np.testing.assert_allclose(merged[f"{col}_base"], merged[f"{col}_ext"], atol=1e-12)
    assert (w_ext.base_first_year == 2013).all() and (w_ext.base_last_year == 2021).all()
    shared = p_base.index
    np.testing.assert_allclose(p_ext.loc[shared, ["er", "dt"]], p_base.loc[shared, ["er", "dt"]], atol=1e-12)
    # 2022 is scored on the base bounds, clipped to [0, 1], matching numpy
    for index in ("er", "dt"):
        _, idx_np = _numpy_entropy(long_ext[long_ext["index"] == index], base=(2013, 2021))
        np.testing.assert_allclose(p_ext[index].sort_index(), idx_np.sort_index(), atol=1e-12)
    assert p_ext.loc[(slice(None), 2022), ["er", "dt"]].stack().between(0, 1).all()
    # whereas recomputing over 2013-2022 (the default) moves the weights
    w_rec = _macro_on(extended, "er").groupby("indicator").w_j.first()
    moved = w_base[w_base["index"] == "er"].set_index("indicator").w_j - w_rec
    assert moved.abs().max() > 1e-6


def test_bad_entropy_vars_are_refused(tmp_path):
    from warehouse.dbt_runner import DbtBuildError

    with pytest.raises(DbtBuildError, match="entropy_mode"):
        _run_macro(tmp_path, HAND_ROWS, {"entropy_mode": "weekly"})
    with pytest.raises(DbtBuildError, match="entropy_base_years needs entropy_mode 'pooled'"):
        _run_macro(tmp_path, HAND_ROWS, {"entropy_mode": "per_year", "entropy_base_years": [2013, 2013]})


@pytest.mark.parametrize("given", ["2013,2021", "[2013, 2021]", [2013, 2021]])
def test_base_years_var_accepts_cli_strings(tmp_path, given):
    """`resilience build --var entropy_base_years=2013,2021` passes a string."""
    duckdb.connect(str(tmp_path / "w.duckdb")).close()
    got = dbt_compile_inline(tmp_path / "w.duckdb", "{{ entropy_base_window() }}", {"entropy_base_years": given})
    assert got.strip() == "[2013, 2021]"
