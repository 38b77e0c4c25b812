"""``python -m conv4rec``: fetch, train, predict, recommend, evaluate, demo."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

from conv4rec.checkpoint import CheckpointError, atomic_write_bytes, atomic_write_text
from conv4rec.config import ConfigError, Conv4RecConfig, fields_over_defaults
from conv4rec.data import DataError, Interactions, Split, load_dataset
from conv4rec.estimator import Conv4RecEstimator, TrainingError
from conv4rec.evaluation import evaluate_explicit, evaluate_ranking, explicit_breakdown
from conv4rec.predict import (
    consumption,
    default_tau,
    expected_rating,
    hidden_gems,
    prob_high,
    rating_distribution,
    top_n,
)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def torch_device(text: str, *, usable: bool = True) -> str:
    """A ``--device`` value: a torch device this machine has (cpu, cuda, cuda:1, mps); with
    ``usable=False``, any well-formed device name (e.g. to read a GPU's cached results)."""
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(f"not a torch device: {text!r} (e.g. cpu, cuda)"
                                         ) from None
    if not usable:
        return text
    if device.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text!r}: this machine has no usable CUDA device "
                                         f"(torch {torch.__version__})")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(f"{text!r}: this machine has "
                                         f"{torch.cuda.device_count()} CUDA device(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise argparse.ArgumentTypeError(f"{text!r}: MPS is not available on this machine")
    return text


def _print_json(obj: object) -> None:
    print(json.dumps(obj, indent=2, sort_keys=True))


def evaluate_on_split(est: Conv4RecEstimator, test: Interactions
                      ) -> tuple[dict[str, float], np.ndarray]:
    """The metrics rmse, mae, recall@20/50 and ndcg@100 of a fitted estimator on test
    interactions of its training users (weak generalization: the training interactions are
    excluded from ranking), from one prediction pass; and the test ratings' predictions."""
    predicted, users, scores = est.predict_ratings_and_scores(test.user, test.item)
    metrics = evaluate_explicit(lambda u, i: predicted, test)
    metrics.update(evaluate_ranking(lambda u: scores[np.searchsorted(users, u)],
                                    est.train_data_, test))
    metrics["n_test"] = int(test.n_observed)
    return metrics, predicted


# ------------------------------------------------------------------- config from arguments
def _float_or_none(text: str) -> float | str:
    """A float, or "none" (kept as the word: a flag left out is None) for an option whose
    None means "as another field" (``--refine-alpha none``: the training loss's alpha)."""
    if text.strip().lower() == "none":
        return "none"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or none, got {text!r}") from None


_CONFIG_FLAGS = {
    "orientation": str, "in_channels": int, "out_channels": int, "activation": str,
    "decoder_activation": str, "input_scaling": str, "dropout": float, "alpha": float,
    "beta": float, "target": str, "target_fraction": float, "input_dropout": float,
    "eta": float, "epochs": int, "batch_size": int, "lr": float, "weight_decay": float,
    "patience": int, "validation_fraction": float, "monitor": str, "lr_drops": int,
    "column_l2": float, "refine_steps": int, "refine_lr": float, "weight_average": float,
    "refine_alpha": _float_or_none,
}


def _add_config_args(p: argparse.ArgumentParser) -> None:
    defaults = Conv4RecConfig()
    g = p.add_argument_group("model and training (defaults from Conv4RecConfig)")
    g.add_argument("--config", type=Path, help="JSON file of Conv4RecConfig fields; "
                   "flags below override it")
    g.add_argument("--hidden", type=str, help=f"encoder widths, comma-separated "
                   f"(default {','.join(map(str, defaults.hidden))})")
    for flag, what in (("item-bias", "per-(item, level) logit bias"),
                       ("shared-weights", "item-shared encoder/decoder component")):
        g.add_argument("--" + flag, choices=("yes", "no"),
                       help=f"{what} (default {getattr(defaults, flag.replace('-', '_'))})")
    for name, typ in _CONFIG_FLAGS.items():
        g.add_argument("--" + name.replace("_", "-"), type=typ,
                       help=f"default {getattr(defaults, name)!r}")


def _config_from_args(args: argparse.Namespace) -> Conv4RecConfig:
    # start from every default: a JSON file that leaves an option out gets the default
    fields = fields_over_defaults(args.config)
    for name in _CONFIG_FLAGS:
        value = getattr(args, name)
        if value is not None:
            fields[name] = None if value == "none" else value
    if args.hidden:
        try:
            fields["hidden"] = tuple(int(h) for h in args.hidden.split(","))
        except ValueError:
            raise ConfigError(f"--hidden {args.hidden!r}: expected integers like 256,128") from None
    for name in ("item_bias", "shared_weights"):
        if getattr(args, name):
            fields[name] = getattr(args, name) == "yes"
    return Conv4RecConfig.from_dict(fields)


# --------------------------------------------------------------------------- commands
def cmd_fetch(args: argparse.Namespace) -> int:
    from conv4rec.data.fetch import fetch

    path = fetch(args.name, cache_dir=args.cache_dir, progress=not args.quiet)
    if args.json:
        _print_json({"name": args.name, "path": str(path)})
    else:
        print(f"{args.name}: {path}")
    return 0


def _known_users_only(split: Split) -> Interactions:
    """The test interactions of users and items that have training data (a user or item
    unseen at training time cannot be scored by a model that was never told about it)."""
    test = split.test
    has_user = np.bincount(split.train.user, minlength=test.n_users) > 0
    return test.subset(has_user[test.user])


def cmd_train(args: argparse.Namespace) -> int:
    config = _config_from_args(args)
    split = load_dataset(args.data, args.split)
    est = Conv4RecEstimator(config, device=args.device, progress=not args.quiet)
    start = time.perf_counter()
    est.fit(split.train, generator=args.seed)
    train_seconds = time.perf_counter() - start
    test = _known_users_only(split)
    metrics = evaluate_on_split(est, test)[0]
    metrics.update(train_seconds=train_seconds, epochs_run=len(est.history_),
                   best_epoch=est.best_epoch_, refine_steps=est.refine_steps_,
                   dataset=str(args.data), split=split.name,
                   seed=args.seed, config=config.to_dict())
    risk = est.risk_report(test)
    out = Path(args.out)
    est.save(out / "checkpoint.pt", risk=risk, test_metrics={
        k: v for k, v in metrics.items() if isinstance(v, float)})
    metrics["risk"] = risk
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2, sort_keys=True))
    if args.json:
        _print_json(metrics)
    else:
        print(f"trained on {split.train.source} [{split.name}]: {split.train.n_users} users x "
              f"{split.train.n_items} items, {split.train.n_observed} interactions, "
              f"{len(est.history_)} epochs (best {est.best_epoch_}) in {train_seconds:.1f} s")
        for k in ("rmse", "mae", "recall@20", "recall@50", "ndcg@100"):
            print(f"  test {k:<10} {metrics[k]:.4f}")
        print(f"  checkpoint  {out / 'checkpoint.pt'}\n  metrics     {out / 'metrics.json'}")
    return 0


