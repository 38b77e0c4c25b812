"""Training: masking, determinism, early stopping, NaN detection, predictions, fold-in."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from strategies import small_interactions

import conv4rec.estimator as estimator_module
from conv4rec.config import Conv4RecConfig
from conv4rec.demo import synthetic_interactions
from conv4rec.estimator import Conv4RecEstimator, TrainingError

TINY = Conv4RecConfig(hidden=(16,), in_channels=3, out_channels=3, epochs=3, batch_size=16,
                      patience=2)


@pytest.fixture(scope="module")
def data():
    return synthetic_interactions(n_users=60, n_items=30, per_user=10, seed=1)


def fit(data, config=TINY, seed=0):
    return Conv4RecEstimator(config, progress=False).fit(data, generator=seed)


def test_same_seed_gives_the_same_numbers(data):
    a, b = fit(data, seed=3), fit(data, seed=3)
    for (ka, va), (kb, vb) in zip(a.model_.state_dict().items(), b.model_.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    assert [h["train_loss"] for h in a.history_] == [h["train_loss"] for h in b.history_]
    c = fit(data, seed=4)
    assert not torch.equal(a.model_.decoder.weight, c.model_.decoder.weight)


def test_masked_mode_never_scores_an_input_interaction(data, monkeypatch):
    """Within every training batch the target interactions are disjoint from the inputs."""
    seen = []
    original_forward = Conv4RecEstimator._forward
    original_loss = estimator_module.interaction_losses

    def forward_spy(self, rows_data, rows, input_mask, generator=None):
        logits, pos, batch_row = original_forward(self, rows_data, rows, input_mask, generator)
        keep = np.ones(len(pos), bool) if input_mask is None else input_mask[pos]
        seen.append({"inputs": {(int(r), int(i)) for r, i in
                                zip(batch_row[keep], rows_data.items[pos][keep])}})
        return logits, pos, batch_row

    def loss_spy(logits, rows, items, levels, **kw):
        if seen and "targets" not in seen[-1]:
            seen[-1]["targets"] = set(zip(rows.tolist(), items.tolist()))
        return original_loss(logits, rows, items, levels, **kw)

    monkeypatch.setattr(Conv4RecEstimator, "_forward", forward_spy)
    monkeypatch.setattr(estimator_module, "interaction_losses", loss_spy)
    fit(data, TINY.replace(patience=0, epochs=2))
    assert len(seen) > 2
    for batch in seen:
        assert batch["targets"], "every batch scores some target interactions"
        assert not batch["inputs"] & batch["targets"]


def test_one_optimiser_step_changes_every_parameter(data):
    """One Adam step on the joint loss moves every parameter, the shared parts included."""
    from conv4rec.loss import interaction_losses
    from conv4rec.model import Conv4Rec

    config = TINY.replace(item_bias=True, shared_weights=True, hidden=(8, 6))
    model = Conv4Rec(data.n_items, data.n_levels, config)
    model.reset_parameters(torch.Generator().manual_seed(0))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=config.weight_decay)
    u, i, c = (torch.as_tensor(a) for a in (data.user, data.item, data.level))
    half = torch.arange(len(u)) % 2 == 0  # inputs / targets
    logits = model(u[half], i[half], c[half], data.n_users)
    interaction_losses(logits, u[~half], i[~half], c[~half], alpha=1.0, beta=2.0).mean().backward()
    optimizer.step()
    for name, value in model.state_dict().items():
        assert not torch.equal(value, before[name]), name


def test_nan_loss_stops_with_a_clear_error(data, monkeypatch):
    monkeypatch.setattr(estimator_module, "interaction_losses",
                        lambda logits, *a, **k: logits.sum() * float("nan") * torch.ones(1))
    with pytest.raises(TrainingError, match="loss became nan at epoch 1, batch 1"):
        fit(data)


def test_early_stopping_keeps_the_best_epoch(data):
    est = fit(data, TINY.replace(epochs=40, patience=3, lr=3e-2, lr_drops=0))
    losses = [h["val_" + est.config.monitor] for h in est.history_]
    assert est.best_epoch_ == int(np.argmin(losses)) + 1
    assert len(est.history_) <= est.best_epoch_ + 3


def test_lr_drops_go_on_from_the_best_weights_with_a_tenth_of_the_step(data):
    config = TINY.replace(epochs=60, patience=2, lr=3e-2, lr_drops=1, monitor="loss")
    est = fit(data, config)
    lrs = [h["lr"] for h in est.history_]
    assert lrs[0] == config.lr and set(lrs) == {config.lr, config.lr / 10}
    drop = lrs.index(config.lr / 10)  # the first epoch run with the smaller step
    # it came after `patience` epochs without improvement on the best epoch so far
    best_before = int(np.argmin([h["val_loss"] for h in est.history_[:drop]])) + 1
    assert drop == best_before + config.patience
    # the best epoch over the whole run is the one kept
    losses = [h["val_loss"] for h in est.history_]
    assert est.best_epoch_ == int(np.argmin(losses)) + 1
    assert len(est.history_) < config.epochs
    plain = fit(data, config.replace(lr_drops=0))
    assert {h["lr"] for h in plain.history_} == {config.lr}
    assert len(plain.history_) == drop  # without drops it stops where the first drop came
    assert [h["val_loss"] for h in plain.history_] == losses[:drop]


def test_all_mode_and_item_orientation_give_distributions(data):
    for config in (TINY.replace(target="all"), TINY.replace(orientation="item")):
        est = fit(data, config)
        q = est.predict_log_proba(np.arange(5)).exp()
        assert q.shape == (5, data.n_items, data.n_levels)
        torch.testing.assert_close(q.sum(dim=(1, 2)), torch.ones(5), atol=1e-5, rtol=0)


def test_fold_in_of_a_known_profile_matches_its_prediction(data):
    est = fit(data)
    user = 7
    mine = data.user == user
    folded = est.fold_in(data.item[mine], data.level[mine])
    torch.testing.assert_close(folded, est.predict_log_proba(np.array([user]))[0])


def test_predicted_ratings_lie_on_the_scale(data):
    est = fit(data)
    r = est.predict_ratings(data.user[:50], data.item[:50])
    assert np.all(r >= data.levels[0]) and np.all(r <= data.levels[-1])


@pytest.mark.parametrize("orientation", ["user", "item"])
def test_one_pass_ratings_and_scores_match_the_separate_methods(data, orientation):
    est = fit(data, TINY.replace(orientation=orientation, refine_steps=2))
    users, items = data.user[::3], data.item[::3]
    ratings, distinct, scores = est.predict_ratings_and_scores(users, items)
    np.testing.assert_array_equal(distinct, np.unique(users))
    np.testing.assert_allclose(ratings, est.predict_ratings(users, items), rtol=1e-6)
    torch.testing.assert_close(scores, est.score_items(distinct))


def test_weight_average_is_the_moving_average_of_the_training_weights(data):
    """One optimiser step from the initial weights w0 to w1: the averaged weights with decay a
    are w0 + (1 - a) (w1 - w0); the averaging leaves the training itself unchanged."""
    one_step = TINY.replace(epochs=1, batch_size=data.n_users, patience=0)
    plain = fit(data, one_step)
    averaged = fit(data, one_step.replace(weight_average=0.25))
    for name, w1 in plain.model_.state_dict().items():
        w0 = plain.initial_state_[name]
        torch.testing.assert_close(averaged.model_.state_dict()[name], w0 + 0.75 * (w1 - w0))


@settings(max_examples=10)
@given(small_interactions(min_per_user=2))
def test_any_level_set_trains_and_predicts(data):
    est = Conv4RecEstimator(TINY.replace(epochs=1, patience=0), progress=False)
    est.fit(data, generator=0)
    r = est.predict_ratings(data.user, data.item)
    assert np.all(r >= data.levels[0] - 1e-9) and np.all(r <= data.levels[-1] + 1e-9)


def test_planted_consumption_is_recovered():
    """A known answer: each user consumes a fixed half of the items; after training the learned
    consumption puts most mass on that half."""
    rng = np.random.default_rng(0)
    n_users, n_items = 200, 20
    group = np.arange(n_users) % 2
    users, items = [], []
    for u in range(n_users):
        allowed = np.arange(n_items // 2) + (n_items // 2) * group[u]
        pick = rng.choice(allowed, size=6, replace=False)
        users += [u] * 6
        items += list(pick)
    from conv4rec.data import Interactions

    data = Interactions(user=np.array(users), item=np.array(items), level=np.zeros(len(users)),
                        levels=[1.0], user_ids=np.arange(n_users), item_ids=np.arange(n_items))
    est = fit(data, Conv4RecConfig(hidden=(8,), epochs=60, patience=0, lr=1e-2))
    q = est.predict_log_proba().exp().sum(dim=-1).numpy()
    half = n_items // 2
    mass = np.where(group[:, None] == 0, q[:, :half].sum(1, keepdims=True),
                    q[:, half:].sum(1, keepdims=True))
    assert mass.mean() > 0.9  # uniform would give 0.5


def test_batched_fold_in_of_new_users_matches_one_by_one(data):
    from conv4rec.data import DataError, user_fold_in_split

    split = user_fold_in_split(data, heldout_users=10, seed=0)
    est = fit(data.subset(np.isin(data.user, np.unique(split.train.user))))
    profiles = split.fold_in
    users = np.unique(profiles.user)
    batched = est.predict_log_proba(users, profiles=profiles)
    for k, u in enumerate(users[:3]):
        mine = profiles.user == u
        torch.testing.assert_close(batched[k], est.fold_in(profiles.item[mine],
                                                           profiles.level[mine]))
    with pytest.raises(DataError, match="outside"):
        est.fold_in(np.array([data.n_items]), np.array([0]))
    assert est.score_items(users, profiles=profiles).shape == (len(users), data.n_items)


def test_repeated_draws_are_one_input_cell_and_several_targets():
    """X_u is 0/1: a profile with a cell drawn three times predicts as the profile with it
    once; the checkpoint's input-norm bound counts distinct cells."""
    from conv4rec.data import Interactions

    base = synthetic_interactions(n_users=30, n_items=15, per_user=5, seed=3)
    est = fit(base)
    u = 4
    mine = base.user == u
    items, levels = base.item[mine], base.level[mine]
    once = est.fold_in(items, levels)
    thrice = est.fold_in(np.r_[items, items[:1], items[:1]], np.r_[levels, levels[:1], levels[:1]])
    torch.testing.assert_close(thrice, once)
    repeated = Interactions(user=np.r_[base.user, [u, u]], item=np.r_[base.item, items[:1].repeat(2)],
                            level=np.r_[base.level, levels[:1].repeat(2)], levels=base.levels,
                            user_ids=base.user_ids, item_ids=base.item_ids)
    est2 = fit(repeated)
    assert est2.to_checkpoint().metadata["max_input_interactions"] == 5


