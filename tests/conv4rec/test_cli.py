"""CLI smoke runs on a tiny CSV dataset: train, predict, recommend, evaluate, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conv4rec.cli import _config_from_args, build_parser, main
from conv4rec.config import Conv4RecConfig
from conv4rec.demo import synthetic_interactions

FAST = ["--hidden", "8", "--in-channels", "2", "--out-channels", "2", "--epochs", "3",
        "--patience", "2", "--quiet"]


@pytest.fixture(scope="module")
def tiny_csv(tmp_path_factory):
    data = synthetic_interactions(n_users=30, n_items=20, per_user=6, seed=5)
    rng = np.random.default_rng(0)
    split = np.where(rng.random(data.n_observed) < 0.2, "test", "train")
    path = tmp_path_factory.mktemp("data") / "ratings.csv"
    rows = ["user,item,rating,split"] + [
        f"u{u},i{i},{r:g},{s}" for u, i, r, s in zip(data.user, data.item, data.rating, split)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def trained(tiny_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--data", str(tiny_csv), "--out", str(out), *FAST]) == 0
    return out


def test_train_writes_checkpoint_and_metrics(trained):
    metrics = json.loads((trained / "metrics.json").read_text())
    for key in ("rmse", "mae", "recall@20", "ndcg@100"):
        assert np.isfinite(metrics[key])
    assert (trained / "checkpoint.pt").is_file()
    assert metrics["risk"]["train"] > 0


def test_predict_writes_a_distribution_per_user(trained, tmp_path, capsys):
    out = tmp_path / "q.npz"
    assert main(["predict", str(trained / "checkpoint.pt"), "--users", "u1,u3",
                 "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    with np.load(out) as f:
        probs = f["probs"]
        assert list(f["users"]) == ["u1", "u3"] and len(f["items"]) == 20
        assert probs.shape == (2, 20, len(f["levels"])) == tuple(summary["probs_shape"])
    np.testing.assert_allclose(probs.sum(axis=(1, 2)), 1.0, rtol=1e-5)


def test_recommend_excludes_seen_items(trained, tiny_csv, capsys):
    assert main(["recommend", str(trained / "checkpoint.pt"), "--user", "u2", "-k", "5",
                 "--json"]) == 0
    recs = json.loads(capsys.readouterr().out)["items"]
    lines = tiny_csv.read_text().splitlines()[1:]
    seen = {row.split(",")[1] for row in lines if row.startswith("u2,") and row.endswith("train")}
    assert len(recs) == 5 and not seen & {r["item"] for r in recs}
    for r in recs:
        assert abs(sum(r["rating_distribution"].values()) - 1) < 1e-5
    assert main(["recommend", str(trained / "checkpoint.pt"), "--user", "u2",
                 "--hidden-gems"]) == 0
    assert "hidden gems" in capsys.readouterr().out


def test_evaluate_reproduces_the_training_metrics(trained, tiny_csv, capsys):
    assert main(["evaluate", str(trained / "checkpoint.pt"), "--data", str(tiny_csv),
                 "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    first = json.loads((trained / "metrics.json").read_text())
    assert again["rmse"] == pytest.approx(first["rmse"], rel=1e-6)


def test_refinement_from_train_to_evaluate(tiny_csv, tmp_path, capsys):
    out = tmp_path / "refined"
    assert main(["train", "--data", str(tiny_csv), "--out", str(out), *FAST,
                 "--refine-steps", "5", "--refine-lr", "0.05", "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert 0 <= trained["refine_steps"] <= 5
    ckpt = str(out / "checkpoint.pt")
    runs = {}
    for steps in (None, 0, 5):
        flags = ["--breakdown"] if steps is None else ["--refine-steps", str(steps)]
        assert main(["evaluate", ckpt, "--data", str(tiny_csv), "--json", *flags]) == 0
        runs[steps] = json.loads(capsys.readouterr().out)
    assert runs[None]["rmse"] == pytest.approx(trained["rmse"], rel=1e-6)
    assert runs[0]["refine_steps"] == 0 and runs[5]["refine_steps"] == 5
    assert {r["by"] for r in runs[None]["breakdown"]} == {"item", "user"}
    assert "breakdown" not in runs[0]
    assert runs[0]["rmse"] != runs[5]["rmse"]
    # the refinement's implicit weight and step size can be changed for the evaluation
    for flags in (["--refine-alpha", "0"], ["--refine-alpha", "none"], ["--refine-lr", "0.2"]):
        assert main(["evaluate", ckpt, "--data", str(tiny_csv), "--json", "--refine-steps", "5",
                     *flags]) == 0
        runs[flags[1]] = json.loads(capsys.readouterr().out)
    assert runs[5]["refine_alpha"] == Conv4RecConfig().refine_alpha
    assert runs["0"]["refine_alpha"] == 0
    assert runs["none"]["refine_alpha"] is None and runs["0.2"]["refine_lr"] == 0.2
    assert len({runs[k]["rmse"] for k in (5, "0", "none", "0.2")}) == 4


@pytest.mark.parametrize("argv, message", [
    (["recommend", "{ckpt}", "--user", "nobody"], "unknown user id 'nobody'"),
    (["predict", "{missing}", "--out", "x.npz"], "no such checkpoint file"),
    (["train", "--data", "{bad}", "--out", "{tmp}"], "line 3"),
    (["train", "--data", "no-such-dataset", "--out", "{tmp}"], "no-such-dataset"),
    (["train", "--data", "{csv}", "--out", "{tmp}", "--lr", "-1"], "lr=-1.0"),
    (["evaluate", "{ckpt}", "--data", "{csv}", "--refine-steps", "-2"], "--refine-steps -2"),
    (["evaluate", "{ckpt}", "--data", "{csv}", "--refine-alpha", "-1"], "refine_alpha=-1.0"),
    (["train", "--data", "{csv}", "--out", "{tmp}", "--config", "{list_json}"],
     "expected a JSON object of Conv4RecConfig fields, got list"),
])
def test_errors_are_one_line_without_traceback(argv, message, trained, tiny_csv, tmp_path,
                                               capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("user,item,rating\n1,1,4\n1,2,nan\n")
    list_json = tmp_path / "list.json"
    list_json.write_text("[1, 2]")
    fill = {"ckpt": str(trained / "checkpoint.pt"), "missing": str(tmp_path / "none.pt"),
            "bad": str(bad), "tmp": str(tmp_path / "out"), "csv": str(tiny_csv),
            "list_json": str(list_json)}
    assert main([a.format(**fill) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
    assert "Traceback" not in err


def test_train_reads_plain_and_tuned_config_files(tiny_csv, tmp_path):
    """``--config`` takes a JSON object of fields, or a tuned file of conv4rec/configs/ (its
    ``config`` entry); flags override the file."""
    fields = {"hidden": [8], "in_channels": 2, "out_channels": 3, "epochs": 2, "patience": 1}
    (tmp_path / "plain.json").write_text(json.dumps(fields))
    (tmp_path / "tuned.json").write_text(json.dumps({"model": "conv4rec", "config": fields}))
    for name in ("plain", "tuned"):
        out = tmp_path / name
        assert main(["train", "--data", str(tiny_csv), "--out", str(out), "--quiet",
                     "--config", str(tmp_path / f"{name}.json"), "--out-channels", "2"]) == 0
        config = json.loads((out / "metrics.json").read_text())["config"]
        assert config["in_channels"] == 2 and config["out_channels"] == 2
        assert config["hidden"] == [8] and config["epochs"] == 2
        # an option the plain file leaves out takes the default; the tuned file (written by
        # to_dict, which leaves out what is off) had it off
        defaults = Conv4RecConfig()
        assert config.get("column_l2", 0.0) == (defaults.column_l2 if name == "plain" else 0.0)
        assert config.get("refine_steps", 0) == (defaults.refine_steps if name == "plain" else 0)


def test_refine_alpha_flag_takes_a_number_or_none():
    parser = build_parser()

    def config(*flags):
        return _config_from_args(parser.parse_args(["train", "--data", "x", "--out", "y",
                                                    *flags]))

    assert config().refine_alpha == Conv4RecConfig().refine_alpha
    assert config("--refine-alpha", "0.5").refine_alpha == 0.5
    assert config("--refine-alpha", "none").refine_alpha is None  # the loss's own alpha
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--data", "x", "--out", "y", "--refine-alpha", "foo"])


def test_help_everywhere(capsys):
    for command in ("fetch", "train", "predict", "recommend", "evaluate", "demo"):
        with pytest.raises(SystemExit) as exit_:
            main([command, "--help"])
        assert exit_.value.code == 0
    assert "usage" in capsys.readouterr().out


def test_demo_learns_the_ratings(capsys):
    """`python -m conv4rec demo` trains, scores and recommends; its model must predict the
    ratings clearly better than the training mean (it once stopped at the mean's RMSE)."""
    import re

    assert main(["demo", "--quiet"]) == 0
    out = capsys.readouterr().out
    rmse = float(re.search(r"Test metrics: rmse ([0-9.]+)", out).group(1))
    mean_rmse = float(re.search(r"training mean rating instead: rmse ([0-9.]+)", out).group(1))
    assert rmse < 0.85 * mean_rmse  # measured: 0.854 against 1.173
    assert out.count("hidden gems") == 2 and out.count("top-3 recommendations") == 2
