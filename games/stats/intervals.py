"""Confidence intervals for win rates and advantages.

Every interval here is two-sided at ``level`` unless it says otherwise, and every
function checks its arguments and raises :class:`oracles.InvalidArgument` naming the
bad one. Clopper–Pearson (exact, conservative) is the default; Wilson is offered for
tighter, approximately calibrated intervals; Hoeffding is the distribution-free bound
that many papers quote.
"""

from __future__ import annotations

import math
from typing import Literal

from scipy import special

from oracles import checks

__all__ = [
    "METHODS",
    "TWO_SAMPLE_METHODS",
    "binomial_bound",
    "binomial_interval",
    "difference_interval",
]

METHODS = ("clopper-pearson", "wilson", "hoeffding")
TWO_SAMPLE_METHODS = ("bonferroni-clopper-pearson", "newcombe")

Side = Literal["upper", "lower"]


# --- one proportion ----------------------------------------------------------------


def _clopper_pearson(k: int, n: int, alpha_low: float, alpha_high: float) -> tuple[float, float]:
    # Tail masses alpha_low below and alpha_high above; the beta quantiles are the exact
    # inversion of the binomial tails.
    low = 0.0 if k == 0 else float(special.betaincinv(k, n - k + 1, alpha_low))
    high = 1.0 if k == n else float(special.betaincinv(k + 1, n - k, 1 - alpha_high))
    return low, high


def _wilson(k: int, n: int, z: float) -> tuple[float, float]:
    p = k / n
    denom = 2 * (n + z * z)
    centre = (2 * n * p + z * z) / denom
    delta = z / denom * math.sqrt(4 * n * p * (1 - p) + z * z)
    low = 0.0 if k == 0 else max(0.0, centre - delta)
    high = 1.0 if k == n else min(1.0, centre + delta)
    return low, high


def _hoeffding(k: int, n: int, tail: float) -> tuple[float, float]:
    half = math.sqrt(math.log(1 / tail) / (2 * n))
    p = k / n
    return max(0.0, p - half), min(1.0, p + half)


def binomial_interval(
    successes: int, trials: int, level: float = 0.95, method: str = "clopper-pearson"
) -> tuple[float, float]:
    """Two-sided confidence interval for a proportion from ``successes`` out of ``trials``.

    Args:
        method: ``"clopper-pearson"`` (exact: coverage at least ``level`` for every true
            proportion), ``"wilson"`` (score interval without continuity correction:
            average coverage close to ``level``), or ``"hoeffding"`` (p̂ ± sqrt(log(2/α)/2n),
            clipped to [0, 1]).

    Returns:
        ``(low, high)`` with ``0 <= low <= successes/trials <= high <= 1``.
    """
    trials = checks.positive("trials", trials)
    successes = checks.integer("successes", successes, 0, trials)
    level = checks.open_unit("level", level)
    method = checks.choice("method", method, METHODS)
    alpha = 1 - level
    if method == "clopper-pearson":
        return _clopper_pearson(successes, trials, alpha / 2, alpha / 2)
    if method == "wilson":
        return _wilson(successes, trials, float(special.ndtri(0.5 + 0.5 * level)))
    return _hoeffding(successes, trials, alpha / 2)


def binomial_bound(
    successes: int,
    trials: int,
    level: float = 0.95,
    *,
    side: Side = "upper",
    method: str = "clopper-pearson",
) -> float:
    """One-sided confidence bound for a proportion: the true value is ≤ it (``side="upper"``)
    or ≥ it (``side="lower"``) with probability at least ``level`` (approximately, for Wilson).

    The one-sided bound at level ``1 - α/2`` is the matching end of the two-sided interval at
    level ``1 - α``.
    """
    trials = checks.positive("trials", trials)
    successes = checks.integer("successes", successes, 0, trials)
    level = checks.open_unit("level", level)
    side = checks.choice("side", side, ("upper", "lower"))  # type: ignore[assignment]
    method = checks.choice("method", method, METHODS)
    alpha = 1 - level
    if method == "clopper-pearson":
        low, high = _clopper_pearson(successes, trials, alpha, alpha)
    elif method == "wilson":
        low, high = _wilson(successes, trials, float(special.ndtri(level)))
    else:
        low, high = _hoeffding(successes, trials, alpha)
    return high if side == "upper" else low


# --- two proportions ---------------------------------------------------------------


def difference_interval(
    ones_real: int,
    trials_real: int,
    ones_ideal: int,
    trials_ideal: int,
    level: float = 0.95,
    method: str = "bonferroni-clopper-pearson",
) -> tuple[float, float]:
    """Confidence interval for ``p_real − p_ideal``, the advantage in a real-vs-ideal game.

    Args:
        ones_real, trials_real: how often the adversary said 1 in the real world, out of how many.
        ones_ideal, trials_ideal: the same in the ideal world.
        method: ``"bonferroni-clopper-pearson"`` gives each proportion a Clopper–Pearson interval
            at level ``1 − α/2`` and returns ``[L_real − U_ideal, U_real − L_ideal]`` (coverage at
            least ``level``); ``"newcombe"`` is Newcombe's hybrid score interval (his method 10,
            from two Wilson intervals at ``level``), shorter and approximately calibrated.
    """
    trials_real = checks.positive("trials_real", trials_real)
    ones_real = checks.integer("ones_real", ones_real, 0, trials_real)
    trials_ideal = checks.positive("trials_ideal", trials_ideal)
    ones_ideal = checks.integer("ones_ideal", ones_ideal, 0, trials_ideal)
    level = checks.open_unit("level", level)
    method = checks.choice("method", method, TWO_SAMPLE_METHODS)
    alpha = 1 - level
    if method == "bonferroni-clopper-pearson":
        low1, high1 = _clopper_pearson(ones_real, trials_real, alpha / 4, alpha / 4)
        low0, high0 = _clopper_pearson(ones_ideal, trials_ideal, alpha / 4, alpha / 4)
        return low1 - high0, high1 - low0
    z = float(special.ndtri(0.5 + 0.5 * level))
    p1, p0 = ones_real / trials_real, ones_ideal / trials_ideal
    low1, high1 = _wilson(ones_real, trials_real, z)
    low0, high0 = _wilson(ones_ideal, trials_ideal, z)
    d = p1 - p0
    low = d - math.hypot(p1 - low1, high0 - p0)
    high = d + math.hypot(high1 - p1, p0 - low0)
    return max(-1.0, low), min(1.0, high)
