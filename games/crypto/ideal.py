"""Ideal objects for the batched path: one lazily sampled random function or permutation per trial.

The per-trial path uses :class:`oracles.RandomFunction` and :class:`oracles.RandomPermutation`;
these classes answer a column of queries, one point per trial, at once. Every call adds
the same number of points to every trial, so the points seen so far are a ``(size, k)``
array and a lookup is one vectorised comparison against it: O(size · k) per call, which
stays cheap at the few hundred queries a birthday experiment needs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from games.crypto.primitives import as_blocks, uniform_blocks
from oracles import InvalidArgument, checks

__all__ = ["BatchRandomFunction", "BatchRandomPermutation"]


class _Table:
    """The (size, k) arrays of points and images seen so far, grown by doubling."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.count = 0
        self.left = np.zeros((size, 16), dtype=np.uint64)
        self.right = np.zeros((size, 16), dtype=np.uint64)
        self.rows = np.arange(size)

    def find(self, side: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per trial: whether ``values`` already appears on that side, and at which column."""
        if self.count == 0:
            return np.zeros(self.size, bool), np.zeros(self.size, np.int64)
        equal = side[:, : self.count] == values[:, None]
        return equal.any(axis=1), equal.argmax(axis=1)

    def append(self, left: np.ndarray, right: np.ndarray) -> None:
        if self.count == self.left.shape[1]:
            self.left = np.concatenate([self.left, np.zeros_like(self.left)], axis=1)
            self.right = np.concatenate([self.right, np.zeros_like(self.right)], axis=1)
        self.left[:, self.count] = left
        self.right[:, self.count] = right
        self.count += 1


def _columns(x: Any, bits: int, size: int, name: str) -> np.ndarray:
    points = as_blocks(x, bits, name)
    if points.ndim not in (1, 2) or points.shape[0] != size:
        raise InvalidArgument(
            f"{name} of shape {points.shape} must have shape ({size},) or ({size}, m): one row per trial"
        )
    return points.reshape(size, -1)


class BatchRandomFunction:
    """``size`` independent uniformly random functions from in_bits to out_bits bits."""

    def __init__(
        self, size: int, in_bits: int, out_bits: int | None = None, *, rng: np.random.Generator
    ) -> None:
        self._size = checks.positive("size", size)
        self._in_bits = checks.integer("in_bits", in_bits, 1, 64)
        self._out_bits = checks.integer(
            "out_bits", in_bits if out_bits is None else out_bits, 1, 64
        )
        self._rng = rng
        self._table = _Table(self._size)

    @property
    def size(self) -> int:
        """How many trials (independent functions) this holds."""
        return self._size

    def __call__(self, x: Any) -> np.ndarray:
        """f_i(x[i]) for each trial i; ``x`` has shape (size,) or (size, m)."""
        points = _columns(x, self._in_bits, self._size, "x")
        out = np.empty_like(points)
        table = self._table
        for j in range(points.shape[1]):
            column = points[:, j]
            seen, at = table.find(table.left, column)
            fresh = uniform_blocks(self._rng, self._out_bits, self._size)
            image = np.where(seen, table.right[table.rows, at], fresh)
            table.append(column, image)
            out[:, j] = image
        return out.reshape(np.shape(x))

    def __repr__(self) -> str:
        return f"BatchRandomFunction({self._size} trials, {self._in_bits} -> {self._out_bits} bits, {self._table.count} columns)"


class BatchRandomPermutation:
    """``size`` independent uniformly random permutations of n-bit strings, with inverses."""

    def __init__(self, size: int, bits: int, *, rng: np.random.Generator) -> None:
        self._size = checks.positive("size", size)
        self._bits = checks.integer("bits", bits, 1, 64)
        self._rng = rng
        self._table = _Table(self._size)

    def _fresh(self, used: np.ndarray, need: np.ndarray) -> np.ndarray:
        """A uniform value per trial, outside that trial's used values where ``need`` is set."""
        out = uniform_blocks(self._rng, self._bits, self._size)
        table = self._table
        redo = need.copy()
        while True:
            if table.count:
                rows = np.flatnonzero(redo)
                clash = (used[rows, : table.count] == out[rows, None]).any(axis=1)
                redo[:] = False
                redo[rows[clash]] = True
            else:
                redo[:] = False
            if not redo.any():
                return out
            out[redo] = uniform_blocks(self._rng, self._bits, int(redo.sum()))

    def _query(self, x: Any, inverse: bool) -> np.ndarray:
        points = _columns(x, self._bits, self._size, "y" if inverse else "x")
        out = np.empty_like(points)
        table = self._table
        known, unknown = (table.right, table.left) if inverse else (table.left, table.right)
        for j in range(points.shape[1]):
            column = points[:, j]
            seen, at = table.find(known, column)
            image = np.where(seen, unknown[table.rows, at], self._fresh(unknown, ~seen))
            if inverse:
                table.append(image, column)
            else:
                table.append(column, image)
            known, unknown = (table.right, table.left) if inverse else (table.left, table.right)
            out[:, j] = image
        return out.reshape(np.shape(x))

    def __call__(self, x: Any) -> np.ndarray:
        """π_i(x[i]) for each trial i; ``x`` has shape (size,) or (size, m)."""
        return self._query(x, inverse=False)

    def inverse(self, y: Any) -> np.ndarray:
        """π_i^-1(y[i]) for each trial i."""
        return self._query(y, inverse=True)

    def __repr__(self) -> str:
        return f"BatchRandomPermutation({self._size} trials, {self._bits} bits, {self._table.count} columns)"
