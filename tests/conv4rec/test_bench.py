"""The benchmark helpers: FLOP counting and the growth/scale plumbing (not timings)."""

from __future__ import annotations

from conv4rec.bench import bench_growth, bench_profile, step_flops, synthetic_like, timed
from conv4rec.config import OPTIONS_OFF, Conv4RecConfig


def test_step_flops_match_a_hand_count():
    """The decoder (B x d x m*K_out) and the output convolution (B*m x K_out x C) forward,
    backward twice that: 3 x 2 x multiply-adds; plus the level embeddings (eye @ A_in^T, whose
    backward needs only A_in's gradient). The sparse input side is a weighted gather
    (embedding_bag), which the counter does not count as a matrix product."""
    config = Conv4RecConfig(hidden=(32,), in_channels=4, out_channels=8, batch_size=16,
                            shared_weights=False)
    data = synthetic_like(40, 100, 800, 5)
    m, c, k_in, k_out, b, d = 100, 5, 4, 8, 16, 32
    forward = b * d * m * k_out + b * m * k_out * c
    level_embeddings = 2 * (2 * c * c * k_in)
    assert step_flops(config, data) == 3 * 2 * forward + level_embeddings


def test_synthetic_like_has_the_requested_shape():
    data = synthetic_like(50, 30, 1000, 10)
    assert (data.n_users, data.n_items, data.n_observed, data.n_levels) == (50, 30, 1000, 10)


def test_timed_reports_median_and_spread():
    result = timed(lambda: sum(range(100)), 3)
    assert result["min_s"] <= result["median_s"] <= result["max_s"] and result["repeats"] == 3


def test_growth_times_the_step_and_the_input_side_of_each_shape():
    config = Conv4RecConfig(hidden=(8,), batch_size=4)
    rows = bench_growth(config, "cpu", repeats=1, shapes=((30, 5), (30, 10)))["growth"]
    assert [(r["n_items"], r["interactions_per_user"]) for r in rows] == [(30, 5), (30, 10)]
    assert all(0 < r["interactions"] <= 4 * r["interactions_per_user"] for r in rows)
    assert all(r["step_s"] > 0 and r["input_side_s"] > 0 for r in rows)


def test_profile_reports_shares_of_the_step():
    config = Conv4RecConfig(hidden=(8,), batch_size=4)
    result = bench_profile(synthetic_like(12, 30, 120, 5), config, n_steps=2, device="cpu")
    shares = [op["share"] for op in result["top_ops"]]
    assert result["ms_per_step"] > 0 and shares == sorted(shares, reverse=True)
    assert 0 < sum(shares) <= 1 + 1e-9


def test_rank_times_the_refinement_against_plain_ranking_in_the_same_process():
    from conv4rec.bench import bench_rank

    data = synthetic_like(30, 40, 300, 5)
    config = Conv4RecConfig(hidden=(8,), batch_size=16)
    plain = bench_rank(data, config, 1, "cpu")
    assert "refine_ratio" not in plain and plain["n_users"] == 30
    result = bench_rank(data, config, 1, "cpu", refine_steps=3)
    assert result["refine_steps"] == 3
    assert result["refine_ratio"] == result["rank_refined_s"] / result["rank_s"] > 0


def test_bench_config_reads_a_tuned_file_then_the_settings(tmp_path):
    from conv4rec.bench import bench_config

    path = tmp_path / "tuned.json"
    path.write_text('{"config": {"orientation": "item", "hidden": [64], "dropout": 0.5}}')
    config = bench_config(path, ["hidden=[512, 256]", "monitor=rmse", "column_l2=1e-4"],
                          in_channels=16, out_channels=None)
    # a tuned file's missing options were off (whatever the defaults are), then the settings
    off = {**OPTIONS_OFF, "column_l2": 1e-4}
    assert config == Conv4RecConfig(orientation="item", hidden=(512, 256), dropout=0.5,
                                    monitor="rmse", in_channels=16, **off)
    assert bench_config(None, []) == Conv4RecConfig()
    assert bench_config(None, ["dropout=0.5"]) == Conv4RecConfig(dropout=0.5)


def test_bench_config_errors_name_the_option_and_value(tmp_path):
    import pytest

    from conv4rec.bench import bench_config

    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    for path, settings, expected in [
        (bad, [], f"--config {bad}: cannot read a JSON config"),
        (tmp_path / "missing.json", [], "--config"),
        (None, ["hidden"], "--set 'hidden': expected KEY=VALUE"),
        (None, ["colour=red"], "unknown field(s) ['colour']"),
        (None, ["orientation=diagonal"], "orientation='diagonal'"),
        (None, ["hidden=512"], "write lists as JSON, e.g. --set hidden=[512]"),
    ]:
        with pytest.raises(ValueError) as info:
            bench_config(path, settings)
        assert expected in str(info.value) and "\n" not in str(info.value)


def test_epoch_flops_count_the_item_orientation_on_its_own_rows():
    """In the item orientation the network's rows are items and its columns users: the epoch's
    FLOPs are those of the transposed data (the step's decoder width is n_users)."""
    from conv4rec.bench import bench_epoch

    data = synthetic_like(40, 100, 800, 5)
    config = Conv4RecConfig(hidden=(8,), batch_size=16, orientation="item")
    result = bench_epoch(data, config, 1, "cpu")
    rows = data.transpose()
    n_batches = -(-(rows.counts_per_user() > 0).sum() // 16)
    assert result["flops_per_epoch"] == step_flops(config, rows) * n_batches
    assert step_flops(config, rows) != step_flops(config, data)
