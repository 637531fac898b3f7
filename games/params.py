"""Parameters of games and adversaries: attrs fields with a help text and a check."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from oracles import checks

__all__ = ["fixed", "integer", "number", "param"]


def param(
    default: Any,
    *,
    help: str,
    check: Callable[[str, Any], None] | None = None,
    choices: Sequence[Any] | None = None,
) -> Any:
    """A game or adversary parameter: an attrs field with a help text and a check.

    ``check(name, value)`` raises :class:`InvalidArgument`; ``choices`` restricts the value
    to a fixed set and is shown by ``advantage list``.
    """

    def validate(_instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if choices is not None:
            checks.choice(attribute.name, value, choices)
        if check is not None:
            check(attribute.name, value)

    return attrs.field(
        default=default,
        validator=validate,
        metadata={"help": help, "choices": tuple(choices) if choices is not None else None},
    )


def fixed(value: Any) -> Any:
    """An inherited parameter that plays no part in a subclass: held at ``value`` and no
    longer a parameter (the constructor, the command line, ``advantage list`` and
    ``describe`` leave it out), so that setting it is an error rather than a silent no-op."""
    return attrs.field(default=value, init=False, metadata={"fixed": True})


def integer(low: int | None = None, high: int | None = None) -> Callable[[str, Any], None]:
    """A parameter check: an int in [low, high] (either end may be open)."""

    def check(name: str, value: Any) -> None:
        checks.integer(name, value, low, high, exact=True)

    return check


def number(
    low: float | None = None,
    high: float | None = None,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> Callable[[str, Any], None]:
    """A parameter check: a finite real in the interval given."""

    def check(name: str, value: Any) -> None:
        checks.number(name, value, low, high, open_low=open_low, open_high=open_high)

    return check
