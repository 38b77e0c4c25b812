"""The benchmark command: jobs, cache, outputs, tuning, CLI registration."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conv4rec import benchmark
from conv4rec.baselines import EASEConfig
from conv4rec.benchmark import Table, aggregate, job_key, run_tables
from conv4rec.cli import build_parser, main


@pytest.fixture()
def tiny(tmp_path, monkeypatch):
    """A 40 x 25 CSV dataset with a fixed split column, and two tables over it."""
    rng = np.random.default_rng(0)
    mask = rng.random((40, 25)) < 0.4
    mask[:, :2] = True
    u, i = np.nonzero(mask)
    r = np.clip(3 + rng.integers(-2, 3, 40)[u] + rng.integers(-1, 2, len(u)), 1, 5)
    split = np.where(rng.random(len(u)) < 0.2, "test", "train")
    path = tmp_path / "tiny.csv"
    path.write_text("user,item,rating,split\n" + "".join(
        f"{a},{b},{c},{d}\n" for a, b, c, d in zip(u, i, r, split)))
    tables = {
        "tiny-explicit": Table("tiny-explicit", "tiny explicit", str(path), "explicit",
                               ("fixed",), ("global_mean", "user_item_bias"), seeds=(0, 1)),
        "tiny-strong": Table("tiny-strong", "tiny strong", str(path), "strong",
                             ("strong-0", "strong-1"), ("popularity", "ease"),
                             heldout_users=8),
        "tiny-weak": Table("tiny-weak", "tiny weak", str(path), "weak", ("fixed",),
                           ("popularity", "ease")),
    }
    monkeypatch.setattr(benchmark, "TABLES", tables)
    monkeypatch.setattr(benchmark, "CONFIG_DIR", tmp_path / "configs")
    return tmp_path, tables


def test_run_tables_writes_outputs_and_reuses_the_cache(tiny, monkeypatch):
    tmp, tables = tiny
    out = tmp / "results"
    summaries = run_tables(list(tables), out=out, progress=False, suite="t")
    for ext in ("md", "csv", "json"):
        assert (out / f"t.{ext}").is_file()
    md = (out / "t.md").read_text()
    assert "| user_item_bias |" in md and "recall@20_pop0.5" in md
    explicit = summaries[0]["rows"]
    assert explicit["user_item_bias"]["rmse"]["mean"] < explicit["global_mean"]["rmse"]["mean"]
    assert explicit["global_mean"]["rmse"]["n"] == 2
    strong = summaries[1]["rows"]
    assert 0 <= strong["ease"]["ndcg@100"]["mean"] <= 1
    n_cached = len(list((out / "cache").glob("*.json")))
    assert n_cached == 2 * 2 + 2 * 2 + 2
    # the table's time is the sum of its jobs' own recorded times
    jobs = [json.loads(p.read_text()) for p in (out / "cache").glob("*.json")]
    jobs = [j for j in jobs if j["table"] == "tiny-strong"]
    assert summaries[1]["seconds"] == {
        "fit": pytest.approx(sum(j["fit_seconds"] for j in jobs)),
        "eval": pytest.approx(sum(j["eval_seconds"] for j in jobs)), "jobs": 4}
    assert "Time: 4 jobs, " in md

    def boom(*args, **kwargs):
        raise AssertionError("a cached job was run again")

    monkeypatch.setattr(benchmark, "build_model", boom)
    again = run_tables(list(tables), out=out, progress=False, suite="t")
    assert again == summaries


def test_seeds_select_runs_and_a_second_process_fills_the_same_cache(tiny, monkeypatch):
    tmp, tables = tiny
    out = tmp / "results"
    part = run_tables(["tiny-explicit", "tiny-strong"], out=out, progress=False, suite="p",
                      seeds=[1])
    assert part[0]["runs"] == [["fixed", 1]] and part[1]["runs"] == [["strong-1", 1]]
    assert part[0]["rows"]["global_mean"]["rmse"]["n"] == 1
    assert len(list((out / "cache").glob("*.json"))) == 2 + 2
    calls = []
    real = benchmark.build_model
    monkeypatch.setattr(benchmark, "build_model", lambda *a, **k: calls.append(a) or real(*a, **k))
    whole = run_tables(["tiny-explicit"], out=out, progress=False, suite="w")
    assert whole[0]["runs"] == [["fixed", 0], ["fixed", 1]]
    assert len(calls) == 2  # seed 0 of each model; seed 1 came from the cache
    with pytest.raises(SystemExit):
        build_parser().parse_args(["benchmark", "--seeds", "1,x"])


def test_seeds_that_no_run_has_are_a_clear_error(tiny, capsys):
    tmp, _ = tiny
    assert main(["benchmark", "--tables", "tiny-explicit", "--seeds", "7", "--quiet",
                 "--out", str(tmp / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --seeds 7") and "\n" not in err


@pytest.mark.parametrize("flag", ["--budget", "--runs", "--threads"])
def test_counts_below_one_are_rejected_by_the_parser(flag, capsys):
    # a budget of 0 used to run the base config alone, silently
    with pytest.raises(SystemExit):
        build_parser().parse_args(["benchmark", flag, "0"])
    err = capsys.readouterr().err
    assert f"argument {flag}: expected a number >= 1, got 0" in err


def test_job_key_changes_with_the_config_and_seed(tiny):
    _, tables = tiny
    table = tables["tiny-weak"]
    split = table.load("fixed")
    a = job_key(table, split, "ease", EASEConfig(l2=1.0), 0)
    assert a == job_key(table, split, "ease", EASEConfig(l2=1.0), 0)
    assert a != job_key(table, split, "ease", EASEConfig(l2=2.0), 0)
    assert a != job_key(table, split, "ease", EASEConfig(l2=1.0), 1)


def test_a_device_other_than_the_cpu_is_cached_apart_for_conv4rec_only(tiny):
    _, tables = tiny
    table = tables["tiny-explicit"]
    split = table.load("fixed")
    config = benchmark.Conv4RecConfig()
    cpu = job_key(table, split, "conv4rec", config, 0)
    assert job_key(table, split, "conv4rec", config, 0, "cpu") == cpu  # CPU keys unchanged
    assert job_key(table, split, "conv4rec", config, 0, "cuda") != cpu
    assert benchmark.job_device("conv4rec", "cuda") == "cuda"
    assert benchmark.job_device("conv4rec_user", "cuda") == "cuda"
    assert benchmark.job_device("ease", "cuda") == "cpu"  # baselines always on the CPU


def _key_without_rules(table, split, model, config, seed=0):
    """The cache key as it was before any rule or device entered it (the base spec)."""
    spec = {"v": benchmark.CACHE_VERSION, "dataset": table.dataset, "protocol": table.protocol,
            "split": split.name, "train": split.train.fingerprint(),
            "test": split.test.fingerprint(), "fold_in": None, "model": model,
            "config": config.to_dict(), "seed": seed}
    return benchmark.hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def test_only_explicit_conv4rec_jobs_with_cold_test_columns_take_the_cold_column_key(tiny):
    _, tables = tiny
    explicit, weak = tables["tiny-explicit"], tables["tiny-weak"]
    split = explicit.load("fixed")
    user, item = benchmark.Conv4RecConfig(), benchmark.Conv4RecConfig(orientation="item")
    rule = benchmark.uses_cold_column_rule
    assert not rule(explicit, split, user) and not rule(explicit, split, item)
    assert job_key(explicit, split, "conv4rec", user, 0) == _key_without_rules(
        explicit, split, "conv4rec", user)  # no cold column: the key is unchanged
    # drop every training rating of one test item, then of one test user
    cold_item, cold_user = split.test.item[0], split.test.user[0]
    for orientation, keep in (("user", split.train.item != cold_item),
                              ("item", split.train.user != cold_user)):
        cold = benchmark.Split(name=split.name, train=split.train.subset(keep), test=split.test)
        config = benchmark.Conv4RecConfig(orientation=orientation)
        assert rule(explicit, cold, config) and not rule(weak, cold, config)
        assert not rule(explicit, cold, EASEConfig())
        assert job_key(explicit, cold, "conv4rec", config, 0) != _key_without_rules(
            explicit, cold, "conv4rec", config)


def test_a_device_this_machine_lacks_is_an_error(tiny, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["benchmark", "--device", "nonsense"])
    assert "argument --device: not a torch device: 'nonsense'" in capsys.readouterr().err
    if not benchmark.torch.cuda.is_available():
        tmp, _ = tiny
        assert main(["benchmark", "--tables", "tiny-explicit", "--device", "cuda", "--quiet",
                     "--out", str(tmp / "r")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: argument --device: 'cuda': this machine has no usable "
                              "CUDA device") and err.count("\n") == 1
        assert not (tmp / "r" / "cache").exists()  # refused before anything ran


def test_cached_only_builds_the_tables_from_the_cache_and_fits_nothing(tiny, capsys):
    tmp, tables = tiny
    out = tmp / "r"
    args = ["benchmark", "--tables", "tiny-explicit", "--quiet", "--json", "--out", str(out)]
    assert main(args + ["--cached-only"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --cached-only: ") and err.count("\n") == 1
    assert ("no cached result of global_mean on table tiny-explicit, split fixed, seed 0, "
            "device cpu") in err
    assert not list((out / "cache").glob("*.json"))
    assert main(args) == 0
    fitted = json.loads(capsys.readouterr().out)
    assert main(args + ["--cached-only"]) == 0
    assert [s["rows"] for s in json.loads(capsys.readouterr().out)] == [s["rows"] for s in fitted]
    assert main(args + ["--cached-only", "--tune"]) == 2
    assert "cannot go with --tune" in capsys.readouterr().err

    # a GPU's results read on a machine without one: a Conv4Rec job cached under "cuda"
    table = Table("tiny-c4r", "tiny c4r", tables["tiny-explicit"].dataset, "explicit",
                  ("fixed",), ("conv4rec",), seeds=(0,))
    tables[table.key] = table
    split = table.load("fixed")
    config = benchmark.load_config("conv4rec", table.dataset, "explicit")
    [gm] = [json.loads(p.read_text()) for p in (out / "cache").glob("*.json")
            if json.loads(p.read_text())["model"] == "global_mean"
            and json.loads(p.read_text())["seed"] == 0]
    planted = {**gm, "model": "conv4rec", "device": "cuda", "table": table.key,
               "metrics": {**gm["metrics"], "rmse": 0.123}}
    key = job_key(table, split, "conv4rec", config, 0, "cuda")
    (out / "cache" / f"{key}.json").write_text(json.dumps(planted))
    gpu_args = ["benchmark", "--tables", "tiny-c4r", "--device", "cuda", "--quiet", "--json",
                "--out", str(out)]
    assert main(gpu_args + ["--cached-only"]) == 0
    rows = json.loads(capsys.readouterr().out)[0]["rows"]
    assert rows["conv4rec"]["rmse"]["mean"] == 0.123
    assert main(gpu_args[:-2] + ["--out", str(out), "--device", "cpu", "--cached-only"]) == 2
    assert "device cpu" in capsys.readouterr().err  # the CPU table never reads the GPU's job


def test_any_device_builds_a_table_from_runs_cached_on_different_devices(tiny, capsys):
    tmp, tables = tiny
    out = tmp / "r"
    table = Table("tiny-c4r", "tiny c4r", tables["tiny-explicit"].dataset, "explicit",
                  ("fixed",), ("conv4rec",), seeds=(0, 1))
    tables[table.key] = table
    split = table.load("fixed")
    config = benchmark.load_config("conv4rec", table.dataset, "explicit")
    base = {"table": table.key, "model": "conv4rec", "split": "fixed", "fit_seconds": 1.0,
            "metrics": {"rmse": 0.0, "mae": 0.5}, "per_user": {"users": [0], "mse": [0.0]}}
    (out / "cache").mkdir(parents=True)
    for seed, device, rmse in ((0, "cpu", 0.9), (1, "cuda", 0.8)):
        record = {**base, "seed": seed, "device": device,
                  "metrics": {**base["metrics"], "rmse": rmse}}
        key = job_key(table, split, "conv4rec", config, seed, device)
        (out / "cache" / f"{key}.json").write_text(json.dumps(record))
    args = ["benchmark", "--tables", "tiny-c4r", "--quiet", "--out", str(out), "--name", "t"]
    assert main(args + ["--cached-only"]) == 2  # the CPU table never reads the GPU's run
    assert "seed 1, device cpu" in capsys.readouterr().err
    assert main(args + ["--any-device"]) == 2
    err = capsys.readouterr().err
    assert err == "error: --any-device reads cached jobs only, so it needs --cached-only\n"
    assert main(args + ["--cached-only", "--any-device", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]["rows"]["conv4rec"]
    assert row["rmse"]["mean"] == pytest.approx(0.85) and row["rmse"]["n"] == 2
    assert row["devices"] == ["cpu", "cuda"]
    assert "conv4rec: cpu, cuda." in (out / "t.md").read_text()
    # a job no device has cached is still named, as missing on any device
    tables[table.key] = Table(table.key, table.title, table.dataset, "explicit", ("fixed",),
                              ("conv4rec",), seeds=(0, 1, 2))
    assert main(args + ["--cached-only", "--any-device"]) == 2
    assert "seed 2, any device" in capsys.readouterr().err


def test_aggregate_pairs_conv4rec_with_each_model():
    table = Table("t", "t", "d", "explicit", ("a", "b"), ("conv4rec", "global_mean"))
    records = []
    for model, shift in (("conv4rec", 0.0), ("global_mean", 0.5)):
        for k, split in enumerate(("a", "b")):
            mse = (np.arange(20) % 5 + shift + 0.01 * k).tolist()
            records.append({"model": model, "split": split, "seed": k, "fit_seconds": 1.0,
                            "metrics": {"rmse": 1.0 + shift + 0.01 * k, "mae": 0.8},
                            "per_user": {"users": list(range(20)), "mse": mse}})
    summary = aggregate(table, records)
    test = summary["paired_vs_conv4rec"]["global_mean"]
    assert test["users"]["n"] == 40 and test["users"]["mean_diff"] == pytest.approx(-0.5)
    assert test["users"]["p_value"] < 1e-6
    assert "runs" in test and summary["rows"]["conv4rec"]["rmse"]["n"] == 2


def test_tune_saves_the_best_config(tiny):
    tmp, tables = tiny
    best, trials = benchmark.tune(tables["tiny-weak"], "ease", budget=3,
                                  cache=tmp / "cache", progress=False)
    assert len(trials) == 3
    saved = json.loads((tmp / "configs" / f"ease__{tables['tiny-weak'].dataset}__weak.json")
                       .read_text())
    assert saved["config"] == best.to_dict() and saved["budget"] == 3
    assert benchmark.load_config("ease", tables["tiny-weak"].dataset, "weak") == best
    # every trial is listed with its changes from the base config and its validation score
    assert saved["search_space"] == {"l2": list(benchmark.SEARCH_SPACES["ease"]["l2"])}
    listed = saved["trial_results"]
    assert len(listed) == 3 and listed[0]["changes"] == {}
    assert [t["ndcg@100"] for t in listed] == [t["metrics"]["ndcg@100"] for t in trials]
    assert max(t["ndcg@100"] for t in listed) == saved["validation_metrics"]["ndcg@100"]
    for t, trial in zip(listed, trials):
        assert {**trials[0]["config"], **t["changes"]} == trial["config"]
    # a rerun starts from the same base, not from the file it wrote: the same search again
    benchmark.tune(tables["tiny-weak"], "ease", budget=3, cache=tmp / "cache", progress=False)
    again = json.loads((tmp / "configs" / f"ease__{tables['tiny-weak'].dataset}__weak.json")
                       .read_text())
    assert again == saved


def test_tune_only_writes_the_configs_and_runs_no_table(tiny, capsys):
    tmp, tables = tiny
    out = tmp / "r"
    assert main(["benchmark", "--tables", "tiny-weak", "--models", "ease", "--tune-only",
                 "--budget", "2", "--quiet", "--out", str(out)]) == 0
    assert "tables not run" in capsys.readouterr().out
    saved = json.loads((tmp / "configs" / f"ease__{tables['tiny-weak'].dataset}__weak.json")
                       .read_text())
    assert saved["trials"] == 2 and saved["searched_on"] == "cpu"
    assert not list(out.glob("*.md"))  # no table written
    records = [json.loads(p.read_text()) for p in (out / "cache").glob("*.json")]
    assert len(records) == 2 and {r["table"] for r in records} == {"tiny-weak-val"}
    assert {r["device"] for r in records} == {"cpu"}


def test_trials_in_parallel_processes_give_the_same_search(tiny):
    tmp, tables = tiny
    serial = benchmark.tune(tables["tiny-strong"], "ease", budget=3, cache=tmp / "c1",
                            progress=False)
    path = tmp / "configs" / f"ease__{tables['tiny-strong'].dataset}__strong.json"
    written = path.read_text()
    parallel = benchmark.tune(tables["tiny-strong"], "ease", budget=3, cache=tmp / "c2",
                              progress=False, workers=3)
    assert parallel == serial and path.read_text() == written
    assert len(list((tmp / "c2").glob("*.json"))) == 3  # each trial ran (not read from c1)


def test_a_search_reuses_trials_finished_on_another_device(tiny):
    """A search begun on one machine can be finished on another: a trial cached under
    another device's key is read, not refitted, and the file says where each trial ran."""
    tmp, tables = tiny
    table, cache = tables["tiny-weak"], tmp / "cache"
    _, trials = benchmark.tune(table, "ease", budget=3, cache=cache, progress=False)
    [cpu_file] = [p for p in cache.glob("*.json")
                  if json.loads(p.read_text())["config"] == trials[1]["config"]]
    record = json.loads(cpu_file.read_text())
    # the same trial as a GPU would have cached it, with a score no CPU fit gives
    record["device"], record["metrics"]["ndcg@100"] = "cuda", 0.999
    split = benchmark.validation_split(table)
    val_table = benchmark.Table(table.key + "-val", table.title, table.dataset, table.protocol,
                                (split.name,), ("ease",))
    config = benchmark.model_class("ease").config_class.from_dict(trials[1]["config"])
    cuda_key = benchmark.job_key(val_table, split, "ease", config, 0, "cuda")
    (cache / f"{cuda_key}.json").write_text(json.dumps(record))
    cpu_file.unlink()
    best, again = benchmark.tune(table, "ease", budget=3, cache=cache, progress=False)
    assert not cpu_file.exists()  # read from the GPU's entry, not refitted
    assert again[1]["metrics"]["ndcg@100"] == 0.999 and best.to_dict() == trials[1]["config"]
    assert [t["device"] for t in again] == ["cpu", "cuda", "cpu"]
    saved = json.loads((tmp / "configs" / f"ease__{table.dataset}__weak.json").read_text())
    assert [t["device"] for t in saved["trial_results"]] == ["cpu", "cuda", "cpu"]
    assert saved["searched_on"] == "cpu+cuda"
    # the trial's own device is still read first: a CPU entry beside the GPU one wins
    cpu_file.write_text(json.dumps({**record, "device": "cpu",
                                    "metrics": {**record["metrics"], "ndcg@100": 0.5}}))
    _, third = benchmark.tune(table, "ease", budget=3, cache=cache, progress=False)
    assert third[1]["metrics"]["ndcg@100"] == 0.5 and third[1]["device"] == "cpu"


