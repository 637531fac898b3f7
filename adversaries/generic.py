"""Adversaries that play any game: the sanity checks."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from adversaries.registry import register
from games.params import param
from oracles import Oracles

__all__ = ["Constant", "Guess"]


@register("guess")
@attrs.frozen(kw_only=True)
class Guess:
    """Answers a uniformly random bit without a query: advantage 0 in every hidden-bit game."""

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        return int(rng.integers(2))

    def batch(self, oracles: Oracles, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.integers(2, size=size)


@register("constant")
@attrs.frozen(kw_only=True)
class Constant:
    """Always gives the same answer without a query."""

    value: int = param(0, help="the answer it always gives")

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> Any:
        return self.value

    def batch(self, oracles: Oracles, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.value)
