"""The run report: the paper's Tables 3-10 and Figures 1-4 as Markdown and HTML.

The tables are the dbt results marts (``marts.rpt_table*``, built by
``dbt_project/models/marts/results``), listed with their titles and notes in the seed
``report_tables``, read read-only and printed as they are: every number, star and parenthesis
is formatted in SQL (``marts.fct_result_cells``), so the report and an analyst's query show the
same cells. Figures 1-4 are Moran scatter plots of ER and DT in 2015 and 2020 under the
geographic matrix, drawn from the run's own ``results.moran_quadrants`` and ``results.moran``
(:func:`flows.plots.moran_scatter`), so a report of an older run shows that run's figures.
When a specification curve (flow ``multiverse``) was computed around the run's published
baseline, the latest one is drawn too (:func:`flows.plots.specification_curve`).

Maps (:mod:`flows.maps`): choropleths of ER and DT in the first and last year of the run and
their LISA cluster maps under the adjacency matrix, all drawn from the run's own
``results.lisa`` (values, quadrants, significance) over ``marts.unit_boundaries``.

The HTML file is self-contained (inline CSS, figures embedded as base64 PNG); the Markdown
file links the PNG files next to it.
"""
from __future__ import annotations

import base64
import html
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from estimation.multiverse import CONTROL_SUBSETS, parse_sets
from flows.maps import MapError, choropleth, lisa_map, load_boundaries
from flows.plots import moran_scatter, specification_curve
from warehouse.errors import ResilienceError
from warehouse.paths import reports_root


# (figure number, variable, year) under the geographic matrix, in the paper's order.
FIGURES: tuple[tuple[int, str, int], ...] = ((1, "er", 2015), (2, "dt", 2015), (3, "er", 2020), (4, "dt", 2020))
FIGURE_MATRIX = "geographic"

MAP_VARIABLES = ("er", "dt")   # choropleth and LISA map of each, first and last year of the run
MAP_MATRIX = "adjacency"

TABLE3_ID = "table3"  # the one table not tied to a run: it describes the current panel
TABLE3_COLUMNS = {"variable_type": "Type", "variable": "Variable", "n": "N", "mean": "Mean",
                  "sd": "SD", "min": "Min", "max": "Max"}


@dataclass(frozen=True)
class RenderedTable:
    title: str
    frame: pd.DataFrame  # display columns, every cell a string
    note: str


def write_report(warehouse: Path, out_dir: Path | None = None, run_id: str | None = None) -> list[Path]:
    """Write ``report.md``, ``report.html`` and ``figures/figure{1-4}_*.png`` (and
    ``figures/specification_curve.png`` when the run has a specification curve) to ``out_dir``
    (default ``reports/<run_id>`` next to the warehouse, as the refresh does).

    ``run_id`` defaults to the latest successful run (``marts.dim_result_runs.is_latest``).
    Returns the written paths (Markdown, HTML, then the figures).
    """
    warehouse = Path(warehouse)
    if not warehouse.exists():
        raise ResilienceError(f"{warehouse}: no warehouse file; run `resilience refresh` first")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        run = _resolve_run(con, run_id)
        specs = con.sql("select * from ref.report_tables order by rowid").df()
        tables = [_render_table(con, spec, run["run_id"]) for spec in specs.itertuples(index=False)]
        scatter = _figure_data(con, run["run_id"])
        shapes, lisa, maps_note = _map_data(con, run["run_id"])
        curve = _curve_data(con, run["run_id"])
    out_dir = Path(out_dir) if out_dir is not None else reports_root(warehouse) / str(run["run_id"])
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = _draw_figures(scatter, out_dir / "figures") + _draw_curve(curve, out_dir / "figures")
    data_note = "SYNTHETIC SAMPLE: not real data." if run["is_synthetic"] else None
    maps = _draw_maps(shapes, lisa, out_dir / "figures", data_note) if lisa is not None else []
    md_path = _write_atomic(out_dir / "report.md", _markdown(run, tables, figures, out_dir, maps, maps_note))
    html_path = _write_atomic(out_dir / "report.html", _html(run, tables, figures, maps, maps_note))
    return [md_path, html_path, *(path for _, _, path in figures), *(path for _, _, path in maps)]


