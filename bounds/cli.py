"""``python -m bounds CKPT``: every bound of a checkpoint next to its measured gap."""

from __future__ import annotations

import argparse
import sys

from bounds.registry import REGISTRY, build_report
from bounds.stats import BoundsError, CheckpointStats
from conv4rec.checkpoint import CheckpointError


def _delta(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected 0 < delta < 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    names = "\n".join(f"  {name}: {spec.summary}" for name, spec in REGISTRY.items())
    parser = argparse.ArgumentParser(
        prog="python -m bounds",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Generalization bounds of a Conv4Rec checkpoint (from the file alone), "
                    "next to its measured train/test gap. Derivations: docs/bounds.md.",
        epilog=f"bounds:\n{names}\n\nexit status: 0 ok, 2 unreadable checkpoint or bad "
               "arguments")
    parser.add_argument("checkpoint", help="checkpoint file written by conv4rec")
    parser.add_argument("--delta", type=_delta, default=0.05,
                        help="each bound holds with probability >= 1 - delta (default 0.05)")
    parser.add_argument("--only", action="append", choices=list(REGISTRY), metavar="NAME",
                        help="compute only this bound (repeatable)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        stats = CheckpointStats.from_checkpoint(args.checkpoint)
    except (CheckpointError, BoundsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = build_report(stats, delta=args.delta, only=args.only)
    print(report.to_json() if args.json else report.format_table())
    return 0
