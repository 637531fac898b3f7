"""Ideal objects sampled lazily: a random function and a random permutation on n-bit strings.

n-bit strings are Python ints in [0, 2**n). Both sample an answer only when a point is
first queried, so a trial costs what its queries cost, whatever n is.
"""

from __future__ import annotations

import numpy as np

from oracles.errors import InvalidArgument

__all__ = ["RandomFunction", "RandomPermutation"]


def _check_bits(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
        raise InvalidArgument(f"{name}={value!r} must be an integer in [1, 64]")
    return value


def _check_point(x: int, bits: int) -> int:
    if isinstance(x, np.integer):
        x = int(x)
    if isinstance(x, bool) or not isinstance(x, int) or not 0 <= x < (1 << bits):
        raise InvalidArgument(f"query {x!r} must be an integer in [0, 2**{bits})")
    return x


def _uniform(rng: np.random.Generator, bits: int) -> int:
    # integers() tops out at 2**64 - 1 for uint64, so the full 64-bit range is drawn as bytes.
    return int.from_bytes(rng.bytes(8), "little") >> (64 - bits)


class RandomFunction:
    """A uniformly random function from in_bits-bit to out_bits-bit strings."""

    __slots__ = ("_in_bits", "_out_bits", "_rng", "_table")

    def __init__(self, in_bits: int, out_bits: int | None = None, *, rng: np.random.Generator):
        self._in_bits = _check_bits(in_bits, "in_bits")
        self._out_bits = _check_bits(in_bits if out_bits is None else out_bits, "out_bits")
        self._rng = rng
        self._table: dict[int, int] = {}

    def __call__(self, x: int) -> int:
        x = _check_point(x, self._in_bits)
        y = self._table.get(x)
        if y is None:
            y = self._table[x] = _uniform(self._rng, self._out_bits)
        return y

    def __repr__(self) -> str:
        return f"RandomFunction({self._in_bits} -> {self._out_bits} bits, {len(self._table)} points sampled)"


class RandomPermutation:
    """A uniformly random permutation of n-bit strings, with its inverse.

    Each new point takes an image uniformly among those not yet used (rejection against
    the used set, which is exact and fast while fewer than half the images are taken, and
    a draw from the explicit complement after that).
    """

    __slots__ = ("_bits", "_forward", "_backward", "_rng")

    def __init__(self, bits: int, *, rng: np.random.Generator):
        self._bits = _check_bits(bits, "bits")
        self._rng = rng
        self._forward: dict[int, int] = {}
        self._backward: dict[int, int] = {}

    def _fresh(self, used: dict[int, int]) -> int:
        size = 1 << self._bits
        if 2 * len(used) < size:
            while True:
                y = _uniform(self._rng, self._bits)
                if y not in used:
                    return y
        free = np.setdiff1d(np.arange(size, dtype=np.uint64), np.fromiter(used, dtype=np.uint64))
        return int(free[self._rng.integers(len(free))])

    def __call__(self, x: int) -> int:
        return self._lookup(_check_point(x, self._bits), self._forward, self._backward)

    def inverse(self, y: int) -> int:
        return self._lookup(_check_point(y, self._bits), self._backward, self._forward)

    def _lookup(self, point: int, ahead: dict[int, int], back: dict[int, int]) -> int:
        """The image of ``point`` in ``ahead``, drawn fresh (and recorded both ways) if new."""
        image = ahead.get(point)
        if image is None:
            image = self._fresh(back)
            ahead[point], back[image] = image, point
        return image

    def __repr__(self) -> str:
        return f"RandomPermutation({self._bits} bits, {len(self._forward)} points sampled)"
