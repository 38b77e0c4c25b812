"""``python -m simulations``: list, run, show, errors, --help everywhere."""

from __future__ import annotations

import json

import pytest
from simulation_configs import tiny_config

import simulations.sweeps as sweeps_module
from simulations.cli import main
from simulations.sweeps import Sweep


@pytest.fixture
def tiny_sweep(monkeypatch):
    sweep = Sweep(name="tiny", description="a tiny test sweep", axis="n_per_user",
                  fit_slope=True, certificate=True, seeds=(0,),
                  points=tuple((n, tiny_config(n_per_user=n, estimators=("conv4rec",
                                                                         "empirical")))
                               for n in (4, 8, 16)))
    monkeypatch.setitem(sweeps_module.SWEEP_BUILDERS, "tiny", lambda: sweep)
    return sweep


@pytest.mark.parametrize("argv", [[], ["list"], ["run"], ["show"], ["demo"]])
def test_help_everywhere(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--help"])
    assert exc.value.code == 0
    assert "usage" in capsys.readouterr().out


def test_list(capsys):
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    assert "tv_vs_n" in text and "separate" in text
    assert main(["list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {"demo", "tv_vs_n", "tv_vs_users", "tv_vs_model_size", "bounds_vs_gap", "pinsker",
            "hidden_gems", "truths"} <= {s["name"] for s in listed["sweeps"]}
    assert len(listed["truths"]) >= 4


def test_run_then_show(tiny_sweep, tmp_path, capsys):
    assert main(["run", "tiny", "--results", str(tmp_path), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "conv4rec" in text and "b = " in text
    assert main(["show", "tiny", "--results", str(tmp_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["missing"] == [] and summary["n_runs"] == 3
    assert set(summary["slopes"]) == {"conv4rec", "empirical"}
    # more seeds than cached: show says what is missing, run --json adds them
    assert main(["show", "tiny", "--results", str(tmp_path), "--seeds", "0-1"]) == 0
    assert "missing: 3" in capsys.readouterr().out
    assert main(["run", "tiny", "--results", str(tmp_path), "--seeds", "0-1", "--quiet",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_runs"] == 6


def test_results_from_the_environment(tiny_sweep, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CONV4REC_RESULTS", str(tmp_path / "env"))
    assert main(["run", "tiny", "--seeds", "0", "--quiet"]) == 0
    assert len(list((tmp_path / "env" / "tiny").glob("*.json"))) == 3


def test_errors_are_one_line_with_exit_status_2(tmp_path, capsys):
    assert main(["show", "nope", "--results", str(tmp_path)]) == 2
    assert "unknown sweep 'nope'" in capsys.readouterr().err
    assert main(["run", "demo", "--seeds", "x", "--results", str(tmp_path)]) == 2
    assert "--seeds" in capsys.readouterr().err
    assert main(["run", "demo", "--jobs", "0", "--results", str(tmp_path)]) == 2


def test_show_of_an_empty_sweep_fails(tiny_sweep, tmp_path, capsys):
    assert main(["show", "tiny", "--results", str(tmp_path)]) == 1
    assert "missing: 3" in capsys.readouterr().out
