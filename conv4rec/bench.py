"""``python -m conv4rec.bench``: timings measured in one process, printed with their ratios.

Subcommands (each repeats its measurement and prints the median and the spread):

* ``epoch``: one training epoch of Conv4Rec and of a Mult-VAE of the same latent size on the
  same data, and their ratio; plus the FLOPs of the epoch (a training step's matrix-product
  FLOPs counted by ``torch.utils.flop_counter``, times the number of steps) and the achieved
  FLOP/s against a dense-matmul peak measured in the same run (the roofline ratio);
* ``rank``: full-ranking inference (scores of every item for every user);
* ``bounds``: computing every registered bound of a checkpoint of that size;
* ``scale``: training steps on a synthetic dataset shaped like ML-20M, with peak memory;
* ``growth``: time of a training step as the number of items and of interactions grows;
* ``profile``: where a training step's time goes (``torch.profiler``, top operators).

Timings depend on the machine and on what else runs on it; the ratios printed beside them
compare two things measured in the same process, one after the other. With ``--device cuda``,
``epoch``, ``rank`` and ``bounds`` also repeat their measurement on the CPU and print the
speed-up (``speedup_vs_cpu``); ``epoch`` then has no Mult-VAE ratio (that baseline runs on the
CPU only).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from conv4rec.cli import torch_device
from conv4rec.config import ConfigError, Conv4RecConfig, fields_over_defaults
from conv4rec.data import DataError, Interactions, load_dataset
from conv4rec.estimator import Conv4RecEstimator, RowData


def timed(fn: Callable[[], object], repeats: int) -> dict[str, float]:
    """Median, min and max wall time of ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "repeats": repeats}


