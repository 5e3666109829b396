"""Moran scatter plots (paper Figures 1-4): standardised value against its spatial lag."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from estimation.errors import SpatialInputError  # noqa: E402
from estimation.spatial.moran import global_moran, quadrant_labels, scatter_coordinates  # noqa: E402
from estimation.spatial.panel import panel_block  # noqa: E402

QUADRANT_COLOURS = {"HH": "#c0392b", "LH": "#e67e22", "LL": "#2471a3", "HL": "#7d3c98"}


def save_png(fig, path) -> Path:
    """Lay out ``fig``, write it as PNG to ``path`` (folders made), close it; the path."""
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def moran_scatter(z, lag, labels, moran_i: float, variable: str, year: int, matrix: str, path) -> Path:
    """Write a Moran scatter plot (PNG): x = z (standardised value), y = Wz; dashed lines at 0
    split the HH/LH/LL/HL quadrants; the fitted line through the origin has slope Moran's I
    (row-standardised W). ``labels`` name the points (units)."""
    z, lag = np.asarray(z, float), np.asarray(lag, float)
    quadrants = quadrant_labels(z, lag)
    fig, ax = plt.subplots(figsize=(7, 6), dpi=150)
    ax.scatter(z, lag, c=[QUADRANT_COLOURS[q] for q in quadrants], s=22, zorder=3)
    for xi, yi, name in zip(z, lag, labels):
        ax.annotate(str(name), (xi, yi), xytext=(3, 2), textcoords="offset points", fontsize=6)
    ax.axhline(0, color="grey", lw=0.8, ls="--")
    ax.axvline(0, color="grey", lw=0.8, ls="--")
    span = np.array([z.min() - 0.3, z.max() + 0.3])
    ax.plot(span, moran_i * span, color="black", lw=1.2, label=f"slope = Moran's I = {moran_i:.3f}")
    x_hi, x_lo = span[1] - 0.05, span[0] + 0.05
    y_hi, y_lo = max(lag.max(), 0) * 0.95, min(lag.min(), 0) * 0.95
    for label, (qx, qy, ha) in {"HH": (x_hi, y_hi, "right"), "LH": (x_lo, y_hi, "left"),
                                "LL": (x_lo, y_lo, "left"), "HL": (x_hi, y_lo, "right")}.items():
        ax.text(qx, qy, label, ha=ha, va="center", fontsize=11, fontweight="bold",
                color=QUADRANT_COLOURS[label], alpha=0.8)
    ax.set_xlabel(f"{variable.upper()} (standardised)")
    ax.set_ylabel(f"spatial lag of {variable.upper()} ({matrix} W)")
    ax.set_title(f"Moran scatter plot: {variable.upper()}, {year}")
    ax.legend(loc="best", framealpha=0.6, fontsize=8)
    return save_png(fig, path)


def moran_scatter_of_panel(inputs, variable: str, year: int, matrix: str, path) -> Path:
    """The Moran scatter plot of any panel variable, year and matrix of the estimation inputs
    (:class:`flows.pipeline.EstimationInputs`)."""
    from flows.pipeline import TIME, UNIT

    if matrix not in inputs.weights:
        raise SpatialInputError(f"no weights matrix {matrix!r}; known: {sorted(inputs.weights)}")
    sw = inputs.weights[matrix]
    one_year = inputs.panel[inputs.panel[TIME] == year]
    if one_year.empty:
        raise SpatialInputError(f"marts.analysis_panel: no rows for year {year}")
    values = panel_block(one_year, [variable], sw.codes, unit=UNIT, time=TIME)[0][0, :, 0]
    names = one_year.set_index(UNIT).loc[sw.codes, "unit_name"].astype(str).to_numpy()
    z, lag = scatter_coordinates(values, sw)
    moran_i = global_moran(values, sw, permutations=0)["moran_i"]
    return moran_scatter(z, lag, names, moran_i, variable, year, matrix, path)
