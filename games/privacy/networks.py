"""The classifiers the privacy games train: fully connected ReLU networks, many at once.

A chunk of M models is one computation. Layer ``l`` of every model lives in one tensor
``W_l`` of shape (M, in, out) (and ``b_l`` of shape (M, out)); a forward pass is one
``torch.baddbmm`` per layer. The trainers draw each model's initial weights from its key
(:func:`games.privacy.counter.init_params`); :func:`init_params` draws them from per-model
``torch.Generator`` objects (:func:`generators`) for code that keeps one per model.
:func:`forward`, :func:`log_softmax` and :func:`unflatten` are the pieces the batched
trainers (:mod:`games.privacy.training`) build on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import attrs
import numpy as np
import torch

from games.params import integer, param
from oracles import checks

__all__ = [
    "MODELS",
    "NETWORKS",
    "Network",
    "Params",
    "as_tensor",
    "depth_param",
    "forward",
    "generators",
    "init_params",
    "log_softmax",
    "logits",
    "losses",
    "model_param",
    "network",
    "select",
    "unflatten",
    "width_param",
]

#: The kinds of :class:`Network` (a game's ``model`` parameter).
NETWORKS = ("logreg", "mlp")
#: The old name of :data:`NETWORKS`.
MODELS = NETWORKS

Params = tuple[torch.Tensor, ...]
"""Stacked parameters ``(W_1, b_1, ..., W_L, b_L)``; ``W_l`` is (M, in, out), ``b_l`` (M, out)."""


def _int_field(default: int) -> Any:
    return attrs.field(default=default, validator=lambda _, a, v: checks.positive(a.name, v))


def model_param() -> Any:
    """The ``model`` parameter of a game that trains classifiers (one of :data:`NETWORKS`)."""
    return param("logreg", help="classifier", choices=NETWORKS)


def width_param() -> Any:
    """The ``width`` parameter: hidden units per layer of an ``mlp``."""
    return param(32, help="hidden units per layer (mlp)", check=integer(1, 4096))


def depth_param() -> Any:
    """The ``depth`` parameter: hidden layers of an ``mlp``."""
    return param(1, help="hidden layers (mlp)", check=integer(1, 16))


@attrs.frozen(kw_only=True)
class Network:
    """A fully connected ReLU classifier: ``logreg`` (no hidden layer) or ``mlp``.

    ``depth`` hidden layers of ``width`` units each (ignored for ``logreg``).
    """

    kind: Literal["logreg", "mlp"] = attrs.field(default="mlp")
    width: int = _int_field(32)
    depth: int = _int_field(1)

    @kind.validator
    def _check_kind(self, _attribute: Any, value: str) -> None:
        checks.choice("model", value, NETWORKS)

    def sizes(self, dims: int, classes: int) -> list[int]:
        """Layer widths from input to output."""
        hidden = [] if self.kind == "logreg" else [self.width] * self.depth
        return [dims, *hidden, classes]

    def count(self, dims: int, classes: int) -> int:
        """Parameters per model."""
        sizes = self.sizes(dims, classes)
        return sum((a + 1) * b for a, b in zip(sizes, sizes[1:], strict=False))


def network(kind: str = "mlp", *, width: int = 32, depth: int = 1) -> Network:
    """A network description; InvalidArgument for an unknown kind or a bad size."""
    return Network(kind=kind, width=width, depth=depth)  # type: ignore[arg-type]


def generators(seeds: Sequence[Any]) -> list[torch.Generator]:
    """One CPU ``torch.Generator`` per model, seeded from its numpy SeedSequence (or int)."""
    out = []
    for seed in seeds:
        sequence = (
            seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        )
        state = int(sequence.generate_state(1, np.uint64)[0])
        out.append(torch.Generator().manual_seed(state))
    return out


def init_params(
    net: Network, dims: int, classes: int, gens: Sequence[torch.Generator], device: str = "cpu"
) -> Params:
    """Initial weights, as ``torch.nn.Linear`` draws them: U(−1/√fan_in, 1/√fan_in)."""
    sizes = net.sizes(dims, classes)
    total = net.count(dims, classes)
    flat = torch.stack([torch.rand(total, generator=g) for g in gens]) * 2 - 1
    return unflatten(flat, sizes, scale=True, device=device)


def unflatten(flat: torch.Tensor, sizes: list[int], *, scale: bool, device: str) -> Params:
    """Flat values (M, parameters) as stacked parameters of layer ``sizes``, each layer's
    scaled by 1/√fan_in when ``scale`` (the initial draw), on ``device``."""
    out: list[torch.Tensor] = []
    at = 0
    M = flat.shape[0]
    for fan_in, fan_out in zip(sizes, sizes[1:], strict=False):
        bound = 1 / math.sqrt(fan_in) if scale else 1.0
        W = flat[:, at : at + fan_in * fan_out].reshape(M, fan_in, fan_out) * bound
        at += fan_in * fan_out
        b = flat[:, at : at + fan_out] * bound
        at += fan_out
        out += [W.to(device).contiguous(), b.to(device).contiguous()]
    return tuple(out)


def as_tensor(value: Any) -> torch.Tensor:
    """A tensor as it is, an array (or anything numpy reads) as a tensor of its copy."""
    if isinstance(value, torch.Tensor):
        return value
    return torch.from_numpy(np.array(value))  # a copy: inputs may be read-only


def _stack_input(params: Params, X: torch.Tensor) -> torch.Tensor:
    M = params[0].shape[0]
    X = as_tensor(X).to(params[0].device, params[0].dtype)
    return X.expand(M, *X.shape) if X.dim() == 2 else X


def forward(
    params: Sequence[torch.Tensor], X: torch.Tensor
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Layer inputs ``a_0..a_{L-1}`` and pre-activations ``z_1..z_L``."""
    inputs, pre = [], []
    a = X
    layers = len(params) // 2
    for layer in range(layers):
        W, b = params[2 * layer], params[2 * layer + 1]
        inputs.append(a)
        z = torch.baddbmm(b.unsqueeze(1), a, W)
        pre.append(z)
        a = torch.relu(z) if layer < layers - 1 else z
    return inputs, pre


def log_softmax(z: torch.Tensor) -> torch.Tensor:
    """Log-probabilities over the last dimension."""
    # torch's CPU log_softmax over a last dimension of a few classes is 4-5x slower than this.
    return z - torch.logsumexp(z, -1, keepdim=True)


def logits(params: Params, X: torch.Tensor) -> torch.Tensor:
    """Logits (M, n, classes) of every model on X: (n, d) shared, or (M, n, d) per model."""
    with torch.no_grad():
        return forward(params, _stack_input(params, X))[1][-1]


def losses(params: Params, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example cross-entropy (M, n); y is (n,) shared or (M, n) per model."""
    out = logits(params, X)
    y = as_tensor(y).to(out.device).long()
    if y.dim() == 1:
        y = y.expand(out.shape[0], -1)
    return -log_softmax(out).gather(-1, y.unsqueeze(-1)).squeeze(-1)


def select(params: Params, which: Any) -> Params:
    """The parameters of some of the models (an index, slice, or boolean mask)."""
    if isinstance(which, int | np.integer):
        which = slice(int(which), int(which) + 1)
    elif isinstance(which, np.ndarray):
        which = torch.as_tensor(which)
    return tuple(p[which] for p in params)
