"""Local Moran's I (estimation.spatial.lisa): the statistic by hand, esda's inference exactly,
a planted hot spot found, the multiple-testing cut-offs worked out by hand, no side effects."""
from __future__ import annotations

import esda
import libpysal
import numpy as np
import pandas as pd
import pytest

from estimation.errors import SpecError
from estimation.spatial.lisa import esda_seed, fit_lisa, local_moran, significance_cutoff
from estimation.spatial.weights import SpatialWeights, row_standardise
from estimation.specs import Spec
from estimation.suite import estimate_specs


def lattice(rows: int, cols: int) -> SpatialWeights:
    """Rook contiguity of a rows x cols grid, row-standardised, units numbered row by row."""
    c = np.zeros((rows * cols, rows * cols))
    for r in range(rows):
        for k in range(cols):
            i = r * cols + k
            for dr, dk in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                if 0 <= r + dr < rows and 0 <= k + dk < cols:
                    c[i, (r + dr) * cols + k + dk] = 1.0
    return SpatialWeights.from_dense(row_standardise(c), codes=np.arange(100, 100 + rows * cols), name="rook")


def test_local_moran_is_the_textbook_statistic():
    sw = lattice(5, 6)
    y = np.random.default_rng(3).normal(size=sw.n)
    out = local_moran(y, sw, permutations=99, seed=1)
    z = (y - y.mean()) / y.std()
    lag = sw.matrix @ z
    np.testing.assert_allclose(out["ii"], (sw.n - 1) * z * lag / (z @ z), rtol=1e-12)
    np.testing.assert_allclose(out["z"], z, rtol=1e-12)
    np.testing.assert_allclose(out["spatial_lag"], lag, rtol=1e-12)
    expected = np.where(z > 0, np.where(lag > 0, "HH", "HL"), np.where(lag > 0, "LH", "LL"))
    assert out["quadrant"].tolist() == expected.tolist()
    assert out["unit_code"].tolist() == list(sw.codes)


def test_fit_lisa_reproduces_esda_with_the_period_seeds():
    sw = lattice(6, 6)
    rng = np.random.default_rng(11)
    panel = pd.DataFrame([(code, t, rng.normal() + (code % 6 < 3) * t) for t in (2020, 2021)
                          for code in sw.codes[::-1]], columns=["region", "t", "y"])  # any order, any names
    spec = Spec(spec_id="lisa_y", estimator="lisa", dependent="y", weights="rook")
    result = fit_lisa(panel, spec, sw, unit="region", time="t", permutations=499, seed=42)
    rows = result.tidy()["lisa"]
    w = libpysal.weights.lat2W(6, 6, rook=True, id_type="int")
    for t, part in rows.groupby("year"):
        y = panel[panel.t == t].set_index("region").loc[sw.codes, "y"].to_numpy()
        reference = esda.Moran_Local(y, w, transformation="r", permutations=499, seed=esda_seed(42, t))
        np.testing.assert_allclose(part["ii"], reference.Is, rtol=1e-12)
        np.testing.assert_array_equal(part["p"], reference.p_sim)
        np.testing.assert_allclose(part["ii_z"], reference.z_sim, rtol=1e-9)
        assert part["significant"].tolist() == (reference.p_sim <= 0.05).tolist()
    assert set(rows.columns) >= {"spec_id", "matrix", "variable", "year", "unit_code", "ii", "z", "p",
                                 "quadrant", "significant", "alpha", "adjustment", "permutations"}
    assert result.nobs == 72 and result.params.index[0] == "2020:100"


def test_a_planted_hot_spot_is_a_significant_high_high_cluster():
    sw = lattice(10, 10)
    rng = np.random.default_rng(5)
    y = rng.normal(size=100)
    block = [r * 10 + k for r in (1, 2, 3) for k in (1, 2, 3)]
    y[block] += 4.0
    out = local_moran(y, sw, permutations=999, seed=7).set_index("unit_code")
    centre = sw.codes[2 * 10 + 2]
    assert out.loc[centre, "quadrant"] == "HH"
    assert out.loc[centre, "p"] <= 0.01 and out.loc[centre, "significant"]
    # away from the block, hardly anything is flagged (about alpha of the units by chance)
    far = [sw.codes[r * 10 + k] for r in range(6, 10) for k in range(5, 10)]
    assert out.loc[far, "significant"].mean() <= 0.2


def test_multiple_testing_cutoffs_by_hand():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.060, 0.074, 0.205, 0.212, 0.216])
    assert significance_cutoff(p, 0.05, "none") == 0.05
    assert significance_cutoff(p, 0.05, "bonferroni") == pytest.approx(0.005)
    # Benjamini-Hochberg: the largest k with p_(k) < k 0.05 / 10 is k = 2 (0.008 < 0.010; 0.039 > 0.015)
    assert significance_cutoff(p, 0.05, "fdr") == pytest.approx(0.010)
    sw = lattice(4, 4)
    y = np.random.default_rng(2).normal(size=16)
    flagged = local_moran(y, sw, permutations=99, seed=3, adjustment="bonferroni")
    assert not (flagged["significant"] & (flagged["p"] > 0.05 / 16)).any()


def test_numpys_global_random_state_is_left_alone():
    sw = lattice(4, 4)
    np.random.seed(123)
    expected = np.random.random_sample(3)
    np.random.seed(123)
    local_moran(np.arange(16.0), sw, permutations=99, seed=9)
    np.testing.assert_array_equal(np.random.random_sample(3), expected)


def test_lisa_specs_go_through_the_suite_and_need_a_matrix():
    sw = lattice(4, 5)
    panel = pd.DataFrame({"u": np.tile(sw.codes, 2), "t": np.repeat([1, 2], sw.n),
                          "y": np.random.default_rng(0).normal(size=2 * sw.n)})
    spec = Spec.from_record({"spec_id": "lisa_y", "estimator": "lisa", "dependent": "y", "weights": "rook"})
    [result] = estimate_specs(panel, [spec], unit="u", time="t", weights={"rook": sw}, seed=5)
    assert len(result.tidy()["lisa"]) == 2 * sw.n
    with pytest.raises(SpecError, match="lisa needs a weights matrix"):
        Spec.from_record({"spec_id": "bad", "estimator": "lisa", "dependent": "y"})
