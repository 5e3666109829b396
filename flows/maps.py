"""Maps of the study units: choropleths of any panel variable and LISA cluster maps.

* :func:`choropleth` classes the values with mapclassify (default Fisher-Jenks natural breaks,
  5 classes) and writes a legend with every class's bounds and count;
* :func:`lisa_map` colours each unit by its LISA cluster (local Moran, conditional permutation
  inference: :mod:`estimation.spatial.lisa`) with GeoDa's cluster-map colours, and states the
  significance level, the multiple-testing adjustment and the number of permutations.

Units are drawn from their boundaries (``marts.unit_boundaries``, EPSG:4326) in an Albers
equal-area conic projection for China; the other provinces of the boundary file (Tibet when it
is outside the study, Taiwan, Hong Kong, Macao) are drawn in grey as context, and the South
China Sea islands in an inset. Units are named on the map when there are at most
:data:`MAX_NAMED_UNITS` of them (a county map names none: 2,800 labels are unreadable).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import geopandas as gpd  # noqa: E402
import mapclassify  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from estimation.errors import SpatialInputError  # noqa: E402
from flows.plots import save_png  # noqa: E402
from estimation.spatial.lisa import DEFAULT_ADJUSTMENT, DEFAULT_ALPHA  # noqa: E402
from warehouse.boundaries import SOURCE, read_boundaries  # noqa: E402
from warehouse.errors import ResilienceError  # noqa: E402

#: Albers equal-area conic for China (standard parallels 25N and 47N, central meridian 105E).
CHINA_ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +datum=WGS84 +units=m +no_defs"
MAIN_EXTENT = (73.0, 17.0, 135.5, 54.0)    # lon/lat box of the main map (Hainan island included)
INSET_EXTENT = (106.0, 2.5, 123.5, 23.5)   # lon/lat box of the South China Sea inset
MAX_NAMED_UNITS = 60
EXACT_JENKS_MAX = 500
CONTEXT_COLOUR, EDGE_COLOUR = "#d9d9d9", "white"

#: mapclassify schemes offered (name -> class); every one takes k.
SCHEMES = {"fisher_jenks": mapclassify.FisherJenks, "natural_breaks": mapclassify.NaturalBreaks,
           "quantiles": mapclassify.Quantiles, "equal_interval": mapclassify.EqualInterval}

#: GeoDa's LISA cluster map (LisaMapNewView.cpp): category -> (label, colour).
LISA_CATEGORIES = {
    "not significant": ("Not significant", "#f0f0f0"),
    "HH": ("High-High", "#ff0000"),
    "LL": ("Low-Low", "#0000ff"),
    "LH": ("Low-High", "#9696ff"),
    "HL": ("High-Low", "#ff9696"),
}


class MapError(ResilienceError):
    """A map cannot be drawn (no boundaries in the warehouse, a unit without one, no data)."""


# --------------------------------------------------------------------------- boundaries

def load_boundaries(con) -> gpd.GeoDataFrame:
    """``marts.unit_boundaries`` as a GeoDataFrame (unit_code, unit_name, unit_level,
    province_code, geometry; EPSG:4326); a unit without a boundary is an error naming it."""
    present = con.execute("select count(*) from information_schema.tables where table_schema = 'marts' "
                          "and table_name = 'unit_boundaries'").fetchone()[0]
    if not present:
        raise MapError("marts.unit_boundaries does not exist in the warehouse; run `resilience build`")
    frame = con.execute("select unit_code, unit_name, unit_level, province_code, geometry "
                        "from marts.unit_boundaries order by unit_code").df()
    missing = frame.loc[frame["geometry"].isna(), "unit_code"].tolist()
    if missing:
        raise MapError(f"marts.unit_boundaries: {len(missing)} unit(s) have no boundary "
                       f"(codes {missing[:10]}); boundaries/README.md says which codes exist")
    geometry = shapely.from_wkb([bytes(g) for g in frame.pop("geometry")])
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")


def _projected_box(extent) -> tuple[float, float, float, float]:
    box = gpd.GeoSeries([shapely.box(*extent).segmentize(0.5)], crs="EPSG:4326").to_crs(CHINA_ALBERS)
    return tuple(box.total_bounds)


def _context() -> gpd.GeoDataFrame:
    """Every province of the boundary file (projected): the grey background and outlines."""
    return read_boundaries("province").to_crs(CHINA_ALBERS)


# --------------------------------------------------------------------------- drawing

def _frame(study: gpd.GeoDataFrame, colours: pd.Series, *, title: str, subtitle: str,
           legend: list[Patch], legend_title: str, note: str, path, dpi: int = 150) -> Path:
    """Draw ``study`` (projected) filled with ``colours`` (by row) over the context, with an
    inset of the South China Sea, a legend and a note; write the PNG."""
    context = _context()
    fig, ax = plt.subplots(figsize=(9, 7.2), dpi=dpi)
    inset = ax.inset_axes([0.80, 0.015, 0.19, 0.30])
    named = len(study) <= MAX_NAMED_UNITS
    outlines = study["unit_level"].ne("province").any()
    for axis, extent in ((ax, MAIN_EXTENT), (inset, INSET_EXTENT)):
        x0, y0, x1, y1 = _projected_box(extent)
        visible = study.cx[x0:x1, y0:y1]
        outside = context[~context["unit_code"].isin(study["province_code"])]  # the study covers the rest
        outside.cx[x0:x1, y0:y1].plot(ax=axis, color=CONTEXT_COLOUR, edgecolor=EDGE_COLOUR, linewidth=0.4)
        fill = colours.loc[visible.index].tolist()
        # in the inset, islands of a few km must stay visible: outline them in their own colour
        visible.plot(ax=axis, color=fill, edgecolor=fill if axis is inset else EDGE_COLOUR,
                     linewidth=0.6 if axis is inset else 0.4 if named else 0.05)
        if outlines:
            context.cx[x0:x1, y0:y1].boundary.plot(ax=axis, color="#555555", linewidth=0.3)
        axis.set_xlim(x0, x1)
        axis.set_ylim(y0, y1)
        axis.set_xticks([])
        axis.set_yticks([])
        axis.set_xlabel("")
        axis.set_ylabel("")
    for side in inset.spines.values():
        side.set_linewidth(0.6)
    ax.set_axis_off()
    if named:
        points = study.representative_point()
        for (_, row), point in zip(study.iterrows(), points):
            ax.annotate(str(row["unit_name"]), (point.x, point.y), ha="center", va="center",
                        fontsize=5, color="#222222",
                        path_effects=[patheffects.withStroke(linewidth=1.2, foreground="white")])
    legend = [*legend, Patch(facecolor=CONTEXT_COLOUR, edgecolor="#999999", label="not in the study")]
    ax.legend(handles=legend, title=legend_title, loc="lower left", fontsize=7, title_fontsize=7.5,
              frameon=False)
    ax.set_title(f"{title}\n{subtitle}", fontsize=10)
    fig.text(0.01, 0.01, note, fontsize=6, color="#444444", ha="left", va="bottom", wrap=True)
    return save_png(fig, path)


def _source_note(data_note: str | None) -> str:
    note = f"Boundaries: {SOURCE}. Albers equal-area conic projection."
    return f"{data_note}  {note}" if data_note else note


def class_labels(classifier, values: np.ndarray, decimals: int = 3) -> list[str]:
    """Legend labels of a mapclassify classifier: every class's bounds and count, e.g.
    ``[0.113, 0.182] (6)`` then ``(0.182, 0.245] (7)`` (a class holds its upper bound)."""
    lows = [float(np.min(values)), *classifier.bins[:-1]]
    labels = []
    for k, (low, high) in enumerate(zip(lows, classifier.bins)):
        opening = "[" if k == 0 else "("
        labels.append(f"{opening}{low:.{decimals}f}, {high:.{decimals}f}] ({classifier.counts[k]})")
    return labels


def classify(y: np.ndarray, scheme: str, k: int):
    """(mapclassify classifier of ``y``, how it was classed). Fisher-Jenks is exact up to
    :data:`EXACT_JENKS_MAX` values; above, the breaks are those of that many evenly spaced
    quantiles of ``y``, each moved to the largest value below the midpoint of the two quantiles
    it lies between (mapclassify's pure-Python Fisher-Jenks is O(k n^2), 17 s for 2,774
    counties, and its sampled variant draws from numpy's global random state: this stays
    deterministic)."""
    if scheme not in SCHEMES:
        raise MapError(f"unknown classification scheme {scheme!r}; known: {', '.join(SCHEMES)}")
    label = scheme.replace("_", " ").title().replace("Fisher Jenks", "Fisher-Jenks") + " classes"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Numba not installed")  # numba is not a dependency
        if scheme == "fisher_jenks" and len(y) > EXACT_JENKS_MAX:
            grid = np.quantile(y, np.linspace(0, 1, EXACT_JENKS_MAX))
            breaks = mapclassify.FisherJenks(grid, k=k).bins[:-1]
            # a break falls between two grid points; the values between them go to the class
            # nearer to them (cut at the midpoint), so the grid splits no group of values
            above = grid[np.minimum(np.searchsorted(grid, breaks, side="right"), len(grid) - 1)]
            bins = [y[y <= (b + a) / 2].max() for b, a in zip(breaks, above)] + [y.max()]
            return (mapclassify.UserDefined(y, bins),
                    f"Fisher-Jenks classes of {EXACT_JENKS_MAX} evenly spaced quantiles")
        return SCHEMES[scheme](y, k=k), label


def choropleth(shapes: gpd.GeoDataFrame, values: pd.Series, *, variable: str, year: int, path,
               scheme: str = "fisher_jenks", k: int = 5, cmap: str = "YlOrRd",
               data_note: str | None = None, dpi: int = 150) -> Path:
    """A choropleth of ``values`` (indexed by unit_code) over ``shapes`` (unit_code,
    unit_name, unit_level, province_code, geometry), classed by ``scheme`` into ``k`` classes."""
    study = _joined(shapes, values.rename("value"))
    y = study["value"].to_numpy(float)
    classifier, method = classify(y, scheme, min(k, len(np.unique(y))))
    palette = plt.get_cmap(cmap, len(classifier.bins))
    colours = pd.Series([matplotlib.colors.to_hex(palette(c)) for c in classifier.yb], index=study.index)
    legend = [Patch(facecolor=matplotlib.colors.to_hex(palette(c)), edgecolor="#999999", label=label)
              for c, label in enumerate(class_labels(classifier, y))]
    return _frame(study, colours, title=f"{variable.upper()}, {year}",
                  subtitle=f"{len(study)} units, {method} (mapclassify)", legend=legend,
                  legend_title=f"{variable.upper()} (class bounds, units)",
                  note=_source_note(data_note), path=path, dpi=dpi)


def lisa_map(shapes: gpd.GeoDataFrame, lisa: pd.DataFrame, *, variable: str, year: int, matrix: str,
             alpha: float, adjustment: str, permutations: int, path,
             data_note: str | None = None, dpi: int = 150) -> Path:
    """A LISA cluster map: ``lisa`` (unit_code, quadrant, significant, p) from
    :func:`estimation.spatial.lisa.local_moran` or ``results.lisa``; GeoDa's colours."""
    study = _joined(shapes, lisa.set_index("unit_code")[["quadrant", "significant"]])
    category = study["quadrant"].where(study["significant"].astype(bool), "not significant")
    colours = category.map(lambda c: LISA_CATEGORIES[c][1])
    counts = category.value_counts()
    legend = [Patch(facecolor=colour, edgecolor="#999999", label=f"{label} ({int(counts.get(key, 0))})")
              for key, (label, colour) in LISA_CATEGORIES.items()]
    adjusted = {"none": "no multiple-testing adjustment", "bonferroni": "Bonferroni-adjusted",
                "fdr": "false discovery rate (Benjamini-Hochberg)"}[adjustment]
    subtitle = (f"local Moran's I, {matrix} W, conditional permutation inference ({permutations} permutations)\n"
                f"significant: pseudo p <= {alpha:g}, {adjusted}")
    return _frame(study, colours, title=f"LISA cluster map: {variable.upper()}, {year}", subtitle=subtitle,
                  legend=legend, legend_title="LISA cluster (units)", note=_source_note(data_note), path=path,
                  dpi=dpi)


