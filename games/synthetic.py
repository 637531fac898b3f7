"""Synthetic games whose true win probability is a parameter: for checking statistics.

Each game hands the adversary a noisy hint and the matching adversary answers with it, so
the win probability is known exactly and every statistic built on the engine (intervals,
certify, sweeps, ensembles) can be checked against the truth. All have batched paths.

- :class:`Coin` (hidden bit): the hint is the bit with probability ``(1 + advantage)/2``.
- :class:`Worlds` (real vs ideal): the hint is 1 with probability ``p_real`` or ``p_ideal``.
- :class:`Lottery` (search): each of ``queries`` draws reveals the secret with probability
  ``p``, so the :class:`Draw` adversary wins with probability ``1 − (1 − p)^queries`` (plus
  the ``2^-n`` chance of its fallback guess).
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from games.base import Challenge, HiddenBit, RealIdeal, Search, short
from games.errors import InvalidAnswer
from games.params import integer, number, param
from oracles import Oracles

__all__ = ["Coin", "Draw", "Hint", "Lottery", "Worlds", "lottery_win_rate"]


@attrs.frozen(kw_only=True)
class Coin(HiddenBit):
    """A biased coin: the ``hint`` oracle shows the hidden bit with probability (1 + advantage)/2."""

    advantage: float = param(0.1, help="advantage of the Hint adversary", check=number(0, 1))

    def setup(self, b: int, rng: np.random.Generator) -> Challenge:
        right = rng.random() < (1 + self.advantage) / 2
        shown = b if right else 1 - b
        return Challenge(oracles={"hint": lambda: shown}, budgets={"hint": 1})

    def setup_batch(self, b: np.ndarray, rng: np.random.Generator) -> Challenge:
        right = rng.random(len(b)) < (1 + self.advantage) / 2
        shown = np.where(right, b, 1 - b)
        return Challenge(oracles={"hint": lambda: shown}, budgets={"hint": 1})


@attrs.frozen(kw_only=True)
class Worlds(RealIdeal):
    """Two worlds: the ``hint`` oracle says 1 with probability ``p_real`` (real) or ``p_ideal``."""

    p_real: float = param(0.6, help="Pr[hint = 1] in the real world", check=number(0, 1))
    p_ideal: float = param(0.5, help="Pr[hint = 1] in the ideal world", check=number(0, 1))

    def setup(self, world: int, rng: np.random.Generator) -> Challenge:
        shown = int(rng.random() < (self.p_real if world else self.p_ideal))
        return Challenge(oracles={"hint": lambda: shown}, budgets={"hint": 1})

    def setup_batch(self, world: np.ndarray, rng: np.random.Generator) -> Challenge:
        chance = np.where(world == 1, self.p_real, self.p_ideal)
        shown = (rng.random(len(world)) < chance).astype(np.int64)
        return Challenge(oracles={"hint": lambda: shown}, budgets={"hint": 1})


@attrs.frozen(kw_only=True)
class Hint:
    """Answers what the ``hint`` oracle says (Coin, Worlds)."""

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> Any:
        return oracles["hint"]()

    def batch(self, oracles: Oracles, rng: np.random.Generator, size: int) -> Any:
        return oracles["hint"]()


@attrs.frozen(kw_only=True)
class Lottery(Search):
    """Find an ``n``-bit secret; each query to ``draw`` reveals it with probability ``p``, else gives -1."""

    p: float = param(0.01, help="chance that one draw reveals the secret", check=number(0, 1))
    queries: int = param(1, help="draws per trial", check=integer(1))
    n: int = param(32, help="bits of the secret", check=integer(1, 62))

    @property
    def baseline(self) -> float:
        return 2.0**-self.n

    def setup(self, rng: np.random.Generator) -> Challenge:
        secret = int(rng.integers(0, 1 << self.n))

        def draw() -> int:
            return secret if rng.random() < self.p else -1

        return Challenge(oracles={"draw": draw}, budgets={"draw": self.queries}, secret=secret)

    def finalize(self, challenge: Challenge, answer: Any) -> bool:
        # An integer first: any other object's own __eq__ would decide, and could say yes.
        if not isinstance(answer, int | np.integer):
            raise InvalidAnswer(f"answer {short(answer)} is not an integer")
        return answer == challenge.secret

    def setup_batch(self, size: int, rng: np.random.Generator) -> Challenge:
        secret = rng.integers(0, 1 << self.n, size=size)

        def draw() -> np.ndarray:
            return np.where(rng.random(size) < self.p, secret, -1)

        return Challenge(oracles={"draw": draw}, budgets={"draw": self.queries}, secret=secret)

    def finalize_batch(self, challenge: Challenge, answers: Any) -> np.ndarray:
        answers = np.asarray(answers)
        if answers.dtype.kind not in "iu":  # objects would be compared by their own __eq__
            raise InvalidAnswer(f"answers of dtype {answers.dtype}: integers only")
        return answers == challenge.secret


@attrs.frozen(kw_only=True)
class Draw:
    """Draws until the secret shows (at most ``queries`` times), else guesses 0."""

    queries: int | None = param(None, help="draws to make (None: the game's budget)")

    def _count(self, oracles: Oracles) -> int:
        budget = oracles["draw"].budget
        return self.queries if self.queries is not None else (budget or 1)

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        for _ in range(self._count(oracles)):
            if (found := oracles["draw"]()) >= 0:
                return int(found)
        return 0

    def batch(self, oracles: Oracles, rng: np.random.Generator, size: int) -> np.ndarray:
        found = np.full(size, -1)
        for _ in range(self._count(oracles)):
            drawn = oracles["draw"]()
            found = np.where(found >= 0, found, drawn)
        return np.where(found >= 0, found, 0)


def lottery_win_rate(p: float, queries: int, n: int = 32) -> float:
    """The exact win probability of :class:`Draw` in :class:`Lottery`."""
    miss = (1 - p) ** queries
    return 1 - miss + miss * 2.0**-n
