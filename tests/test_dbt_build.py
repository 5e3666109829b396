"""The dbt project end to end: the bundled sample builds and passes every dbt test, the
analysis panel honours its contract, gaps are imputed or reported by name, docs generate."""
from __future__ import annotations

import json

import duckdb
import numpy as np
import pytest

from dbt_fixtures import built_sample_warehouse, sample_available, synthetic_observations, write_raw
from dbt_fixtures import dbt_docs_generate
from warehouse.dbt_runner import DbtBuildError, dbt_build
from warehouse.seeds import seed_rows

CONTRACT_COLUMNS = [
    "unit_code", "unit_name", "unit_level", "province_code", "province", "year", "region",
    "is_municipality", "market_group", "er", "dt",
    "er_pca", "dt_pca", "isu", "rm", "cu", "inf", "medical", "ec", "open", "tax", "culture", "iv",
]
TABLE3 = ["ER", "DT", "IS", "RM", "CU", "MEDICAL", "EC", "OPEN", "TAX", "CULTURE"]

needs_sample = pytest.mark.skipif(not sample_available(), reason="loader or sample/base not present yet")


@needs_sample
def test_sample_builds_into_the_contracted_panel():
    with duckdb.connect(str(built_sample_warehouse()), read_only=True) as con:
        years = [r[0] for r in con.execute(
            "select distinct year from raw.observations where indicator_code <> 'fixed_telephones_1984' "
            "order by year").fetchall()]
        panel = con.execute("select * from marts.analysis_panel order by province_code, year").df()
        stats = con.execute("select * from marts.rpt_descriptive_stats order by row_order").df()
        weights = con.execute("select * from marts.spatial_weights").df()
    assert list(panel.columns) == CONTRACT_COLUMNS
    assert years == list(range(years[0], years[-1] + 1))
    assert len(panel) == 30 * len(years) == 270          # 2013-2021 in the base sample
    assert 54 not in set(panel.province_code)            # Tibet is outside the study sample
    first = panel.year == years[0]
    assert panel.loc[first, "iv"].isna().all() and panel.loc[~first, "iv"].notna().all()
    assert panel.drop(columns="iv").notna().all().all()
    assert (panel.groupby("market_group").size() == 15 * len(years)).all()
    assert panel[["er", "dt"]].stack().between(0, 1).all()
    assert stats.variable.tolist()[:10] == TABLE3
    assert (stats.set_index("variable").loc[TABLE3, "n"] == len(panel)).all()
    er = stats.set_index("variable").loc["ER"]
    assert er["mean"] == pytest.approx(panel.er.mean(), abs=1e-12)
    assert er["sd"] == pytest.approx(panel.er.std(ddof=1), abs=1e-12)
    assert (panel.unit_code == panel.province_code).all() and (panel.unit_level == "province").all()
    assert (weights.matrix != "adjacency").sum() == 2 * 30 * 29   # non-zero weights only
    assert (weights.matrix == "adjacency").sum() == 2 * 65   # 64 land borders + Hainan-Guangdong
    sums = weights.groupby(["matrix", "unit_code_i"]).weight.sum()
    np.testing.assert_allclose(sums, 1.0, atol=1e-12)
    assert not (weights.unit_code_i == weights.unit_code_j).any() and (weights.weight > 0).all()


@needs_sample
def test_geographic_weights_are_inverse_haversine_distances():
    with duckdb.connect(str(built_sample_warehouse()), read_only=True) as con:
        w = con.execute("select unit_code_i, unit_code_j, weight from marts.spatial_weights "
                        "where matrix = 'geographic'").df()
        caps = con.execute("select province_code, capital_lat, capital_lon from ref.provinces "
                           "where in_study_sample order by province_code").df()
    lat, lon = np.radians(caps.capital_lat.to_numpy()), np.radians(caps.capital_lon.to_numpy())
    a = (np.sin((lat[:, None] - lat[None, :]) / 2) ** 2
         + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin((lon[:, None] - lon[None, :]) / 2) ** 2)
    d = 2 * 6371.0 * np.arcsin(np.sqrt(a))
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
    expected = inv / inv.sum(axis=1, keepdims=True)
    got = w.pivot(index="unit_code_i", columns="unit_code_j", values="weight").fillna(0.0).to_numpy()
    np.testing.assert_allclose(got, expected, atol=1e-12)


