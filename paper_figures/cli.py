"""``python -m paper_figures``: list and build figures from cached results."""

from __future__ import annotations

import argparse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m paper_figures",
        description="Rebuild figures from cached results (simulations, bounds, benchmarks). "
                    "Figures read caches only; a missing cache fails with the command that "
                    "produces it.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="name every figure script")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "list":
        print("(no figures yet)")
    return 0
