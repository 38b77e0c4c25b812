"""``python -m paper_figures``: list the figures, build one or all of them from cached results.

    python -m paper_figures list [--json]
    python -m paper_figures all  [--out DIR] [--format png,pdf] [--results DIR]
                                 [--size small|full] [--build-caches] [--docs DIR] [--json]
    python -m paper_figures NAME [the same options]

Figures read cached results only and never train. A missing cache fails with the exact command
that produces it; ``--build-caches`` runs those commands first (simulation sweeps, benchmark
tables), and with every cache present it runs nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from paper_figures import sources, style
from paper_figures.registry import FIGURE_NAMES, all_figures, build, get_figure
from paper_figures.sources import MissingCacheError, results_root

DEFAULT_OUT = Path("results") / "figures"


def _formats(text: str) -> tuple[str, ...]:
    formats = tuple(dict.fromkeys(f.strip().lower().lstrip(".") for f in text.split(",")
                                  if f.strip()))
    allowed = {"png", "pdf", "svg"}
    bad = [f for f in formats if f not in allowed]
    if not formats or bad:
        raise argparse.ArgumentTypeError(f"--format {text!r}: expected a comma-separated list "
                                         f"of {', '.join(sorted(allowed))}")
    return formats


def cmd_list(args: argparse.Namespace) -> int:
    root = results_root(args.results)
    figures = all_figures()
    if args.json:
        print(json.dumps([{
            "name": fig.NAME, "description": fig.DESCRIPTION,
            "size_inches": list(fig.FIGSIZE),
            "requires": [{"cache": src.describe(root, args.size),
                          "command": src.command(root, args.size)} for src in fig.REQUIRES],
        } for fig in figures], indent=2))
        return 0
    for fig in figures:
        print(f"{fig.NAME:22s} {fig.DESCRIPTION}")
        for src in fig.REQUIRES:
            print(f"{'':22s}   reads {src.describe(root, args.size)}")
            print(f"{'':22s}     made by: {src.command(root, args.size)}")
    return 0


def build_caches(figures: list, root: Path, size: str) -> list[dict[str, Any]]:
    """Run the producing command of every missing cache, once each, in figure order.

    Returns one record per command considered: the command, whether it ran, its exit status
    and wall time.
    """
    done: dict[str, dict[str, Any]] = {}
    for fig in figures:
        for src in fig.REQUIRES:
            command = src.command(root, size)
            if command in done and done[command]["ran"]:
                continue
            missing = src.missing(root, size)
            if not missing:
                done.setdefault(command, {"command": command, "ran": False, "returncode": 0,
                                          "seconds": 0.0})
                continue
            print(f"[caches] {missing[0]}\n[caches] running: {command}", flush=True)
            start = time.perf_counter()
            # the producer's table goes nowhere (the figures show it); errors go to stderr
            proc = subprocess.run([sys.executable, *src.argv(root, size)], check=False,
                                  stdout=subprocess.DEVNULL)
            seconds = time.perf_counter() - start
            done[command] = {"command": command, "ran": True, "returncode": proc.returncode,
                             "seconds": seconds}
            print(f"[caches] {'done' if proc.returncode == 0 else 'FAILED'} in {seconds:.0f} s "
                  f"(exit {proc.returncode})", flush=True)
    return list(done.values())


def cmd_build(args: argparse.Namespace) -> int:
    root = results_root(args.results)
    figures = all_figures() if args.target == "all" else [get_figure(args.target)]
    report: dict[str, Any] = {"results": str(root), "size": args.size, "caches": [],
                              "figures": []}
    start = time.perf_counter()
    if args.build_caches:
        report["caches"] = build_caches(figures, root, args.size)
    failures = 0
    for fig in figures:
        t0 = time.perf_counter()
        entry: dict[str, Any] = {"name": fig.NAME}
        try:
            paths = build(fig, root, args.out, args.format, size=args.size,
                          docs_dir=args.docs)
        except MissingCacheError as exc:
            failures += 1
            entry.update(ok=False, error=str(exc), commands=exc.commands)
            print(f"error: {exc}", file=sys.stderr)
        except Exception as exc:  # one broken figure must not stop the others
            failures += 1
            entry.update(ok=False, error=f"{type(exc).__name__}: {exc}")
            logging.getLogger(__name__).debug("figure %s failed", fig.NAME, exc_info=True)
            print(f"error: figure {fig.NAME!r}: {type(exc).__name__}: {exc}", file=sys.stderr)
        else:
            entry.update(ok=True, files=[str(p) for p in paths])
            if not args.json:
                print(f"{fig.NAME:22s} {time.perf_counter() - t0:6.1f} s  "
                      f"{', '.join(str(p) for p in paths)}", flush=True)
        entry["seconds"] = time.perf_counter() - t0
        report["figures"].append(entry)
    report["seconds"] = time.perf_counter() - start
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        built = sum(e["ok"] for e in report["figures"])
        ran = [c for c in report["caches"] if c["ran"]]
        cache_s = sum(c["seconds"] for c in ran)
        print(f"{built} of {len(figures)} figure(s) built in {report['seconds']:.1f} s"
              + (f" ({len(ran)} cache command(s), {cache_s:.0f} s)" if args.build_caches
                 else ""))
    return 1 if failures else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m paper_figures",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Rebuild the figures from cached results (simulation sweeps, benchmark "
                    "tables, checkpoints). Figures never train: a missing cache fails with "
                    "the command that produces it.",
        epilog="figures:\n" + "\n".join(f"  {name}" for name in FIGURE_NAMES)
        + f"\n\nResults are read from --results DIR, else ${sources.RESULTS_ENV}, else "
          "./results.\nexit status: 0 every figure built, 1 some figure failed, 2 bad "
          "arguments")
    parser.add_argument("target", metavar="list|all|NAME",
                        help="`list` the figures, build `all`, or build the figure NAME")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--format", type=_formats, default=("png", "pdf"),
                        help="comma-separated formats: png, pdf, svg (default png,pdf)")
    parser.add_argument("--docs", type=Path, default=None, metavar="DIR",
                        help=f"also write a small PNG ({style.DOCS_DPI} dpi) of each figure "
                             "here (make figures: docs/figures)")
    parser.add_argument("--results", help="results folder the caches live in")
    parser.add_argument("--size", choices=sources.SIZES, default="small",
                        help="which caches: small (default; minutes on 2 cores) or full (the "
                             "paper's sizes: more seeds, longer sweeps, every benchmark run)")
    parser.add_argument("--build-caches", action="store_true",
                        help="first run the command of every missing cache (never reruns a "
                             "cached result)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.target == "list":
        return cmd_list(args)
    if args.target != "all" and args.target not in FIGURE_NAMES:
        print(f"error: unknown figure {args.target!r}; known: list, all, "
              f"{', '.join(FIGURE_NAMES)}", file=sys.stderr)
        return 2
    try:
        return cmd_build(args)
    except KeyboardInterrupt:
        print("interrupted: finished caches and figures are kept; run the same command to "
              "resume", file=sys.stderr)
        return 130