def matmul_peak_flops(n: int = 2048, repeats: int = 5, device: str = "cpu") -> float:
    """FLOP/s of a dense (n x n) @ (n x n) float32 product on this machine, now."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)

    def run() -> None:
        (a @ b).sum().item()

    return 2.0 * n ** 3 / timed(run, repeats)["min_s"]


def training_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
                  rows_data: RowData, rows: np.ndarray, rng: np.random.Generator,
                  target_fraction: float, device: str) -> None:
    """One masked training step of ``model`` on the rows ``rows`` (no optimizer: no update)."""
    from conv4rec.loss import interaction_losses

    pos, batch_row = rows_data.gather(rows)
    target = rng.random(len(pos)) < target_fraction

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, device=device)

    logits = model(t(batch_row[~target]), t(rows_data.items[pos][~target]),
                   t(rows_data.levels[pos][~target]), len(rows))
    loss = interaction_losses(logits, t(batch_row[target]), t(rows_data.items[pos][target]),
                              t(rows_data.levels[pos][target])).mean()
    if optimizer is not None:
        optimizer.zero_grad()
    loss.backward()
    if optimizer is not None:
        optimizer.step()


def step_flops(config: Conv4RecConfig, data: Interactions, device: str = "cpu") -> float:
    """FLOPs of one training step (forward + backward) on a batch of ``data``, counted by
    ``torch.utils.flop_counter`` (matrix products only: the gathers are not counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    from conv4rec.model import Conv4Rec

    model = Conv4Rec(data.n_items, data.n_levels, config).to(device)
    rows_data = RowData.from_interactions(data)
    rng = np.random.default_rng(0)
    rows = rng.choice(np.flatnonzero(rows_data.counts), size=min(config.batch_size,
                      np.count_nonzero(rows_data.counts)), replace=False)
    with FlopCounterMode(display=False) as counter:
        training_step(model, None, rows_data, rows, rng, config.target_fraction, device)
    return float(counter.get_total_flops())


def _epoch_runner(est: Conv4RecEstimator, data: Interactions, seed: int = 0) -> Callable[[], None]:
    """A closure training ``est`` for one epoch on ``data`` (no validation, no early stop)."""
    def run() -> None:
        est.fit(data, generator=seed)
    return run


def bench_epoch(data: Interactions, config: Conv4RecConfig, repeats: int,
                device: str) -> dict:
    one_epoch = config.replace(epochs=1, patience=0, validation_fraction=0.0)
    est = Conv4RecEstimator(one_epoch, device=device, progress=False)
    conv = timed(_epoch_runner(est, data), repeats)
    out = {"conv4rec": conv, "conv4rec_s": conv["median_s"]}
    if device == "cpu":  # the Mult-VAE baseline runs on the CPU only: no ratio on a GPU
        from conv4rec.baselines.neural import MultVAE, MultVAEConfig

        # Mult-VAE of the same latent size, same batch size, one epoch, no validation pass
        vae = MultVAE(MultVAEConfig(latent=config.code_size, epochs=1, patience=0,
                                    validation_fraction=0.0, batch_size=config.batch_size))
        mv = timed(lambda: vae.fit(data, generator=0), repeats)
        out.update(multvae=mv, multvae_s=mv["median_s"],
                   ratio=conv["median_s"] / mv["median_s"])
    rows = data.transpose() if config.orientation == "item" else data  # the network's rows
    n_batches = int(np.ceil(np.count_nonzero(rows.counts_per_user()) / config.batch_size))
    flops = step_flops(config, rows, device) * n_batches
    peak = matmul_peak_flops(device=device)
    out.update(flops_per_epoch=flops, achieved_flops=flops / conv["median_s"],
               matmul_peak_flops=peak, roofline_ratio=flops / conv["median_s"] / peak)
    return out


def bench_rank(data: Interactions, config: Conv4RecConfig, repeats: int, device: str,
               refine_steps: int = 0) -> dict:
    """Full ranking of every user; with ``refine_steps`` also with that many refinement steps of
    each code (``Conv4RecConfig.refine_steps``), and the ratio of the two in the same process."""
    est = Conv4RecEstimator(config.replace(epochs=1, patience=0, validation_fraction=0.0),
                            device=device, progress=False).fit(data, generator=0)
    users = np.arange(data.n_users)
    result = timed(lambda: est.score_items(users), repeats)
    out = {"rank": result, "rank_s": result["median_s"], "n_users": data.n_users,
           "n_items": data.n_items}
    if refine_steps:
        est.refine_steps_ = refine_steps
        refined = timed(lambda: est.score_items(users), repeats)
        out.update(refine_steps=refine_steps, rank_refined=refined,
                   rank_refined_s=refined["median_s"],
                   refine_ratio=refined["median_s"] / result["median_s"])
    return out


def bench_bounds(data: Interactions, config: Conv4RecConfig, repeats: int, device: str) -> dict:
    import bounds

    est = Conv4RecEstimator(config.replace(epochs=1, patience=0, validation_fraction=0.0),
                            device=device, progress=False).fit(data, generator=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "checkpoint.pt"
        est.save(path)
        # from the file: norms (CheckpointStats) and every registered bound, as the CLI does
        result = timed(lambda: bounds.build_report(bounds.CheckpointStats.from_checkpoint(path)),
                       repeats)
    return {"bounds": result, "bounds_s": result["median_s"]}


def synthetic_like(n_users: int, n_items: int, n_interactions: int, n_levels: int,
                   seed: int = 0) -> Interactions:
    """Random interactions with Zipf-like item popularity (duplicates allowed: timing only)."""
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.8
    user = np.sort(rng.integers(0, n_users, size=n_interactions))
    item = rng.choice(n_items, size=n_interactions, p=pop / pop.sum())
    level = rng.integers(0, n_levels, size=n_interactions)
    return Interactions(user=user, item=item, level=level, levels=np.arange(1.0, n_levels + 1),
                        user_ids=np.arange(n_users), item_ids=np.arange(n_items),
                        source="synthetic")


def bench_scale(config: Conv4RecConfig, n_steps: int, device: str, n_users: int = 138_493,
                n_items: int = 26_744, n_interactions: int = 20_000_000,
                n_levels: int = 10) -> dict:
    """``n_steps`` training steps on an ML-20M-shaped dataset; the epoch time is extrapolated
    from the mean step time (an epoch is n_users / batch_size steps)."""
    from conv4rec.model import Conv4Rec

    data = synthetic_like(n_users, n_items, n_interactions, n_levels)
    rows_data = RowData.from_interactions(data)
    model = Conv4Rec(n_items, n_levels, config).to(device)
    model.reset_parameters(torch.Generator().manual_seed(0))
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, fused=True)
    rng = np.random.default_rng(0)
    times = []
    for step in range(n_steps + 1):
        rows = rng.choice(n_users, size=config.batch_size, replace=False)
        start = time.perf_counter()
        _synced(device, training_step, model, opt, rows_data, rows, rng,
                config.target_fraction, device)
        if step:  # the first step is a warm-up
            times.append(time.perf_counter() - start)
    step_s = statistics.median(times)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"step_s": step_s, "steps_timed": len(times),
            "epoch_s_extrapolated": step_s * n_users / config.batch_size,
            "peak_rss_bytes": peak_rss, "peak_rss_gib": peak_rss / 2**30,
            "n_parameters": sum(p.numel() for p in model.parameters()),
            "shape": {"users": n_users, "items": n_items, "interactions": n_interactions,
                      "levels": n_levels}}


