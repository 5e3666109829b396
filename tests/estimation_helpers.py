"""Short forms for the estimation tests: specs with the paper's controls by default, and
designs on the synthetic panels (keyed by unit_code and year, as marts.analysis_panel)."""
from __future__ import annotations

from estimation.design import build_design
from estimation.specs import Spec
from synthetic.panels import CONTROLS

UNIT, TIME = "unit_code", "year"


def spec(spec_id: str, dependent: str, regressors: tuple[str, ...], **fields) -> Spec:
    """A :class:`Spec` whose controls default to the paper's five."""
    fields.setdefault("controls", CONTROLS)
    return Spec(spec_id, dependent, regressors, **fields)


def make_design(panel, s: Spec):
    return build_design(panel, s, unit=UNIT, time=TIME)