def test_refinement_steps_are_chosen_on_validation_and_raise_the_inputs_likelihood(data, tmp_path):
    est = fit(data, TINY.replace(epochs=5, refine_steps=6, refine_lr=0.05))
    curve = [c["val_loss"] for c in est.refine_curve_]
    assert len(curve) == 7 and est.refine_steps_ == int(np.argmin(curve))
    # each step lowers the loss of the rows' own inputs (what the refinement maximises)
    rows_data = est._rows_data
    users = np.arange(20)
    in_rows, in_items, in_levels, scale, _, _ = est._inputs(rows_data, users, None)
    codes = est.model_.encode(in_rows, in_items, in_levels, len(users), scale)
    own = [estimator_module.interaction_losses(est.model_.decode(z), in_rows, in_items,
                                               in_levels).sum().item()
           for z in est._refined_codes(codes, in_rows, in_items, in_levels, 6)]
    assert own[-1] < own[0] and own == sorted(own, reverse=True)
    # predictions use the chosen count, batch by batch as one by one, and a checkpoint keeps it
    est.refine_steps_ = 4
    batched = est.predict_log_proba(users[:5])
    for u in users[:2]:
        torch.testing.assert_close(batched[u], est.predict_log_proba(np.array([u]))[0])
    refined = est.predict_log_proba(users[:5], batch_size=256)
    est.refine_steps_ = 0
    assert not torch.allclose(refined, est.predict_log_proba(users[:5]))
    est.refine_steps_ = 4
    est.save(tmp_path / "c.pt")
    again = Conv4RecEstimator.load(tmp_path / "c.pt")
    assert again.refine_steps_ == 4
    torch.testing.assert_close(again.predict_log_proba(users[:5]), batched)


