"""Weights, Moran's I and the Moran scatter plot (estimation.spatial.weights/moran, flows.plots)."""
from __future__ import annotations

import esda
import libpysal
import numpy as np
import pandas as pd
import pytest

from estimation.errors import SpatialInputError
from estimation.spatial.moran import (global_moran, moran_quadrants, permutation_p_values,
                                      permuted_statistics)
from estimation.spatial.weights import SpatialWeights, eigenvalues, k_nearest, row_standardise
from flows import pipeline
from flows.plots import moran_scatter_of_panel
from synthetic.spatial import province_weights, random_points, simulated_inputs, weights_long


def from_long(frame, codes):
    return SpatialWeights.from_long(frame, i="unit_code_i", j="unit_code_j", codes=codes, name="geographic")

# 4 regions on a line, 1-2-3-4, binary contiguity then row-standardised
LINE = row_standardise(np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]], float))


def closed_form_moran(y: np.ndarray, w: np.ndarray) -> tuple[float, float, float]:
    """Cliff & Ord (1981): I, E[I] = -1/(n-1), Var[I] under normality from S0, S1, S2."""
    n = len(y)
    z = y - y.mean()
    s0 = w.sum()
    s1 = 0.5 * ((w + w.T) ** 2).sum()
    s2 = ((w.sum(axis=0) + w.sum(axis=1)) ** 2).sum()
    moran_i = n / s0 * (z @ w @ z) / (z @ z)
    expected = -1.0 / (n - 1)
    variance = (n**2 * s1 - n * s2 + 3 * s0**2) / ((n**2 - 1) * s0**2) - expected**2
    return moran_i, expected, variance


def test_moran_hand_example():
    y = np.array([1.0, 2.0, 4.0, 7.0])
    # by hand: z = (-2.5, -1.5, 0.5, 3.5), sum z^2 = 21; Wz = (-1.5, -1, 1, 0.5)
    # z'Wz = 3.75 + 1.5 + 0.5 + 1.75 = 7.5, n/S0 = 1, so I = 7.5/21
    sw = SpatialWeights.from_dense(LINE)
    result = global_moran(y, sw, permutations=0)
    assert result["moran_i"] == pytest.approx(7.5 / 21, abs=1e-12)
    _, expected, variance = closed_form_moran(y, LINE)
    assert result["expected_i"] == pytest.approx(-1 / 3, abs=1e-12)
    # S0 = 4, S1 = 0.5*sum((w+w')^2) = 0.5*(2*(1.5^2) + 2*(1.5^2) + 2*(1^2)) = 5.5, S2 = sum (col+row)^2
    # col sums = (0.5, 1.5, 1.5, 0.5) -> S2 = 1.5^2 + 2.5^2 + 2.5^2 + 1.5^2 = 17
    by_hand = (16 * 5.5 - 4 * 17 + 3 * 16) / (15 * 16) - 1 / 9
    assert variance == pytest.approx(by_hand, abs=1e-12)
    assert result["variance_norm"] == pytest.approx(by_hand, abs=1e-12)
    z = (7.5 / 21 + 1 / 3) / np.sqrt(by_hand)
    assert result["z_norm"] == pytest.approx(z, abs=1e-10)


def test_moran_matches_closed_form_on_simulated_provinces():
    panel, weights = simulated_inputs(seed=3)
    codes, w = province_weights()
    sw = from_long(weights[weights.matrix == "geographic"], codes)
    for year in (2013, 2017, 2021):
        y = panel.loc[panel.year == year].sort_values("unit_code")["er"].to_numpy()
        result = global_moran(y, sw, permutations=0)
        moran_i, expected, variance = closed_form_moran(y, w)
        assert result["moran_i"] == pytest.approx(moran_i, abs=1e-12)
        assert result["expected_i"] == pytest.approx(expected, abs=1e-12)
        assert result["variance_norm"] == pytest.approx(variance, rel=1e-10)
        esda_result = esda.Moran(y, libpysal.weights.full2W(w), permutations=0)
        assert result["p_norm"] == pytest.approx(esda_result.p_norm, rel=1e-10)


def test_permutation_p_value_seeded_and_consistent_with_esda():
    rng = np.random.default_rng(0)
    codes, w = province_weights()
    sw = SpatialWeights.from_dense(w, codes)
    y = rng.normal(size=30) + 3 * (w @ rng.normal(size=30))  # mildly clustered
    a = global_moran(y, sw, permutations=999, rng=np.random.default_rng(5))
    b = global_moran(y, sw, permutations=999, rng=np.random.default_rng(5))
    assert a["p_perm"] == b["p_perm"]
    np.random.seed(11)
    esda_p = esda.Moran(y, libpysal.weights.full2W(w), permutations=9999).p_sim
    ours, _ = permutation_p_values(permuted_statistics(y, w, 9999, np.random.default_rng(11)), a["moran_i"])
    # two independent Monte Carlo estimates of the same p: sd <= sqrt(p(1-p)/9999) each
    assert abs(ours - esda_p) < 4 * np.sqrt(2 * esda_p * (1 - esda_p) / 9999) + 1e-3


