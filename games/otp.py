"""The one-time pad: the first teaching game."""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np

from games.base import Challenge, HiddenBit
from games.crypto.games import check_point, check_points
from games.params import integer, param
from games.registry import register

__all__ = ["OneTimePad"]


@register("otp")
@attrs.frozen(kw_only=True)
class OneTimePad(HiddenBit):
    """One-time pad: two left-or-right encryptions, perfectly secret unless the key is reused.

    The adversary submits message pairs (m0, m1) of ``n``-bit integers to the ``encrypt``
    oracle and gets m_b XOR key back; a message outside [0, 2**n) is refused (the pad would
    not cover its other bits), and the refusal costs the adversary the trial. The batched
    oracle takes one message per trial: integer arrays of shape (size,). Each query draws a
    fresh key, unless ``key_reuse`` keeps the first one for the whole trial.
    """

    # A trial is a few XORs: big chunks keep the engine's fixed cost per chunk negligible.
    trials_per_batch: ClassVar[int] = 65536

    n: int = param(16, help="message length in bits", check=integer(1, 64))
    key_reuse: bool = param(False, help="reuse one key for every encryption (a misuse)")
    queries: int = param(2, help="encryptions the adversary may ask for", check=integer(1))

    def _keys(self, rng: np.random.Generator, size: int | None = None):  # type: ignore[no-untyped-def]
        return rng.integers(0, 1 << self.n, size=size, dtype=np.uint64)

    def setup(self, b: int, rng: np.random.Generator) -> Challenge:
        first = int(self._keys(rng))

        def encrypt(m0: int, m1: int) -> int:
            m0, m1 = check_point(m0, self.n, "m0"), check_point(m1, self.n, "m1")
            key = first if self.key_reuse or not used else int(self._keys(rng))
            used.append(key)
            return (m1 if b else m0) ^ key

        used: list[int] = []
        return Challenge(
            oracles={"encrypt": encrypt}, budgets={"encrypt": self.queries}, public={"n": self.n}
        )

    def setup_batch(self, b: np.ndarray, rng: np.random.Generator) -> Challenge:
        size = len(b)
        first = self._keys(rng, size)
        chosen = b.astype(bool)
        calls = [0]

        def encrypt(m0: np.ndarray, m1: np.ndarray) -> np.ndarray:
            m0, m1 = check_points(m0, self.n, size, "m0"), check_points(m1, self.n, size, "m1")
            key = first if self.key_reuse or calls[0] == 0 else self._keys(rng, size)
            calls[0] += 1
            return np.where(chosen, m1, m0) ^ key

        return Challenge(
            oracles={"encrypt": encrypt}, budgets={"encrypt": self.queries}, public={"n": self.n}
        )