def test_refine_alpha_weights_the_implicit_part_of_the_refinement(data):
    est = fit(data, TINY.replace(epochs=3, refine_steps=0, refine_lr=0.05))
    users = np.arange(20)
    in_rows, in_items, in_levels, scale, _, _ = est._inputs(est._rows_data, users, None)
    codes = est.model_.encode(in_rows, in_items, in_levels, len(users), scale)

    def refined(**options):
        est.config = est.config.replace(**options)
        return est._refined_codes(codes, in_rows, in_items, in_levels, 6)

    # None is the training loss's own alpha
    for a, b in zip(refined(refine_alpha=None), refined(refine_alpha=est.config.alpha)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)

    def explicit_loss(z):  # -sum log q(c | i) of the rows' own inputs
        return estimator_module.interaction_losses(est.model_.decode(z), in_rows, in_items,
                                                   in_levels, alpha=0.0).sum().item()

    # alpha 0 fits the ratings alone: every step lowers their loss, to below what the joint
    # refinement reaches in as many steps
    ratings_only = [explicit_loss(z) for z in refined(refine_alpha=0.0)]
    assert ratings_only == sorted(ratings_only, reverse=True) and ratings_only[-1] < ratings_only[0]
    assert ratings_only[-1] < explicit_loss(refined(refine_alpha=1.0)[-1])


def test_column_l2_pulls_the_per_column_parameters_to_zero(data):
    model = fit(data, TINY.replace(epochs=1, patience=0)).model_
    n = data.n_items
    assert all(p.shape[0] % n == 0 for p in model.column_parameters())
    norms = {}
    for l2 in (0.0, 1.0):
        est = fit(data, TINY.replace(epochs=3, patience=0, lr=1e-2, column_l2=l2))
        norms[l2] = sum(p.square().sum().item() for p in est.model_.column_parameters())
    assert norms[1.0] < 0.9 * norms[0.0]


