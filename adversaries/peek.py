"""`peek`: an adversary that cheats by reading the challenger's memory (a test of isolation)."""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

import attrs
import numpy as np

from adversaries.registry import register
from oracles import Oracles

__all__ = ["Peek"]

SECRET_NAMES = ("hidden", "b", "world")


def _bit(value: Any) -> int | None:
    if isinstance(value, bool | int | np.integer) and value in (0, 1):
        return int(value)
    return None


@register("peek")
@attrs.frozen(kw_only=True)
class Peek:
    """Reads the hidden bit through the interpreter: the caller's stack frames, oracle closures.

    It wins every hidden-bit or real-vs-ideal game run in the challenger's process; run with
    isolation (``--isolate``) it finds nothing and falls back to a guess.
    """

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> int:
        for found in (self._frames(), self._closures(oracles)):
            if found is not None:
                return found
        return int(rng.integers(2))

    @staticmethod
    def _frames() -> int | None:
        frame: FrameType | None = sys._getframe(1)
        while frame is not None:
            for name in SECRET_NAMES:
                if name in frame.f_locals and (bit := _bit(frame.f_locals[name])) is not None:
                    return bit
            frame = frame.f_back
        return None

    @staticmethod
    def _closures(oracles: Oracles) -> int | None:
        # Each handle's gate closes over the challenger's function, which closes over the bit.
        stack = [object.__getattribute__(oracles[name], "_ask") for name in oracles]
        seen: set[int] = set()
        while stack:
            function = stack.pop()
            if id(function) in seen:
                continue
            seen.add(id(function))
            code = getattr(function, "__code__", None)
            for var, cell in zip(
                code.co_freevars if code else (),
                getattr(function, "__closure__", None) or (),
                strict=False,
            ):
                try:
                    value = cell.cell_contents
                except ValueError:  # an empty cell
                    continue
                if var in SECRET_NAMES and (bit := _bit(value)) is not None:
                    return bit
                if callable(value):
                    stack.append(value)
        return None