def _resolve_run(con: duckdb.DuckDBPyConnection, run_id: str | None) -> dict:
    runs = con.sql("select * from marts.dim_result_runs").df()
    if run_id is None:
        chosen = runs[runs["is_latest"]]
        if chosen.empty:
            raise ResilienceError("results.runs has no successful run yet; run `resilience refresh` first")
    else:
        chosen = runs[runs["run_id"] == run_id]
        if chosen.empty:
            known = ", ".join(sorted(runs["run_id"].astype(str))) or "none"
            raise ResilienceError(f"run {run_id!r} is not in results.runs (known runs: {known})")
    return chosen.iloc[0].to_dict()


def _render_table(con: duckdb.DuckDBPyConnection, spec, run_id: str) -> RenderedTable:
    """One paper table; ``spec`` is a row of the seed report_tables (table_id, relation,
    title, note)."""
    if spec.table_id == TABLE3_ID:
        frame = con.sql(f"select * from marts.{spec.relation} order by row_order").df()
        shown = frame[list(TABLE3_COLUMNS)].rename(columns=TABLE3_COLUMNS)
        for col in ("Mean", "SD", "Min", "Max"):
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
        shown["N"] = shown["N"].map(lambda v: "" if pd.isna(v) else str(int(v)))
        return RenderedTable(spec.title, shown.astype(str), spec.note)
    headers = con.execute(
        "select column_key, any_value(header) as header, min(column_order) as column_order "
        "from marts.dim_report_columns where table_id = ? group by column_key order by column_order",
        [spec.table_id],
    ).df()
    frame = con.execute(
        f"select * from marts.{spec.relation} where run_id = ? order by row_order", [run_id]
    ).df()
    shown = frame[["row_label", *headers["column_key"]]].rename(
        columns={"row_label": "Variables", **dict(zip(headers["column_key"], headers["header"]))}
    )
    shown = shown.fillna("").astype(str)
    note = spec.note if not frame.empty else "No results for this run."
    skipped = con.execute(
        "select distinct c.header, s.spec_id, s.reason from results.skipped_specs s "
        "join marts.dim_report_columns c on c.spec_id = s.spec_id "
        "where s.run_id = ? and c.table_id = ? order by 1", [run_id, spec.table_id]).fetchall()
    for header, spec_id, reason in skipped:
        note += f" Column {header} ({spec_id}) was not estimated: {reason}."
    return RenderedTable(spec.title, shown, note)


