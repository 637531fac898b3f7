"""Registering adversaries by name, with the games they are written for."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from games.registry import ADVERSARIES

__all__ = ["ADVERSARIES", "register"]

T = TypeVar("T")


def register(name: str, *, games: Iterable[str] = ()) -> Callable[[type[T]], type[T]]:
    """Class decorator: make an adversary findable by ``name``.

    Args:
        games: the games it is written for; empty for a generic adversary that plays any.
    """
    return ADVERSARIES.decorator(name, games=tuple(games))