def test_tune_tries_distinct_configs_and_stops_when_the_space_is_exhausted(tiny):
    tmp, tables = tiny
    grid = benchmark.SEARCH_SPACES["ease"]["l2"]
    base = benchmark.base_config("ease", "weak")
    assert base.l2 in grid  # so the whole search can hold len(grid) configs, not more
    _, trials = benchmark.tune(tables["tiny-weak"], "ease", budget=len(grid) + 3,
                               cache=tmp / "cache", progress=False)
    tried = [t["config"]["l2"] for t in trials]
    assert sorted(tried) == sorted(grid)
    _, few = benchmark.tune(tables["tiny-weak"], "ease", budget=4, cache=tmp / "cache",
                            progress=False)
    assert len(few) == 4 and len({t["config"]["l2"] for t in few}) == 4


def test_cli_registers_benchmark(tiny, capsys):
    tmp, _ = tiny
    args = build_parser().parse_args(["benchmark", "--tables", "tiny-explicit", "--quiet",
                                      "--out", str(tmp / "r")])
    assert args.func is benchmark.cmd_benchmark
    assert main(["benchmark", "--tables", "tiny-explicit", "--quiet", "--json",
                 "--out", str(tmp / "r"), "--models", "global_mean"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert list(printed[0]["rows"]) == ["global_mean"]


def test_explicit_tables_carry_the_default_user_model_beside_the_tuned_one(tiny):
    """``conv4rec_user`` is the default user-orientation config (the single model of the
    ranking tables) even where an explicit ``conv4rec`` config picks the item orientation."""
    tmp, _ = tiny
    (tmp / "configs").mkdir()
    (tmp / "configs" / "conv4rec__explicit.json").write_text(
        json.dumps({"config": {"orientation": "item"}}))
    assert benchmark.load_config("conv4rec", "tiny", "explicit").orientation == "item"
    user = benchmark.load_config("conv4rec_user", "tiny", "explicit")
    assert user == benchmark.Conv4RecConfig() and user.orientation == "user"
    assert benchmark.model_class("conv4rec_user")(user).name == "conv4rec_user"
    assert {"conv4rec", "conv4rec_user"} <= set(benchmark.EXPLICIT_MODELS)


@pytest.mark.parametrize("model", sorted(benchmark.SEARCH_SPACES))
def test_every_search_space_value_makes_a_valid_config(model):
    cls = benchmark.model_class(model)
    base = cls.config_class()
    for field, values in benchmark.SEARCH_SPACES[model].items():
        for value in values:
            assert getattr(base.replace(**{field: value}), field) == value
