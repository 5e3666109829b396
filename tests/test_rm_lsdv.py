"""Resource misallocation: the LSDV core against statsmodels, recovery of known
elasticities, the perpetual-inventory capital stock and the RM formulas (eqs. 12-15)."""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from dbt_fixtures import panel_warehouse
from dbt_models import load_model_module

lsdv_unit_slopes = load_model_module("int_rm_elasticities").lsdv_unit_slopes


def _statsmodels_slopes(frame: pd.DataFrame) -> pd.Series:
    """Independent LSDV: patsy builds the province/year dummies and province-specific slopes."""
    fit = smf.ols("y ~ 0 + C(unit_code) + C(year) + C(unit_code):x", data=frame).fit()
    slopes = {int(name.split("[")[1].split("]")[0]): value
              for name, value in fit.params.items() if name.endswith(":x")}
    ses = {int(name.split("[")[1].split("]")[0]): value
           for name, value in fit.bse.items() if name.endswith(":x")}
    return pd.Series(slopes).sort_index(), pd.Series(ses).sort_index()


def _simulated_panel(seed=3, n_units=12, n_years=9, noise=0.01):
    # x needs province-specific variation beyond the common trend: a shift of every
    # beta_i by c is otherwise nearly absorbed by the year effects (c * common trend).
    rng = np.random.default_rng(seed)
    beta = rng.uniform(0.2, 0.7, n_units)
    mu = rng.normal(0, 0.5, n_units)
    lam = np.cumsum(rng.normal(0.02, 0.01, n_years))
    rows = []
    for i in range(n_units):
        x = np.cumsum(rng.normal(0.08, 0.15, n_years)) + rng.normal(0, 0.3)
        y = beta[i] * x + mu[i] + lam + rng.normal(0, noise, n_years)
        rows += [{"unit_code": 10 + i, "year": 2013 + t, "x": x[t], "y": y[t]} for t in range(n_years)]
    return pd.DataFrame(rows), beta


def test_lsdv_recovers_known_elasticities_and_matches_statsmodels():
    panel, beta = _simulated_panel()
    got = lsdv_unit_slopes(panel)
    assert got.unit_code.tolist() == list(range(10, 22)) and (got.nobs == 9).all()
    # recovery of the data-generating elasticities (noise sd 0.01, x within-province sd ~0.3)
    np.testing.assert_allclose(got.beta_k, beta, atol=0.05)
    slopes, ses = _statsmodels_slopes(panel)
    np.testing.assert_allclose(got.beta_k.to_numpy(), slopes.to_numpy(), atol=1e-10)
    np.testing.assert_allclose(got.std_error.to_numpy(), ses.to_numpy(), rtol=1e-8)


def test_lsdv_refuses_a_province_without_variation():
    panel, _ = _simulated_panel(n_units=4)
    panel.loc[panel.unit_code == 11, "x"] = 1.0
    with pytest.raises(ValueError, match="rank-deficient"):
        lsdv_unit_slopes(panel)


@pytest.fixture(scope="module")
def built():
    with duckdb.connect(str(panel_warehouse()), read_only=True) as con:
        capital = con.execute("select * from intermediate.int_capital_stock").df()
        wide = con.execute("select * from intermediate.int_series_wide").df()
        elasticities = con.execute("select * from intermediate.int_rm_elasticities").df()
        rm = con.execute("select * from intermediate.int_resource_misallocation").df()
        panel = con.execute("select unit_code, year, rm from marts.analysis_panel").df()
    return capital, wide, elasticities, rm, panel


def test_built_elasticities_match_statsmodels(built):
    capital, _, elasticities, _, _ = built
    frame = capital.assign(y=np.log(capital.real_gdp / capital.employment),
                           x=np.log(capital.capital_stock / capital.employment))
    slopes, _ = _statsmodels_slopes(frame)
    got = elasticities.set_index("unit_code").sort_index()
    assert len(got) == 30
    np.testing.assert_allclose(got.beta_k.to_numpy(), slopes.to_numpy(), atol=1e-10)
    np.testing.assert_allclose(got.beta_l.to_numpy(), 1 - slopes.to_numpy(), atol=1e-10)


def test_capital_stock_follows_the_pim_recursion(built):
    capital, wide, _, _, _ = built
    delta = 0.096
    for code, g in wide.sort_values("year").groupby("unit_code"):
        gdp_index = g.gdp_index.to_numpy() / 100
        price = g.fai_price_index.to_numpy() / 100
        real_gdp = g.gdp.iloc[0] * np.cumprod(np.r_[1.0, gdp_index[1:]])
        invest = g.gfcf.to_numpy() / np.cumprod(np.r_[1.0, price[1:]])
        growth = max(np.mean(invest[1:5] / invest[:4] - 1), 0.0)  # first 5 years: 4 growth rates
        stock = [invest[0] / (growth + delta)]
        for i_t in invest[1:]:
            stock.append((1 - delta) * stock[-1] + i_t)
        got = capital[capital.unit_code == code].sort_values("year")
        np.testing.assert_allclose(got.real_gdp, real_gdp, rtol=1e-12)
        np.testing.assert_allclose(got.capital_stock, stock, rtol=1e-12)


def test_rm_follows_eqs_12_13(built):
    capital, _, elasticities, rm, panel = built
    data = capital.merge(elasticities, on="unit_code")
    expected = []
    for year, g in data.groupby("year"):
        s = g.gdp / g.gdp.sum()
        bk, bl = (s * g.beta_k).sum(), (s * g.beta_l).sum()
        gamma_k = (g.capital_stock / g.capital_stock.sum()) / (s * g.beta_k / bk)
        gamma_l = (g.employment / g.employment.sum()) / (s * g.beta_l / bl)
        expected.append(pd.DataFrame({"unit_code": g.unit_code, "year": year,
                                      "rm_np": (1 / gamma_k - 1).abs() + (1 / gamma_l - 1).abs()}))
    check = pd.concat(expected).merge(panel, on=["unit_code", "year"])
    assert len(check) == len(panel) == 30 * panel.year.nunique()
    np.testing.assert_allclose(check.rm, check.rm_np, rtol=1e-10)