#: (items, interactions per user) of ``bench_growth``: items grow at 50 per user, then
#: interactions grow at 4000 items.
GROWTH_SHAPES = ((1000, 50), (2000, 50), (4000, 50), (8000, 50), (16000, 50),
                 (4000, 25), (4000, 100), (4000, 200), (4000, 400), (4000, 800), (4000, 1600))


def bench_growth(config: Conv4RecConfig, device: str, repeats: int,
                 shapes: tuple[tuple[int, int], ...] = GROWTH_SHAPES) -> dict:
    """Time of a training step (forward, backward, AdamW) and of the input side alone (the
    first encoder layer, forward and backward) for one batch of users, while the items grow
    (interactions fixed) and while the interactions grow (items fixed). The input side should
    grow linearly in the interactions; the step with the number of items (the m·K·d weights)."""
    from conv4rec.model import Conv4Rec

    rows = []
    b = config.batch_size
    for n_items, per_user in shapes:
        data = synthetic_like(b, n_items, b * per_user, 5)
        rows_data = RowData.from_interactions(data)
        model = Conv4Rec(n_items, 5, config).to(device)
        model.reset_parameters(torch.Generator().manual_seed(0))
        opt = torch.optim.AdamW(model.parameters(), lr=config.lr, fused=True)
        rng = np.random.default_rng(0)
        batch = np.arange(b)
        step = timed(lambda: _synced(device, training_step, model, opt, rows_data, batch, rng,
                                     config.target_fraction, device), repeats)
        pos, batch_row = rows_data.gather(batch)
        coo = [torch.as_tensor(a, device=device) for a in
               (batch_row, rows_data.items[pos], rows_data.levels[pos])]

        def input_side() -> None:
            model.zero_grad()
            model.encode(*coo, b).sum().backward()

        encode = timed(lambda: _synced(device, input_side), repeats)
        rows.append({"n_items": n_items, "interactions_per_user": per_user,
                     "interactions": int(len(pos)), "step_s": step["median_s"],
                     "input_side_s": encode["median_s"]})
    return {"growth": rows}


def bench_profile(data: Interactions, config: Conv4RecConfig, n_steps: int,
                  device: str) -> dict:
    """Where a training step's time goes: ``n_steps`` steps of random user batches under
    ``torch.profiler`` (after one warm-up step), grouped into the model's parts by operator
    and input shape, each as a share of the profiled self time."""
    from torch.profiler import ProfilerActivity, profile

    from conv4rec.model import Conv4Rec

    data = data.transpose() if config.orientation == "item" else data  # the network's rows

    model = Conv4Rec(data.n_items, data.n_levels, config).to(device)
    model.reset_parameters(torch.Generator().manual_seed(0))
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, fused=True)
    rows_data = RowData.from_interactions(data)
    rng = np.random.default_rng(0)
    users = np.flatnonzero(rows_data.counts)

    def step() -> None:
        rows = np.sort(rng.choice(users, size=min(config.batch_size, len(users)),
                                  replace=False))
        _synced(device, training_step, model, opt, rows_data, rows, rng,
                config.target_fraction, device)

    step()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA]
                                           if device.startswith("cuda") else [])
    with profile(activities=activities, record_shapes=True) as prof:
        for _ in range(n_steps):
            step()
    events = prof.key_averages(group_by_input_shape=True)
    total = sum(e.self_cpu_time_total for e in events)
    top = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:15]
    return {"steps": n_steps, "ms_per_step": total / 1e3 / n_steps,
            "top_ops": [{"op": e.key, "shapes": str(e.input_shapes)[:80],
                         "share": e.self_cpu_time_total / total} for e in top]}


