"""Confidence intervals for win rates and advantages, and fixed-sample trial planning.

Every interval here is two-sided at ``level`` unless it says otherwise, and every
function checks its arguments and raises :class:`oracles.InvalidArgument` naming the
bad one. Clopper–Pearson (exact, conservative) is the default; Wilson is offered for
tighter, approximately calibrated intervals; Hoeffding is the distribution-free bound
that many papers quote.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import attrs
import numpy as np
from scipy import special, stats

from oracles import InvalidArgument, checks

__all__ = [
    "METHODS",
    "TWO_SAMPLE_METHODS",
    "Plan",
    "advantage_interval",
    "binomial_bound",
    "binomial_interval",
    "difference_interval",
    "plan",
]

METHODS = ("clopper-pearson", "wilson", "hoeffding")
TWO_SAMPLE_METHODS = ("bonferroni-clopper-pearson", "newcombe")
SHAPES = ("hidden-bit", "search")

Side = Literal["upper", "lower"]


# --- argument checks (shared with games.sequential) ---------------------------------


def _check_trials(trials: object, name: str = "trials") -> int:
    return checks.positive(name, trials)


def _check_successes(successes: object, trials: int, name: str = "successes") -> int:
    return checks.integer(name, successes, 0, trials)


def _check_open_unit(value: object, name: str) -> float:
    return checks.open_unit(name, value)


def _check_baseline(baseline: object, name: str = "baseline") -> float:
    return checks.number(name, baseline, 0, 1, open_high=True)


def _check_choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    return checks.choice(name, value, allowed)


def _zero_advantage_rate(shape: str, baseline: float | None) -> float:
    """The win probability at advantage 0: 1/2 for a hidden bit, the baseline for search."""
    shape = _check_choice(shape, "shape", SHAPES)
    if shape == "hidden-bit":
        if baseline is not None and baseline != 0.5:
            raise InvalidArgument(
                f"baseline={baseline!r} must be None or 0.5 for a hidden-bit game"
            )
        return 0.5
    if baseline is None:
        raise InvalidArgument("baseline=None must be given (in [0, 1)) for a search game")
    return _check_baseline(baseline)


def _win_rate(advantage: float, shape: str, p_zero: float) -> float:
    """The win probability at a given advantage."""
    return p_zero + advantage / 2 if shape == "hidden-bit" else p_zero + advantage


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
    trials = _check_trials(trials)
    successes = _check_successes(successes, trials)
    level = _check_open_unit(level, "level")
    method = _check_choice(method, "method", METHODS)
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
    trials = _check_trials(trials)
    successes = _check_successes(successes, trials)
    level = _check_open_unit(level, "level")
    side = _check_choice(side, "side", ("upper", "lower"))  # type: ignore[assignment]
    method = _check_choice(method, "method", METHODS)
    alpha = 1 - level
    if method == "clopper-pearson":
        low, high = _clopper_pearson(successes, trials, alpha, alpha)
    elif method == "wilson":
        low, high = _wilson(successes, trials, float(special.ndtri(level)))
    else:
        low, high = _hoeffding(successes, trials, alpha)
    return high if side == "upper" else low


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
    p_zero = _zero_advantage_rate(shape, baseline)
    low, high = binomial_interval(successes, trials, level, method)
    if shape == "hidden-bit":
        return 2 * low - 1, 2 * high - 1
    return low - p_zero, high - p_zero


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
    trials_real = _check_trials(trials_real, "trials_real")
    ones_real = _check_successes(ones_real, trials_real, "ones_real")
    trials_ideal = _check_trials(trials_ideal, "trials_ideal")
    ones_ideal = _check_successes(ones_ideal, trials_ideal, "ones_ideal")
    level = _check_open_unit(level, "level")
    method = _check_choice(method, "method", TWO_SAMPLE_METHODS)
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


# --- planning ----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Plan:
    """How many trials a fixed-sample experiment needs to tell advantage 0 from ``eps``.

    The test is the one-sided exact binomial test at significance ``1 − level``: it rejects
    "advantage ≤ 0" when the win count reaches ``critical``; with ``trials`` trials it does so
    with probability at least ``power`` when the true win probability is ``p1``.

    Attributes:
        trials: the smallest number of trials whose exact power is at least ``power``.
        p0, p1: the win probabilities at advantage 0 and at advantage ``eps``.
        critical: the smallest win count that rejects advantage 0.
        method: ``"exact-binomial"``, or ``"normal-approximation"`` past
            :data:`EXACT_PLAN_LIMIT` trials.
    """

    trials: int
    eps: float
    level: float
    power: float
    shape: str
    p0: float
    p1: float
    critical: int
    method: str = "exact-binomial"


def _critical(n: np.ndarray, p0: float, alpha: float) -> np.ndarray:
    """Smallest c with Pr[X ≥ c] ≤ alpha for X ~ Binomial(n, p0), for each n."""
    c = stats.binom.isf(alpha, n, p0).astype(np.int64) + 1
    # isf is a floating-point search; make the defining inequalities hold exactly.
    for _ in range(64):
        too_high = (c > 0) & (stats.binom.sf(c - 2, n, p0) <= alpha)
        too_low = stats.binom.sf(c - 1, n, p0) > alpha
        if not (too_high.any() or too_low.any()):
            break
        c = c - too_high + too_low
    return c


def _power(n: np.ndarray, p0: float, p1: float, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    c = _critical(n, p0, alpha)
    return stats.binom.sf(c - 1, n, p1), c


EXACT_PLAN_LIMIT = 1e12  # trials past which plan gives the normal approximation


def plan(
    eps: float,
    level: float = 0.95,
    power: float = 0.9,
    *,
    shape: str = "hidden-bit",
    baseline: float | None = None,
) -> Plan:
    """The fixed number of trials needed to tell advantage 0 from advantage ``eps``.

    Searches the exact power of the one-sided binomial test around the normal approximation
    ``((z_α·σ0 + z_β·σ1) / (p1 − p0))²``. Exact power is a sawtooth in ``n``, so a smaller ``n``
    well below the approximation could in principle reach the power again; the search
    window is wide enough that this does not happen in practice. Past
    :data:`EXACT_PLAN_LIMIT` trials the approximation itself is returned (``method`` says so):
    the exact search would take too long, and the two agree to a fraction of a percent there.
    """
    eps = _check_open_unit(eps, "eps")
    level = _check_open_unit(level, "level")
    power = _check_open_unit(power, "power")
    p0 = _zero_advantage_rate(shape, baseline)
    p1 = _win_rate(eps, shape, p0)
    if p1 > 1:
        raise InvalidArgument(f"eps={eps!r} must be at most 1 - baseline = {1 - p0:.6g}")
    alpha = 1 - level

    z_a, z_b = special.ndtri(level), special.ndtri(power)
    sigma0, sigma1 = math.sqrt(p0 * (1 - p0)), math.sqrt(p1 * (1 - p1))
    approx = ((z_a * sigma0 + z_b * sigma1) / (p1 - p0)) ** 2
    if approx > EXACT_PLAN_LIMIT:  # the exact search would sweep millions of n: quote the formula
        n = math.ceil(approx)
        critical = math.ceil(n * p0 + z_a * sigma0 * math.sqrt(n))
        return Plan(
            trials=n, eps=eps, level=level, power=power, shape=shape, p0=p0, p1=p1,
            critical=critical, method="normal-approximation",
        )  # fmt: skip
    # The exact n is within a few standard deviations' worth of the approximation: search
    # a window of a few sqrt(n) around it, widening it while the answer sits on its edge.
    width = int(4 * math.sqrt(approx)) + 48
    low = max(1, int(approx) - width)
    high = int(approx) + width
    while True:
        n = np.arange(low, high + 1)
        achieved, critical = _power(n, p0, p1, alpha)
        hits = np.flatnonzero(achieved >= power)
        if hits.size and (hits[0] > 0 or low == 1):
            i = int(hits[0])
            return Plan(
                trials=int(n[i]),
                eps=eps,
                level=level,
                power=power,
                shape=shape,
                p0=p0,
                p1=p1,
                critical=int(critical[i]),
            )
        if hits.size:  # the first hit is the window's first n: look lower
            high, low = low, max(1, low - 2 * width)
        else:
            low, high = high, high + 2 * width
