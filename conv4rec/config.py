"""The frozen, validated configuration of a Conv4Rec model and its training."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Self

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "identity")
ORIENTATIONS = ("user", "item")
TARGET_MODES = ("masked", "all")
MONITORS = ("loss", "rmse")
INPUT_SCALINGS = ("none", "sqrt", "mean")


#: Options added after results were cached, each with the value that reproduces the behaviour
#: from before it existed (see ``Conv4RecConfig.to_dict``). Never change these values: a stored
#: config that lacks an option had it off, even where the default now switches it on.
OPTIONS_OFF = {"lr_drops": 0, "column_l2": 0.0, "refine_steps": 0, "refine_lr": 1e-2,
               "weight_average": 0.0, "refine_alpha": None}


class ConfigError(ValueError):
    """A configuration field has a bad value; the message names the field and the value."""


def _check(cond: bool, field: str, value: object, why: str) -> None:
    if not cond:
        raise ConfigError(f"Conv4RecConfig.{field}={value!r}: {why}")


@dataclass(frozen=True, kw_only=True)
class Conv4RecConfig:
    """Everything that determines a trained Conv4Rec model (not paths, device or verbosity).

    Model (SPEC §2)
    ---------------
    orientation : "user" (rows are users, the default) or "item" (the transpose).
    in_channels : K_in, the channels of the input 1x1 convolution over levels. Each item column
        takes one of C + 1 values (a level or unobserved), so K_in >= C already gives every item
        a free image per level; K_in < C (the default 4) makes the levels share directions, the
        level coupling of F2, at a cost linear in K_in. On ML-100K u1 (2 seeds) K = 4 matched
        K = 5 and K = 8 in RMSE and beat K = 8 in Recall@20 (docs/performance.md).
    hidden : widths of the FC encoder layers; the last one is the code size d.
    out_channels : K_out, the channels the decoder produces per item before the output 1x1
        convolution maps them to the levels (K_out >= C adds parameters, not functions, with
        the identity decoder activation; the default 4 is a rank-4 coupling of the levels).
    activation : nonlinearity of the input convolution and the encoder layers.
    decoder_activation : nonlinearity between the decoder and the output convolution
        ("identity" is the plain formulation of SPEC §2).
    input_scaling : scale the encoder's input by 1/sqrt(n_u) ("sqrt"), 1/n_u ("mean") or not.
    dropout : dropout on the code z (default 0.7: on ML-100K u1, 2 seeds, it lowered the RMSE
        of the user orientation by 0.008 and raised Recall@20 by 0.013 and NDCG@100 by 0.020
        against no dropout; 0.5 and 0.85 did less, see docs/results.md).
    item_bias : add a learned per-(item, level) bias to the logits.
    shared_weights : add an item-shared component to the first encoder and the decoder
        matrices, W[:, i, :] = W_i + W_shared for every item i. It lets the code carry the
        row's overall level profile (e.g. a user who rates high) to every item with few
        parameters; the effective matrices are what the bounds measure.

    Loss (SPEC §3)
    --------------
    alpha, beta : weights of the implicit (-log q(i)) and explicit (-log q(c|i)) parts.
    target : "masked" (loss on a random target fraction of each user's interactions) or "all"
        (denoising input dropout, loss on all interactions).
    target_fraction : rho, the target share in masked mode.
    input_dropout : dropout of input interactions in "all" mode.
    eta : uniform mixing of the bounded loss (0 trains on the plain log-loss).

    Training
    --------
    epochs, batch_size, lr, weight_decay : Adam with decoupled weight decay over user batches.
    patience : early-stopping patience in epochs on the monitored validation metric (0 = off).
    validation_fraction : share of each training user's interactions held out for early stopping.
    monitor : what early stopping watches on the held-out interactions: the loss ("loss", the
        training objective) or the RMSE of the expected rating ("rmse", the default: the
        implicit part of the loss tends to overfit before the explicit part, and on ML-100K u1
        stopping on the RMSE was as good or better for the ranking too; docs/results.md).
    lr_drops : when early stopping would stop, go back to the best weights, divide the
        learning rate by 10 and go on, up to this many times (0 = stop at once; default 2).
    column_l2 : lambda of an L2 penalty (lambda / 2) ||theta||^2 on the per-column parameters
        (a column's rows of the first encoder matrix and of the decoder, its decoder biases and
        its item bias; per item in the user orientation), added to each batch's loss. Unlike
        the uniform decoupled weight decay it pulls a column that few rows observe towards zero
        more than a frequent one (default 1e-4; ML-100K u1, seed 0: 1e-4 lowered the RMSE by
        0.0044, 2e-4 did less; docs/results.md).
    weight_average : decay of an exponential moving average of the weights, updated after
        every optimiser step (Polyak averaging; 0 = off). When on, validation, early stopping
        and the fitted model use the averaged weights (ML-100K u1, user orientation with
        column_l2, lr_drops and refinement, seed 0: 0.99 gave RMSE 0.9368 against 0.9369 without;
        docs/results.md, third round).

    Prediction
    ----------
    refine_steps : before predicting, refine each row's code z by up to this many Adam steps on
        the (alpha, beta)-weighted log-likelihood of the row's own input interactions, the
        network fixed (MAP fold-in: it closes part of the encoder's amortisation gap). How many
        steps, 0 to refine_steps, is chosen after training by the monitored metric on the
        validation interactions (``Conv4RecEstimator.refine_steps_``, saved in checkpoints).
        0 = off. Default 40: each step costs about a forward and backward pass of the decoder,
        so a refined ranking of every user is many times slower than the network alone
        (docs/performance.md); ``refine_steps=0`` gives the plain amortised encoder.
    refine_lr : the step size of that refinement.
    refine_alpha : the weight of the implicit part in the refinement's loss (None: ``alpha``,
        the training loss's own weight; beta stays). A smaller weight fits the code more to
        the row's ratings than to which items it holds: a lower RMSE at some cost in ranking
        (default 0.2: on ML-100K u1 it came within 0.003 of the ratings-only refinement's RMSE
        and kept Recall@20 at the earlier defaults' level; docs/results.md, seventh round).
    """

    orientation: str = "user"
    in_channels: int = 4
    hidden: tuple[int, ...] = (256,)
    out_channels: int = 4
    activation: str = "tanh"
    decoder_activation: str = "identity"
    input_scaling: str = "sqrt"
    dropout: float = 0.7
    item_bias: bool = True
    shared_weights: bool = True

    alpha: float = 1.0
    beta: float = 1.0
    target: str = "masked"
    target_fraction: float = 0.25
    input_dropout: float = 0.25
    eta: float = 0.0

    epochs: int = 200
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 10
    validation_fraction: float = 0.05
    monitor: str = "rmse"
    lr_drops: int = 2
    column_l2: float = 1e-4
    refine_steps: int = 40
    refine_lr: float = 1e-2
    refine_alpha: float | None = 0.2
    weight_average: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        _check(self.orientation in ORIENTATIONS, "orientation", self.orientation,
               f"expected one of {ORIENTATIONS}")
        for name in ("in_channels", "out_channels", "epochs", "batch_size"):
            value = getattr(self, name)
            _check(isinstance(value, int) and value >= 1, name, value, "expected an integer >= 1")
        _check(len(self.hidden) >= 1 and all(h >= 1 for h in self.hidden), "hidden", self.hidden,
               "expected one or more widths >= 1")
        for name in ("activation", "decoder_activation"):
            _check(getattr(self, name) in ACTIVATIONS, name, getattr(self, name),
                   f"expected one of {ACTIVATIONS}")
        _check(self.input_scaling in INPUT_SCALINGS, "input_scaling", self.input_scaling,
               f"expected one of {INPUT_SCALINGS}")
        _check(self.target in TARGET_MODES, "target", self.target,
               f"expected one of {TARGET_MODES}")
        for name in ("dropout", "input_dropout"):
            value = getattr(self, name)
            _check(0.0 <= value < 1.0, name, value, "expected 0 <= value < 1")
        _check(0.0 < self.target_fraction < 1.0, "target_fraction", self.target_fraction,
               "expected 0 < value < 1")
        _check(0.0 <= self.validation_fraction < 1.0, "validation_fraction",
               self.validation_fraction, "expected 0 <= value < 1")
        _check(0.0 <= self.eta < 1.0, "eta", self.eta, "expected 0 <= eta < 1")
        _check(self.alpha >= 0 and self.beta >= 0 and self.alpha + self.beta > 0, "alpha/beta",
               (self.alpha, self.beta), "expected non-negative weights, not both zero")
        _check(self.monitor in MONITORS, "monitor", self.monitor, f"expected one of {MONITORS}")
        _check(isinstance(self.lr_drops, int) and self.lr_drops >= 0, "lr_drops", self.lr_drops,
               "expected an integer >= 0")
        _check(self.column_l2 >= 0, "column_l2", self.column_l2, "expected >= 0")
        _check(isinstance(self.refine_steps, int) and self.refine_steps >= 0, "refine_steps",
               self.refine_steps, "expected an integer >= 0")
        _check(0.0 <= self.weight_average < 1.0, "weight_average", self.weight_average,
               "expected 0 <= value < 1")
        _check(self.refine_lr > 0, "refine_lr", self.refine_lr, "expected > 0")
        _check(self.refine_alpha is None or self.refine_alpha >= 0, "refine_alpha",
               self.refine_alpha, "expected None or >= 0")
        _check(self.lr > 0, "lr", self.lr, "expected > 0")
        _check(self.weight_decay >= 0, "weight_decay", self.weight_decay, "expected >= 0")
        _check(isinstance(self.patience, int) and self.patience >= 0, "patience", self.patience,
               "expected an integer >= 0")

    @property
    def code_size(self) -> int:
        return self.hidden[-1]

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-able values. Options added after results were cached are written
        only when switched on, so configs that leave them off keep their hashes (cache keys,
        result folders) and their JSON; ``from_dict`` switches off what a stored dict lacks."""
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        for name, off in OPTIONS_OFF.items():
            if d[name] == off:
                del d[name]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"Conv4RecConfig: unknown field(s) {unknown}")
        d = {**OPTIONS_OFF, **d}  # an option a stored config lacks was off
        if "hidden" in d:
            d["hidden"] = tuple(d["hidden"])
        return cls(**d)

    def short_hash(self) -> str:
        """A 12-hex-digit hash of the JSON form, to name result folders."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def read_config_fields(path) -> dict[str, Any]:
    """The Conv4RecConfig fields in a JSON file: a plain object of fields (what it leaves out
    is the caller's to fill, from the defaults), or a tuned file of ``conv4rec/configs/`` with
    them under ``"config"`` (the options it leaves out were off). A file that cannot be read or
    holds no such object raises :class:`ConfigError` with a one-line message naming it."""
    try:
        loaded = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read a JSON config ({exc})") from None
    if isinstance(loaded, dict) and isinstance(loaded.get("config"), dict):
        # a tuned file of conv4rec/configs/ (or a run's metrics.json): written by to_dict, so an
        # option it lacks was off, whatever the default is now
        loaded = {**OPTIONS_OFF, **loaded["config"]}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a JSON object of Conv4RecConfig fields, "
                          f"got {type(loaded).__name__}")
    return loaded


def fields_over_defaults(path=None) -> dict[str, Any]:
    """Every Conv4RecConfig field: the defaults, overridden by the fields of the JSON file at
    ``path`` when one is given (:func:`read_config_fields`: a tuned file's missing options are
    off, a plain file's are the defaults). Flags and settings go on top of this."""
    fields = dataclasses.asdict(Conv4RecConfig())
    if path is not None:
        fields.update(read_config_fields(path))
    return fields
