"""Argument checks: one place, one wording.

Each check returns the value in its canonical type or raises :class:`InvalidArgument` that
names the argument and says what is allowed, in the words every message of the project
uses: ``trials=0 must be a positive integer``, ``level=1.5 must be in (0, 1)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any, TypeVar

from oracles.errors import InvalidArgument

__all__ = ["choice", "integer", "number", "open_unit", "positive", "unit", "whole"]

T = TypeVar("T")


def integer(
    name: str, value: Any, low: int | None = None, high: int | None = None, *, exact: bool = False
) -> int:
    """An integer in ``[low, high]`` (either end may be open-ended); ``exact``: a Python int,
    not a numpy one (a game's parameter, say)."""
    kinds = int if exact else Integral
    fits = isinstance(value, kinds) and not isinstance(value, bool)
    if fits and (low is None or value >= low) and (high is None or value <= high):
        return int(value)
    if low == 1 and high is None:
        kind = "a positive integer"
    elif low == 0 and high is None:
        kind = "a non-negative integer"
    elif low is not None and high is not None:
        kind = f"an integer in [{low}, {high}]"
    elif low is not None:
        kind = f"an integer >= {low}"
    else:
        kind = f"an integer <= {high}" if high is not None else "an integer"
    raise InvalidArgument(f"{name}={value!r} must be {kind}")


def positive(name: str, value: Any) -> int:
    """A positive integer (trials, workers, a chunk size)."""
    return integer(name, value, 1)


def whole(name: str, value: Any) -> int:
    """A non-negative integer (a seed, a count, an index)."""
    return integer(name, value, 0)


def number(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    """A finite real number in the interval given (ends closed unless ``open_*``)."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if open_low else value >= low
    if ok and high is not None:
        ok = value < high if open_high else value <= high
    if ok:
        return float(value)
    left = "(" if open_low or low is None else "["
    right = ")" if open_high or high is None else "]"
    span = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
    raise InvalidArgument(f"{name}={value!r} must be a number in {span}")


def open_unit(name: str, value: Any) -> float:
    """A number strictly between 0 and 1 (a level, a power, an alpha, an eps)."""
    if isinstance(value, Real) and not isinstance(value, bool) and 0 < float(value) < 1:
        return float(value)
    raise InvalidArgument(f"{name}={value!r} must be in (0, 1)")


def unit(name: str, value: Any) -> float:
    """A probability in [0, 1]."""
    if isinstance(value, Real) and not isinstance(value, bool) and 0 <= float(value) <= 1:
        return float(value)
    raise InvalidArgument(f"{name}={value!r} must be in [0, 1]")


def choice(name: str, value: T, allowed: Iterable[T]) -> T:
    """One of ``allowed``."""
    allowed = tuple(allowed)
    if value in allowed:
        return value
    raise InvalidArgument(f"{name}={value!r} must be one of: {', '.join(map(str, allowed))}")
