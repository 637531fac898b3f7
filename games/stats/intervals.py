"""Confidence intervals for win rates and advantages.

Every interval here is two-sided at ``level`` unless it says otherwise, and every
function checks its arguments and raises :class:`oracles.InvalidArgument` naming the
bad one. Clopper–Pearson (exact, conservative) is the default; Wilson is offered for
tighter, approximately calibrated intervals; Hoeffding is the distribution-free bound
that many papers quote.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from scipy import special

from oracles import InvalidArgument, checks

__all__ = [
    "METHODS",
    "TWO_SAMPLE_METHODS",
    "binomial_bound",
    "binomial_interval",
    "difference_interval",
    "percent",
    "stratified_interval",
]

METHODS = ("clopper-pearson", "wilson", "hoeffding")
TWO_SAMPLE_METHODS = ("bonferroni-clopper-pearson", "newcombe")

Side = Literal["upper", "lower"]


# --- one proportion ----------------------------------------------------------------


def _counts(
    successes: int, trials: int, names: tuple[str, str] = ("successes", "trials")
) -> tuple[int, int]:
    """``successes`` out of ``trials``, checked (trials first) and named by ``names``."""
    trials = checks.positive(names[1], trials)
    return checks.integer(names[0], successes, 0, trials), trials


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
    successes, trials = _counts(successes, trials)
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
    successes, trials = _counts(successes, trials)
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
    ones_real, trials_real = _counts(ones_real, trials_real, ("ones_real", "trials_real"))
    ones_ideal, trials_ideal = _counts(ones_ideal, trials_ideal, ("ones_ideal", "trials_ideal"))
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


def stratified_interval(
    successes: Sequence[int],
    trials: Sequence[int],
    weights: Sequence[float] | None = None,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """The weighted success rate Σ w_k·p_k over strata played on their own trials, and an
    interval for it.

    A stratum is, say, one behaviour of the jailbreak game: each has its own rate, and a
    report across behaviours gives their weighted mean (equal weights unless ``weights``
    says otherwise; they are normalised to sum to 1). Each stratum gets a Clopper–Pearson
    interval at level 1 − (1 − ``level``)/K and the ends are combined by the weights: by the
    union bound all K intervals hold together with probability at least ``level``, and then
    so does the combination, whatever the rates (conservative; exact for one stratum).

    Returns:
        ``(rate, low, high)`` with ``low <= rate <= high``.
    """
    if isinstance(successes, str | bytes) or isinstance(trials, str | bytes):
        raise InvalidArgument("successes and trials must be sequences of integers")
    counts, sizes = list(successes), list(trials)
    if not counts or len(counts) != len(sizes):
        raise InvalidArgument(
            f"successes and trials must be non-empty and of one length, got {len(counts)} "
            f"and {len(sizes)}"
        )
    sizes = [checks.positive(f"trials[{i}]", n) for i, n in enumerate(sizes)]
    counts = [
        checks.integer(f"successes[{i}]", k, 0, n)
        for i, (k, n) in enumerate(zip(counts, sizes, strict=True))
    ]
    level = checks.open_unit("level", level)
    if weights is None:
        shares = [1 / len(counts)] * len(counts)
    else:
        raw = [float(w) for w in weights]
        if (
            len(raw) != len(counts)
            or any(not w >= 0 or math.isinf(w) for w in raw)
            or sum(raw) <= 0
        ):
            raise InvalidArgument(
                f"weights={list(weights)!r} must be {len(counts)} finite non-negative numbers, "
                "not all 0"
            )
        shares = [w / sum(raw) for w in raw]
    alpha = (1 - level) / len(counts)
    ends = [
        _clopper_pearson(k, n, alpha / 2, alpha / 2) for k, n in zip(counts, sizes, strict=True)
    ]
    rate = sum(w * k / n for w, k, n in zip(shares, counts, sizes, strict=True))
    low = sum(w * lo for w, (lo, _) in zip(shares, ends, strict=True))
    high = sum(w * hi for w, (_, hi) in zip(shares, ends, strict=True))
    rate = min(max(rate, 0.0), 1.0)  # the weighted sums may stray by a rounding error
    return rate, min(max(low, 0.0), rate), max(min(high, 1.0), rate)


def percent(level: float) -> str:
    """A level as a percentage with the digits it needs (``95%``, ``99.9%``, ``97.5%``), else
    with two decimals rounded down (``98.33%`` for 1 − 0.05/3): never a claim above the
    level, as ``100%`` for 0.999 or ``98%`` for 0.975 would be."""
    scaled = 100 * level
    for digits in range(4):
        text = f"{scaled:.{digits}f}"
        if abs(float(text) - scaled) < 1e-11:
            return (text.rstrip("0").rstrip(".") if "." in text else text) + "%"
    return f"{math.floor(scaled * 100) / 100:.2f}%"