def _parse_users(est: Conv4RecEstimator, text: str | None) -> np.ndarray:
    if not text:
        return np.arange(est.train_data_.n_users)
    return np.array([est.train_data_.user_index(u.strip()) for u in text.split(",") if u.strip()])


def cmd_predict(args: argparse.Namespace) -> int:
    est = Conv4RecEstimator.load(args.checkpoint, device=args.device)
    users = _parse_users(est, args.users)
    data = est.train_data_
    probs = torch.cat([est.predict_log_proba(users[b:b + 256]).exp()
                       for b in range(0, len(users), 256)]).numpy()

    def write(fh) -> None:
        np.savez_compressed(fh, users=data.user_ids[users].astype(str),
                            items=data.item_ids.astype(str), levels=est.levels_, probs=probs)

    atomic_write_bytes(args.out, write)
    summary = {"out": str(args.out), "users": len(users), "items": int(data.n_items),
               "levels": est.levels_.tolist(), "probs_shape": list(probs.shape)}
    if args.json:
        _print_json(summary)
    else:
        print(f"wrote q_u(i, c) for {len(users)} users x {data.n_items} items x "
              f"{len(est.levels_)} levels to {args.out}")
    return 0


def recommendations(est: Conv4RecEstimator, user: int, k: int, gems: bool,
                    tau: float | None = None) -> list[dict]:
    """The top-k unseen items (or hidden gems) of one user with their rating distributions."""
    data = est.train_data_
    log_q = est.predict_log_proba(np.array([user]))
    seen = torch.zeros(1, data.n_items, dtype=torch.bool)
    seen[0, data.item[data.user == user]] = True
    if gems:
        picked = hidden_gems(log_q, est.levels_, k, tau=tau, exclude=seen)[0]
    else:
        picked = top_n(consumption(log_q), k, seen)[0]
    q, dist = consumption(log_q)[0], rating_distribution(log_q)[0]
    exp, high = expected_rating(log_q, est.levels_)[0], prob_high(log_q, est.levels_, tau)[0]
    return [{"item": str(data.item_ids[i]), "consumption": float(q[i]),
             "expected_rating": float(exp[i]), "p_high": float(high[i]),
             "rating_distribution": {f"{v:g}": float(p) for v, p in zip(est.levels_, dist[i])}}
            for i in picked.tolist()]


