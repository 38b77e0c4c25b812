"""The network: a distribution per user, the 1x1 convolutions, sparsity and equivariance."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import small_configs, small_interactions

from conv4rec.model import Conv4Rec, activation, joint_log_softmax


def build(config, n_items, n_levels, seed=0):
    model = Conv4Rec(n_items, n_levels, config)
    model.reset_parameters(torch.Generator().manual_seed(seed))
    if model.item_bias is not None:  # make the optional bias matter in the tests
        with torch.no_grad():
            model.item_bias.normal_(generator=torch.Generator().manual_seed(seed + 1))
    return model.double().eval()


def coo(data):
    return (torch.as_tensor(data.user), torch.as_tensor(data.item), torch.as_tensor(data.level))


def dense_reference(model, data, scale=None):
    """A naive dense forward: X as a (B, C, m) 0/1 tensor, the 1x1 convolutions as explicit
    per-item matrix products in a Python loop over items."""
    cfg, m, c = model.config, model.n_items, model.n_levels
    x = torch.zeros(data.n_users, c, m, dtype=torch.float64)
    x[data.user, data.level, data.item] = 1.0
    act = activation(cfg.activation)
    a_in, b_in = model.input_conv.weight, model.input_conv.bias
    cols = [act(x[:, :, i] @ a_in.T + b_in) for i in range(m)]  # same A_in at every item
    h = torch.stack(cols, dim=1).reshape(data.n_users, -1)  # item-major vec(H)
    pre = h @ model.encoder_weight().reshape(-1, h.shape[1]).T  # W_i + W_shared, every item
    if scale is not None:
        pre = pre * scale[:, None]
    z = act(pre + model.encoder[0].bias)
    for layer in model.encoder[1:]:
        z = act(layer(z))
    dec = torch.nn.functional.linear(z, model.decoder_weight(), model.decoder.bias)
    g = activation(cfg.decoder_activation)(dec).view(data.n_users, m, -1)
    a_out, b_out = model.output_conv.weight, model.output_conv.bias
    logits = torch.stack([g[:, i, :] @ a_out.T + b_out for i in range(m)], dim=1)
    if model.item_bias is not None:
        logits = logits + model.item_bias
    return logits


@given(small_configs(), small_interactions())
def test_q_is_a_distribution_per_user(config, data):
    model = build(config, data.n_items, data.n_levels)
    with torch.no_grad():
        q = joint_log_softmax(model(*coo(data), data.n_users)).exp()
    assert q.shape == (data.n_users, data.n_items, data.n_levels)
    torch.testing.assert_close(q.sum(dim=(1, 2)), torch.ones(data.n_users, dtype=q.dtype))
    assert torch.all(q > 0) and torch.all(q < 1)


@given(small_configs(), small_interactions(), st.booleans())
def test_sparse_input_path_equals_dense_one_by_one_convolutions(config, data, scaled):
    """The gathered level embeddings give exactly the dense 1x1-convolution network."""
    model = build(config, data.n_items, data.n_levels)
    scale = torch.rand(data.n_users, dtype=torch.float64) + 0.5 if scaled else None
    with torch.no_grad():
        fast = model(*coo(data), data.n_users, scale)
        slow = dense_reference(model, data, scale)
    torch.testing.assert_close(fast, slow)


@given(small_configs(), small_interactions(), st.integers(0, 2**31 - 1))
def test_sparse_input_path_has_the_dense_gradients(config, data, seed):
    """The optimised input side (weighted bags of weight rows, in any interaction order) gives
    the dense reference's gradient for every parameter, not only its outputs."""
    model = build(config, data.n_items, data.n_levels)
    gen = torch.Generator().manual_seed(seed)
    for shared in (model.encoder_shared, model.decoder_shared):
        if shared is not None:
            with torch.no_grad():
                shared.normal_(generator=gen)
    weights = torch.randn(data.n_users, data.n_items, data.n_levels, generator=gen,
                          dtype=torch.float64)
    order = torch.randperm(data.n_observed, generator=gen)
    users, items, levels = (t[order] for t in coo(data))

    def gradients(logits):
        model.zero_grad()
        (logits * weights).sum().backward()
        return {name: p.grad.clone() for name, p in model.named_parameters()
                if p.grad is not None}

    fast = gradients(model(users, items, levels, data.n_users))
    slow = gradients(dense_reference(model, data))
    assert fast.keys() == slow.keys()
    for name in fast:
        torch.testing.assert_close(fast[name], slow[name], msg=name)


