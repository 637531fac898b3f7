"""Fixed-sample trial planning: how many trials tell advantage 0 from ``eps``."""

from __future__ import annotations

import math

import attrs
import numpy as np
from scipy import special

from games.stats.shapes import shape_of
from oracles import InvalidArgument, checks

__all__ = ["EXACT_PLAN_LIMIT", "Plan", "plan"]


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
    from scipy.stats import binom  # imported on first use: see games.stats

    c = binom.isf(alpha, n, p0).astype(np.int64) + 1
    # isf is a floating-point search; make the defining inequalities hold exactly.
    for _ in range(64):
        too_high = (c > 0) & (binom.sf(c - 2, n, p0) <= alpha)
        too_low = binom.sf(c - 1, n, p0) > alpha
        if not (too_high.any() or too_low.any()):
            break
        c = c - too_high + too_low
    return c


def _power(n: np.ndarray, p0: float, p1: float, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy.stats import binom

    c = _critical(n, p0, alpha)
    return binom.sf(c - 1, n, p1), c


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
    eps = checks.open_unit("eps", eps)
    level = checks.open_unit("level", level)
    power = checks.open_unit("power", power)
    kind = shape_of(shape)
    p0 = kind.p_zero(baseline)
    p1 = kind.win_rate(eps, p0)
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