@pytest.mark.parametrize("orientation", ["user", "item"])
def test_a_column_without_training_data_gets_the_rows_level_profile(data, orientation):
    """An item nobody rated (user orientation) or a user who rated nothing (item orientation)
    has untrained output weights: its rating distribution is the row's level profile over the
    trained columns, its consumption the network's, and each user's q still sums to one."""
    from conv4rec.data import Interactions

    cold_item, cold_user = data.n_items - 1, data.n_users - 1
    keep = (data.item != cold_item) & (data.user != cold_user)
    train = Interactions(user=data.user[keep], item=data.item[keep], level=data.level[keep],
                         levels=data.levels, user_ids=data.user_ids, item_ids=data.item_ids,
                         source="cold")
    est = fit(train, TINY.replace(orientation=orientation))
    cold = est.cold_columns()
    expected_cold = [cold_item] if orientation == "user" else [cold_user]
    assert np.flatnonzero(cold).tolist() == expected_cold
    log_q = est.predict_log_proba()
    np.testing.assert_allclose(log_q.exp().sum(dim=(1, 2)), 1.0, rtol=1e-5)
    # the network alone, row by row in its own orientation
    rows = np.arange(len(est._rows_data.counts))
    with torch.no_grad():
        raw = estimator_module.joint_log_softmax(est._forward(est._rows_data, rows, None)[0])
    filled = est._fill_cold_columns(raw, torch.as_tensor(est.cold_columns()))
    trained = ~torch.as_tensor(cold)
    torch.testing.assert_close(filled[:, trained], raw[:, trained])  # others untouched
    torch.testing.assert_close(filled.logsumexp(-1), raw.logsumexp(-1))  # consumption kept
    profile = raw[:, trained].exp().sum(1)
    profile = profile / profile.sum(-1, keepdim=True)
    c = int(np.flatnonzero(cold)[0])
    conditional = (filled[:, c] - filled[:, c].logsumexp(-1, keepdim=True)).exp()
    torch.testing.assert_close(conditional, profile)
    # the expected rating of a cold pair is the row's profile mean (here, for the user view)
    users = np.arange(train.n_users)
    pred = est.predict_ratings(users, np.full(len(users), cold_item))
    cond_u = (log_q[:, cold_item] - log_q[:, cold_item].logsumexp(-1, keepdim=True)).exp()
    np.testing.assert_allclose(pred, (cond_u @ torch.as_tensor(data.levels, dtype=cond_u.dtype)
                                      ).numpy(), rtol=1e-5)


def test_no_cold_column_leaves_the_prediction_as_the_network_gives_it(data):
    est = fit(data)
    assert not est.cold_columns().any()
    rows = np.arange(data.n_users)
    with torch.no_grad():
        raw = estimator_module.joint_log_softmax(est._forward(est._rows_data, rows, None)[0])
    assert est._fill_cold_columns(raw, torch.as_tensor(est.cold_columns())) is raw


def test_best_epoch_is_the_kept_weights_epoch_after_a_learning_rate_drop(data, monkeypatch):
    """With a scripted validation curve that never improves after the drop, the kept epoch is
    the best one (3), not the epoch of the drop (5)."""
    curve = iter([5.0, 4.0, 3.0, 3.5, 3.6, 3.7, 3.8, 3.9, 4.0])
    monkeypatch.setattr(Conv4RecEstimator, "_validation",
                        lambda self, *a, **k: [{"val_loss": next(curve), "val_rmse": 1.0}])
    est = fit(data, TINY.replace(epochs=9, patience=2, lr_drops=1, monitor="loss",
                                 refine_steps=0))
    lrs = [h["lr"] for h in est.history_]
    assert lrs.index(TINY.lr / 10) == 5  # epochs 4 and 5 did not improve on 3: drop
    assert len(est.history_) == 7  # epochs 6 and 7 did not improve either: stop
    assert est.best_epoch_ == 3
    assert est.to_checkpoint().metadata["validation_loss"] == 3.0


def test_checkpoint_validation_loss_is_the_saved_weights_validation_loss(data, tmp_path):
    config = TINY.replace(epochs=40, patience=2, lr=3e-2, lr_drops=2, monitor="loss",
                          refine_steps=0)
    est = fit(data, config)
    est.save(tmp_path / "m.pt")
    loaded = Conv4RecEstimator.load(tmp_path / "m.pt")
    recomputed = loaded._validation(loaded._rows_data, *est._validation_split)[0]["val_loss"]
    assert loaded.metadata_["validation_loss"] == pytest.approx(recomputed, rel=1e-5)