@needs_sample
def test_docs_generate(tmp_path):
    site = dbt_docs_generate(built_sample_warehouse(), tmp_path / "docs")
    catalog = json.loads((site / "catalog.json").read_text())
    manifest = json.loads((site / "manifest.json").read_text())
    assert "model.resilience.analysis_panel" in catalog["nodes"]
    assert (site / "index.html").stat().st_size > 0
    # every model of ours (the results marts are another module's) and every column it has
    # in the warehouse is described in YAML; the one-column-per-series int_series_wide is
    # described by the dictionary seed (name, unit) instead of a copy of it
    series = {r["code"] for r in seed_rows("indicators")}
    undocumented, checked = [], 0
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] != "model" or "/results/" in node["original_file_path"]:
            continue
        if not node["description"].strip():
            undocumented.append(uid)
        documented = {c for c, meta in node["columns"].items() if meta["description"].strip()}
        actual = {c.lower() for c in catalog["nodes"][uid]["columns"]}
        if node["name"] == "int_series_wide":
            actual -= series
        undocumented += [f"{uid}.{c}" for c in sorted(actual - documented)]
        checked += len(actual)
    assert checked > 200 and not undocumented


def test_gaps_are_interpolated_and_excess_gaps_named(tmp_path):
    warehouse = tmp_path / "gaps.duckdb"
    frame = synthetic_observations()
    frame = frame[~((frame.indicator_code == "gdp") & (frame.unit_code == 13))]  # Hebei: no GDP at all
    drop = [("deposits", 32, 2015),                                                # Jiangsu: one inner gap
            ("deposits", 32, 2021),                                                # ... and the last year
            ("unemployment_rate", 14, 2014), ("unemployment_rate", 14, 2016),     # Shanxi: 3 gaps > 2
            ("unemployment_rate", 14, 2018),
            ("fdi", 33, 2020), ("fdi", 33, 2021),                                  # Zhejiang: 2-year end gap
            ("fdi", 54, 2014), ("fdi", 54, 2015), ("fdi", 54, 2016)]              # Tibet: outside the sample
    write_raw(warehouse, frame.reset_index(drop=True), drop_cells=drop)
    with pytest.raises(DbtBuildError) as info:
        dbt_build(warehouse, select="+assert_panel_series_complete")
    message = str(info.value)
    assert "assert_panel_series_complete" in message
    assert "series gdp is missing for the whole unit Hebei" in message
    assert "series unemployment_rate has 3 missing years for Shanxi (threshold 2)" in message
    assert "series fdi for Zhejiang has end gaps longer than one year: 2021" in message
    assert "Tibet" not in message and "Jiangsu" not in message
    with duckdb.connect(str(warehouse), read_only=True) as con:
        jiangsu = con.execute("select year, value, observed_value, is_imputed, imputation "
                              "from intermediate.int_panel_series where indicator_code = 'deposits' "
                              "and unit_code = 32 order by year").df().set_index("year")
    original = synthetic_observations().query("indicator_code == 'deposits' and unit_code == 32").set_index("year").value
    assert jiangsu.loc[2015, "value"] == pytest.approx((original[2014] + original[2016]) / 2, rel=1e-12)
    assert jiangsu.loc[2021, "value"] == pytest.approx(original[2020], rel=1e-12)
    assert jiangsu.loc[[2015, 2021], "imputation"].tolist() == ["interpolated", "carried_forward"]
    assert jiangsu.is_imputed.sum() == 2 and jiangsu.loc[2016, "imputation"] == "observed"
