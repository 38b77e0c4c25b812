"""Tables of finished sweeps, read from the result cache only (nothing is computed here but
means, spreads and a regression)."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
from scipy import stats

from simulations.sweeps import Sweep


def _value(result: dict, estimator: str, column: str) -> float | None:
    metrics = result["estimators"].get(estimator, {})
    if column in metrics:
        return metrics[column]
    if estimator == "conv4rec" and column in result.get("conv4rec", {}):
        return result["conv4rec"][column]
    return None


def fit_loglog_slope(x: np.ndarray, y: np.ndarray, *, level: float = 0.95) -> dict[str, Any]:
    """OLS of log y on log x: slope, intercept and the two-sided ``level`` t-interval of the
    slope (n − 2 degrees of freedom; every (x, seed) point is one observation).

    Returns NaNs when fewer than 3 points or fewer than 2 distinct x are given.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    keep = (x > 0) & (y > 0) & np.isfinite(x) & np.isfinite(y)
    x, y = np.log(x[keep]), np.log(y[keep])
    n = len(x)
    if n < 3 or len(np.unique(x)) < 2:
        return {"slope": math.nan, "intercept": math.nan, "ci": [math.nan, math.nan],
                "level": level, "n_points": n}
    fit = stats.linregress(x, y)
    half = stats.t.ppf(0.5 + level / 2, n - 2) * fit.stderr
    return {"slope": float(fit.slope), "intercept": float(fit.intercept),
            "ci": [float(fit.slope - half), float(fit.slope + half)], "level": level,
            "n_points": n, "stderr": float(fit.stderr), "r2": float(fit.rvalue ** 2)}


def summarise(sweep: Sweep, envelopes: list[dict],
              missing: list[tuple[Any, int]] | None = None) -> dict[str, Any]:
    """The table of a sweep as JSON-able data.

    Returns
    -------
    dict with ``rows`` (one per x and estimator: seeds, mean and sd of each column),
    ``slopes`` (per estimator, when the sweep fits one), ``certificate`` (per x and bound:
    mean G_n(δ), certificate, measured TV and gap, how many runs it held for), ``notes``.
    """
    x_of = {cfg.short_hash(): x for x, cfg in sweep.points}
    order = {x: k for k, (x, _) in enumerate(sweep.points)}
    by_cell: dict[tuple[Any, str], list[dict]] = defaultdict(list)
    estimators: list[str] = []
    for env in envelopes:
        result = env["result"]
        for est in env["config"]["estimators"]:  # config order (result files sort keys)
            by_cell[(x_of[env["hash"]], est)].append(result)
            if est not in estimators:
                estimators.append(est)
    rows = []
    for (x, est), results in sorted(by_cell.items(),
                                    key=lambda kv: (order[kv[0][0]], estimators.index(kv[0][1]))):
        mean, sd = {}, {}
        for col in sweep.columns:
            vals = [v for r in results if (v := _value(r, est, col)) is not None]
            mean[col] = float(np.mean(vals)) if vals else None
            sd[col] = float(np.std(vals, ddof=1)) if len(vals) > 1 else None
        rows.append({"x": x, "estimator": est, "n_seeds": len(results), "mean": mean, "sd": sd,
                     "chain_ok": all(not r["estimators"][est]["chain_violations"]
                                     for r in results)})
    out: dict[str, Any] = {"sweep": sweep.name, "description": sweep.description,
                           "axis": sweep.axis, "columns": list(sweep.columns), "rows": rows,
                           "n_runs": len(envelopes),
                           "missing": [[x, s] for x, s in (missing or [])], "notes": []}
    if sweep.fit_slope:
        out["slopes"] = {}
        for est in estimators:
            pts = [(x, r["estimators"][est]["tv"]) for (x, e), rs in by_cell.items()
                   if e == est for r in rs]
            xs, ys = zip(*pts) if pts else ((), ())
            out["slopes"][est] = fit_loglog_slope(np.array(xs, float), np.array(ys, float))
    if sweep.certificate:
        out["certificate"] = _certificate_rows(by_cell, order, out["notes"])
    return out


