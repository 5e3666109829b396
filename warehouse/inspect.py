"""``resilience inspect PATH...``: what a load would do, without writing anything.

Per file: the shape and container, the encoding, the indicator(s) and unit and where they
came from (the 指标 line, the manifest, the header), units x years and their level, missing
cells, empty year columns, unit conversions, mapped and unmapped yearbook columns, and the
cells it would insert or revise in the warehouse (large revisions listed); then every reason
the load would be refused. The warehouse is opened read-only (or not at all if it does not
exist); parsing happens in TEMP tables of that connection.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from warehouse.errors import ExtractError, ResilienceError
from warehouse.landing import (LARGE_REVISION, Landing, Plan, make_plan, plan_connection, scan_landing,
                               vintage_year)
from warehouse.loader import year_ranges

MAX_REVISIONS_SHOWN = 8


def inspect_paths(paths, warehouse, vintage: str | None = None, variant: str | None = None,
                  accept_revisions: bool = False) -> str:
    """The dry-run report of ``paths`` (folders, or files inside a landing folder)."""
    groups: dict[Path, set[str] | None] = defaultdict(set)
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            groups[path] = None
        elif path.exists() or path.is_symlink():
            if groups.get(path.parent, set()) is not None:
                groups[path.parent].add(path.name)
        else:
            raise ResilienceError(f"{path}: no such file or folder")
    out = [f"warehouse: {warehouse}" + ("" if Path(warehouse).exists() else " (does not exist yet: nothing to revise)")]
    for folder, names in groups.items():
        out += _inspect_folder(folder, names, Path(warehouse), vintage, variant, accept_revisions)
    return "\n".join(out)


def _inspect_folder(folder: Path, names, warehouse: Path, vintage, variant, accept_revisions) -> list[str]:
    try:
        landing = scan_landing(folder)
    except ExtractError as exc:
        return [f"\n{folder}: refused: {exc}"]
    if names is not None:
        missing = names - {n for n, _ in landing.extracts}
        if missing:
            return [f"\n{folder}: not extracts (skipped by a load): {', '.join(sorted(missing))}"]
        landing = Landing(landing.folder, [(n, p) for n, p in landing.extracts if n in names], landing.skipped,
                          landing.vintage, landing.manifest, landing.units_reference)
    con, _ = plan_connection(warehouse, write=False)
    try:
        plan = make_plan(con, landing, vintage, variant, None, accept_revisions)
    finally:
        con.close()
    return _describe(plan)


def _describe(plan: Plan) -> list[str]:
    landing = plan.landing
    label = plan.vintage or "(none: derived from the data)"
    lines = [f"\nlanding folder: {landing.folder}", f"  vintage label: {label} (years up to {plan.max_year} load; "
             f"vintage year {vintage_year(plan.vintage)})"]
    if landing.manifest:
        lines.append(f"  manifest.csv: {len(plan.manifest.entries)} rows")
    if plan.units is not None:
        levels = defaultdict(int)
        for u in plan.units.units.values():
            levels[u.level] += 1
        lines.append("  units_reference.csv: " + ", ".join(f"{n} {lv}" for lv, n in sorted(levels.items())))
    elif landing.units_reference is not None:
        lines.append("  units_reference.csv: unchanged (raw.units holds these units)")
    if landing.skipped:
        lines.append(f"  not extracts (a load skips them): {', '.join(landing.skipped)}")
    for name in plan.files_unchanged:
        lines.append(f"\n{name}\n  already loaded (same sha256): a load skips it")
    revisions = plan.revisions
    for p in plan.parsed:
        lines.append(f"\n{p.file_name}")
        lines.append(f"  format: {p.format_label}" + (f", encoding {p.encoding}" if p.encoding else ""))
        source = p.indicator_source + (f" ({'; '.join(p.manifest_rows)})" if p.manifest_rows else "")
        lines.append(f"  indicators: {', '.join(p.indicator_codes)} from {source}")
        for (ind, unit), factor in sorted(p.conversions.items()):
            lines.append(f"  unit: {ind} reported in {unit}" + ("" if factor == 1.0 else f", converted x{factor:g}"))
        if p.mapped_columns:
            lines.append("  mapped columns: " + "; ".join(f"{h} -> {c}" for h, c in p.mapped_columns.items()))
        if p.unmapped_columns:
            lines.append("  unmapped columns (not loaded; map them with a manifest row file,indicator,unit,column): "
                         + "; ".join(p.unmapped_columns))
        lines.append(f"  {p.level} units x years: {len(p.units)} x {len(p.years)} ({year_ranges(p.years)}); "
                     f"data rows {p.rows}")
        lines.append(f"  cells: {p.cells}, missing: {p.cells_missing}")
        if p.variant:
            lines.append(f"  variant: {p.variant}")
        if p.empty_years:
            lines.append(f"  empty year columns (carry no data, not loaded): {', '.join(map(str, p.empty_years))}")
        for note in p.notes:
            lines.append(f"  note: {note}")
        counts = plan.per_file.get(p.file_name, {"inserted": 0, "revised": 0})
        lines.append(f"  a load would insert {counts['inserted']} cells and revise {counts['revised']} loaded values")
        mine = revisions[revisions.new_source_file == p.file_name] if revisions is not None else []
        for r in list(mine.itertuples())[:MAX_REVISIONS_SHOWN]:
            change = "" if r.old_value is None or r.old_value != r.old_value or r.old_value == 0 else \
                f" ({(r.new_value - r.old_value) / abs(r.old_value):+.1%})"
            old = "missing" if r.old_value != r.old_value or r.old_value is None else f"{r.old_value:g}"
            lines.append(f"    revises {r.indicator_code} {r.unit_code} {r.year}: {old} ({r.old_source_file}) -> "
                         f"{r.new_value:g}{change}")
        if len(mine) > MAX_REVISIONS_SHOWN:
            lines.append(f"    ... and {len(mine) - MAX_REVISIONS_SHOWN} more")
    if plan.large_revisions is not None and len(plan.large_revisions):
        lines.append(f"\nlarge revisions (beyond {LARGE_REVISION:.0%}; a load needs --accept-revisions): "
                     f"{len(plan.large_revisions)}")
        for r in list(plan.large_revisions.itertuples())[:MAX_REVISIONS_SHOWN]:
            lines.append(f"  {r.indicator_code} {r.unit_code} {r.year}: {r.old_value:g} -> {r.new_value:g} "
                         f"({r.relative_change:+.0%}) in {r.source_file} line {r.source_line}")
    if plan.problems:
        lines.append(f"\nproblems (a load would be refused, nothing written): {len(plan.problems)}")
        lines += [f"  {e}" for e in plan.problems]
    else:
        lines.append("\nno problems: a load would succeed")
    return lines
