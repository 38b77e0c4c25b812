"""``python -m simulations``: list, run and show the sweeps; run the demo.

    python -m simulations list [--json]
    python -m simulations run NAME [--seeds 0-4] [--jobs 2] [--results DIR] [--json]
    python -m simulations show NAME [--seeds 0-4] [--results DIR] [--json]
    python -m simulations demo [--jobs 2] [--seeds 0-1] [--results DIR] [--json]

Results go to ``--results DIR``, else ``$CONV4REC_RESULTS``, else ``./results``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from simulations.cache import RESULTS_ENV, results_root
from simulations.report import format_table, summarise
from simulations.sweeps import SweepError, collect, get_sweep, list_sweeps, parse_seeds, run_sweep
from simulations.truths import TRUTHS


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, sort_keys=True))


def cmd_list(args: argparse.Namespace) -> int:
    sweeps = list_sweeps()
    if args.json:
        _print_json({
            "sweeps": [{"name": s.name, "description": s.description, "axis": s.axis,
                        "points": [x for x, _ in s.points], "seeds": list(s.seeds),
                        "runs": len(s.tasks())} for s in sweeps],
            "truths": {name: cfg.to_dict() for name, cfg in TRUTHS.items()}})
        return 0
    print("sweeps:")
    for s in sweeps:
        print(f"  {s.name:18s} {len(s.points)} points x {len(s.seeds)} seeds  {s.description}")
    print("truths:")
    for name, cfg in TRUTHS.items():
        print(f"  {name:18s} {type(cfg).__name__}: {cfg.n_users} users x {cfg.n_items} items x "
              f"{len(cfg.levels)} levels")
    return 0


def _seeds(args: argparse.Namespace) -> tuple[int, ...] | None:
    return parse_seeds(args.seeds) if args.seeds else None


def cmd_run(args: argparse.Namespace) -> int:
    sweep = get_sweep(args.name)
    root = results_root(args.results)
    envelopes = run_sweep(sweep, root=root, seeds=_seeds(args), jobs=args.jobs,
                          progress=not args.quiet)
    summary = summarise(sweep, envelopes)
    if args.json:
        _print_json(summary)
    else:
        print(format_table(summary))
        print(f"\nresults: {root / sweep.name}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    sweep = get_sweep(args.name)
    envelopes, missing = collect(sweep, root=results_root(args.results), seeds=_seeds(args))
    summary = summarise(sweep, envelopes, missing)
    if args.json:
        _print_json(summary)
    else:
        print(format_table(summary))
    return 0 if envelopes else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from simulations.demo import run_demo

    echo = (lambda text: print(text, file=sys.stderr)) if args.json else print
    out = run_demo(root=results_root(args.results), jobs=args.jobs, seeds=_seeds(args),
                   progress=not args.quiet, echo=echo)
    if args.json:
        _print_json(out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulations",
        description="Total-variation recovery simulations (SPEC §6, §8): sample from a known "
                    "truth, fit Conv4Rec and comparison estimators, measure exactly.",
        epilog=f"Results go to --results DIR, else ${RESULTS_ENV}, else ./results.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument("--json", action="store_true", help="print machine-readable JSON")
        return p

    add("list", "list the registered sweeps and truths").set_defaults(func=cmd_list)
    commands = (("run", "run a sweep (resuming from the cache) and print its table", cmd_run),
                ("show", "print the table of a sweep from the cache only", cmd_show))
    for name, help_, func in commands:
        p = add(name, help_)
        p.add_argument("name", help="sweep name (see `list`)")
        p.add_argument("--seeds", help="seeds, e.g. 0-4 or 0,2,5 (default: the sweep's; "
                                       "for show: every cached seed)")
        p.add_argument("--results", help="results directory")
        if name == "run":
            p.add_argument("--jobs", type=int, default=1,
                           help="worker processes, one torch thread each (default 1)")
            p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.set_defaults(func=func)
    p = add("demo", "the demo: a small TV-against-n sweep on the default truth, its "
                    "certificate, a table and a figure")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--seeds", help="seeds (default 0-1)")
    p.add_argument("--results", help="results directory")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except SweepError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished runs are cached; run the same command to resume",
              file=sys.stderr)
        return 130
