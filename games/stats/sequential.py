"""Anytime-valid confidence sequences for win/lose trials, and the ``certify`` decision.

A confidence sequence holds the true win probability at *every* trial count at once with
probability at least ``1 − alpha``, so a run may look after each trial and stop as soon as
it is decided. The construction is Robbins' method of mixtures with a conjugate beta prior
(Howard, Ramdas, McAuliffe & Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic
confidence sequences"): for a hypothesised win probability ``p`` the mixture likelihood ratio

    M_n(p) = ∫ q^S (1 − q)^(n − S) dπ(q) / (p^S (1 − p)^(n − S)),

with ``S`` wins in ``n`` trials and ``π`` a beta prior (possibly truncated to an interval),
is a nonnegative martingale with mean 1 when ``p`` is true; by Ville's inequality it ever
reaches ``1/alpha`` with probability at most ``alpha``, so ``{p : M_n(p) < 1/alpha}`` is a
confidence sequence. ``log M_n(p)`` is convex in ``p``, so that set is an interval around
``S/n``; its ends are found by root finding.

Certifying "advantage ≤ eps" runs two one-sided tests at the win-probability boundary
``p_eps``. Deciding ``below`` uses the prior truncated to ``[0, p_eps]``: the mixture is then
a supermartingale under every ``p ≥ p_eps``, so when the truth is above the boundary the
chance of ever deciding ``below`` is at most ``alpha``. Deciding ``above`` mirrors it with
the prior on ``[p_eps, 1]``. For any true ``p`` only one of the two decisions is wrong, so
the chance of a wrong decision is at most ``alpha`` (intersection–union: each test at
``alpha``, no split needed).

The prior's mean is ``p_eps``; its concentration is tuned so that each test stops soon in the
cases that matter: the true advantage 0 for ``below`` and ``2·eps`` for ``above``, and half
way from each of them to the boundary.
"""

from __future__ import annotations

import functools
import math
from numbers import Real
from typing import Literal

import attrs
import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from games.stats.shapes import shape_of
from oracles import InvalidArgument, checks

__all__ = [
    "Certifier",
    "ConfidenceSequence",
    "Decision",
    "certifier",
    "decide",
    "win_boundary",
]

Decision = Literal["below", "above", "undecided"]

_TINY = float(np.finfo(float).tiny)


