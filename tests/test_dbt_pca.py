"""PCA composites (int_pca_indices.py) against scikit-learn's PCA."""
from __future__ import annotations

import duckdb
import numpy as np
import pytest
from sklearn.decomposition import PCA

from dbt_fixtures import panel_warehouse
from dbt_models import load_model_module

pca = load_model_module("int_pca_indices")


def _sklearn_composite(x: np.ndarray) -> np.ndarray:
    z = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
    fit = PCA().fit(z)
    lam = fit.explained_variance_             # ddof = 1: eigenvalues of the correlation matrix
    keep = lam >= 1
    comps = fit.components_[keep]
    comps = comps * np.where(comps.sum(axis=1) < 0, -1, 1)[:, None]
    return (z @ comps.T) @ (lam[keep] / lam[keep].sum())


def test_pca_composite_matches_sklearn_on_correlated_data():
    rng = np.random.default_rng(11)
    factors = rng.normal(size=(200, 2))
    x = factors @ rng.normal(size=(2, 6)) + 0.5 * rng.normal(size=(200, 6)) + 10
    scores, lam, vec = pca.pca_composite(x)
    assert len(lam) >= 1 and (lam >= 1).all() and (vec.sum(axis=0) > 0).all()
    np.testing.assert_allclose(scores, _sklearn_composite(x), atol=1e-10)
    assert abs(scores.mean()) < 1e-12


def test_pca_rejects_constant_column():
    x = np.c_[np.arange(5.0), np.ones(5)]
    with pytest.raises(ValueError, match="constant"):
        pca.pca_composite(x)


def test_built_pca_columns_match_sklearn():
    with duckdb.connect(str(panel_warehouse()), read_only=True) as con:
        long = con.execute("select * from intermediate.int_sub_indicators_long").df()
        panel = con.execute("select unit_code, year, er_pca, dt_pca from marts.analysis_panel "
                            "order by unit_code, year").df()
    for index in ("er", "dt"):
        part = long[long["index"] == index]
        wide = part.pivot(index=["unit_code", "year"], columns="indicator", values="value").sort_index()
        signs = np.array([-1.0 if d == "negative" else 1.0 for d in
                          part.groupby("indicator").direction.first().reindex(wide.columns)])
        np.testing.assert_allclose(panel[f"{index}_pca"].to_numpy(), _sklearn_composite(wide.to_numpy() * signs),
                                   atol=1e-10)
