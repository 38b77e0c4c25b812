"""Every quantity the bounds need, computed once from a checkpoint file (docs/bounds.md §1, §7).

:class:`CheckpointStats` reads a checkpoint through ``conv4rec.checkpoint.load_checkpoint`` and
nothing else of ``conv4rec``: the layers come from the metadata's ``architecture`` list and the
state dicts. It holds

* the raw norms of every layer (spectral, Frobenius, (2,1), each also of the distance to the
  initial weights), in float64 (:class:`LayerStats`);
* the two exact re-writings of the network the bounds use (docs/bounds.md §1.3): the Frobenius
  chain of Golowich et al. (:attr:`CheckpointStats.frobenius_chain`) and the spectral chain of
  Bartlett et al. / Ledent et al. (:attr:`CheckpointStats.spectral_chain`);
* the sample size n, the m items, C levels, the mixing η, the loss range and Lipschitz constant,
  the input norm bounds, and the measured risks when the checkpoint has them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.special import expit

from bounds.norms import (
    MatrixNorms,
    conv_bias_spectral_norm,
    frobenius_norm,
    l21_norm,
    matrix_norms,
    norms_and_gram,
    operator_spectral_norm,
    spectral_norm,
    spectral_norm_from_gram,
)
from conv4rec.checkpoint import Checkpoint, CheckpointError, load_checkpoint

#: Mixing used when the checkpoint records neither ``risk["eta"]`` nor a positive config eta.
DEFAULT_ETA = 1e-4

_SELU_SCALE = 1.0507009873554804934193349852946
_SELU_ALPHA = 1.6732632423543772848170429916717


@dataclass(frozen=True)
class Activation:
    """An elementwise nonlinearity and the properties the bounds need.

    ``lipschitz`` is its Lipschitz constant, ``at_zero`` its value at 0 (folded into the next
    layer's bias, so the centred map act − act(0) vanishes at 0), ``homogeneous`` whether
    act(t x) = t act(x) for t >= 0 (Golowich et al. 2018 need it).
    """

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    lipschitz: float
    at_zero: float
    homogeneous: bool


ACTIVATIONS: dict[str, Activation] = {
    a.name: a for a in (
        Activation("identity", lambda x: x, 1.0, 0.0, True),
        Activation("relu", lambda x: np.maximum(x, 0.0), 1.0, 0.0, True),
        Activation("tanh", np.tanh, 1.0, 0.0, False),
        Activation("sigmoid", expit, 0.25, 0.5, False),
        Activation("elu", lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))), 1.0, 0.0,
                   False),
        # selu'(x) = scale * alpha * e^x on x < 0, whose supremum scale * alpha is the constant
        Activation("selu", lambda x: _SELU_SCALE * np.where(
            x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0))), _SELU_SCALE * _SELU_ALPHA,
            0.0, False),
    )
}


class BoundsError(ValueError):
    """The checkpoint is readable but describes a network the bounds do not cover."""


@dataclass(frozen=True)
class LayerStats:
    """Raw float64 norms of one layer's (effective) weight matrix and of its distance to init.

    Attributes
    ----------
    name, kind, activation : from the checkpoint's ``architecture`` list.
    shape : (rows, cols) of the stored matrix (a ``conv1x1`` filter is (out, in) channels).
    positions : how many items share the matrix (m for ``conv1x1``, 1 for ``fc``).
    norms : norms of W.
    distance : norms of W − W⁽⁰⁾.
    """

    name: str
    kind: str
    shape: tuple[int, int]
    positions: int
    activation: str
    norms: MatrixNorms
    distance: MatrixNorms

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "shape": list(self.shape),
                "positions": self.positions, "activation": self.activation,
                "norms": self.norms.to_dict(), "distance": self.distance.to_dict()}


@dataclass(frozen=True)
class ChainLayer:
    """One layer of the spectral chain (docs/bounds.md §1.3, §3, §4).

    Attributes
    ----------
    name : the layer ("input_conv", "encoder.0", ..., "decoder", "output_conv").
    kind : "conv1x1" (shared over the m items) or "fc".
    rows, cols : shape of the layer's matrix unrolled over the items, with the rows and columns
        that carry the constant inputs of the biases.
    lipschitz : ρ_i, Lipschitz constant (ℓ2) of the map applied after the layer.
    spectral : s_i, spectral norm of the unrolled matrix.
    l21_distance_unrolled : ‖(A_i − M_i)ᵀ‖_{2,1} of the unrolled matrix (Bartlett et al.).
    l21_distance_shared : the same with a shared filter counted once (Ledent et al.).
    cover_dim_shared : d·k of the parameter matrix that the shared cover covers.
    """

    name: str
    kind: str
    rows: int
    cols: int
    lipschitz: float
    spectral: float
    l21_distance_unrolled: float
    l21_distance_shared: float
    cover_dim_shared: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class CheckpointStats:
    """Frozen statistics of one checkpoint; build with :meth:`from_checkpoint`.

    Attributes
    ----------
    source : where the checkpoint came from.
    n : number of samples (rows) of the empirical risk: ``risk["n_rows"]`` when recorded, else
        the metadata's ``n_rows``.
    m, n_levels : items and levels of the network (model orientation), C = ``n_levels``.
    eta : the mixing of the bounded loss ℓ_η.
    alpha, beta : the loss weights of the checkpoint's config.
    activation, decoder_activation : the nonlinearities after encoder.0 and the decoder.
    hidden_activations : the nonlinearity after each encoder layer.
    input_scaling : "none", "sqrt" or "mean".
    max_input_interactions, n_observed : from the metadata.
    input_sq_sum : upper bound on Σ_u ‖x̂_u‖² over the n samples (docs/bounds.md §1.4).
    input_norm_max : upper bound on max_u ‖x̂_u‖.
    layers : raw norms of every layer.
    frobenius_chain : (name, ‖·‖_F) of each matrix of the Frobenius chain (docs/bounds.md §1.3).
    spectral_chain : the layers of the spectral chain.
    risk : ``{"eta", "train", "test"}`` when the checkpoint records it.
    assumptions : what was taken from the metadata rather than checked.
    """

    source: str
    n: int
    m: int
    n_levels: int
    eta: float
    alpha: float
    beta: float
    activation: str
    decoder_activation: str
    hidden_activations: tuple[str, ...]
    input_scaling: str
    max_input_interactions: int
    n_observed: int
    input_sq_sum: float
    input_norm_max: float
    layers: tuple[LayerStats, ...]
    frobenius_chain: tuple[tuple[str, float], ...]
    spectral_chain: tuple[ChainLayer, ...]
    risk: dict[str, float] | None = None
    assumptions: tuple[str, ...] = field(default=())

    # ------------------------------------------------------------------ loss
    @property
    def n_outputs(self) -> int:
        """C·m, the number of logits."""
        return self.n_levels * self.m

    @property
    def loss_is_joint(self) -> bool:
        """Whether the checkpoint's loss is α·ℓ_η (α = β), the loss the chain bounds."""
        return math.isclose(self.alpha, self.beta, rel_tol=1e-12) and self.alpha > 0

    @property
    def loss_range(self) -> float:
        """B = α log(C m / η): α·ℓ_η lies in [0, B] (SPEC §3)."""
        return self.alpha * math.log(self.n_outputs / self.eta)

    @property
    def loss_lipschitz(self) -> float:
        """α√2: α·ℓ_η and its per-row mean are α√2-Lipschitz in the logits, ℓ2 (docs §1.2)."""
        return self.alpha * math.sqrt(2.0)

    @property
    def gap(self) -> float | None:
        """Measured test − train risk when the checkpoint has both."""
        if not self.risk or "train" not in self.risk or "test" not in self.risk:
            return None
        return self.risk["test"] - self.risk["train"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "n": self.n, "m": self.m, "n_levels": self.n_levels,
            "eta": self.eta, "alpha": self.alpha, "beta": self.beta,
            "activation": self.activation, "decoder_activation": self.decoder_activation,
            "input_scaling": self.input_scaling,
            "max_input_interactions": self.max_input_interactions,
            "n_observed": self.n_observed, "input_sq_sum": self.input_sq_sum,
            "input_norm_max": self.input_norm_max,
            "layers": [layer.to_dict() for layer in self.layers],
            "frobenius_chain": [list(x) for x in self.frobenius_chain],
            "spectral_chain": [layer.to_dict() for layer in self.spectral_chain],
            "risk": self.risk, "assumptions": list(self.assumptions),
        }

    # --------------------------------------------------------------- building
    @classmethod
    def from_checkpoint(cls, source: str | Path | Checkpoint) -> CheckpointStats:
        """Compute every statistic of a checkpoint file (or an already loaded Checkpoint).

        Raises
        ------
        CheckpointError
            The file is missing, truncated or foreign, or its content does not match its
            metadata (one line).
        BoundsError
            The architecture is not the one the bounds are instantiated for (one line).
        """
        if isinstance(source, Checkpoint):
            ckpt, name = source, "<checkpoint>"
        else:
            ckpt, name = load_checkpoint(source), str(source)
        try:
            return _build(ckpt, name)
        except (KeyError, TypeError, ValueError, RuntimeError, ArithmeticError) as exc:
            if isinstance(exc, (CheckpointError, BoundsError)):
                raise
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
            raise CheckpointError(f"{name}: checkpoint content does not match its metadata "
                                  f"({type(exc).__name__}: {first})") from None


# ====================================================================== parsing
@dataclass
class _Weights:
    """The effective matrices of one state dict (float64), in the notation of docs §1.1."""

    a_in: np.ndarray               # (K_in, C)
    b_in: np.ndarray               # (K_in,)
    enc: list[tuple[np.ndarray, np.ndarray]]  # encoder.0: W (d0, m, K_in); then (d_l, d_{l-1})
    w_dec: np.ndarray              # (m, K_out, d)
    b_dec: np.ndarray              # (m, K_out)
    a_out: np.ndarray              # (C, K_out)
    b_out: np.ndarray              # (C,)
    item_bias: np.ndarray | None   # (m, C)


def _array(sd: dict, key: str, what: str) -> np.ndarray:
    """A float64 copy of a state-dict entry (a copy, so it may be changed in place)."""
    if key not in sd:
        raise KeyError(f"state dict has no {key!r} ({what})")
    arr = sd[key].detach().cpu().to(dtype=torch.float64, copy=True).numpy()
    if not np.isfinite(arr).all():
        raise ValueError(f"{key} has non-finite entries")
    return arr


def _check_shape(arr: np.ndarray, shape: tuple, key: str) -> None:
    if arr.shape != shape:
        raise ValueError(f"{key} has shape {tuple(arr.shape)}, expected {shape}")


def _parse_architecture(arch: Any, name: str) -> tuple[dict, list[dict], dict, dict]:
    """Split the layer list into input conv, encoder layers, decoder and output conv."""
    if not isinstance(arch, list) or not all(isinstance(x, dict) for x in arch):
        raise CheckpointError(f"{name}: metadata field 'architecture' missing or malformed")
    kinds = [x.get("kind") for x in arch]
    if (len(arch) < 4 or kinds[0] != "conv1x1" or kinds[-1] != "conv1x1"
            or any(k != "fc" for k in kinds[1:-1])):
        raise BoundsError(f"{name}: unsupported architecture {kinds}: the bounds cover "
                          "conv1x1, fc (one or more encoder layers), fc (decoder), conv1x1")
    for layer in arch:
        act = layer.get("activation")
        if act not in ACTIVATIONS:
            raise BoundsError(f"{name}: layer {layer.get('name')!r} has activation {act!r}; "
                              f"the bounds know {sorted(ACTIVATIONS)}")
    if arch[-1]["activation"] != "identity":
        raise BoundsError(f"{name}: the output convolution must be linear (activation "
                          f"'identity'), got {arch[-1]['activation']!r}")
    return arch[0], arch[1:-2], arch[-2], arch[-1]


def _weights(sd: dict, arch_parts, m: int, n_levels: int) -> _Weights:
    conv_in, encoders, dec, conv_out = arch_parts
    a_in = _array(sd, conv_in["weight"], "input convolution")
    k_in = a_in.shape[0]
    _check_shape(a_in, (k_in, n_levels), conv_in["weight"])
    b_in = _array(sd, conv_in["bias"], "input convolution bias")
    _check_shape(b_in, (k_in,), conv_in["bias"])
    enc = []
    width = m * k_in
    for k, layer in enumerate(encoders):
        w = _array(sd, layer["weight"], f"encoder layer {k}")
        b = _array(sd, layer["bias"], f"encoder layer {k} bias")
        if w.ndim != 2 or w.shape[1] != width:
            raise ValueError(f"{layer['weight']} has shape {tuple(w.shape)}, expected "
                             f"(*, {width})")
        _check_shape(b, (w.shape[0],), layer["bias"])
        if k == 0:
            w = w.reshape(w.shape[0], m, k_in)
            shared_key = layer.get("shared", "encoder_shared")
            if shared_key in sd:  # W[:, i, :] = W_i + W_shared (config.shared_weights)
                shared = _array(sd, shared_key, "shared encoder part")
                _check_shape(shared, (w.shape[0], k_in), shared_key)
                w += shared[:, None, :]
        enc.append((w, b))
        width = w.shape[0]
    d = width
    w_dec = _array(sd, dec["weight"], "decoder")
    if w_dec.ndim != 2 or w_dec.shape[1] != d or w_dec.shape[0] % m:
        raise ValueError(f"{dec['weight']} has shape {tuple(w_dec.shape)}, expected "
                         f"(m * K_out, {d}) with m = {m}")
    k_out = w_dec.shape[0] // m
    w_dec = w_dec.reshape(m, k_out, d)
    shared_key = dec.get("shared", "decoder_shared")
    if shared_key in sd:
        shared = _array(sd, shared_key, "shared decoder part")
        _check_shape(shared, (k_out, d), shared_key)
        w_dec += shared[None]
    b_dec = _array(sd, dec["bias"], "decoder bias")
    _check_shape(b_dec, (m * k_out,), dec["bias"])
    a_out = _array(sd, conv_out["weight"], "output convolution")
    _check_shape(a_out, (n_levels, k_out), conv_out["weight"])
    b_out = _array(sd, conv_out["bias"], "output convolution bias")
    _check_shape(b_out, (n_levels,), conv_out["bias"])
    ib_key = conv_out.get("item_bias", "item_bias")
    item_bias = None
    if ib_key in sd:
        item_bias = _array(sd, ib_key, "item bias")
        _check_shape(item_bias, (m, n_levels), ib_key)
    return _Weights(a_in, b_in, enc, w_dec, b_dec.reshape(m, k_out), a_out, b_out, item_bias)


# ======================================================== the exact re-writings
@dataclass
class _Folded:
    """The network of docs §1.3 for one state dict: level table, folded biases."""

    table: np.ndarray              # E (K_in, C): act(A_in e_c + b_in) − act(b_in)
    h_off: np.ndarray              # act(b_in) (K_in,)
    w0: np.ndarray                 # (d0, m, K_in)
    beta0: np.ndarray              # W_0 (1_m ⊗ act(b_in)), (d0,)
    b0: np.ndarray                 # (d0,)
    hidden: list[tuple[np.ndarray, np.ndarray]]  # encoder layers >= 1, biases folded
    w_dec: np.ndarray              # (m, K_out, d)
    b_dec: np.ndarray              # (m, K_out), folded
    a_out: np.ndarray              # (C, K_out)
    b_shared: np.ndarray           # (C,): b_out + A_out act_dec(0) 1, folded
    item_bias: np.ndarray | None   # (m, C)

    @property
    def out_bias(self) -> np.ndarray:
        """V[i, c]: the whole bias of logit (i, c)."""
        v = np.broadcast_to(self.b_shared, (self.w_dec.shape[0], len(self.b_shared)))
        return v + self.item_bias if self.item_bias is not None else v.copy()


def _fold(w: _Weights, act_in: Activation, hidden_acts: list[Activation],
          dec_act: Activation) -> _Folded:
    """Write the network as the chain of docs §1.3 (exact on one-hot-per-item inputs).

    The input convolution only ever sees a one-hot level or a zero column, so its output is a
    table lookup: the nonlinearity moves into the table E. An activation with act(0) ≠ 0 is
    written act(0) + (act − act(0)); the constant is folded into the next layer's bias.
    """
    h_off = act_in.fn(w.b_in)
    table = act_in.fn(w.a_in + w.b_in[:, None]) - h_off[:, None]
    w0, b0 = w.enc[0]
    beta0 = np.einsum("dik,k->d", w0, h_off)
    hidden = []
    offset = hidden_acts[0].at_zero
    for (wl, bl), act in zip(w.enc[1:], hidden_acts[1:]):
        hidden.append((wl, bl + offset * wl.sum(axis=1)))
        offset = act.at_zero
    b_dec = w.b_dec + offset * w.w_dec.sum(axis=2)
    b_shared = w.b_out + dec_act.at_zero * w.a_out.sum(axis=1)
    return _Folded(table, h_off, w0, beta0, b0, hidden, w.w_dec, b_dec, w.a_out, b_shared,
                   w.item_bias)


def _frobenius_chain(f: _Folded) -> list[tuple[str, float]]:
    """‖·‖_F of the matrices of the Golowich chain (docs §1.3, §2), merged first layer."""
    merged = f.w0.reshape(-1, f.w0.shape[2]) @ f.table   # rows (unit, item), columns levels
    first_sq = float(np.einsum("ij,ij->", merged, merged))
    del merged
    chain = [("encoder.0∘input_conv", math.sqrt(first_sq + f.beta0 @ f.beta0 + f.b0 @ f.b0
                                                 + 1.0))]
    for k, (wl, bl) in enumerate(f.hidden, start=1):
        chain.append((f"encoder.{k}", math.sqrt(frobenius_norm(wl) ** 2 + bl @ bl + 1.0)))
    per_item = np.einsum("ikd,ikd->i", f.w_dec, f.w_dec) + np.einsum("ik,ik->i", f.b_dec,
                                                                      f.b_dec) + 1.0
    chain.append(("decoder (max over items)", math.sqrt(float(per_item.max()))))
    per_cell = (f.a_out ** 2).sum(axis=1)[None, :] + f.out_bias ** 2
    chain.append(("output_conv (max over cells)", math.sqrt(float(per_cell.max()))))
    return chain


def _rows_l21(*blocks: np.ndarray) -> float:
    """Σ_j ‖(block_1[j], block_2[j], ...)‖₂ over the shared first axis j."""
    sq = 0.0
    for b in blocks:
        flat = b.reshape(len(b), -1)
        sq = sq + np.einsum("ij,ij->i", flat, flat)
    return float(np.sqrt(sq).sum())


def _spectral_chain(f: _Folded, f0: _Folded, hidden_acts: list[Activation],
                    dec_act: Activation, grams: dict[str, np.ndarray | None],
                    deltas: dict[str, np.ndarray]) -> list[ChainLayer]:
    """The layers of docs §1.3 with their unrolled spectral norms and (2,1) distances.

    ``grams`` holds the smaller Gram matrix of the raw encoder.0 and decoder matrices when the
    exact route computed one; the bordered matrices' Gram matrices follow from them. ``deltas``
    holds their distances to init, computed once.
    """
    m, k_in, n_levels = f.w0.shape[1], f.table.shape[0], f.table.shape[1]
    d0 = f.w0.shape[0]
    k_out, d = f.w_dec.shape[1], f.w_dec.shape[2]
    chain = []
    # input conv: blockdiag(I_m ⊗ E, I_2) on (s vec X, s, 1); the carries are not learned.
    l21_e = l21_norm(f.table - f0.table)
    chain.append(ChainLayer("input_conv", "conv1x1", m * k_in + 2, m * n_levels + 2, 1.0,
                            max(spectral_norm(f.table), 1.0), m * l21_e, l21_e,
                            k_in * n_levels))
    # encoder.0: [[W_0, β, b_0], [0, 0, 1]]
    w0 = f.w0.reshape(d0, -1)
    g = grams.get("encoder.0")
    if g is not None and d0 <= w0.shape[1]:  # gram() took the rows side: M Mᵀ = [[G + ββᵀ + bbᵀ, b], [bᵀ, 1]]
        g_aug = np.empty((d0 + 1, d0 + 1))
        g_aug[:d0, :d0] = g + np.outer(f.beta0, f.beta0) + np.outer(f.b0, f.b0)
        g_aug[:d0, d0], g_aug[d0, :d0], g_aug[d0, d0] = f.b0, f.b0, 1.0
        spectral = spectral_norm_from_gram(g_aug)
    else:  # the bordered operator; built only if the exact route takes over
        n_in = w0.shape[1]

        def dense() -> np.ndarray:
            aug = np.zeros((d0 + 1, n_in + 2))
            aug[:d0, :-2], aug[:d0, -2], aug[:d0, -1], aug[d0, -1] = w0, f.beta0, f.b0, 1.0
            return aug

        spectral, _ = operator_spectral_norm(
            lambda x: np.append(w0 @ x[:n_in] + f.beta0 * x[n_in] + f.b0 * x[n_in + 1],
                                x[n_in + 1]),
            lambda y: np.concatenate([w0.T @ y[:d0], [f.beta0 @ y[:d0],
                                                      f.b0 @ y[:d0] + y[d0]]]),
            (d0 + 1, n_in + 2), dense)
    dist = _rows_l21(deltas["encoder.0"], f.beta0 - f0.beta0, f.b0 - f0.b0)
    rho = max(hidden_acts[0].lipschitz, 1.0)
    chain.append(ChainLayer("encoder.0", "fc", d0 + 1, w0.shape[1] + 2, rho, spectral, dist,
                            dist, (d0 + 1) * (w0.shape[1] + 2)))
    for k, ((wl, bl), (wl0, bl0), act) in enumerate(zip(f.hidden, f0.hidden, hidden_acts[1:]),
                                                     start=1):
        rows, cols = wl.shape
        aug = np.zeros((rows + 1, cols + 1))
        aug[:rows, :cols], aug[:rows, -1], aug[rows, -1] = wl, bl, 1.0
        dist = _rows_l21(wl - wl0, bl - bl0)
        chain.append(ChainLayer(f"encoder.{k}", "fc", rows + 1, cols + 1,
                                max(act.lipschitz, 1.0), spectral_norm(aug), dist, dist,
                                (rows + 1) * (cols + 1)))
    # decoder: [[W_dec, b_dec], [0, 1]]
    w_flat, b_flat = f.w_dec.reshape(-1, d), f.b_dec.ravel()
    g = grams.get("decoder")
    if g is not None and w_flat.shape[0] > d:  # gram() took the columns side: [[G, Wᵀb], [bᵀW, bᵀb + 1]]
        g_aug = np.empty((d + 1, d + 1))
        g_aug[:d, :d] = g
        g_aug[:d, d] = g_aug[d, :d] = w_flat.T @ b_flat
        g_aug[d, d] = b_flat @ b_flat + 1.0
        spectral = spectral_norm_from_gram(g_aug)
    else:  # the bordered operator; built only if the exact route takes over
        def dense() -> np.ndarray:
            aug = np.zeros((m * k_out + 1, d + 1))
            aug[:-1, :d], aug[:-1, d], aug[-1, d] = w_flat, b_flat, 1.0
            return aug

        spectral, _ = operator_spectral_norm(
            lambda x: np.append(w_flat @ x[:d] + b_flat * x[d], x[d]),
            lambda y: np.append(w_flat.T @ y[:-1], b_flat @ y[:-1] + y[-1]),
            (m * k_out + 1, d + 1), dense)
    dist = _rows_l21(deltas["decoder"], (f.b_dec - f0.b_dec).ravel())
    chain.append(ChainLayer("decoder", "fc", m * k_out + 1, d + 1, max(dec_act.lipschitz, 1.0),
                            spectral, dist, dist, (m * k_out + 1) * (d + 1)))
    # output conv: [I_m ⊗ A_out | vec V] on (vec G, 1)
    da = ((f.a_out - f0.a_out) ** 2).sum(axis=1)                  # (C,)
    dv = f.out_bias - f0.out_bias                                  # (m, C)
    unrolled = float(np.sqrt(da[None, :] + dv ** 2).sum())
    # shared cover (docs §4.2): features (G[:, i], κ, κ e_i), κ² = 1 / (parts · m)
    parts = 1 if f.item_bias is None else 2
    shared_sq = da + parts * m * (f.b_shared - f0.b_shared) ** 2
    if f.item_bias is not None:
        shared_sq = shared_sq + parts * m * ((f.item_bias - f0.item_bias) ** 2).sum(axis=0)
    cover_dim = n_levels * (k_out + 1 + (m if f.item_bias is not None else 0))
    chain.append(ChainLayer("output_conv", "conv1x1", m * n_levels, m * k_out + 1, 1.0,
                            conv_bias_spectral_norm(f.a_out, f.out_bias), unrolled,
                            float(np.sqrt(shared_sq).sum()), cover_dim))
    return chain


# ========================================================================= build
def _layer_stats(arch_parts, w: _Weights, w0: _Weights, m: int
                 ) -> tuple[list[LayerStats], dict[str, np.ndarray | None], dict[str, np.ndarray]]:
    """Raw norms of every layer; the Gram matrices of encoder.0 and the decoder and their
    distances to init (reused by the spectral chain)."""
    conv_in, encoders, dec, conv_out = arch_parts
    pairs = [("input_conv", conv_in, w.a_in, w0.a_in)]
    for k, layer in enumerate(encoders):
        pairs.append((f"encoder.{k}", layer, w.enc[k][0].reshape(w.enc[k][0].shape[0], -1),
                      w0.enc[k][0].reshape(w0.enc[k][0].shape[0], -1)))
    pairs.append(("decoder", dec, w.w_dec.reshape(-1, w.w_dec.shape[2]),
                  w0.w_dec.reshape(-1, w0.w_dec.shape[2])))
    pairs.append(("output_conv", conv_out, w.a_out, w0.a_out))
    out, grams, deltas = [], {}, {}
    for role, layer, mat, init in pairs:
        norms, g = norms_and_gram(mat)
        delta = mat - init
        if role in ("encoder.0", "decoder"):
            grams[role], deltas[role] = g, delta
        out.append(LayerStats(
            name=str(layer.get("name")), kind=str(layer["kind"]), shape=tuple(mat.shape),
            positions=int(layer.get("positions", m if layer["kind"] == "conv1x1" else 1)),
            activation=str(layer["activation"]), norms=norms, distance=matrix_norms(delta)))
    return out, grams, deltas


def _number(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def _build(ckpt: Checkpoint, name: str) -> CheckpointStats:
    meta = ckpt.metadata
    config = meta.get("config") or {}
    m, n_levels, n_rows = int(meta["n_cols"]), int(meta["n_levels"]), int(meta["n_rows"])
    if m < 1 or n_levels < 1 or n_rows < 1:
        raise ValueError(f"n_cols={m}, n_levels={n_levels}, n_rows={n_rows}")
    assumptions = []
    arch_parts = _parse_architecture(meta.get("architecture"), name)
    w = _weights(ckpt.state_dict, arch_parts, m, n_levels)
    w_init = _weights(ckpt.initial_state_dict, arch_parts, m, n_levels)
    conv_in, encoders, dec, _ = arch_parts
    act_in = ACTIVATIONS[conv_in["activation"]]
    hidden_acts = [ACTIVATIONS[x["activation"]] for x in encoders]
    dec_act = ACTIVATIONS[dec["activation"]]
    folded, folded0 = (_fold(x, act_in, hidden_acts, dec_act) for x in (w, w_init))

    # --- risk, n, eta
    risk = meta.get("risk")
    if isinstance(risk, dict):
        risk = {k: _number(v) for k, v in risk.items() if _number(v) is not None}
    else:
        risk = None
    if risk and "n_rows" in risk:
        n = int(risk["n_rows"])
        if n < 1:
            raise ValueError(f"risk['n_rows'] = {n}, expected >= 1")
    else:
        n = n_rows
        assumptions.append(f"n = {n_rows}: every row of the checkpoint contributes to the "
                           "empirical risk (metadata 'risk' records no 'n_rows')")
    if risk and risk.get("eta", 0) > 0:
        eta = risk["eta"]
    elif _number(config.get("eta")) and config["eta"] > 0:
        eta = float(config["eta"])
        assumptions.append(f"eta = {eta} taken from the config (no risk['eta'])")
    else:
        eta = DEFAULT_ETA
        assumptions.append(f"eta = {eta}: the checkpoint records no mixing; the bounds are "
                           "for the bounded loss ℓ_η with this η")
    alpha = float(config.get("alpha", 1.0))
    beta = float(config.get("beta", 1.0))

    # --- input norm bound (docs §1.4)
    scaling = config.get("input_scaling", "none")
    if scaling not in ("none", "sqrt", "mean"):
        raise BoundsError(f"{name}: unknown input_scaling {scaling!r}")
    max_inter = int(meta["max_input_interactions"])
    n_observed = int(meta["n_observed"])
    if scaling == "none":
        input_sq_sum = float(n_observed + 2 * n)
        input_norm_max = math.sqrt(max_inter + 2.0)
        assumptions.append("input norms from metadata 'n_observed' and "
                           "'max_input_interactions' (‖x̂_u‖² = n_u + 2 with n_u the row's distinct "
                           "input cells)")
    else:
        input_sq_sum = 3.0 * n
        input_norm_max = math.sqrt(3.0)

    layers, grams, deltas = _layer_stats(arch_parts, w, w_init, m)
    frob = _frobenius_chain(folded)
    chain = _spectral_chain(folded, folded0, hidden_acts, dec_act, grams, deltas)
    del grams, deltas
    assumptions.append("rows are i.i.d. samples (input profile, target interactions); the "
                       "initial weights were drawn independently of the data")
    return CheckpointStats(
        source=name, n=n, m=m, n_levels=n_levels, eta=float(eta), alpha=alpha, beta=beta,
        activation=str(encoders[0]["activation"]), decoder_activation=str(dec["activation"]),
        hidden_activations=tuple(x["activation"] for x in encoders),
        input_scaling=scaling, max_input_interactions=max_inter, n_observed=n_observed,
        input_sq_sum=input_sq_sum, input_norm_max=input_norm_max, layers=tuple(layers),
        frobenius_chain=tuple(frob), spectral_chain=tuple(chain), risk=risk or None,
        assumptions=tuple(assumptions))


__all__ = [
    "ACTIVATIONS",
    "DEFAULT_ETA",
    "Activation",
    "BoundsError",
    "ChainLayer",
    "CheckpointStats",
    "LayerStats",
]
