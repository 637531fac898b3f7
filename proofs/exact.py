"""The variables of a domain, and exact arithmetic at a point of it.

The deciders of :mod:`proofs.deciders` ask questions of expressions over a proof's
resources (each in its declared range, on its step) and its assumption advantages (each
in [0, 1]). This module gives those variables (:func:`variables`) and evaluates an
expression exactly at a point (:func:`substitute`, :func:`negative_at`,
:func:`values_at`), refusing any exact number beyond :data:`proofs.limits.MAX_BITS` bits
before it is computed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import attrs
import sympy

from proofs.limits import MAX_BITS, TooLarge, bits_of_power, check_bits
from proofs.model import Domain

__all__ = ["Variable", "negative_at", "substitute", "values_at", "variables"]


@attrs.frozen(kw_only=True)
class Variable:
    """A resource (integer or real, on its step) or an advantage (real, in [0, 1])."""

    name: str
    integer: bool
    low: Fraction
    high: Fraction
    step: int = 1

    def values(self) -> range:
        return range(int(self.low), int(self.high) + 1, self.step)

    @property
    def lowest(self) -> int | Fraction:
        """Its lowest value, an int for an integer resource."""
        return int(self.low) if self.integer else self.low


def variables(domain: Domain, expr: sympy.Expr) -> dict[str, Variable]:
    """The variables ``expr`` uses, with their ranges (advantages in [0, 1])."""
    out: dict[str, Variable] = {}
    for symbol in sorted(expr.free_symbols, key=lambda s: s.name):
        name = symbol.name
        if name in domain:
            r = domain[name]
            out[name] = Variable(
                name=name,
                integer=r.type == "integer",
                low=Fraction(r.low),
                high=Fraction(r.high),
                step=r.step,
            )
        else:  # adv_NAME
            out[name] = Variable(name=name, integer=False, low=Fraction(0), high=Fraction(1))
    return out


def substitute(expr: sympy.Expr, point: Mapping[str, Any]) -> sympy.Expr:
    """``expr`` at ``point``, exactly.

    Raises:
        TooLarge: an exact number on the way would pass MAX_BITS bits (``2**n`` at
            ``n = 2**64`` is refused before it is computed, not after).
    """
    mapping: dict[sympy.Basic, sympy.Basic] = {}
    for symbol in expr.free_symbols:
        value = point[symbol.name]
        if isinstance(value, Fraction):
            mapping[symbol] = sympy.Rational(value.numerator, value.denominator)
        else:
            mapping[symbol] = sympy.sympify(value)
    return _rebuild(expr, mapping, point)


def _rebuild(
    expr: sympy.Basic, mapping: Mapping[sympy.Basic, sympy.Basic], point: Mapping[str, Any]
) -> sympy.Basic:
    if expr in mapping:
        return mapping[expr]
    if not expr.args:
        return expr
    args = [_rebuild(arg, mapping, point) for arg in expr.args]
    if isinstance(expr, sympy.Pow):
        base, exponent = args
        if isinstance(base, sympy.Rational) and isinstance(exponent, sympy.Rational):
            size = bits_of_power(base, exponent)
            if size > MAX_BITS:
                raise TooLarge(
                    f"{expr} at {_where(expr, point)} would be a number of about {size:.4g} "
                    f"bits (the limit is {MAX_BITS} bits)"
                )
    value = expr.func(*args)
    check_bits(value, f"{expr} at {_where(expr, point)}")
    return value


def _where(expr: sympy.Basic, point: Mapping[str, Any]) -> str:
    names = sorted(symbol.name for symbol in expr.free_symbols)
    return ", ".join(f"{name}={point[name]}" for name in names) or "a constant"


def negative_at(difference: sympy.Expr, point: Mapping[str, Any]) -> bool | None:
    """Whether ``difference`` is negative at ``point``, decided exactly where possible.

    Raises TooLarge when deciding it exactly would need a number beyond MAX_BITS bits.
    """
    value = substitute(difference, point)
    try:
        value = sympy.nsimplify(value) if value.has(sympy.Float) else value
        negative = value.is_negative
        if negative is None:
            number = value.evalf(60)
            if not number.is_number or not number.is_real:
                return None
            negative = bool(number < 0)
    except (TypeError, ValueError):
        return None
    return bool(negative)


def values_at(
    upper: sympy.Expr, lower: sympy.Expr, point: Mapping[str, Any]
) -> tuple[float, float]:
    """Both sides at a counterexample, as floats (for the report)."""
    out = []
    for expr in (upper, lower):
        try:
            value = substitute(expr, point)
        except TooLarge:  # the difference was checked exactly; one side alone may not be
            value = expr.evalf(30, subs={s: point[s.name] for s in expr.free_symbols})
        try:
            out.append(float(value.evalf(30)))
        except (OverflowError, TypeError):
            out.append(math.inf)
    return out[0], out[1]
