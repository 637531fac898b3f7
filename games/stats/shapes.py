"""The three shapes of a game and the arithmetic each one owns.

A shape is a string (``"hidden-bit"``, ``"real-vs-ideal"``, ``"search"``: what logs and JSON
record) that also knows its statistics: the trivial adversary's win rate, how a win rate
maps to an advantage and back, the largest advantage, and the interval a tally supports.
Code asks the shape rather than comparing its name.
"""

from __future__ import annotations

import math
from typing import Any

from games.stats.intervals import binomial_interval, difference_interval
from oracles import InvalidArgument, checks

__all__ = [
    "HIDDEN_BIT",
    "REAL_VS_IDEAL",
    "SEARCH",
    "SHAPES",
    "Shape",
    "advantage_interval",
    "shape_of",
]


class Shape(str):
    """A game's shape: its name, and the statistics that depend on it."""

    #: whether the challenger draws a hidden bit (the bit, or the world) for each trial
    hidden: bool = True
    #: whether a trial's hidden bit is a world, so tallies keep per-world counts
    worlds: bool = False

    def p_zero(self, baseline: float | None) -> float:
        """The trivial adversary's win rate: 1/2 (``baseline`` must be None or 0.5)."""
        if baseline is not None and baseline != 0.5:
            raise InvalidArgument(f"baseline={baseline!r} must be None or 0.5 for a {self} game")
        return 0.5

    def win_rate(self, advantage: float, baseline: float) -> float:
        """The win rate at ``advantage`` (the inverse of :meth:`advantage`)."""
        return 0.5 + advantage / 2

    def advantage(self, rate: float, baseline: float) -> float:
        """The advantage a win rate means: 2·rate − 1 for a hidden bit."""
        return 2 * rate - 1

    def max_advantage(self, baseline: float) -> float:
        return 1.0

    def estimate(self, total: Any, baseline: float) -> float:
        """The advantage a tally (``trials``, ``wins``, ``real``, ``ideal``) supports."""
        return self.advantage(total.wins / total.trials, baseline) if total.trials else math.nan

    def interval(
        self, total: Any, level: float, method: str, baseline: float
    ) -> tuple[float, float, str]:
        """The advantage interval a tally supports at ``level``, and its method's name."""
        if not total.trials:  # nothing counted: every advantage the shape allows
            return self.advantage(0.0, baseline), self.advantage(1.0, baseline), method
        low, high = binomial_interval(total.wins, total.trials, level, method)
        return self.advantage(low, baseline), self.advantage(high, baseline), method


class _RealVsIdeal(Shape):
    """Pr[A→1 | real] − Pr[A→1 | ideal], from the two worlds' counts.

    Each trial's world is a fair coin of the challenger's, so the win rate is
    (1 + advantage)/2 as for a hidden bit; the interval is the two-sample one.
    """

    worlds = True

    def estimate(self, total: Any, baseline: float) -> float:
        (rn, r1), (i_n, i1) = total.real, total.ideal
        return r1 / rn - i1 / i_n if rn and i_n else math.nan

    def interval(
        self, total: Any, level: float, method: str, baseline: float
    ) -> tuple[float, float, str]:
        """Wilson maps to Newcombe's interval; the other methods get a Bonferroni pair of
        one-sample intervals at level 1 − α/2 each."""
        (rn, r1), (i_n, i1) = total.real, total.ideal
        if not (rn and i_n):
            return -1.0, 1.0, method
        if method == "wilson":
            low, high = difference_interval(r1, rn, i1, i_n, level=level, method="newcombe")
            return low, high, "newcombe"
        half = 1 - (1 - level) / 2
        lr, hr = binomial_interval(r1, rn, half, method)
        li, hi = binomial_interval(i1, i_n, half, method)
        return lr - hi, hr - li, f"bonferroni-{method}"


class _Search(Shape):
    """Pr[win] − baseline: the adversary must find something; nothing is hidden by a bit."""

    hidden = False

    def p_zero(self, baseline: float | None) -> float:
        """The trivial adversary's win rate: the baseline the game states."""
        if baseline is None:
            raise InvalidArgument("baseline=None must be given (in [0, 1)) for a search game")
        return checks.number("baseline", baseline, 0, 1, open_high=True)

    def win_rate(self, advantage: float, baseline: float) -> float:
        return baseline + advantage

    def advantage(self, rate: float, baseline: float) -> float:
        return rate - baseline

    def max_advantage(self, baseline: float) -> float:
        return 1.0 - baseline


HIDDEN_BIT = Shape("hidden-bit")
REAL_VS_IDEAL = _RealVsIdeal("real-vs-ideal")
SEARCH = _Search("search")
SHAPES: dict[str, Shape] = {s: s for s in (HIDDEN_BIT, REAL_VS_IDEAL, SEARCH)}


def advantage_interval(
    shape: str,
    successes: int,
    trials: int,
    level: float = 0.95,
    method: str = "clopper-pearson",
    baseline: float | None = None,
) -> tuple[float, float]:
    """Confidence interval for an adversary's advantage from its win count.

    A hidden-bit game maps the interval ``[L, U]`` for Pr[win] to ``[2L − 1, 2U − 1]``; a
    search game maps it to ``[L − baseline, U − baseline]``. Real-vs-ideal games need two
    counts: use :func:`difference_interval`.
    """
    if shape == "real-vs-ideal":
        raise InvalidArgument("shape='real-vs-ideal' needs two win counts: use difference_interval")
    kind = shape_of(shape)
    p_zero = kind.p_zero(baseline)
    low, high = binomial_interval(successes, trials, level, method)
    return kind.advantage(low, p_zero), kind.advantage(high, p_zero)


def shape_of(name: Any, argument: str = "shape") -> Shape:
    """The shape called ``name`` (a shape is returned as is)."""
    return SHAPES[checks.choice(argument, name, tuple(SHAPES))]
