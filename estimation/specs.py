"""The specifications of the paper's Tables 4-8, as data.

A :class:`Spec` names the dependent variable, the regressors of interest, the controls, the
absorbed fixed effects, a sample filter, the covariance, the estimator and the transformations
(lag, interaction, centring). Adding a robustness column means adding a ``Spec`` to
:data:`SPECS`; :mod:`estimation.suite` runs whatever is listed.

Term naming (``results.coefficients.term``): panel column names (``dt``, ``medical``, ...),
``const`` (for fixed-effects models Stata's mean-restoring ``_cons``), ``l_<column>`` for a
regressor lagged one year within the province (``l_dt``, ``l_medical``, ...), and
``<a>_x_<b>`` for an interaction (``dt_x_inf``).
"""
from __future__ import annotations

from dataclasses import dataclass

CONTROLS: tuple[str, ...] = ("medical", "ec", "open", "tax", "culture")
TWO_WAY: tuple[str, ...] = ("province", "year")
MEDIATORS: tuple[str, ...] = ("isu", "rm", "cu")

# Estimator labels written to ``results.coefficients.estimator``.
ESTIMATORS = ("ols", "fe_2sls", "tobit_re", "hausman")
# Covariance labels written to ``results.coefficients.cov_type`` (see estimation.linear).
COV_TYPES = ("cluster_province_stata", "robust_hc1", "driscoll_kraay", "unadjusted", "oim")


@dataclass(frozen=True)
class Spec:
    """One model.

    ``effects`` are absorbed (``()`` pooled OLS with a constant; ``("province", "year")``
    two-way fixed effects). For ``tobit_re`` the province effect is random and ``effects``
    may only hold ``"year"`` (entered as dummies). ``sample`` is a ``DataFrame.query``
    expression applied to the panel before anything else. ``lag`` replaces every
    explanatory variable x by its one-year lag ``l_x`` within the province (rows without a
    lag are dropped). ``interaction=("dt", "inf")`` adds the product term ``dt_x_inf``;
    ``centre=True`` first subtracts the estimation-sample means of both factors (the factor
    terms keep their names). ``endogenous``/``instruments`` are for ``fe_2sls``;
    ``censoring`` for ``tobit_re``.
    """

    spec_id: str
    dependent: str
    regressors: tuple[str, ...]
    controls: tuple[str, ...] = CONTROLS
    effects: tuple[str, ...] = TWO_WAY
    sample: str | None = None
    cov_type: str = "cluster_province_stata"
    estimator: str = "ols"
    lag: bool = False
    interaction: tuple[str, str] | None = None
    centre: bool = False
    endogenous: tuple[str, ...] = ()
    instruments: tuple[str, ...] = ()
    censoring: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"spec {self.spec_id}: unknown estimator {self.estimator!r}")
        if self.cov_type not in COV_TYPES:
            raise ValueError(f"spec {self.spec_id}: unknown cov_type {self.cov_type!r}")
        if self.estimator == "fe_2sls" and not (self.endogenous and self.instruments):
            raise ValueError(f"spec {self.spec_id}: fe_2sls needs endogenous and instruments")
        if self.estimator == "tobit_re" and "province" in self.effects:
            raise ValueError(f"spec {self.spec_id}: tobit_re has a random province effect")


def mediation_specs(mediator: str) -> tuple[Spec, Spec]:
    """Eqs. (2)-(3): a-path (mediator on dt) and b-path (er on dt and the mediator)."""
    return (
        Spec(f"mediation_{mediator}_a", mediator, ("dt",)),
        Spec(f"mediation_{mediator}_b", "er", ("dt", mediator)),
    )


SPECS: tuple[Spec, ...] = (
    # Table 4
    Spec("baseline_pooled", "er", ("dt",), controls=(), effects=()),
    Spec("baseline_twfe", "er", ("dt",), controls=()),
    Spec("baseline_pooled_controls", "er", ("dt",), effects=()),
    Spec("baseline_twfe_controls", "er", ("dt",)),
    Spec("hausman", "er", ("dt",), estimator="hausman", cov_type="unadjusted"),
    # Table 5
    Spec("iv_2sls", "er", ("dt",), estimator="fe_2sls", endogenous=("dt",),
         instruments=("iv",)),
    Spec("lag_dt", "er", ("dt",), lag=True),
    Spec("pca_measures", "er_pca", ("dt_pca",)),
    Spec("excl_municipalities", "er", ("dt",), sample="not is_municipality"),
    Spec("tobit_re", "er", ("dt",), effects=("year",), estimator="tobit_re",
         censoring=(0.0, 1.0), cov_type="oim"),
    # Table 6
    *(s for m in MEDIATORS for s in mediation_specs(m)),
    # Table 7
    Spec("moderation_inf", "er", ("dt", "dt_x_inf", "inf"), interaction=("dt", "inf")),
    Spec("moderation_inf_centred", "er", ("dt", "dt_x_inf", "inf"), interaction=("dt", "inf"),
         centre=True),
    # Table 8
    Spec("region_east", "er", ("dt",), sample="region == 'east'"),
    Spec("region_central", "er", ("dt",), sample="region == 'central'"),
    Spec("region_west", "er", ("dt",), sample="region == 'west'"),
    Spec("market_high", "er", ("dt",), sample="market_group == 'high'"),
    Spec("market_low", "er", ("dt",), sample="market_group == 'low'"),
)

SPEC_IDS: tuple[str, ...] = tuple(s.spec_id for s in SPECS)
