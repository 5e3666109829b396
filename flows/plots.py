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
#: Figures (scatter plots, maps) name their units only up to this many: a prefecture or county
#: study's hundreds or thousands of labels would be unreadable.
MAX_NAMED_UNITS = 60


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
    (row-standardised W). ``labels`` name the points (units) when there are at most
    :data:`MAX_NAMED_UNITS` of them."""
    z, lag = np.asarray(z, float), np.asarray(lag, float)
    quadrants = quadrant_labels(z, lag)
    named = len(z) <= MAX_NAMED_UNITS
    fig, ax = plt.subplots(figsize=(7, 6), dpi=150)
    ax.scatter(z, lag, c=[QUADRANT_COLOURS[q] for q in quadrants], s=22 if named else 6,
               alpha=1.0 if named else 0.6, zorder=3, linewidths=0)
    for xi, yi, name in zip(z, lag, labels if named else []):
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
    ax.set_title(f"Moran scatter plot: {variable.upper()}, {year}" + ("" if named else f" ({len(z):,} units)"))
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


SIGNIFICANCE_COLOURS = {"significant positive": "#2471a3", "not significant": "#909497",
                        "significant negative": "#c0392b"}


def estimate_axis(estimates: np.ndarray, outer_share: float = 0.01) -> tuple[float, float]:
    """Limits of the curve's estimate axis: from the ``outer_share`` quantile of the estimates
    to the ``1 - outer_share`` one, widened to include 0; every estimate when there are fewer
    than 200. Weak-instrument 2SLS cells in small subsamples give estimates (and intervals)
    thousands of times the others: scaled to them, the rest of the curve is a flat line."""
    share = outer_share if len(estimates) >= 200 else 0.0
    lo, hi = np.quantile(estimates, [share, 1 - share])
    return min(float(lo), 0.0), max(float(hi), 0.0)


def specification_curve(curve, indicators, path, title: str = "Specification curve") -> Path:
    """The two-panel specification curve (Simonsohn, Simmons & Nelson 2020), as a PNG.

    ``curve``: the estimated cells in rank order, columns ``estimate``, ``ci_low``, ``ci_high``,
    ``significance`` (keys of :data:`SIGNIFICANCE_COLOURS`) and ``is_baseline``. ``indicators``:
    booleans, one row per cell in the same order, one column per choice, a ``(dimension,
    option)`` MultiIndex in the order to draw top to bottom. Above: the ranked estimates with
    their 95% intervals, coloured by significance at 5%, the baseline cell marked; below, for
    every cell, which option of each dimension it uses. The estimate axis is
    :func:`estimate_axis`; estimates beyond it are drawn as triangles at its edge.
    """
    n = len(curve)
    x = np.arange(1, n + 1)
    rows = list(indicators.columns)
    height = 3.2 + 0.17 * len(rows)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, height), dpi=150, sharex=True,
                                      gridspec_kw={"height_ratios": [3.0, max(0.17 * len(rows), 1.0)]})
    colours = [SIGNIFICANCE_COLOURS.get(s, "#909497") for s in curve["significance"]]
    top.vlines(x, curve["ci_low"], curve["ci_high"], colors=colours, lw=0.8 if n <= 400 else 0.3,
               alpha=0.35, rasterized=n > 400)
    top.scatter(x, curve["estimate"], c=colours, s=8 if n <= 400 else 1.5, zorder=3, rasterized=n > 400)
    base = np.flatnonzero(curve["is_baseline"].to_numpy())
    if len(base):
        top.scatter(x[base], curve["estimate"].to_numpy()[base], marker="D", s=40, facecolors="none",
                    edgecolors="black", zorder=4, label="baseline specification")
        top.axvline(x[base[0]], color="black", lw=0.6, ls=":")
    top.axhline(0, color="grey", lw=0.8)
    top.axhline(float(np.median(curve["estimate"])), color="black", lw=0.8, ls="--",
                label=f"median {np.median(curve['estimate']):.3f}")
    for label, colour in SIGNIFICANCE_COLOURS.items():
        top.scatter([], [], c=colour, s=12, label=label + " (5%)" if label != "not significant" else label)
    estimates = curve["estimate"].to_numpy(dtype=float)
    lo, hi = estimate_axis(estimates)
    for beyond, edge, marker in ((estimates > hi, hi, "^"), (estimates < lo, lo, "v")):
        if beyond.any():
            top.scatter(x[beyond], np.full(beyond.sum(), edge), c=np.array(colours)[beyond], marker=marker,
                        s=10, zorder=3, clip_on=False)
    pad = 0.04 * (hi - lo or 1.0)
    top.set_ylim(lo - pad, hi + pad)
    outside = int(((estimates > hi) | (estimates < lo)).sum())
    top.set_ylabel("estimate (95% interval, cut at the axis)"
                   + (f"\n{outside} beyond the axis: ▲▼ at its edge" if outside else ""), fontsize=8)
    top.set_title(title)
    top.legend(loc="upper left", fontsize=7, framealpha=0.7)

    marks = indicators.to_numpy(dtype=bool).T  # rows x cells
    image = np.where(marks, 1.0, np.nan)
    bottom.imshow(image, aspect="auto", interpolation="nearest", cmap="Greys", vmin=0, vmax=1.2,
                  extent=(0.5, n + 0.5, len(rows) - 0.5, -0.5))
    bottom.set_yticks(range(len(rows)))
    bottom.set_yticklabels([f"{d}: {o}" for d, o in rows], fontsize=6)
    dimensions = [d for d, _ in rows]
    for i in range(1, len(rows)):
        if dimensions[i] != dimensions[i - 1]:
            bottom.axhline(i - 0.5, color="grey", lw=0.5)
    bottom.set_xlim(0.5, n + 0.5)
    bottom.set_xlabel(f"specification (ranked by estimate; {n} estimated)")
    return save_png(fig, path)