def _certificate_rows(by_cell: dict, order: dict, notes: list[str]) -> list[dict]:
    rows = []
    for (x, est), results in sorted(by_cell.items(), key=lambda kv: order[kv[0][0]]):
        if est != "conv4rec":
            continue
        per_bound: dict[str, list[tuple[dict, dict]]] = defaultdict(list)
        for r in results:
            cert = r.get("certificate", {})
            for note in cert.get("notes", []):
                key = note.split(":")[0]
                if not any(n.split(":")[0] == key for n in notes):
                    notes.append(note)  # one note of each kind (numbers from its first run)
            for name, b in cert.get("bounds", {}).items():
                per_bound[name].append((r, b))
        for name, pairs in per_bound.items():
            rows.append({
                "x": x, "bound": name, "n_seeds": len(pairs),
                "log10_generalization": _mean_or_none([b["log10_generalization"]
                                                       for _, b in pairs]),
                "log10_certificate": float(np.mean([b["log10_certificate"] for _, b in pairs])),
                "gap_eta": float(np.mean([r["conv4rec"]["gap_eta"] for r, _ in pairs])),
                "tv": float(np.mean([r["estimators"]["conv4rec"]["tv"] for r, _ in pairs])),
                "held": sum(b["holds"] for _, b in pairs),
                "exceeds_gap": sum(b["exceeds_gap"] for _, b in pairs),
            })
    return rows


def _mean_or_none(values: list[float | None]) -> float | None:
    """Mean of the log10 values; None (a bound of exactly 0) when any is None."""
    return None if any(v is None for v in values) else float(np.mean(values))


def format_pow10(log10: float | None) -> str:
    """10**log10 as text: plain below 1e4, '1e7.5' above; '0' for None (log10 of 0)."""
    if log10 is None:
        return "0"
    if log10 < 4:
        return f"{10 ** log10:.4g}"
    return f"1e{log10:.1f}"


def _fmt(mean: float | None, sd: float | None) -> str:
    if mean is None:
        return "-"
    text = f"{mean:.4g}" if abs(mean) >= 1e-3 or mean == 0 else f"{mean:.2e}"
    return text + (f" ± {sd:.2g}" if sd is not None else "")


def format_table(summary: dict[str, Any]) -> str:
    """The summary as aligned text: the metric table, the fitted slopes, the certificate."""
    cols = summary["columns"]
    header = [summary["axis"], "estimator", "seeds", *cols]
    body = [[str(r["x"]), r["estimator"] + ("" if r["chain_ok"] else " (chain FAILED)"),
             str(r["n_seeds"]), *(_fmt(r["mean"][c], r["sd"][c]) for c in cols)]
            for r in summary["rows"]]
    lines = [f"{summary['sweep']}: {summary['description']}",
             f"{summary['n_runs']} runs; mean ± sd over seeds"]
    lines += _aligned(header, body)
    if summary["missing"]:
        lines.append(f"missing: {len(summary['missing'])} (x, seed) runs not cached yet "
                     f"(run `python -m simulations run {summary['sweep']}`)")
    if summary.get("slopes"):
        lines.append("")
        lines.append(f"fitted log TV = a + b log {summary['axis']} (OLS over every run, "
                     f"95 % t-interval of b):")
        for est, fit in summary["slopes"].items():
            if math.isnan(fit["slope"]):
                lines.append(f"  {est:12s} b = n/a ({fit['n_points']} points)")
            else:
                lines.append(f"  {est:12s} b = {fit['slope']:+.3f}  "
                             f"[{fit['ci'][0]:+.3f}, {fit['ci'][1]:+.3f}]  "
                             f"({fit['n_points']} points, R² {fit['r2']:.3f})")
        lines.append("  theory: E TV <= sqrt(excess risk / 2), so an excess risk falling like "
                     "n^-1/2 gives b <= -1/4")
    if "certificate" in summary:
        lines.append("")
        if summary["certificate"]:
            lines.append("certificate E TV <= sqrt((R^_eta - R(P) + G) / 2) + eta, per bound "
                         "(conv4rec; G and certificate: geometric means over seeds; held = "
                         "runs where TV <= certificate):")
            header = [summary["axis"], "bound", "G_n(delta)", "gap_eta", "certificate", "TV",
                      "held", "G >= gap"]
            body = [[str(r["x"]), r["bound"], format_pow10(r["log10_generalization"]),
                     f"{r['gap_eta']:.4g}", format_pow10(r["log10_certificate"]), f"{r['tv']:.4g}",
                     f"{r['held']}/{r['n_seeds']}", f"{r['exceeds_gap']}/{r['n_seeds']}"]
                    for r in summary["certificate"]]
            lines += _aligned(header, body)
        else:
            lines.append("certificate: no bound values in these results")
    for note in summary["notes"]:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def _aligned(header: list[str], body: list[list[str]]) -> list[str]:
    widths = [max(len(row[k]) for row in [header, *body]) for k in range(len(header))]
    fmt = "  ".join(f"{{:{'<' if k < 2 else '>'}{w}}}" for k, w in enumerate(widths))
    return [fmt.format(*header), fmt.format(*("-" * w for w in widths)),
            *(fmt.format(*row) for row in body)]
