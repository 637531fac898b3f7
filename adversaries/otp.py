"""Attacks on the one-time pad."""

from __future__ import annotations

import attrs
import numpy as np

from adversaries.registry import register
from oracles import Oracles

__all__ = ["TwoTimePad"]


@register("two-time-pad", games=("otp",))
@attrs.frozen(kw_only=True)
class TwoTimePad:
    """XORs two ciphertexts: under a reused key the pad cancels and the chosen message shows."""

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        first = oracles["encrypt"](0, 0)
        second = oracles["encrypt"](0, 1)
        return int(first ^ second == 1)

    def batch(self, oracles: Oracles, rng: np.random.Generator, size: int) -> np.ndarray:
        zeros, ones = np.zeros(size, np.uint64), np.ones(size, np.uint64)
        first = oracles["encrypt"](zeros, zeros)
        second = oracles["encrypt"](zeros, ones)
        return ((first ^ second) == 1).astype(np.int64)