def _synced(device: str, fn: Callable, *args) -> None:
    """``fn(*args)``, waiting for the GPU to finish when there is one (honest timings)."""
    fn(*args)
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _summary(name: str, result: dict) -> str:
    lines = [f"{name}:"]
    for key, value in result.items():
        if isinstance(value, dict) and "median_s" in value:
            lines.append(f"  {key:<22} median {value['median_s']:.3f} s "
                         f"(min {value['min_s']:.3f}, max {value['max_s']:.3f}, "
                         f"{value['repeats']} runs)")
        elif isinstance(value, float):
            lines.append(f"  {key:<22} {value:.4g}")
        elif isinstance(value, list):
            for row in value:
                lines.append("  " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float)
                                              else f"{k}={v}" for k, v in row.items()))
        else:
            lines.append(f"  {key:<22} {value}")
    return "\n".join(lines)


def bench_config(path: Path | None, settings: list[str], **fields: int | None
                 ) -> Conv4RecConfig:
    """The config a benchmark times: the file's (else the defaults), then ``KEY=VALUE``
    settings, then the named fields that are not None. A bad file, key or value raises
    ValueError with a one-line message."""
    try:
        d = fields_over_defaults(path)
    except ConfigError as exc:
        raise ValueError(f"--config {exc}") from None
    for setting in settings:
        key, sep, text = setting.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {setting!r}: expected KEY=VALUE")
        try:
            d[key] = json.loads(text)
        except json.JSONDecodeError:
            d[key] = text
    d.update({k: v for k, v in fields.items() if v is not None})
    try:
        return Conv4RecConfig.from_dict(d)
    except ValueError as exc:
        raise ValueError(f"config: {exc}") from None
    except TypeError as exc:  # e.g. hidden=512: the widths are a list
        raise ValueError(f"config: a field has the wrong type ({exc}); write lists as JSON, "
                         f"e.g. --set hidden=[512]") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conv4rec.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("epoch", "rank", "bounds", "scale", "growth",
                                         "profile"))
    parser.add_argument("--data", default="ml-1m", help="dataset name or path (default ml-1m)")
    parser.add_argument("--split", help="split name")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20,
                        help="training steps timed by scale or profiled by profile")
    parser.add_argument("--device", type=torch_device, default="cpu")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--in-channels", type=int, help="K_in (default: Conv4RecConfig's)")
    parser.add_argument("--out-channels", type=int, help="K_out (default: Conv4RecConfig's)")
    parser.add_argument("--config", type=Path,
                        help="start from this config: a JSON dict of Conv4RecConfig fields, or "
                             "a tuned file with one under \"config\" (conv4rec/configs/*.json)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="change one config field, VALUE read as JSON else as a string "
                             "(e.g. --set hidden=[512] --set orientation=item); repeatable")
    parser.add_argument("--refine-steps", type=int, default=0,
                        help="rank: also time N refinement steps per code (ratio to none)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        config = bench_config(args.config, args.set, in_channels=args.in_channels,
                              out_channels=args.out_channels)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        if args.what in ("scale", "growth"):
            result = (bench_scale(config, args.steps, args.device) if args.what == "scale"
                      else bench_growth(config, args.device, args.repeats))
        else:
            data = load_dataset(args.data, args.split).train
            if args.what == "profile":
                result = bench_profile(data, config, args.steps, args.device)
            else:
                bench = {"epoch": bench_epoch, "rank": bench_rank, "bounds": bench_bounds}
                extra = {"refine_steps": args.refine_steps} if args.what == "rank" else {}
                result = bench[args.what](data, config, args.repeats, args.device, **extra)
                if args.device != "cpu":  # the same measurement on the CPU, same process
                    on_cpu = bench[args.what](data, config, args.repeats, "cpu", **extra)
                    key = {"epoch": "conv4rec_s", "rank": "rank_s",
                           "bounds": "bounds_s"}[args.what]
                    result.update(cpu_s=on_cpu[key], speedup_vs_cpu=on_cpu[key] / result[key])
            result["data"] = f"{args.data}: {data.n_users}x{data.n_items}, {data.n_observed}"
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result.update(device=args.device, threads=torch.get_num_threads(),
                  config=config.to_dict())
    print(json.dumps(result, indent=2) if args.json else _summary(args.what, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
