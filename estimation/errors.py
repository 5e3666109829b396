"""Errors the estimators raise on input they cannot use.

``estimation`` is a library (frames in, result objects out) and knows nothing of the
warehouse, so its messages speak of the panel, the weights and the specification. The
application prints them as one line, like the warehouse's own errors.
"""
from __future__ import annotations


class EstimationError(ValueError):
    """Base class: a panel, weights matrix or specification the estimators cannot use."""


class PanelError(EstimationError):
    """The panel does not satisfy what a specification needs (names the row and reason)."""


class SpatialInputError(EstimationError):
    """Bad spatial input: a weights matrix or an unbalanced panel (names the pair or row)."""


class SpecError(EstimationError):
    """A specification record that cannot be understood (names the spec and the field)."""