def _joined(shapes: gpd.GeoDataFrame, data) -> gpd.GeoDataFrame:
    """``shapes`` with ``data`` (indexed by unit_code) joined, projected; every unit of ``data``
    must have a shape and every shape its data."""
    data = data.to_frame() if isinstance(data, pd.Series) else data
    shaped = shapes.set_index("unit_code")
    no_shape = data.index.difference(shaped.index)
    if len(no_shape):
        raise MapError(f"{len(no_shape)} unit(s) have no boundary: {list(no_shape[:10])}")
    study = shaped.loc[data.index].join(data)
    if study[data.columns].isna().any(axis=None):
        raise MapError(f"no value for unit(s) {study.index[study[data.columns].isna().any(axis=1)].tolist()[:10]}")
    return study.reset_index().to_crs(CHINA_ALBERS)


# --------------------------------------------------------------------------- the CLI's map

def map_of_panel(inputs, shapes: gpd.GeoDataFrame, *, variable: str, year: int, kind: str, path,
                 matrix: str = "adjacency", scheme: str = "fisher_jenks", k: int = 5,
                 alpha: float = DEFAULT_ALPHA, adjustment: str = DEFAULT_ADJUSTMENT,
                 permutations: int = 999, seed: int = 12345, data_note: str | None = None,
                 dpi: int = 150) -> Path:
    """The map of any panel variable and year (``resilience map``): ``kind`` choropleth or
    lisa (local Moran under ``matrix``, computed here with ``seed``)."""
    from estimation.spatial.lisa import esda_seed, local_moran
    from flows.pipeline import TIME, UNIT

    panel = inputs.panel
    if variable not in panel.columns:
        raise MapError(f"marts.analysis_panel has no column {variable!r}")
    one_year = panel[panel[TIME] == year]
    if one_year.empty:
        raise MapError(f"marts.analysis_panel: no rows for year {year} "
                       f"(years {panel[TIME].min()}-{panel[TIME].max()})")
    values = one_year.set_index(UNIT)[variable].astype(float)
    if kind == "choropleth":
        return choropleth(shapes, values, variable=variable, year=year, path=path, scheme=scheme, k=k,
                          data_note=data_note, dpi=dpi)
    if kind != "lisa":
        raise MapError(f"unknown map kind {kind!r}; choropleth or lisa")
    if matrix not in inputs.weights:
        raise SpatialInputError(f"no weights matrix {matrix!r}; known: {sorted(inputs.weights)}")
    sw = inputs.weights[matrix]
    lisa = local_moran(values.loc[sw.codes].to_numpy(), sw, permutations=permutations,
                       seed=esda_seed(seed, year), alpha=alpha, adjustment=adjustment)
    return lisa_map(shapes, lisa, variable=variable, year=year, matrix=matrix, alpha=alpha,
                    adjustment=adjustment, permutations=permutations, path=path, data_note=data_note, dpi=dpi)