def _figure_data(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[tuple[str, int], dict]:
    """The run's Moran scatter coordinates of the figures, with unit names for the labels."""
    names = dict(con.execute("select distinct unit_code, unit_name from marts.analysis_panel").fetchall())
    out = {}
    for _, variable, year in FIGURES:
        points = con.execute(
            "select unit_code, z, spatial_lag from results.moran_quadrants where run_id = ? and "
            "matrix = ? and variable = ? and year = ? order by unit_code",
            [run_id, FIGURE_MATRIX, variable, year]).df()
        moran = con.execute("select moran_i from results.moran where run_id = ? and matrix = ? and "
                            "variable = ? and year = ?", [run_id, FIGURE_MATRIX, variable, year]).fetchone()
        if moran is None or points.empty:
            continue  # the run has no such year (e.g. a panel that starts later)
        labels = [names.get(code, str(code)) for code in points["unit_code"]]
        out[variable, year] = {"z": points["z"], "lag": points["spatial_lag"], "labels": labels,
                               "moran_i": moran[0]}
    return out


def _draw_figures(scatter: dict, fig_dir: Path) -> list[tuple[int, str, Path]]:
    drawn = []
    for number, variable, year in FIGURES:
        if (variable, year) not in scatter:
            continue
        data = scatter[variable, year]
        path = fig_dir / f"figure{number}_moran_{variable}_{year}.png"
        moran_scatter(data["z"], data["lag"], data["labels"], data["moran_i"], variable, year,
                      FIGURE_MATRIX, path)
        caption = (f"Figure {number}. Moran scatter plot of {variable.upper()}, {year} "
                   f"({FIGURE_MATRIX} distance matrix)")
        drawn.append((number, caption, path))
    return drawn


def _curve_data(con: duckdb.DuckDBPyConnection, run_id: str) -> dict | None:
    """The latest specification curve computed around this run's published baseline
    (``marts.rpt_specification_curve``), with one indicator column per option (per control
    for the controls subsets) in the order of the seed ``multiverse_choices``; None if none."""
    present = {r[0] for r in con.execute("select table_name from information_schema.tables "
                                         "where table_schema = 'marts'").fetchall()}
    if "rpt_specification_curve_summary" not in present:
        return None
    summary = con.execute("select * from marts.rpt_specification_curve_summary where estimates_run_id = ? "
                          "order by finished_at desc, run_id desc limit 1", [run_id]).df()
    if summary.empty:
        return None
    summary = summary.iloc[0].to_dict()
    cells = con.execute("select * from marts.rpt_specification_curve where run_id = ? and status = 'estimated' "
                        "order by rank", [summary["run_id"]]).df()
    choices = con.execute("select * from ref.multiverse_choices order by rowid").df().fillna("")
    labels = dict(con.execute("select variable, label from ref.analysis_variables order by term_order").fetchall())
    columns = {}
    for row in choices.itertuples(index=False):
        if dict(parse_sets(row.sets)).get("controls", "").lower() == CONTROL_SUBSETS:
            included = cells[row.dimension].str.split("+")
            present = {c for parts in included for c in parts}
            for control in [v for v in labels if v in present]:
                columns[row.dimension, labels.get(control, control)] = included.map(lambda p, c=control: c in p)
        elif (cells[row.dimension] == row.option).any():
            columns[row.dimension, row.label or row.option] = cells[row.dimension] == row.option
    indicators = pd.DataFrame(columns, index=cells.index)
    return {"summary": summary, "cells": cells, "indicators": indicators}


def _draw_curve(curve: dict | None, fig_dir: Path) -> list[tuple[str, str, Path]]:
    if curve is None or curve["cells"].empty:
        return []
    s = curve["summary"]
    path = specification_curve(curve["cells"], curve["indicators"], fig_dir / "specification_curve.png",
                               title=f"Specification curve of DT on ER (multiverse run {s['run_id']})")
    caption = (f"Specification curve (multiverse run {s['run_id']}): {int(s['cells'])} specifications, "
               f"{int(s['failed'])} could not be estimated; of the estimated, {s['share_positive']:.0%} "
               f"positive, {s['share_significant']:.0%} significant at 5%, median {s['median_estimate']:.3f}; "
               f"baseline {s['baseline_estimate']:.3f} (rank {s['baseline_rank']} of {int(s['estimated'])})")
    return [("curve", caption, path)]


def _map_data(con: duckdb.DuckDBPyConnection, run_id: str):
    """(boundaries, the run's results.lisa rows of the map variables under MAP_MATRIX, note):
    boundaries and rows None, and the note saying why, when the maps cannot be drawn."""
    has_lisa = con.execute("select count(*) from information_schema.tables where table_schema = 'results' "
                           "and table_name = 'lisa'").fetchone()[0]
    if not has_lisa:
        return None, None, "Maps not drawn: this warehouse has no results.lisa table yet."
    lisa = con.execute(
        f"select * from results.lisa where run_id = ? and matrix = ? and variable in "
        f"({', '.join('?' for _ in MAP_VARIABLES)}) order by variable, year, unit_code",
        [run_id, MAP_MATRIX, *MAP_VARIABLES]).df()
    if lisa.empty:
        return None, None, f"Maps not drawn: run {run_id} has no LISA results under the {MAP_MATRIX} matrix."
    try:
        shapes = load_boundaries(con)
    except MapError as exc:
        return None, None, f"Maps not drawn: {exc}"
    return shapes, lisa, (f"Maps of the run's own results.lisa rows: values, and LISA clusters under the "
                          f"{MAP_MATRIX} matrix.")


def _draw_maps(shapes, lisa: pd.DataFrame, fig_dir: Path, data_note: str | None) -> list[tuple[int, str, Path]]:
    """A choropleth and a LISA cluster map of each map variable in the first and last year."""
    drawn = []
    for variable in MAP_VARIABLES:
        rows = lisa[lisa["variable"] == variable]
        if rows.empty:
            continue
        for year in sorted({int(rows["year"].min()), int(rows["year"].max())}):
            one = rows[rows["year"] == year]
            path = fig_dir / f"map_{variable}_{year}.png"
            choropleth(shapes, one.set_index("unit_code")["value"], variable=variable, year=year, path=path,
                       data_note=data_note)
            drawn.append((len(drawn) + 1, f"Map {len(drawn) + 1}. {variable.upper()} in {year} "
                          "(Fisher-Jenks natural-breaks classes)", path))
            first = one.iloc[0]
            path = fig_dir / f"map_lisa_{variable}_{year}.png"
            lisa_map(shapes, one, variable=variable, year=year, matrix=MAP_MATRIX, alpha=float(first["alpha"]),
                     adjustment=str(first["adjustment"]), permutations=int(first["permutations"]),
                     path=path, data_note=data_note)
            drawn.append((len(drawn) + 1, f"Map {len(drawn) + 1}. LISA cluster map of {variable.upper()} in "
                          f"{year} ({MAP_MATRIX} matrix; pseudo p <= {float(first['alpha']):g}, adjustment: "
                          f"{first['adjustment']}; {int(first['permutations'])} permutations)", path))
    return drawn


def _run_facts(run: dict) -> list[tuple[str, str]]:
    def text(value) -> str:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return ""
        if isinstance(value, pd.Timestamp):
            return value.strftime("%Y-%m-%d %H:%M:%S")
        return str(value)

    return [
        ("Run id", text(run["run_id"])), ("Status", text(run["status"])),
        ("Started", text(run["started_at"])), ("Finished", text(run["finished_at"])),
        ("Data vintage", text(run["vintage"])), ("Latest year", text(run["latest_year"])),
        ("Files", _files_summary(text(run["files"]))), ("Code version", text(run["code_version"])),
        ("Parameters", text(run["parameters"])),
        ("Report written", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")),
    ]


def _files_summary(files: str) -> str:
    """The run registry stores the loaded files as a JSON list of {file, sha256, vintage};
    the report lists the names only (the hashes stay in results.runs)."""
    try:
        entries = json.loads(files)
        names = [str(e["file"]) for e in entries]
    except (ValueError, TypeError, KeyError):
        return files
    return f"{len(names)} files: " + ", ".join(names)


SYNTHETIC_NOTE = ("SYNTHETIC SAMPLE: this run was estimated on synthetic extracts (the landing "
                  "folder carried the sample's SYNTHETIC.txt marker). The numbers are NOT the "
                  "paper's and say nothing about Chinese regions.")


MARKDOWN_SPECIALS = str.maketrans({c: "\\" + c for c in "\\`*_[]|#"} | {"<": "&lt;", ">": "&gt;", "&": "&amp;",
                                                                     "\n": " ", "\r": " "})


def md_cell(value: str) -> str:
    """Text as it should print in a Markdown table cell: the stars of "0.498***", a vintage
    label or a file name never become emphasis, links, HTML or a broken table row."""
    return value.translate(MARKDOWN_SPECIALS)


def _markdown(run: dict, tables: list[RenderedTable], figures, out_dir: Path, maps=(), maps_note: str = "") -> str:

    lines = [f"# Digital trade and regional economic resilience: run {run['run_id']}", ""]
    if run["is_synthetic"]:
        lines += [f"> **{SYNTHETIC_NOTE}**", ""]
    lines += ["| | |", "|---|---|"] + [f"| {k} | {md_cell(v)} |" for k, v in _run_facts(run)] + [""]
    for table in tables:
        lines += [f"## {table.title}", ""]
        cols = list(table.frame.columns)
        lines.append("| " + " | ".join(md_cell(c) for c in cols) + " |")
        lines.append("|" + "|".join("---" for _ in cols) + "|")
        for row in table.frame.itertuples(index=False):
            lines.append("| " + " | ".join(md_cell(v) for v in row) + " |")
        lines += ["", f"_{md_cell(table.note)}_", ""]
    for heading, drawn, note in (("Figures", figures, ""), ("Maps", maps, maps_note)):
        lines += [f"## {heading}", ""] + ([f"_{md_cell(note)}_", ""] if note else [])
        for _, caption, path in drawn:
            rel = os.path.relpath(path, out_dir)
            lines += [f"![{caption}]({Path(rel).as_posix()})", "", f"_{caption}_", ""]
    return "\n".join(lines)


CSS = """
body { font-family: Georgia, 'Times New Roman', serif; max-width: 1100px; margin: 2em auto; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { padding: 2px 10px; text-align: center; white-space: nowrap; }
td:first-child, th:first-child { text-align: left; }
thead th { border-top: 2px solid #222; border-bottom: 1px solid #222; }
tbody tr:last-child td { border-bottom: 2px solid #222; }
table.facts td { text-align: left; border: none !important; }
.note { font-size: 0.85em; color: #555; }
.synthetic { border: 3px solid #c0392b; background: #fdecea; color: #922b21; padding: 0.8em 1em;
             font-weight: bold; font-size: 1.1em; }
figure { margin: 1.5em 0; } figure img { max-width: 640px; }
"""


def _html(run: dict, tables: list[RenderedTable], figures, maps=(), maps_note: str = "") -> str:
    esc = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>Run {esc(str(run['run_id']))}</title>", f"<style>{CSS}</style></head><body>",
             f"<h1>Digital trade and regional economic resilience: run {esc(str(run['run_id']))}</h1>"]
    if run["is_synthetic"]:
        parts.append(f'<div class="synthetic">{esc(SYNTHETIC_NOTE)}</div>')
    parts.append('<table class="facts">' + "".join(
        f"<tr><td><b>{esc(k)}</b></td><td>{esc(v)}</td></tr>" for k, v in _run_facts(run)) + "</table>")
    for table in tables:
        head = "".join(f"<th>{esc(c)}</th>" for c in table.frame.columns)
        body = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>"
                       for row in table.frame.itertuples(index=False))
        parts.append(f"<h2>{esc(table.title)}</h2><table><thead><tr>{head}</tr></thead>"
                     f"<tbody>{body}</tbody></table><p class=\"note\">{esc(table.note)}</p>")
    for heading, drawn, note in (("Figures", figures, ""), ("Maps", maps, maps_note)):
        parts.append(f"<h2>{heading}</h2>" + (f'<p class="note">{esc(note)}</p>' if note else ""))
        for _, caption, path in drawn:
            data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
            parts.append(f'<figure><img alt="{esc(caption)}" src="data:image/png;base64,{data}">'
                         f"<figcaption>{esc(caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _write_atomic(path: Path, text: str) -> Path:
    """Write via a temporary file and rename, so a reader never sees half a report. The file
    gets the mode every other report file gets (0666 less the umask, as the figures), not the
    0600 of a ``mkstemp`` file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
    return path
