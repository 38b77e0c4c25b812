"""Each figure builds from the tiny fixture cache into a non-blank image of its declared size;
``list`` names every script; a missing cache fails with the command that produces it; and
``--build-caches`` runs nothing when every cache is there."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from fixture_cache import write_benchmark
from matplotlib.image import imread

from paper_figures import cli, registry, sources, style
from paper_figures.figures import _predictions
from paper_figures.registry import build

FIGURES_DIR = Path(registry.__file__).parent / "figures"
DPI = 60  # small images keep the suite fast; the size check scales with it


def _scripts() -> list[str]:
    return sorted(p.stem for p in FIGURES_DIR.glob("*.py") if not p.stem.startswith("_"))


def test_every_script_is_registered_and_declares_its_interface():
    assert sorted(registry.FIGURE_NAMES) == _scripts()
    for fig in registry.all_figures():
        assert fig.NAME and fig.DESCRIPTION
        assert fig.REQUIRES, fig.NAME
        assert len(fig.FIGSIZE) == 2
        assert callable(fig.draw)


def test_list_names_every_script(capsys, tmp_path):
    assert cli.main(["list", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in _scripts():
        assert name in out
    assert "python -m simulations run demo --seeds 0-2" in out
    assert cli.main(["list", "--json", "--results", str(tmp_path)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [f["name"] for f in listed] == list(registry.FIGURE_NAMES)
    assert all(r["command"] for f in listed for r in f["requires"])


def _check_png(png: Path, figsize: tuple[float, float], dpi: int) -> None:
    image = imread(png)
    width, height = figsize
    assert image.shape[:2] == (round(height * dpi), round(width * dpi)), png
    grey = image[..., :3].mean(axis=-1)
    assert (grey < 0.9).mean() > 0.02, f"{png} is (nearly) blank"
    assert grey.std() > 0.05, f"{png} is (nearly) uniform"


@pytest.mark.parametrize("name", registry.FIGURE_NAMES)
def test_figure_builds_from_the_fixture_cache(name, fixture_cache, tmp_path):
    fig = registry.get_figure(name)
    (png,) = build(fig, fixture_cache, tmp_path, ("png",), dpi=DPI)
    assert png == tmp_path / f"{name}.png"
    _check_png(png, fig.FIGSIZE, DPI)
    assert [p.name for p in tmp_path.iterdir()] == [png.name], "a temporary file was left"


def test_formats_and_the_small_docs_copy(fixture_cache, tmp_path):
    fig = registry.get_figure("tv_vs_n")
    paths = build(fig, fixture_cache, tmp_path / "out", ("png", "pdf"),
                      docs_dir=tmp_path / "docs")
    assert [p.name for p in paths] == ["tv_vs_n.png", "tv_vs_n.pdf", "tv_vs_n.png"]
    _check_png(tmp_path / "out" / "tv_vs_n.png", fig.FIGSIZE, style.DPI)
    _check_png(tmp_path / "docs" / "tv_vs_n.png", fig.FIGSIZE, style.DOCS_DPI)
    assert (tmp_path / "out" / "tv_vs_n.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("name", registry.FIGURE_NAMES)
def test_a_missing_cache_fails_with_the_command_that_produces_it(name, tmp_path):
    fig = registry.get_figure(name)
    with pytest.raises(sources.MissingCacheError) as err:
        build(fig, tmp_path / "empty", tmp_path / "out")
    message = str(err.value)
    for src in fig.REQUIRES:
        assert src.command(tmp_path / "empty", "small") in message
    assert not (tmp_path / "out").exists()


def test_cli_reports_the_missing_command_and_exit_status(tmp_path, capsys):
    code = cli.main(["tv_vs_n", "--results", str(tmp_path), "--out", str(tmp_path / "o")])
    assert code == 1
    err = capsys.readouterr().err
    assert (f"python -m simulations run demo --seeds 0-2 --jobs 2 --results {tmp_path}"
            in err)


def test_build_caches_runs_nothing_when_every_cache_is_there(fixture_cache, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError(f"ran {args}: caches are present, nothing may be recomputed")

    monkeypatch.setattr(subprocess, "run", forbidden)
    report = cli.build_caches(registry.all_figures(), fixture_cache, "small")
    assert report and not any(r["ran"] for r in report)


def test_build_caches_runs_the_missing_command_once(tmp_path, monkeypatch):
    calls = []

    def fake_run(argv, check, stdout=None):
        calls.append(argv[1:])
        return subprocess.CompletedProcess(argv, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    figures = [registry.get_figure("tv_vs_n"), registry.get_figure("pinsker")]
    cli.build_caches(figures, tmp_path, "small")
    # demo is needed by both figures and run once; pinsker's own sweep once
    assert [c[3] for c in calls] == ["demo", "pinsker"]
    assert calls[0][:6] == ["-m", "simulations", "run", "demo", "--seeds", "0-2"]


def test_real_data_needs_the_implicit_tables_too(tmp_path):
    write_benchmark(tmp_path, implicit=False)
    fig = registry.get_figure("real_data")
    with pytest.raises(sources.MissingCacheError) as err:
        build(fig, tmp_path, tmp_path / "out", ("png",), dpi=DPI)
    assert "--tables ml-100k-strong ml-100k-weak --runs 1 --name ml-100k-implicit" in str(
        err.value)
    assert "ml-100k-u1 " not in str(err.value)  # the explicit table is there


def test_a_larger_size_needs_more_benchmark_runs(fixture_cache):
    from paper_figures.figures.real_data import EXPLICIT

    assert EXPLICIT.missing(fixture_cache, "small") == []
    problems = EXPLICIT.missing(fixture_cache, "full")
    assert any("has 1 run(s), full size needs 3" in p for p in problems)
    assert any("lacks model(s) srmgcnn" in p for p in problems)


def test_bootstrap_interval_brackets_the_mean():
    from paper_figures.figures.real_data import bootstrap_interval

    values = np.random.default_rng(1).random(400)
    lo, hi = bootstrap_interval(values, root_of_mean=False)
    assert lo < 0 < hi
    assert hi - lo == pytest.approx(2 * 1.96 * values.std() / 20, rel=0.15)
    lo, hi = bootstrap_interval(values, root_of_mean=True)
    assert lo < 1 < hi


def test_a_checkpoint_that_does_not_reproduce_its_result_is_refused(fixture_cache, tmp_path):
    import shutil

    from paper_figures.figures import hidden_gems
    from simulations.cache import ResultCache
    from simulations.sweeps import get_sweep

    root = tmp_path / "results"
    shutil.copytree(fixture_cache / "hidden_gems", root / "hidden_gems")
    sweep = get_sweep("hidden_gems")
    cfg = dict(sweep.points)[hidden_gems.POINT]
    path = ResultCache(root, "hidden_gems").path(cfg, 0)
    envelope = json.loads(path.read_text())
    envelope["result"]["estimators"]["conv4rec"]["tv"] += 0.05
    path.write_text(json.dumps(envelope))
    with pytest.raises(_predictions.StaleCheckpointError, match="older version"):
        build(hidden_gems, root, tmp_path / "out")


def test_savefig_is_atomic_and_writes_each_format(tmp_path):
    with style.rc_context():
        fig = style.new_figure(2.0, 1.0)
        fig.add_subplot().plot([0, 1], [0, 1])
        paths = style.savefig(fig, "x", tmp_path, ("png", "svg"), dpi=50)
    assert [p.name for p in paths] == ["x.png", "x.svg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png", "x.svg"]
    assert imread(paths[0]).shape[:2] == (50, 100)
