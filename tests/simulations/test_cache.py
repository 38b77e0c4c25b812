"""The result cache: atomic files, stale and broken files recomputed, an interrupted sweep
resumes with identical numbers, worker processes give the same numbers as one process."""

from __future__ import annotations

import json

import pytest
from simulation_configs import tiny_config

import simulations.sweeps as sweeps_module
from simulations.cache import RESULTS_ENV, ResultCache, results_root
from simulations.report import format_table, summarise
from simulations.sweeps import Sweep, SweepError, collect, parse_seeds, run_sweep


def small_sweep(name: str = "test_sweep") -> Sweep:
    return Sweep(name=name, description="test", axis="n_per_user", fit_slope=True,
                 certificate=True, seeds=(0, 1),
                 points=tuple((n, tiny_config(n_per_user=n, estimators=("conv4rec", "empirical")))
                              for n in (4, 8, 16)))


def numbers(envelopes: list[dict]) -> str:
    return json.dumps([(e["hash"], e["seed"], e["result"]) for e in envelopes], sort_keys=True)


@pytest.fixture
def counted_run(monkeypatch):
    """Count the runs that are computed (not read from the cache)."""
    calls = []
    real = sweeps_module.run

    def counting(config, seed, **kw):
        calls.append((config.short_hash(), seed))
        return real(config, seed, **kw)

    monkeypatch.setattr(sweeps_module, "run", counting)
    return calls


def test_results_root_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv(RESULTS_ENV, raising=False)
    assert str(results_root()) == "results"
    monkeypatch.setenv(RESULTS_ENV, str(tmp_path))
    assert results_root() == tmp_path
    assert results_root(tmp_path / "x") == tmp_path / "x"


def test_store_and_read_round_trip(tmp_path, tiny):
    cache = ResultCache(tmp_path, "s")
    env = cache.store(tiny, 3, {"estimators": {}, "x": 1.5}, wall_seconds=0.1)
    assert cache.path(tiny, 3) == tmp_path / "s" / f"{tiny.short_hash()}-seed3.json"
    assert cache.load(tiny, 3) == env
    assert cache.load(tiny, 4) is None
    assert cache.load(tiny.replace(n_per_user=7), 3) is None
    assert not list((tmp_path / "s").glob(".*.tmp"))  # atomic write leaves no temporary file


@pytest.mark.parametrize("damage", ["truncate", "foreign", "stale_config", "wrong_seed"])
def test_damaged_or_stale_files_are_recomputed(tmp_path, tiny, damage):
    cache = ResultCache(tmp_path, "s")
    cache.store(tiny, 0, {"estimators": {}}, wall_seconds=0.0)
    path = cache.path(tiny, 0)
    env = json.loads(path.read_text())
    if damage == "truncate":
        path.write_text(path.read_text()[:40])
    elif damage == "foreign":
        path.write_text(json.dumps({"hello": 1}))
    elif damage == "stale_config":
        env["config"]["n_per_user"] += 1
        path.write_text(json.dumps(env))
    else:
        env["seed"] = 9
        path.write_text(json.dumps(env))
    assert cache.load(tiny, 0) is None


def test_interrupted_sweep_resumes_with_identical_numbers(tmp_path, monkeypatch):
    sweep = small_sweep()
    real = sweeps_module.run
    calls: list[int] = []

    def interrupted_on_the_fourth(config, seed, **kw):
        calls.append(seed)
        if len(calls) == 4:
            raise KeyboardInterrupt  # as by Ctrl-C in the middle of the fourth run
        return real(config, seed, **kw)

    monkeypatch.setattr(sweeps_module, "run", interrupted_on_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep, root=tmp_path / "a", progress=False)
    assert len(list((tmp_path / "a" / sweep.name).glob("*.json"))) == 3
    assert len(collect(sweep, root=tmp_path / "a")[1]) == 3  # three (x, seed) missing

    # resumed: only the three missing runs are computed
    calls.clear()
    monkeypatch.setattr(sweeps_module, "run", lambda c, s, **kw: (calls.append(s),
                                                                  real(c, s, **kw))[1])
    resumed = run_sweep(sweep, root=tmp_path / "a", progress=False)
    assert len(calls) == 3

    # identical to an uninterrupted sweep
    fresh = run_sweep(sweep, root=tmp_path / "b", progress=False)
    assert numbers(resumed) == numbers(fresh)

    # a third call computes nothing
    calls.clear()
    assert numbers(run_sweep(sweep, root=tmp_path / "a", progress=False)) == numbers(fresh)
    assert calls == []


def test_worker_processes_give_the_numbers_of_one_process(tmp_path):
    sweep = small_sweep()
    serial = run_sweep(sweep, root=tmp_path / "serial", progress=False, seeds=(0,))
    pooled = run_sweep(sweep, root=tmp_path / "pool", progress=False, seeds=(0,), jobs=2)
    assert numbers(serial) == numbers(pooled)
    assert len(list((tmp_path / "pool" / sweep.name).glob("*.pt"))) == 3  # checkpoints


def test_another_sweeps_result_is_reused(tmp_path, counted_run):
    run_sweep(small_sweep("first"), root=tmp_path, progress=False, seeds=(0,))
    n_first = len(counted_run)
    envs = run_sweep(small_sweep("second"), root=tmp_path, progress=False, seeds=(0,))
    assert len(counted_run) == n_first  # nothing recomputed
    assert all(e["copied_from"] == "first" for e in envs)
    assert len(list((tmp_path / "second").glob("*.pt"))) == 3


def test_summary_table_and_slope(tmp_path):
    sweep = small_sweep()
    envs = run_sweep(sweep, root=tmp_path, progress=False)
    found, missing = collect(sweep, root=tmp_path)
    assert missing == [] and numbers(found) == numbers(envs)
    summary = summarise(sweep, found, missing)
    json.dumps(summary)
    assert [r["x"] for r in summary["rows"]] == [4, 4, 8, 8, 16, 16]
    assert all(r["n_seeds"] == 2 and r["chain_ok"] for r in summary["rows"])
    fit = summary["slopes"]["conv4rec"]
    assert fit["n_points"] == 6 and fit["ci"][0] <= fit["slope"] <= fit["ci"][1]
    text = format_table(summary)
    assert "conv4rec" in text and "b = " in text


def test_parse_seeds():
    assert parse_seeds("0-4") == (0, 1, 2, 3, 4)
    assert parse_seeds("3,1,1,7-8") == (3, 1, 7, 8)
    for bad in ("", "a", "4-2", "-1", "1,,2"):
        with pytest.raises(SweepError):
            parse_seeds(bad)