def _positive(_instance: object, attribute: attrs.Attribute, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InvalidArgument(f"{attribute.name}={value!r} must be a positive number")


def _unit_interval(_instance: object, attribute: attrs.Attribute, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= float(value) <= 1:
        raise InvalidArgument(f"{attribute.name}={value!r} must be in [0, 1]")


def _alpha(_instance: object, attribute: attrs.Attribute, value: object) -> None:
    checks.open_unit(attribute.name, value)


def _log_mass(a: ArrayLike, b: ArrayLike, low: float, high: float) -> np.ndarray:
    """log ∫_low^high q^(a−1) (1 − q)^(b−1) dq, elementwise; −inf where it underflows."""
    log_beta = special.betaln(a, b)
    if low == 0 and high == 1:
        return log_beta
    with np.errstate(divide="ignore"):
        if low == 0:
            return log_beta + np.log(special.betainc(a, b, high))
        if high == 1:
            return log_beta + np.log(special.betaincc(a, b, low))
        # Subtract whichever tails are small, to keep the difference accurate.
        lower_tails = special.betainc(a, b, high) - special.betainc(a, b, low)
        upper_tails = special.betaincc(a, b, low) - special.betaincc(a, b, high)
        use_upper = special.betainc(a, b, low) > 0.5
        return log_beta + np.log(np.maximum(np.where(use_upper, upper_tails, lower_tails), 0.0))


@attrs.frozen(kw_only=True)
class ConfidenceSequence:
    """A beta-mixture confidence sequence for a win probability, at level ``1 − alpha``.

    Attributes:
        alpha: the chance that the true win probability ever leaves the sequence.
        a, b: the beta prior mixed over (before truncation).
        low, high: the prior is truncated to ``[low, high]``; a one-sided test at a boundary
            truncates at it (see :class:`Certifier`).
    """

    alpha: float = attrs.field(validator=_alpha)
    a: float = attrs.field(validator=_positive)
    b: float = attrs.field(validator=_positive)
    low: float = attrs.field(default=0.0, validator=_unit_interval)
    high: float = attrs.field(default=1.0, validator=_unit_interval)

    def __attrs_post_init__(self) -> None:
        if not self.low < self.high:
            raise InvalidArgument(f"low={self.low!r} must be less than high={self.high!r}")

    def _log_mixture(self, successes: np.ndarray, trials: np.ndarray, p: float) -> np.ndarray:
        successes = np.asarray(successes, dtype=float)
        failures = np.asarray(trials, dtype=float) - successes
        evidence = _log_mass(self.a + successes, self.b + failures, self.low, self.high)
        prior = _log_mass(np.float64(self.a), np.float64(self.b), self.low, self.high)
        return evidence - prior - special.xlogy(successes, p) - special.xlog1py(failures, -p)

    def log_mixture(self, successes: int, trials: int, p: float) -> float:
        """``log M_n(p)``: the log evidence against win probability ``p`` after the trials."""
        trials = checks.positive("trials", trials)
        successes = checks.integer("successes", successes, 0, trials)
        if isinstance(p, bool) or not isinstance(p, Real) or not 0 <= p <= 1:
            raise InvalidArgument(f"p={p!r} must be in [0, 1]")
        with np.errstate(divide="ignore"):
            return float(self._log_mixture(np.array(successes), np.array(trials), float(p)))

    def interval(self, successes: int, trials: int) -> tuple[float, float]:
        """The set of win probabilities not yet rejected: ``{p : M_n(p) < 1/alpha}``.

        Returns:
            ``(low, high)`` containing ``successes/trials``; it holds the true win probability
            at every ``trials`` simultaneously with probability at least ``1 − alpha``.
        """
        trials = checks.positive("trials", trials)
        successes = checks.integer("successes", successes, 0, trials)
        failures = trials - successes
        with np.errstate(divide="ignore"):
            evidence = float(_log_mass(self.a + successes, self.b + failures, self.low, self.high))
            prior = float(_log_mass(np.float64(self.a), np.float64(self.b), self.low, self.high))
        # M_n(p) < 1/alpha  <=>  −log L(p) < log(1/alpha) − (evidence − prior) =: budget,
        # with L(p) = p^S (1 − p)^F maximal at S/n.
        budget = math.log(1 / self.alpha) - (evidence - prior)
        if not math.isfinite(budget):
            return 0.0, 1.0

        # Solve on log scales (log p below the estimate, log(1 − p) above it) so that ends
        # near 0 or 1 come out to full relative precision.
        def excess_low(u: float) -> float:  # u = log p
            return -successes * u - float(special.xlog1py(failures, -math.exp(u))) - budget

        def excess_high(v: float) -> float:  # v = log(1 − p)
            return -float(special.xlogy(successes, -math.expm1(v))) - failures * v - budget

        from scipy.optimize import brentq  # imported on first use: see games.stats

        estimate = successes / trials
        floor = math.log(_TINY)
        low, high = 0.0, 1.0
        if successes > 0 and excess_low(floor) > 0:
            low = math.exp(brentq(excess_low, floor, math.log(estimate), xtol=1e-14))
        if failures > 0 and excess_high(floor) > 0:
            high = -math.expm1(brentq(excess_high, floor, math.log1p(-estimate), xtol=1e-14))
        return float(low), float(high)


# --- certifying a boundary ---------------------------------------------------------


MIN_EPS = 1e-6  # below it a certificate needs more than about 10^12 trials


def win_boundary(eps: float, *, shape: str = "hidden-bit", baseline: float | None = None) -> float:
    """The win probability at advantage ``eps``: ``(1 + eps)/2`` for a hidden bit,
    ``baseline + eps`` for a search game (which must stay below 1)."""
    eps = checks.open_unit("eps", eps)
    if eps < MIN_EPS:
        raise InvalidArgument(
            f"eps={eps!r} is below {MIN_EPS:g}: certifying an advantage that small takes more "
            "than 10^12 trials"
        )
    kind = shape_of(shape)
    p_zero = kind.p_zero(baseline)
    p_eps = kind.win_rate(eps, p_zero)
    if p_eps >= 1:
        raise InvalidArgument(f"eps={eps!r} must be less than 1 - baseline = {1 - p_zero:.6g}")
    return p_eps


def _crossing_trials(
    p_eps: float, p_hard: float, alpha: float, concentration: np.ndarray, side: str, points: int
) -> np.ndarray:
    """For each concentration, the trial count at which the one-sided test at ``p_eps``
    decides on the typical path (``S = p_hard·n``), on a log grid of ``points`` trial counts;
    ``inf`` if it does not within the grid."""
    threshold = math.log(1 / alpha)
    kl = special.xlogy(p_hard, p_hard / p_eps) + special.xlogy(
        1 - p_hard, (1 - p_hard) / (1 - p_eps)
    )
    reference = max(threshold / kl, 1.0)  # a fixed-n test that knew p_hard needs about this
    n = np.geomspace(max(1.0, reference / 4), reference * 64, points)
    a = (p_eps * concentration)[:, None]
    b = ((1 - p_eps) * concentration)[:, None]
    s = p_hard * n[None, :]
    f = n[None, :] - s
    low, high = (0.0, p_eps) if side == "below" else (p_eps, 1.0)
    with np.errstate(divide="ignore"):
        log_m = (
            _log_mass(a + s, b + f, low, high)
            - _log_mass(a, b, low, high)
            - special.xlogy(s, p_eps)
            - special.xlog1py(f, -p_eps)
        )
    crossed = log_m >= threshold
    first = np.argmax(crossed, axis=1)
    return np.where(crossed.any(axis=1), n[first], np.inf)


@functools.lru_cache(maxsize=256)
def _tuned_concentration(p_eps: float, p_far: float, alpha: float, side: str) -> float:
    """The prior concentration ``a + b`` for one side of a :class:`Certifier`.

    The side should decide soon when the truth is ``p_far`` (advantage 0 for ``below``,
    ``2·eps`` for ``above``) and also half way from there to the boundary, so that a prior
    tuned for the far point does not make nearer truths (a small but nonzero advantage)
    slow. The starting point is the rule of Howard et al. (and the ``confseq`` package) for
    a mixture optimised at a target sample size ``m``: mixing variance
    ``ρ = v / (2ℓ + log(1 + 2ℓ))`` in intrinsic time ``v = m·p(1−p)`` for a one-sided mixture,
    ``ℓ = log(1/(2α))``, i.e. a beta prior of concentration ``m / (2ℓ + log(1 + 2ℓ)) − 1``,
    taking for ``m`` the sample size a fixed test that knew the truth would need. A
    log-spaced scan around it then picks the concentration whose worst ratio, over the two
    truths, of its typical-path stopping time to the best concentration's is smallest; the
    scan matters near 0 or 1, where the normal picture behind the rule fails.
    """
    threshold = math.log(1 / alpha)
    kl = special.xlogy(p_far, p_far / p_eps) + special.xlogy(1 - p_far, (1 - p_far) / (1 - p_eps))
    target = threshold / kl
    ell = max(math.log(1 / (2 * alpha)), 0.5)
    start = max(target / (2 * ell + math.log1p(2 * ell)) - 1, 1.0)
    truths = (p_far, (p_far + p_eps) / 2)
    # Coarse scan (half-octave steps), then a fine one around its best.
    coarse = start * np.exp2(np.linspace(-10, 10, 41))
    crossings = [_crossing_trials(p_eps, p, alpha, coarse, side, 100) for p in truths]
    best = [np.min(c) for c in crossings]
    centre = coarse[
        int(np.argmin(np.maximum(*(c / b for c, b in zip(crossings, best, strict=True)))))
    ]
    fine = centre * np.exp2(np.linspace(-0.5, 0.5, 13))
    crossings = [_crossing_trials(p_eps, p, alpha, fine, side, 300) for p in truths]
    best = [min(b, np.min(c)) for c, b in zip(crossings, best, strict=True)]
    regret = np.maximum(*(c / b for c, b in zip(crossings, best, strict=True)))
    return float(fine[int(np.argmin(regret))])


@attrs.frozen(kw_only=True)
class Certifier:
    """Decides, anytime, whether the win probability is ≤ ``p_eps`` (``below``) or > it (``above``).

    Attributes:
        p_eps: the win probability at advantage ``eps``.
        alpha: the chance of a wrong decision, whatever the truth and whenever the run stops.
        below: the confidence sequence whose upper end decides ``below`` (prior on [0, p_eps]).
        above: the confidence sequence whose lower end decides ``above`` (prior on [p_eps, 1]).
    """

    p_eps: float
    alpha: float
    below: ConfidenceSequence
    above: ConfidenceSequence

    @property
    def _threshold(self) -> float:
        return math.log(1 / self.alpha)

    def decide(self, successes: int, trials: int) -> Decision:
        """``below`` when the upper confidence bound is ≤ ``p_eps``, ``above`` when the lower
        bound is > ``p_eps``, else ``undecided``."""
        trials = checks.positive("trials", trials)
        successes = checks.integer("successes", successes, 0, trials)
        estimate = successes / trials
        # log M is convex in p with its minimum at the estimate, so the boundary is outside
        # the sequence exactly when the mixture at the boundary reaches 1/alpha.
        if estimate < self.p_eps and (
            self.below.log_mixture(successes, trials, self.p_eps) >= self._threshold
        ):
            return "below"
        if estimate > self.p_eps and (
            self.above.log_mixture(successes, trials, self.p_eps) >= self._threshold
        ):
            return "above"
        return "undecided"

    def bounds(self, successes: int, trials: int) -> tuple[float, float]:
        """The lower confidence bound (from ``above``) and the upper one (from ``below``).

        Each is anytime-valid at ``1 − alpha`` on its own.
        """
        return self.above.interval(successes, trials)[0], self.below.interval(successes, trials)[1]

    def boundaries(self, max_trials: int) -> tuple[np.ndarray, np.ndarray]:
        """The decision as win-count thresholds for ``n = 1 … max_trials``.

        Returns:
            ``(most_below, least_above)``, arrays indexed by ``n − 1``: the run is decided
            ``below`` at ``n`` when its wins are ≤ ``most_below[n−1]`` (−1: never) and
            ``above`` when they are ≥ ``least_above[n−1]`` (``n + 1``: never). Both decisions
            are monotone in the win count, so thresholds say everything.
        """
        max_trials = checks.positive("max_trials", max_trials)
        return self._thresholds(np.arange(1, max_trials + 1, dtype=np.int64))

    def _is_above(self, s: np.ndarray, n: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            evidence = self.above._log_mixture(s, n, self.p_eps)
        return (s > self.p_eps * n) & (evidence >= self._threshold)

    def _is_below(self, s: np.ndarray, n: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            evidence = self.below._log_mixture(s, n, self.p_eps)
        return (s < self.p_eps * n) & (evidence >= self._threshold)

    def _thresholds(self, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(most_below, least_above)`` for each trial count in ``n``."""
        most_below = _first_true(lambda s, m: ~self._is_below(s, m), n) - 1
        return most_below, _first_true(self._is_above, n)


def _bisect(predicate, false_at: np.ndarray, true_at: np.ndarray) -> np.ndarray:
    """Smallest integer where an increasing boolean predicate holds, elementwise.

    ``predicate`` is known false at ``false_at`` and treated as true at ``true_at``.
    """
    false_at, true_at = false_at.copy(), true_at.copy()
    while True:
        open_ = true_at - false_at > 1
        if not open_.any():
            return true_at
        mid = (false_at + true_at) // 2
        hit = predicate(mid)
        true_at = np.where(open_ & hit, mid, true_at)
        false_at = np.where(open_ & ~hit, mid, false_at)


def _first_true(predicate, n: np.ndarray) -> np.ndarray:
    """Smallest ``s`` in ``[0, n + 1]`` with ``predicate(s, n)``, for each ``n``.

    ``predicate`` must increase with ``s``; it is taken as false at −1 and true at ``n + 1``.
    Bisection costs ~log2(n) evaluations per ``n``; the thresholds are smooth in ``n``, so
    bisect a sparse subset, interpolate, check each guess with two evaluations, and bisect
    only where a guess is off.
    """

    def bisect(idx: np.ndarray) -> np.ndarray:
        m = n[idx]
        return _bisect(lambda s: predicate(s, m), np.full_like(m, -1), m + 1)

    if n.size <= 64:
        return bisect(np.arange(n.size))
    sparse = np.unique(np.r_[np.arange(0, n.size, 32), n.size - 1])
    exact = bisect(sparse)
    guess = np.clip(np.rint(np.interp(n, n[sparse], exact)).astype(np.int64), 0, n + 1)
    # A guess is right when the predicate holds there and fails one below; guesses are
    # mostly off by one, so step them before falling back to bisection.
    todo = np.arange(n.size)
    for _ in range(4):
        g, m = guess[todo], n[todo]
        holds = (g == m + 1) | predicate(np.minimum(g, m), m)
        fails_below = (g == 0) | ~predicate(np.maximum(g - 1, 0), m)
        guess[todo] = g + ~holds - (holds & ~fails_below)
        todo = todo[~(holds & fails_below)]
        if not todo.size:
            break
    else:
        guess[todo] = bisect(todo)
    guess[sparse] = exact
    return guess


def _prior_side(p_eps: float, alpha: float, p_far: float, side: str) -> ConfidenceSequence:
    kappa = _tuned_concentration(p_eps, p_far, alpha, side)
    low, high = (0.0, p_eps) if side == "below" else (p_eps, 1.0)
    return ConfidenceSequence(
        alpha=alpha, a=p_eps * kappa, b=(1 - p_eps) * kappa, low=low, high=high
    )


def _certifier(p_eps: float, alpha: float, p_zero: float) -> Certifier:
    # The truths to stop quickly on: advantage 0 (certify below) and its mirror image 2·eps
    # (certify above), each with the point half way to the boundary.
    above_far = min(2 * p_eps - p_zero, 1.0)
    return Certifier(
        p_eps=p_eps,
        alpha=alpha,
        below=_prior_side(p_eps, alpha, p_zero, "below"),
        above=_prior_side(p_eps, alpha, above_far, "above"),
    )


def certifier(
    eps: float, *, alpha: float = 0.05, shape: str = "hidden-bit", baseline: float | None = None
) -> Certifier:
    """A :class:`Certifier` for "advantage ≤ eps", tuned to stop soon at advantage 0 and 2·eps."""
    alpha = checks.open_unit("alpha", alpha)
    p_eps = win_boundary(eps, shape=shape, baseline=baseline)
    return _certifier(p_eps, alpha, shape_of(shape).p_zero(baseline))


def decide(
    successes: int,
    trials: int,
    *,
    p_eps: float,
    alpha: float,
    prior: tuple[float, float] | Certifier | None = None,
) -> Decision:
    """Whether ``successes`` wins in ``trials`` show the win probability ≤ ``p_eps`` or > it.

    Args:
        p_eps: the boundary win probability (see :func:`win_boundary`).
        alpha: the chance of a wrong decision, valid however often this is called as the
            trials come in.
        prior: ``(a, b)``: both one-sided tests mix over Beta(a, b) truncated at ``p_eps``;
            a :class:`Certifier` (from :func:`certifier`, tuned to the game's shape and
            baseline); or None: tuned for advantage 0 at win probability 1/2 (a hidden bit)
            when ``p_eps > 1/2``, else at 0 (a search game with a negligible baseline).
            Every choice is valid; the prior only changes how soon a decision comes.
    """
    p_eps = checks.open_unit("p_eps", p_eps)
    alpha = checks.open_unit("alpha", alpha)
    if prior is None:
        cert = _certifier(p_eps, alpha, 0.5 if p_eps > 0.5 else 0.0)
    elif isinstance(prior, Certifier):
        if prior.p_eps != p_eps or prior.alpha != alpha:
            raise InvalidArgument(
                f"prior is a Certifier for p_eps={prior.p_eps!r}, alpha={prior.alpha!r}, "
                f"not p_eps={p_eps!r}, alpha={alpha!r}"
            )
        cert = prior
    elif isinstance(prior, tuple) and len(prior) == 2:
        a, b = prior
        cert = Certifier(
            p_eps=p_eps,
            alpha=alpha,
            below=ConfidenceSequence(alpha=alpha, a=a, b=b, low=0.0, high=p_eps),
            above=ConfidenceSequence(alpha=alpha, a=a, b=b, low=p_eps, high=1.0),
        )
    else:
        raise InvalidArgument(f"prior={prior!r} must be None, (a, b) or a Certifier")
    return cert.decide(successes, trials)
