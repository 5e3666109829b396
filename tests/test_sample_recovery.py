"""End to end: the pipeline recovers the structure the synthetic generator planted.

One module-scoped run: load the bundled sample (``sample/base``) into a temporary
warehouse, ``dbt build``, then every specification (200 bootstrap replications and effect
draws, seed 1). The planted structure (``synthetic/dgp.py``, ``sample/README.md``):
digital-trade development raises
resilience directly, more where transport infrastructure is better, through industrial
upgrading and lower resource misallocation, not through consumption upgrading, and through
the neighbours' digital trade. Only signs and significance are asserted; the magnitudes of
the estimates are not targets of the generator.
"""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from flows.pipeline import estimate, load_inputs
from warehouse.dbt_runner import dbt_build
from warehouse.loader import load_landing
from warehouse.paths import SAMPLE_BASE_DIR
from synthetic.dgp import SampleSpec, simulate


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("recovery") / "warehouse.duckdb"
    load_landing(SAMPLE_BASE_DIR, warehouse)
    dbt_build(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        inputs = load_inputs(con)
    return {"panel": inputs.panel, **estimate(inputs, replications=200, seed=1)}


def _coef(frame: pd.DataFrame, spec: str, term: str) -> pd.Series:
    row = frame[(frame.spec_id == spec) & (frame.term == term)]
    assert len(row) == 1, (spec, term)
    return row.iloc[0]


def _mediation(run, mediator: str) -> pd.DataFrame:
    rows = run["mediation"][run["mediation"].mediator == mediator]
    assert set(rows.method) == {"percentile", "bias_corrected"}
    return rows


def test_measured_misallocation_tracks_the_planted_one(run):
    """The warehouse's RM (LSDV elasticities, PIM capital) against the generator's RM of the
    true K, L, GDP and elasticities: the same numbers up to estimation noise."""
    sim = simulate(SampleSpec())
    codes, years = sim.units["unit_code"].to_numpy(), sim.years
    planted = pd.DataFrame({"province_code": np.repeat(codes, len(years)),
                            "year": np.tile(years, len(codes)),
                            "rm_planted": sim.latent["rm"].ravel()})
    both = run["panel"].merge(planted, on=["province_code", "year"])
    assert len(both) == 270
    assert np.corrcoef(both.rm, both.rm_planted)[0, 1] > 0.99
    within = both[["rm", "rm_planted"]] - both.groupby("province_code")[["rm", "rm_planted"]].transform("mean")
    assert np.corrcoef(within.rm, within.rm_planted)[0, 1] > 0.99


def test_digital_trade_raises_resilience(run):
    fe = _coef(run["coefficients"], "baseline_twfe_controls", "dt")
    assert fe.estimate > 0 and fe.p_value < 0.01


def test_instrument_is_relevant_and_fe_2sls_lands_near_fe(run):
    fe = _coef(run["coefficients"], "baseline_twfe_controls", "dt")
    iv = _coef(run["coefficients"], "iv_2sls", "dt")
    assert iv.estimate > 0 and iv.p_value < 0.05
    assert abs(iv.estimate - fe.estimate) < 2 * iv.std_error
    stats = run["model_stats"]
    kp_f = stats[(stats.spec_id == "iv_2sls") & (stats.stat == "kp_rk_wald_f")].value.iloc[0]
    assert kp_f > 16.38  # Stock-Yogo 10% maximal IV size


def test_industrial_upgrading_channel(run):
    rows = _mediation(run, "isu")
    assert (rows.a > 0).all() and (rows.b > 0).all()
    assert (rows.a / rows.se_a > 1.96).all() and (rows.b / rows.se_b > 1.96).all()
    assert (rows.ci_low > 0).all()  # both bootstrap intervals of a*b exclude 0


def test_allocation_efficiency_channel(run):
    rows = _mediation(run, "rm")
    assert (rows.a < 0).all() and (rows.b < 0).all()  # dt lowers RM, RM lowers ER
    assert (rows.a / rows.se_a < -1.96).all() and (rows.b / rows.se_b < -1.96).all()
    assert (rows.ci_low > 0).all()  # a*b > 0: both intervals exclude 0


def test_consumption_upgrading_responds_but_is_no_channel(run):
    rows = _mediation(run, "cu")
    assert (rows.a > 0).all() and (rows.a / rows.se_a > 1.96).all()
    assert ((rows.ci_low < 0) & (rows.ci_high > 0)).all()


def test_transport_infrastructure_strengthens_the_effect(run):
    inter = _coef(run["coefficients"], "moderation_inf", "dt_x_inf")
    assert inter.estimate > 0 and inter.p_value < 0.01


def test_spatial_spillover_of_digital_trade(run):
    """Geographic-matrix SDM (Lee-Yu): W.dt and the LeSage-Pace indirect effect of dt are
    positive; rho is not at a bound of its interval (else the effects would be meaningless)."""
    sp = run
    w_dt = _coef(sp["coefficients"], "sdm_geographic", "w_dt")
    assert w_dt.estimate > 0 and w_dt.p_value < 0.05
    stats = sp["model_stats"]
    at_bound = stats[(stats.spec_id == "sdm_geographic") & (stats.stat == "rho_at_bound")].value.iloc[0]
    assert at_bound == 0
    effects = sp["spatial_effects"]
    indirect = effects[(effects.spec_id == "sdm_geographic") & (effects.term == "dt")
                       & (effects.effect == "indirect")].iloc[0]
    assert indirect.estimate > 0 and indirect.p_value < 0.05
