"""The ``resilience`` command: one entry point, one subcommand per pipeline step.

Each subcommand is a thin shell over a library function; the modules are imported lazily
so that ``resilience status`` does not pay for importing Prefect or the estimators.
Errors that a user can fix (bad extracts, a locked warehouse, a panel or specification the
estimators refuse) are printed as one line without a traceback and exit with status 1.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Iterator

from estimation.errors import EstimationError
from warehouse.errors import ResilienceError
from warehouse.paths import SAMPLE_BASE_DIR, warehouse_path

#: Errors a user can cause and act on: printed as one line, exit status 1.
USER_ERRORS = (ResilienceError, EstimationError)


def _add_warehouse(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--warehouse", "-w", default=None,
        help="DuckDB warehouse file (default: $RESILIENCE_WAREHOUSE or data/warehouse.duckdb)",
    )


def _add_level(p: argparse.ArgumentParser) -> None:
    p.add_argument("--level", choices=["province", "prefecture", "county"], default=None,
                   help="the study's administrative level (default: the finest level loaded)")


@contextlib.contextmanager
def _writing(args: argparse.Namespace) -> Iterator[Path]:
    """A working copy of the warehouse for a writing command, published atomically when the
    command succeeds (warehouse.publish.writing): one writer at a time, analysts' read-only
    queries never fail because of it, and a failed command changes nothing."""
    from warehouse.publish import writing

    with writing(warehouse_path(args.warehouse), f"resilience {args.command}") as working:
        yield working


def _cmd_load(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from warehouse.loader import load_landing

    with _writing(args) as working:
        summary = load_landing(Path(args.landing_dir), working, vintage=args.vintage,
                               accept_revisions=args.accept_revisions, variant=args.variant)
    print(replace(summary, warehouse=warehouse_path(args.warehouse)).describe())
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    from warehouse.inspect import inspect_paths

    print(inspect_paths(args.paths, warehouse_path(args.warehouse), vintage=args.vintage, variant=args.variant,
                        accept_revisions=args.accept_revisions))
    return 0


def _cmd_unload(args: argparse.Namespace) -> int:
    from warehouse.loader import unload_batch

    with _writing(args) as working:
        summary = unload_batch(working, args.batch_id, force=args.force)
    print(summary.describe())
    return 0


def _add_ingest_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--accept-revisions", action="store_true",
                   help="load revisions larger than 25%% of the loaded value (listed by `resilience inspect`)")
    p.add_argument("--variant", choices=["全市", "市辖区"], default=None,
                   help="variant of city yearbook tables: 全市 (whole city, default) or 市辖区 (urban districts)")


def _cmd_sample(args: argparse.Namespace) -> int:
    from synthetic.dgp import SampleSpec
    from synthetic.sample import write_sample

    spec = SampleSpec(seed=args.seed, units=args.units, first_year=args.first_year, last_year=args.last_year)
    written = write_sample(Path(args.out_dir), spec, next_vintage_dir=args.next_vintage_dir)
    print(f"wrote {len(written)} synthetic extract files to {args.out_dir}")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from warehouse.status import describe_warehouse

    print(describe_warehouse(warehouse_path(args.warehouse)))
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from warehouse.build_options import build_options
    from warehouse.dbt_runner import dbt_build

    options = build_options(_parse_vars(args.var)).at_level(args.level)  # refused before anything is copied
    with _writing(args) as working:
        dbt_build(working, select=args.select, extra_vars=options)
    return 0


def _cmd_estimate(args: argparse.Namespace) -> int:
    from flows.pipeline import estimate_and_publish

    with _writing(args) as working:
        run_id = estimate_and_publish(working, replications=args.replications, seed=args.seed)
    print(f"results written under run_id {run_id}")
    return 0


def _cmd_refresh(args: argparse.Namespace) -> int:
    from flows.annual_refresh import annual_refresh
    from flows.prefect_server import prefect_api

    with prefect_api():
        summary = annual_refresh(
            landing_dir=str(args.landing_dir),
            warehouse=str(warehouse_path(args.warehouse)),
            vintage=args.vintage,
            replications=args.replications,
            seed=args.seed,
            level=args.level,
        )
    print(f"run {summary['run_id']} {summary['status']}")
    print(f"warehouse: {summary['warehouse']}")
    print(f"report:    {summary['report_dir']}/report.html (and report.md)")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from flows.report import write_report

    warehouse = warehouse_path(args.warehouse)
    paths = write_report(warehouse, Path(args.out_dir) if args.out_dir else None, run_id=args.run_id)
    for p in paths:
        print(p)
    return 0


def _cmd_moran_plot(args: argparse.Namespace) -> int:
    import duckdb

    from flows.pipeline import load_inputs
    from flows.plots import moran_scatter_of_panel

    with duckdb.connect(str(warehouse_path(args.warehouse)), read_only=True) as con:
        inputs = load_inputs(con)
    out = Path(args.out or f"moran_{args.variable}_{args.year}_{args.matrix}.png")
    print(moran_scatter_of_panel(inputs, args.variable, args.year, args.matrix, out))
    return 0


def _cmd_map(args: argparse.Namespace) -> int:
    import duckdb

    from flows.maps import load_boundaries, map_of_panel
    from flows.pipeline import load_inputs
    from warehouse.runs import data_vintage

    with duckdb.connect(str(warehouse_path(args.warehouse)), read_only=True) as con:
        inputs, shapes, vintage = load_inputs(con), load_boundaries(con), data_vintage(con).vintage
    note = "SYNTHETIC SAMPLE: not real data." if vintage and "synthetic" in vintage.lower() else \
        (f"Data vintage: {vintage}." if vintage else None)
    out = Path(args.out or f"map_{args.kind}_{args.variable}_{args.year}.png")
    print(map_of_panel(inputs, shapes, variable=args.variable, year=args.year, kind=args.kind, path=out,
                       matrix=args.matrix, scheme=args.scheme, k=args.classes, alpha=args.alpha,
                       adjustment=args.adjust, permutations=args.permutations, seed=args.seed,
                       data_note=note, dpi=args.dpi))
    return 0


def _parse_vars(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ResilienceError(f"--var expects KEY=VALUE, got {pair!r}")
        out[key] = value
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="resilience", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("load", help="load every extract in a landing folder into schema raw")
    p.add_argument("landing_dir", nargs="?", default=str(SAMPLE_BASE_DIR))
    p.add_argument("--vintage", default=None, help="label for this batch (default: derived from the files)")
    _add_ingest_options(p)
    _add_warehouse(p)
    p.set_defaults(func=_cmd_load)

    p = sub.add_parser("inspect", help="dry run: what a load of these files or folders would do (writes nothing)")
    p.add_argument("paths", nargs="+", help="landing folders, or files inside one")
    p.add_argument("--vintage", default=None, help="label the load would use (default: vintage.txt)")
    _add_ingest_options(p)
    _add_warehouse(p)
    p.set_defaults(func=_cmd_inspect)

    p = sub.add_parser("unload", help="undo a load batch (its cells go, the values it revised come back)")
    p.add_argument("batch_id", help="a batch id of raw.load_log (see `resilience status`)")
    p.add_argument("--force", action="store_true",
                   help="unload even though later batches revised its values (their values stay)")
    _add_warehouse(p)
    p.set_defaults(func=_cmd_unload)

    p = sub.add_parser("sample", help="write the seeded synthetic sample of raw extracts")
    p.add_argument("out_dir")
    p.add_argument("--next-vintage-dir", default=None, help="also write the next-yearbook vintage here")
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--units", choices=["province", "prefecture", "county"], default="province")
    p.add_argument("--first-year", type=int, default=2013)
    p.add_argument("--last-year", type=int, default=2021)
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("status", help="show what the warehouse holds")
    _add_warehouse(p)
    p.set_defaults(func=_cmd_status)

    p = sub.add_parser("build", help="run dbt build on the warehouse")
    p.add_argument("--select", default=None, help="dbt node selection")
    p.add_argument("--var", action="append", help="dbt var KEY=VALUE (repeatable)")
    _add_level(p)
    _add_warehouse(p)
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("estimate", help="estimate every specification and write schema results")
    p.add_argument("--replications", type=int, default=1000)
    p.add_argument("--seed", type=int, default=12345)
    _add_warehouse(p)
    p.set_defaults(func=_cmd_estimate)

    p = sub.add_parser("refresh", help="run the whole annual refresh in-process (no server)")
    p.add_argument("landing_dir", nargs="?", default=str(SAMPLE_BASE_DIR))
    p.add_argument("--vintage", default=None)
    p.add_argument("--replications", type=int, default=1000)
    p.add_argument("--seed", type=int, default=12345)
    _add_level(p)
    _add_warehouse(p)
    p.set_defaults(func=_cmd_refresh)

    p = sub.add_parser("moran-plot", help="Moran scatter plot of any variable, year and matrix (PNG)")
    p.add_argument("--variable", default="er", help="an analysis_panel column, e.g. er, dt, isu")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--matrix", default="geographic", help="a matrix of marts.spatial_weights (seed weight_matrices)")
    p.add_argument("--out", default=None, help="PNG path (default moran_<variable>_<year>_<matrix>.png)")
    _add_warehouse(p)
    p.set_defaults(func=_cmd_moran_plot)

    p = sub.add_parser("map", help="choropleth or LISA cluster map of any variable and year (PNG)")
    p.add_argument("--variable", required=True, help="an analysis_panel column, e.g. er, dt, isu")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--kind", choices=["choropleth", "lisa"], default="choropleth")
    p.add_argument("--matrix", default="adjacency", help="LISA: a matrix of marts.spatial_weights")
    p.add_argument("--scheme", default="fisher_jenks",
                   choices=["fisher_jenks", "natural_breaks", "quantiles", "equal_interval"],
                   help="choropleth: mapclassify classification")
    p.add_argument("--classes", type=int, default=5, help="choropleth: number of classes")
    p.add_argument("--alpha", type=float, default=0.05, help="LISA: significance level of the pseudo p-values")
    p.add_argument("--adjust", choices=["none", "bonferroni", "fdr"], default="none",
                   help="LISA: multiple-testing adjustment (fdr = Benjamini-Hochberg)")
    p.add_argument("--permutations", type=int, default=999, help="LISA: conditional permutations")
    p.add_argument("--seed", type=int, default=12345, help="LISA: seed of the permutations")
    p.add_argument("--dpi", type=int, default=150, help="resolution of the 9 x 7.2 inch PNG")
    p.add_argument("--out", default=None, help="PNG path (default map_<kind>_<variable>_<year>.png)")
    _add_warehouse(p)
    p.set_defaults(func=_cmd_map)

    p = sub.add_parser("report", help="write the Markdown/HTML report of a run")
    p.add_argument("--out-dir", default=None,
                   help="default: reports/<run_id> next to the warehouse, where the refresh writes it")
    p.add_argument("--run-id", default=None, help="default: the latest successful run")
    _add_warehouse(p)
    p.set_defaults(func=_cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a full disk, a folder without write permission, ...
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
