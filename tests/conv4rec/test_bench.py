"""The benchmark helpers: FLOP counting and the growth/scale plumbing (not timings)."""

from __future__ import annotations

from conv4rec.bench import bench_growth, bench_profile, step_flops, synthetic_like, timed
from conv4rec.config import Conv4RecConfig


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