def test_permutation_p_value_matches_exact_enumeration():
    from itertools import permutations
    y = np.array([1.0, 2.0, 10.0, 11.0])
    observed = global_moran(y, SpatialWeights.from_dense(LINE), permutations=0)["moran_i"]
    z = y - y.mean()
    exact = np.mean([np.dot(z[list(p)], LINE @ z[list(p)]) / (z @ z) >= observed - 1e-12
                     for p in permutations(range(4))])
    assert exact == pytest.approx(2 / 24)  # only the observed order and its mirror image reach I
    folded, greater = permutation_p_values(permuted_statistics(y, LINE, 20000, np.random.default_rng(3)),
                                           observed)
    assert folded == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / 20000))
    # I is in the upper tail, so folding changes nothing here
    assert greater == folded


def test_quadrants_and_slope_equal_moran_i():
    y = np.array([1.0, 2.0, 4.0, 7.0])
    sw = SpatialWeights.from_dense(LINE, codes=[11, 12, 13, 14])
    q = moran_quadrants(y, sw)
    # z sign (-, -, +, +); lag sign (-, -, +, +)
    assert q["quadrant"].tolist() == ["LL", "LL", "HH", "HH"]
    assert q["unit_code"].tolist() == [11, 12, 13, 14]
    slope = np.polyfit(q["z"], q["spatial_lag"], 1)[0]
    assert slope == pytest.approx(7.5 / 21, abs=1e-12)
    y2 = np.array([5.0, 0.0, 5.0, 0.0])
    assert moran_quadrants(y2, sw)["quadrant"].tolist() == ["HL", "LH", "HL", "LH"]


def test_weights_from_long_orders_by_code_and_eigenvalues_are_real():
    codes, w = province_weights()
    long = weights_long(w, codes, "geographic").sample(frac=1.0, random_state=1)
    sw = from_long(long, codes[::-1])
    np.testing.assert_array_equal(sw.codes, codes)
    np.testing.assert_allclose(sw.matrix, w, atol=1e-15)
    np.testing.assert_allclose(sw.eigenvalues, np.sort(np.linalg.eigvals(w).real), atol=1e-10)
    assert np.isrealobj(sw.eigenvalues)
    assert sw.rho_bounds[1] == pytest.approx(1.0)


def test_asymmetric_w_keeps_its_complex_eigenvalues():
    # k nearest neighbours is not similar to a symmetric matrix: complex conjugate pairs
    w = row_standardise(k_nearest(*random_points(40, seed=3), k=4))
    values = eigenvalues(w)
    assert np.iscomplexobj(values) and np.abs(values.imag).max() > 1e-3
    np.testing.assert_allclose(np.sort_complex(values), np.sort_complex(np.linalg.eigvals(w)), atol=1e-10)
    sw = SpatialWeights.from_dense(w)
    real = values[np.abs(values.imag) < 1e-10].real
    assert real.min() < 0 and sw.rho_bounds == pytest.approx((1 / real.min(), 1.0))


@pytest.mark.parametrize("mutate, message", [
    (lambda f: f[f.unit_code_i != 13], "unit 13 has no neighbours"),
    (lambda f: f.assign(weight=f.weight * 1.1), "not row-standardised"),
    (lambda f: pd.concat([f, f.iloc[[0]]]), "duplicate pair"),
    (lambda f: f.assign(weight=np.where(f.index == 4, -0.1, f.weight)), "not a finite non-negative"),
])
def test_weights_from_long_rejects_bad_input(mutate, message):
    codes, w = province_weights()
    long = weights_long(w, codes, "geographic")
    with pytest.raises(SpatialInputError, match=message):
        from_long(mutate(long), codes)
    with pytest.raises(SpatialInputError, match="units not in the panel"):
        from_long(long, codes[:-1])


def test_moran_scatter_writes_png(tmp_path):
    panel, long = simulated_inputs(seed=2)
    inputs = pipeline.EstimationInputs(panel, pipeline.weights_by_name(long, panel.unit_code.unique()), [], [])
    path = moran_scatter_of_panel(inputs, "er", 2015, "geographic", tmp_path / "fig" / "er_2015.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    with pytest.raises(SpatialInputError, match="no rows for year 1990"):
        moran_scatter_of_panel(inputs, "er", 1990, "geographic", tmp_path / "x.png")
    with pytest.raises(SpatialInputError, match="no weights matrix 'contiguity'"):
        moran_scatter_of_panel(inputs, "er", 2015, "contiguity", tmp_path / "x.png")


def test_cli_moran_plot_reads_the_marts_and_writes_the_requested_png(tmp_path, capsys):
    from flows.cli import main
    from marts_factory import write_marts

    warehouse = tmp_path / "wh.duckdb"
    write_marts(warehouse, *simulated_inputs(seed=2))
    out = tmp_path / "er_2016_geo.png"
    assert main(["moran-plot", "-w", str(warehouse), "--year", "2016", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["moran-plot", "-w", str(warehouse), "--year", "1990", "--out", str(out)]) == 1
    assert "no rows for year 1990" in capsys.readouterr().err