def cmd_recommend(args: argparse.Namespace) -> int:
    est = Conv4RecEstimator.load(args.checkpoint, device=args.device)
    user = est.train_data_.user_index(args.user)
    recs = recommendations(est, user, args.k, args.hidden_gems, args.tau)
    if args.json:
        _print_json({"user": args.user, "hidden_gems": args.hidden_gems, "items": recs})
        return 0
    tau = default_tau(est.levels_) if args.tau is None else args.tau
    kind = f"hidden gems (P(rating >= {tau:g}))" if args.hidden_gems else "top items"
    print(f"user {args.user}: {kind}")
    print(f"{'item':>10} {'q_u(i)':>9} {'E[rating]':>9} {'P(high)':>8}  rating distribution")
    for r in recs:
        dist = " ".join(f"{v}:{p:.2f}" for v, p in r["rating_distribution"].items())
        print(f"{r['item']:>10} {r['consumption']:9.2e} {r['expected_rating']:9.3f} "
              f"{r['p_high']:8.3f}  {dist}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    est = Conv4RecEstimator.load(args.checkpoint, device=args.device)
    split = load_dataset(args.data, args.split)
    ckpt_fp = est.metadata_.get("data_fingerprint")
    if split.train.fingerprint() != ckpt_fp:
        print(f"warning: the training part of {args.data} [{split.name}] is not the data this "
              f"checkpoint was trained on (fingerprint {split.train.fingerprint()} != {ckpt_fp})",
              file=sys.stderr)
    if (split.train.n_items != est.train_data_.n_items
            or split.train.n_users != est.train_data_.n_users
            or not np.array_equal(split.train.levels, est.levels_)):
        raise DataError(f"{args.data}: users, items or levels differ from the checkpoint's "
                        f"({split.train.n_users}x{split.train.n_items}, levels "
                        f"{split.train.levels.tolist()} vs {est.train_data_.n_users}x"
                        f"{est.train_data_.n_items}, {est.levels_.tolist()})")
    if args.refine_steps is not None:
        if args.refine_steps < 0:
            raise ConfigError(f"--refine-steps {args.refine_steps}: expected an integer >= 0")
        est.refine_steps_ = args.refine_steps
    try:
        if args.refine_alpha is not None:
            est.config = est.config.replace(
                refine_alpha=None if args.refine_alpha == "none" else args.refine_alpha)
        if args.refine_lr is not None:
            est.config = est.config.replace(refine_lr=args.refine_lr)
    except ConfigError as exc:
        raise ConfigError(f"--refine-alpha/--refine-lr: {exc}") from None
    test = _known_users_only(split)
    metrics, predicted = evaluate_on_split(est, test)
    metrics["refine_steps"] = est.refine_steps_
    if est.refine_steps_:
        metrics["refine_alpha"] = est.config.refine_alpha
        metrics["refine_lr"] = est.config.refine_lr
    if args.breakdown:
        metrics["breakdown"] = explicit_breakdown(lambda users, items: predicted,
                                                  est.train_data_, test)
    if args.json:
        _print_json(metrics)
        return 0
    for k, v in metrics.items():
        if k != "breakdown":
            print(f"{k:<10} {v:.4f}" if isinstance(v, float) else f"{k:<10} {v}")
    for row in metrics.get("breakdown", []):
        print(f"rmse of test ratings whose {row['by']} has {row['lo']}-{row['hi']} training "
              f"ratings ({row['n']}): {row['rmse']:.4f}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from conv4rec.demo import run_demo

    return run_demo(quiet=args.quiet)


# ----------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conv4rec",
        description="Conv4Rec: train, evaluate and query a 1x1 convolutional autoencoder "
                    "recommender that models which items users consume and how they rate them.")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help_: str, json_flag: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        if json_flag:
            p.add_argument("--json", action="store_true", help="print machine-readable JSON")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        return p

    p = add("fetch", "download a public dataset from its publisher into the cache folder")
    p.add_argument("name", help="dataset name, e.g. ml-100k, ml-latest-small, ml-1m")
    p.add_argument("--cache-dir", type=Path, help="default: $CONV4REC_CACHE or ~/.cache/conv4rec")
    p.set_defaults(func=cmd_fetch)

    p = add("train", "train on a dataset; writes OUT/checkpoint.pt and OUT/metrics.json")
    p.add_argument("--data", required=True, help="dataset name (ml-100k, ml-latest-small, "
                   "ml-1m, douban, flixster) or a path to a CSV/TSV file or an ml-100k folder")
    p.add_argument("--split", help="split name, e.g. u1..u5, ua, ub for ml-100k")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.add_argument("--device", type=torch_device, default="cpu",
                   help="torch device (default cpu)")
    _add_config_args(p)
    p.set_defaults(func=cmd_train)

    p = add("predict", "write q_u(i, c) of users to an .npz file")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--users", help="comma-separated raw user ids (default: all)")
    p.add_argument("--out", required=True, type=Path, help="output .npz file")
    p.add_argument("--device", type=torch_device, default="cpu", help="torch device (default cpu)")
    p.set_defaults(func=cmd_predict)

    p = add("recommend", "top-k unseen items (or hidden gems) of one user")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--user", required=True, help="raw user id")
    p.add_argument("-k", type=positive_int, default=10, help="number of items (default 10)")
    p.add_argument("--hidden-gems", action="store_true",
                   help="items outside the user's top 10%% of consumption, ranked by P(high)")
    p.add_argument("--tau", type=float, help="threshold of a high rating "
                   "(default v_1 + 0.75 (v_C - v_1))")
    p.add_argument("--device", type=torch_device, default="cpu", help="torch device (default cpu)")
    p.set_defaults(func=cmd_recommend)

    p = add("evaluate", "RMSE, MAE, Recall@k and NDCG@k of a checkpoint on a test split")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--data", required=True, help="dataset name or path (as for train)")
    p.add_argument("--split", help="split name")
    p.add_argument("--breakdown", action="store_true", help="also the RMSE by quintile of the "
                   "items' and the users' training counts")
    p.add_argument("--refine-steps", type=int, help="refinement steps of each user's code "
                   "before predicting (default: the checkpoint's; 0 = the network alone)")
    p.add_argument("--refine-alpha", type=_float_or_none, help="implicit weight of the "
                   "refinement's loss (default: the checkpoint's config; none = its alpha)")
    p.add_argument("--refine-lr", type=float, help="step size of the refinement (default: the "
                   "checkpoint's config)")
    p.add_argument("--device", type=torch_device, default="cpu", help="torch device (default cpu)")
    p.set_defaults(func=cmd_evaluate)

    p = add("demo", "train on a small synthetic dataset and show recommendations",
            json_flag=False)
    p.set_defaults(func=cmd_demo)

    from conv4rec.benchmark import add_benchmark_parser

    add_benchmark_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (DataError, ConfigError, CheckpointError, TrainingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
