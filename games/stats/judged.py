"""A rate measured through an imperfect judge: the Rogan–Gladen correction and its interval.

A judge (a classifier, a model grading a model) flags some items; its own errors, measured
on a labelled calibration set, bias the rate it reports. These routines correct the rate
and widen its interval by the calibration's own uncertainty, or refuse when the judge is
too weak for any claim (:class:`JudgeTooWeak`).
"""

from __future__ import annotations

from games.stats.intervals import _clopper_pearson, percent
from oracles import InvalidArgument, checks

__all__ = ["JudgeTooWeak", "rogan_gladen", "rogan_gladen_interval"]


class JudgeTooWeak(InvalidArgument):
    """The judge's measured sensitivity + specificity − 1 is too small to correct a rate.

    Its errors could then explain any measured rate, so no corrected figure is given.
    """


def rogan_gladen(apparent: float, sensitivity: float, specificity: float) -> float:
    """The Rogan–Gladen estimate of a true rate from the rate a judge reports.

    A judge with sensitivity ``se`` and specificity ``sp`` flags a fraction
    ``q = p·se + (1 − p)·(1 − sp)`` of items whose true rate is ``p``, so
    ``p = (q + sp − 1) / (se + sp − 1)``; the result is clipped to [0, 1].
    """
    apparent = checks.unit("apparent", apparent)
    sensitivity = checks.unit("sensitivity", sensitivity)
    specificity = checks.unit("specificity", specificity)
    youden = sensitivity + specificity - 1
    if youden <= 0:
        raise JudgeTooWeak(
            f"sensitivity + specificity - 1 = {youden:.4g} must be positive to correct a rate"
        )
    return min(1.0, max(0.0, (apparent + specificity - 1) / youden))


def rogan_gladen_interval(
    positives: int,
    trials: int,
    sensitivity: tuple[int, int],
    specificity: tuple[int, int],
    level: float = 0.95,
    *,
    margin: float = 0.05,
) -> tuple[float, float, float]:
    """A judge-corrected rate with its interval, calibration uncertainty included.

    Args:
        positives, trials: how many of ``trials`` items the judge flagged.
        sensitivity: ``(flagged, positives)`` on the calibration set's true positives.
        specificity: ``(passed, negatives)`` on its true negatives.
        margin: the smallest acceptable lower bound on sensitivity + specificity − 1.

    Returns:
        ``(estimate, low, high)``: the Rogan–Gladen point estimate (clipped to [0, 1]) and
        an interval that holds the true rate with probability at least ``level``.

    Method: three exact Clopper–Pearson intervals, each at level ``1 − (1 − level)/3``
    (Bonferroni), for the apparent rate, the sensitivity and the specificity. When all
    three hold, the true rate is the correction of a point of that box; the correction
    ``(q + sp − 1)/(se + sp − 1)`` is linear-fractional with a positive denominator on the
    box, so its range there is spanned by the box's eight corners. The interval is that
    range, clipped to [0, 1].

    Raises:
        JudgeTooWeak: when the lower bounds give sensitivity + specificity − 1 ≤ ``margin``
            (the judge cannot tell violations from non-violations well enough to support
            any claim; the message says so instead of a number).
    """
    trials = checks.positive("trials", trials)
    positives = checks.integer("positives", positives, 0, trials)
    level = checks.open_unit("level", level)
    counts = []
    for name, pair in (("sensitivity", sensitivity), ("specificity", specificity)):
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise InvalidArgument(f"{name}={pair!r} must be a pair (successes, trials)")
        n = checks.positive(f"{name} trials", pair[1])
        counts.append((checks.integer(f"{name} successes", pair[0], 0, n), n))
    margin = checks.number("margin", margin, 0, 1, open_high=True)
    (se_k, se_n), (sp_k, sp_n) = counts
    tail = (1 - level) / 6  # each of three two-sided intervals at level 1 - (1 - level)/3
    q_low, q_high = _clopper_pearson(positives, trials, tail, tail)
    se_low, se_high = _clopper_pearson(se_k, se_n, tail, tail)
    sp_low, sp_high = _clopper_pearson(sp_k, sp_n, tail, tail)
    worst = se_low + sp_low - 1
    if worst <= margin:
        raise JudgeTooWeak(
            f"the judge's sensitivity + specificity - 1 may be as low as {worst:.4f} "
            f"(sensitivity >= {se_low:.4f} from {se_k}/{se_n}, specificity >= {sp_low:.4f} "
            f"from {sp_k}/{sp_n}, at {percent(level)} with the rate), not above the margin "
            f"{margin:g}: its errors could explain any measured rate, so no corrected rate "
            "is given; calibrate it on more items or use a better judge"
        )
    corners = [
        (q + sp - 1) / (se + sp - 1)
        for q in (q_low, q_high)
        for se in (se_low, se_high)
        for sp in (sp_low, sp_high)
    ]
    estimate = (positives / trials + sp_k / sp_n - 1) / (se_k / se_n + sp_k / sp_n - 1)
    return (
        min(1.0, max(0.0, estimate)),
        min(1.0, max(0.0, min(corners))),
        min(1.0, max(0.0, max(corners))),
    )
