"""Moran scatter plots (paper Figures 1-4): standardised value against its spatial lag."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .moran import global_moran, quadrant_labels, scatter_coordinates  # noqa: E402
from .panel import panel_block  # noqa: E402
from .weights import SpatialInputError, weights_matrix  # noqa: E402

QUADRANT_COLOURS = {"HH": "#c0392b", "LH": "#e67e22", "LL": "#2471a3", "HL": "#7d3c98"}


def moran_scatter(panel: pd.DataFrame, weights: pd.DataFrame, variable: str, year: int, matrix: str,
                  path) -> Path:
    """Write the Moran scatter plot of ``variable`` in ``year`` under ``matrix`` to ``path`` (PNG).

    x = z (standardised value), y = Wz; dashed lines at 0 split the HH/LH/LL/HL quadrants;
    the fitted line through the origin has slope Moran's I (row-standardised W).
    """
    codes = np.sort(panel["province_code"].unique())
    sw = weights_matrix(weights, matrix, codes)
    one_year = panel[panel["year"] == year]
    if one_year.empty:
        raise SpatialInputError(f"marts.analysis_panel: no rows for year {year}")
    values, _ = panel_block(one_year, [variable], sw.codes)
    values = values[0, :, 0]
    names = one_year.set_index("province_code").loc[sw.codes, "province"].astype(str).to_numpy()
    z, lag = scatter_coordinates(values, sw)
    moran_i = global_moran(values, sw, permutations=0)["moran_i"]
    quadrants = quadrant_labels(z, lag)

    fig, ax = plt.subplots(figsize=(7, 6), dpi=150)
    ax.scatter(z, lag, c=[QUADRANT_COLOURS[q] for q in quadrants], s=22, zorder=3)
    for xi, yi, name in zip(z, lag, names):
        ax.annotate(name, (xi, yi), xytext=(3, 2), textcoords="offset points", fontsize=6)
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
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


# The paper's Figures 1-4: ER and DT in 2015 and 2020 under the geographic matrix.
PAPER_FIGURES = [("er", 2015), ("dt", 2015), ("er", 2020), ("dt", 2020)]


def write_paper_figures(panel: pd.DataFrame, weights: pd.DataFrame, out_dir, matrix: str = "geographic") -> list[Path]:
    """Figures 1-4 as ``moran_<variable>_<year>_<matrix>.png`` in ``out_dir``."""
    out_dir = Path(out_dir)
    return [moran_scatter(panel, weights, variable, year, matrix, out_dir / f"moran_{variable}_{year}_{matrix}.png")
            for variable, year in PAPER_FIGURES]
