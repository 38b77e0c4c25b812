"""Metrics against hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
import torch
from hypothesis import given
from hypothesis import strategies as st

from conv4rec.metrics import mae, ndcg_at_k, recall_at_k, rmse


def test_rmse_mae_by_hand():
    assert rmse([1, 2, 3], [1, 2, 5]) == math.sqrt(4 / 3)
    assert mae([1, 2, 3], [2, 2, 5]) == 1.0


def test_ranking_example_by_hand():
    # scores rank items 0 > 1 > 2 > 3 > 4; item 1 is excluded (seen); relevant: 2 and 4.
    scores = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0]])
    exclude = torch.tensor([[False, True, False, False, False]])
    relevant = sp.csr_matrix(np.array([[0, 0, 1, 0, 1]], dtype=np.float32))
    # ranking after exclusion: 0, 2, 3, 4 -> hits at ranks 2 and 4
    assert recall_at_k(scores, relevant, 2, exclude)[0] == 0.5  # 1 hit / min(2, 2)
    assert recall_at_k(scores, relevant, 4, exclude)[0] == 1.0
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3)
    assert math.isclose(ndcg_at_k(scores, relevant, 4, exclude)[0], dcg / idcg)


@given(st.integers(1, 30), st.integers(1, 30), st.integers(0, 2**31 - 1))
def test_perfect_ranking_scores_one(m, k, seed):
    rng = np.random.default_rng(seed)
    rel = (rng.random((3, m)) < 0.4).astype(np.float32)
    rel[:, 0] = 1  # every user has a relevant item
    scores = torch.as_tensor(rel + rng.random((3, m)) * 0.1)  # relevant items on top
    relevant = sp.csr_matrix(rel)
    np.testing.assert_allclose(recall_at_k(scores, relevant, k), 1.0)
    np.testing.assert_allclose(ndcg_at_k(scores, relevant, k), 1.0)


def test_ties_are_broken_by_lower_item_index():
    scores = torch.zeros(1, 4)  # all tied: the ranking is 0, 1, 2, 3
    relevant = sp.csr_matrix(np.array([[0, 1, 0, 0]], dtype=np.float32))
    assert recall_at_k(scores, relevant, 1)[0] == 0.0
    assert recall_at_k(scores, relevant, 2)[0] == 1.0
    assert math.isclose(ndcg_at_k(scores, relevant, 2)[0], 1 / math.log2(3))


def test_users_without_relevant_items_are_nan():
    out = recall_at_k(torch.zeros(1, 3), sp.csr_matrix((1, 3), dtype=np.float32), 2)
    assert np.isnan(out[0])