@given(small_configs(), small_interactions(), st.integers(0, 2**31 - 1))
def test_permuting_items_permutes_outputs(config, data, seed):
    model = build(config, data.n_items, data.n_levels)
    perm = np.random.default_rng(seed).permutation(data.n_items)  # new item j = old perm[j]
    inverse = np.argsort(perm)
    k_in, k_out = config.in_channels, config.out_channels
    permuted = build(config, data.n_items, data.n_levels)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    w = state["encoder.0.weight"].view(-1, data.n_items, k_in)[:, perm, :]
    state["encoder.0.weight"] = w.reshape(w.shape[0], -1)
    state["decoder.weight"] = state["decoder.weight"].view(data.n_items, k_out, -1)[perm].reshape(
        data.n_items * k_out, -1)
    state["decoder.bias"] = state["decoder.bias"].view(data.n_items, k_out)[perm].reshape(-1)
    if config.item_bias:
        state["item_bias"] = state["item_bias"][perm]
    permuted.load_state_dict(state)
    u, i, c = coo(data)
    with torch.no_grad():
        out = model(u, i, c, data.n_users)
        out_perm = permuted(u, torch.as_tensor(inverse)[i], c, data.n_users)
    torch.testing.assert_close(out_perm, out[:, perm, :])


@given(small_configs(item_bias=False), st.integers(2, 6), st.integers(1, 4))
def test_output_convolution_acts_the_same_at_every_item(config, n_items, n_levels):
    """With the decoder's per-item outputs equal, every item gets the same logits: the output
    1x1 convolution has no per-item parameters."""
    model = build(config, n_items, n_levels)
    with torch.no_grad():
        model.decoder.weight.copy_(model.decoder.weight.view(n_items, -1, model.decoder.weight
                                                             .shape[1])[:1].expand(
            n_items, -1, -1).reshape(model.decoder.weight.shape))
        model.decoder.bias.copy_(model.decoder.bias.view(n_items, -1)[:1].expand(n_items, -1)
                                 .reshape(-1))
        z = torch.randn(3, config.code_size, dtype=torch.float64)
        logits = model.decode(z)
    torch.testing.assert_close(logits, logits[:, :1, :].expand_as(logits))


@given(st.integers(2, 6), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**31 - 1))
def test_input_convolution_acts_the_same_at_every_item(n_items, n_levels, k_in, seed):
    """With an identity encoder, z = vec(H): one interaction (i, c) puts the same column
    A_in e_c + b_in at item i's block, whichever item i is, and b_in everywhere else."""
    from conv4rec.config import Conv4RecConfig

    config = Conv4RecConfig(in_channels=k_in, hidden=(n_items * k_in,), activation="identity",
                            input_scaling="none")
    model = build(config, n_items, n_levels, seed)
    with torch.no_grad():
        model.encoder[0].weight.copy_(torch.eye(n_items * k_in))
        model.encoder[0].bias.zero_()
    a_in, b_in = model.input_conv.weight, model.input_conv.bias
    for level in range(n_levels):
        for item in range(n_items):
            with torch.no_grad():
                z = model.encode(torch.tensor([0]), torch.tensor([item]), torch.tensor([level]), 1)
            blocks = z.view(n_items, k_in)
            torch.testing.assert_close(blocks[item], a_in[:, level] + b_in)
            others = torch.cat([blocks[:item], blocks[item + 1:]])
            torch.testing.assert_close(others, b_in.expand_as(others))


def test_input_side_never_builds_a_dense_level_by_item_block():
    """The encoder touches the observed items only: no op makes a (B, C, m), (B, m*K_in) or
    (d, m, K_in)-sized tensor (views of the weights aside): everything it makes is smaller than
    m (the largest are the C x C identity of the level embeddings and the (K_in, d0) column sum
    of the weights for the unobserved items' constant)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from conv4rec.config import Conv4RecConfig

    m, c, k_in, d0 = 500, 5, 3, 4
    model = build(Conv4RecConfig(hidden=(d0,), in_channels=k_in), m, c)
    sizes = []

    class RecordSizes(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            inputs = {a.untyped_storage().data_ptr() for a in args if isinstance(a, torch.Tensor)}
            for t in out if isinstance(out, (tuple, list)) else (out,):
                if isinstance(t, torch.Tensor) and t.untyped_storage().data_ptr() not in inputs:
                    sizes.append((func.__name__, t.numel()))
            return out

    rows = torch.tensor([0, 0, 1])
    with torch.no_grad(), RecordSizes():
        model.encode(rows, torch.tensor([3, 7, 9]), torch.tensor([0, 4, 2]), 2)
    assert sizes and max(n for _, n in sizes) <= max(c * c, k_in * d0) < m, sizes


@given(small_configs(shared_weights=True), small_interactions())
def test_folding_shared_weights_keeps_the_function(config, data):
    model = build(config, data.n_items, data.n_levels)
    with torch.no_grad():
        model.encoder_shared.normal_()
        model.decoder_shared.normal_()
        before = model(*coo(data), data.n_users)
        model.fold_shared_weights()
        after = model(*coo(data), data.n_users)
    torch.testing.assert_close(after, before)
    assert not model.encoder_shared.any() and not model.decoder_shared.any()
