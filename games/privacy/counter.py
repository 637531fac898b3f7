"""Counter-based random draws for many models at once, on whatever device they train on.

Every value is a function of (the model's key, a stream, a step, an element's position), so
a chunk of M models draws step *t*'s batch keys or noise in one vectorised call, and a
model's draws do not depend on the chunk it trains in, nor on the device. A model's key is
the second 64-bit word of its own numpy ``SeedSequence`` (:func:`keys`).

The generator is SplitMix64 (Steele, Lea and Flood 2014) evaluated with int64 tensor ops,
which wrap the same way on CPU and CUDA: the (model, stream, step) triple is mixed into a
64-bit starting state ``s``, and position *j* of the row gets ``mix(s + (j + 1)·γ)`` with
γ the golden-ratio increment. Each 64-bit output gives two 32-bit words (its low half at
position ``2j``, its high half at ``2j + 1``): uniform keys for picking a batch,
thresholds for Poisson sampling, a U[−1, 1] initial weight, or, through Box–Muller, two
Gaussians. It is a statistical generator, not a cryptographic one: it draws a challenger's
training randomness, which the adversary never sees.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from games.privacy.networks import Network, Params, unflatten

__all__ = ["BATCH", "INIT", "NOISE", "init_params", "keys", "mix", "normal", "uniform", "words"]

#: The streams of a model: its initial weights, its batch keys, its gradient noise.
INIT, BATCH, NOISE = 0, 1, 2
_STREAMS = 4

_MASK64 = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15
_C1, _C2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def _signed(x: int) -> int:
    x &= _MASK64
    return x - (1 << 64) if x >> 63 else x


def _mix_int(x: int) -> int:
    """SplitMix64's output function on a Python int (unsigned 64-bit arithmetic)."""
    x &= _MASK64
    x = ((x ^ (x >> 30)) * _C1) & _MASK64
    x = ((x ^ (x >> 27)) * _C2) & _MASK64
    return x ^ (x >> 31)


_C1_S, _C2_S = _signed(_C1), _signed(_C2)


def mix(z: torch.Tensor) -> torch.Tensor:
    """SplitMix64's output function on an int64 tensor, in place (and returned).

    int64 products wrap modulo 2**64 on every device; ``>>`` is arithmetic on signed
    integers, so each shift is masked to the logical one.
    """
    z.bitwise_xor_((z >> 30).bitwise_and_((1 << 34) - 1))
    z.mul_(_C1_S)
    z.bitwise_xor_((z >> 27).bitwise_and_((1 << 37) - 1))
    z.mul_(_C2_S)
    z.bitwise_xor_((z >> 31).bitwise_and_((1 << 33) - 1))
    return z


def keys(seeds: Sequence[Any], device: str | torch.device = "cpu") -> torch.Tensor:
    """Each model's 64-bit key (M,) int64: the second word of its SeedSequence (or int's)."""
    out = np.empty(len(seeds), np.uint64)
    for i, seed in enumerate(seeds):
        sequence = (
            seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        )
        out[i] = sequence.generate_state(2, np.uint64)[1]
    return torch.from_numpy(out.view(np.int64)).to(device)


@functools.lru_cache(maxsize=64)
def _offsets(half: int, device: str) -> torch.Tensor:
    """(j + 1)·γ for j < half, wrapped to int64 (one row, shared by every model and step)."""
    gamma = torch.tensor(_signed(_GAMMA), dtype=torch.int64)
    return (torch.arange(1, half + 1, dtype=torch.int64) * gamma).to(device)


def _raw(keys: torch.Tensor, stream: int, step: int, half: int) -> torch.Tensor:
    """(M, half) int64: the first ``half`` 64-bit outputs of each model's (stream, step) row."""
    counter = _signed(_mix_int((step * _STREAMS + stream + 1) * _GAMMA))
    start = mix(keys + counter)
    return mix(start.unsqueeze(1) + _offsets(half, str(keys.device)))


def words(keys: torch.Tensor, stream: int, step: int, n: int) -> torch.Tensor:
    """(M, n) int32: uniform 32-bit words; position *j*'s does not depend on ``n``."""
    raw = _raw(keys, stream, step, (n + 1) // 2)
    return raw.view(torch.int32)[:, :n]


def uniform(keys: torch.Tensor, stream: int, step: int, n: int) -> torch.Tensor:
    """(M, n) float32 uniform on [−1, 1]."""
    return words(keys, stream, step, n).float().mul_(2.0**-31)


def normal(keys: torch.Tensor, stream: int, step: int, n: int) -> torch.Tensor:
    """(M, n) float32 standard Gaussians, by Box–Muller on each 64-bit output's two halves."""
    M, half = keys.shape[0], (n + 1) // 2
    raw = _raw(keys, stream, step, half)
    # u in (0, 1], so the logarithm is finite: the tails reach 6.7 standard deviations.
    u = (raw & 0xFFFFFFFF).float().add_(1.0).mul_(2.0**-32)
    angle = ((raw >> 32) & 0xFFFFFFFF).float().mul_(2 * math.pi * 2.0**-32)
    radius = u.log_().mul_(-2.0).sqrt_()
    pairs = torch.stack((radius * torch.cos(angle), radius * torch.sin(angle)), dim=-1)
    return pairs.view(M, 2 * half)[:, :n]


def init_params(
    net: Network, dims: int, classes: int, keys: torch.Tensor, device: str = "cpu"
) -> Params:
    """Initial weights as ``torch.nn.Linear`` draws them, U(−1/√fan_in, 1/√fan_in), from the
    ``INIT`` stream of each model's key."""
    flat = uniform(keys.to(device), INIT, 0, net.count(dims, classes))
    return unflatten(flat, net.sizes(dims, classes), scale=True, device=device)
