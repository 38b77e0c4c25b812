"""Real-data results of Conv4Rec against the baselines, with error bars (SPEC §5, §9).

Reads the summaries that ``python -m conv4rec benchmark`` writes to ``<root>/<name>.json`` and,
for the error bars of a table run once, the per-user values of its job records under
``<root>/cache/``. Error bars: ± one standard deviation over runs (folds or seeds) when a table
has several runs; with one run, the 95 % bootstrap interval over test users (2000 resamples,
fixed seed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paper_figures import sources, style

NAME = "real_data"
DESCRIPTION = ("real-data results (ML-100K): RMSE on the u1 split and NDCG@100 under strong "
               "and weak generalization, Conv4Rec against the baselines, with error bars")
EXPLICIT = sources.BenchmarkSource(
    role="ML-100K u1 explicit table (RMSE)", name="ml-100k-u1", tables=("ml-100k-u1",),
    args={"small": ("--runs", "1", "--models",
                    "global_mean,user_item_bias,biased_mf,i_autorec,conv4rec"),
          "full": ()})
IMPLICIT = sources.BenchmarkSource(
    role="ML-100K implicit tables (strong and weak generalization)", name="ml-100k-implicit",
    tables=("ml-100k-strong", "ml-100k-weak"), args={"small": ("--runs", "1"), "full": ()})
REQUIRES = (EXPLICIT, IMPLICIT)
FIGSIZE = (7.0, 3.9)

#: (table, metric, per-user key for the bootstrap, panel title, axis label, lower is better)
PANELS = (
    ("ml-100k-u1", "rmse", "mse", "(a) explicit:\nsplit u1", "RMSE (stars)", True),
    ("ml-100k-strong", "ndcg@100", "ndcg@100", "(b) implicit:\nstrong generalization",
     "NDCG@100", False),
    ("ml-100k-weak", "ndcg@100", "ndcg@100", "(c) implicit:\nweak generalization", "NDCG@100",
     False),
)
N_BOOT = 2000


def bootstrap_interval(per_user: np.ndarray, *, root_of_mean: bool, level: float = 0.95,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean over users, relative to the observed mean.

    Returns (lo, hi) to apply to the table's value v: ``v * lo, v * hi`` for RMSE
    (``root_of_mean``: the per-user values are MSEs and the interval is that of the square
    root of their mean, as a ratio), ``v + lo, v + hi`` otherwise (a shift). Relative ends keep
    the bar on the table's value even where the per-user mean differs slightly from it (RMSE
    weights ratings, not users).
    """
    v = np.asarray(per_user, dtype=np.float64)
    v = v[np.isfinite(v)]
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(N_BOOT, len(v)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    base = v.mean()
    if root_of_mean:
        return float(np.sqrt(lo / base)), float(np.sqrt(hi / base))
    return float(lo - base), float(hi - base)


def _errors(root: Path, summary: dict, metric: str, key: str) -> tuple[dict, str]:
    """Per model (lower, upper) error-bar ends, and what they are."""
    rows = summary["rows"]
    n_runs = max(r[metric]["n"] for r in rows.values())
    if n_runs >= 2:
        return ({m: (r[metric]["mean"] - r[metric]["std"], r[metric]["mean"] + r[metric]["std"])
                 for m, r in rows.items()}, f"± 1 sd over {n_runs} runs")
    records = sources.benchmark_records(root, summary)
    out = {}
    n_users = set()
    for model, recs in records.items():
        values = np.concatenate([np.asarray(r["per_user"][key], float) for r in recs])
        n_users.add(len(values))
        mean = rows[model][metric]["mean"]
        lo, hi = bootstrap_interval(values, root_of_mean=key == "mse")
        out[model] = (mean * lo, mean * hi) if key == "mse" else (mean + lo, mean + hi)
    users = "/".join(str(n) for n in sorted(n_users)) or "?"
    return out, f"1 run, 95% bootstrap interval over {users} test users"


def _panel(ax, summary: dict, metric: str, title: str, xlabel: str, lower_better: bool,
           errors: dict) -> None:
    rows = summary["rows"]
    models = sorted(rows, key=lambda m: rows[m][metric]["mean"], reverse=lower_better)
    for y, model in enumerate(models):
        _, colour = style.model_style(model)
        mean = rows[model][metric]["mean"]
        err = errors.get(model)
        xerr = None if err is None else [[mean - err[0]], [err[1] - mean]]
        ax.errorbar(mean, y, xerr=xerr, marker="o", ms=5.5 if model == "conv4rec" else 4.5,
                    color=colour, ls="none", lw=1.4)
    ax.set_yticks(range(len(models)), [style.model_style(m)[0] for m in models])
    for tick, model in zip(ax.get_yticklabels(), models):
        if model == "conv4rec":
            tick.set_fontweight("bold")
    ax.grid(axis="y", visible=False)
    ax.set_ylim(-0.6, len(models) - 0.4)
    ax.set_xlabel(xlabel + ("\n(lower is better)" if lower_better else "\n(higher is better)"))
    ax.set_title(title, fontsize=8.5)


def draw(root: Path, size: str) -> style.Figure:
    tables = {s["table"]: s for src in REQUIRES for s in src.load(root)}
    panels = PANELS
    runs, whats, errors = [], [], {}
    for table, metric, key, *_ in panels:
        s = tables[table]
        runs.append(f"{table}: {', '.join(f'{a}/{b}' for a, b in s['runs'])}")
        errors[table], what = _errors(root, s, metric, key)
        missing = [m for m in s["rows"] if m not in errors[table]]
        if missing:
            what += f" (none for {', '.join(missing)}: job records not found)"
        whats.append(f"{table}: {what}")
    text = ("Runs (split/seed): " + "; ".join(runs) + ". Models sorted best at the top. "
            "Error bars: " + "; ".join(whats) + ".")
    fig = style.new_figure(*FIGSIZE, caption_lines=style.caption_lines(text, FIGSIZE[0]))
    axes = fig.subplots(1, len(PANELS))
    for ax, (table, metric, _, title, xlabel, lower) in zip(axes, panels):
        _panel(ax, tables[table], metric, title, xlabel, lower, errors[table])
    style.caption(fig, text)
    fig.suptitle("Real data (MovieLens 100K): Conv4Rec against the baselines", fontsize=9)
    return fig
