"""Judging an empirical check: intervals against the bound and the claims, and the verdicts.

Pure functions over records: a :class:`~proofs.plan.CheckPlan` (what was played), the
:class:`PlanEstimates` and the :class:`Family` of intervals give an
:class:`~proofs.reports.EmpiricalReport` (:func:`judge`). Nothing here plays a trial.

Advantages are compared in magnitude (:func:`magnitude`): an adversary that is reliably
wrong in a hidden-bit or real-vs-ideal game can flip its answer; in a search game only a
positive advantage counts. Verdicts:

- ``algorithm``: the lower end of |Adv_G(A)| exceeds the bound evaluated at the upper
  ends of the assumption advantages and at the resources, or a measured hop's gap
  exceeds what its justification allows (the hop is blamed);
- ``assumption:NAME``: the lower end of |Adv_H(B)| exceeds the assumption's claim;
- ``consistent``: nothing is contradicted and the interval of |Adv_G(A)| lies under the
  bound (which is below the largest possible advantage);
- ``inconclusive``: nothing is contradicted, but the interval straddles the bound or the
  bound says nothing; :func:`trials_needed` suggests the trials that would likely decide it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from proofs.model import Assumption, Proof
from proofs.plan import CheckPlan, HopPlay, Stated
from proofs.reports import AssumptionCheck, EmpiricalReport, GameKey, HopCheck

if TYPE_CHECKING:
    from games.engine import Estimate

__all__ = [
    "MAX_SUGGESTION",
    "POWER",
    "Family",
    "PlanEstimates",
    "judge",
    "lost",
    "magnitude",
    "max_advantage",
    "smallest",
    "trials_needed",
]

#: The power the trial suggestion of an inconclusive check aims for.
POWER = 0.9
#: Suggestions beyond this many trials are reported as out of reach.
MAX_SUGGESTION = 10**12


@attrs.frozen(kw_only=True)
class Family:
    """The intervals of one check, which hold together at ``level`` (Bonferroni).

    The names are those of the report's fields.

    Attributes:
        trials, seed: of every estimate.
        level: the family level.
        intervals: the number of estimates (each at :attr:`interval_level`).
        method: the interval method.
    """

    trials: int
    seed: int
    level: float
    intervals: int
    method: str

    @property
    def interval_level(self) -> float:
        """The level of each interval, ``1 − (1 − level)/intervals``."""
        return 1 - (1 - self.level) / self.intervals


@attrs.frozen(kw_only=True)
class PlanEstimates:
    """The estimates of a plan's plays.

    Attributes:
        theorem: Adv_G(A).
        assumptions: Adv_H(B) for each of the plan's assumptions, in its order.
        games: A's estimate in each game of :attr:`CheckPlan.games`, by key (G's included).
    """

    theorem: Estimate = attrs.field(eq=False)
    assumptions: tuple[Estimate, ...] = attrs.field(default=(), eq=False)
    games: Mapping[GameKey, Estimate] = attrs.field(factory=dict, eq=False)


# -- magnitudes -------------------------------------------------------------------------------


def lost(result: Estimate) -> int:
    """Trials the adversary lost to errors (raising, overspending, an invalid answer)."""
    return sum(v for k, v in result.errors.items() if k != "game-failed")


def magnitude(result: Estimate) -> tuple[float, float, float]:
    """|Adv| (or max(Adv, 0) for a search game): estimate, interval low and high.

    Flipping a reliably wrong answer turns Adv into −Adv only when every trial was
    answered: trials lost to errors are losses for the flipped adversary too, so a
    negative advantage with errors earns no credit at the lower end.
    """
    advantage = result.advantage if math.isfinite(result.advantage) else 0.0
    if result.shape == "search" or lost(result):
        return (
            max(advantage, 0.0),
            max(result.ci_low, 0.0),
            max(abs(result.ci_low), result.ci_high, 0.0),
        )
    low = max(0.0, result.ci_low, -result.ci_high)
    high = max(abs(result.ci_low), abs(result.ci_high))
    return abs(advantage), low, high


def max_advantage(result: Estimate) -> float:
    """The largest advantage the game allows: 1, or 1 − baseline for a search game."""
    return 1.0 - result.baseline if result.shape == "search" else 1.0


# -- the judgement ----------------------------------------------------------------------------


def judge(checking: CheckPlan, played: PlanEstimates, family: Family) -> EmpiricalReport:
    """Compare every interval with its bound or claim and give the verdicts."""
    proof, theorem, resources = checking.proof, played.theorem, checking.resources
    _, low_g, high_g = magnitude(theorem)
    maximum = max_advantage(theorem)
    pairs = [
        (p.assumption, r) for p, r in zip(checking.assumptions, played.assumptions, strict=True)
    ]
    upper = {a.variable: min(1.0, magnitude(r)[2]) for a, r in pairs}
    point = {a.variable: min(1.0, magnitude(r)[0]) for a, r in pairs}
    bound = proof.bound_value({**resources, **upper})
    checks = tuple(_assumption_check(a, r, resources) for a, r in pairs)
    hops = tuple(_hop_check(hop, played.games, {**resources, **upper}) for hop in checking.hops)
    verdicts, reasons = _blame(proof, theorem, low_g, bound, checks, hops)
    if lost(theorem):
        reasons.append(_lost_reason(theorem))
    needed = None
    if not verdicts:
        consistent = high_g <= bound < maximum
        needed = None if consistent else trials_needed(checking, played, family)
        verdicts = ["consistent" if consistent else "inconclusive"]
        reasons.append(_undecided(theorem, low_g, high_g, bound, maximum, consistent, needed))
    return EmpiricalReport(
        proof=proof.name,
        adversary=theorem.adversary,
        adversary_params=theorem.adversary_params,
        params=checking.params,
        overrides=checking.overrides,
        resources=resources,
        **attrs.asdict(family),
        interval_level=family.interval_level,
        theorem=theorem,
        low=low_g,
        high=high_g,
        bound_text=proof.theorem.bound.text,
        bound=bound,
        bound_at_estimates=proof.bound_value({**resources, **point}),
        max_advantage=maximum,
        assumptions=checks,
        hops=hops,
        verdicts=tuple(verdicts),
        reasons=tuple(reasons),
        trials_needed=needed,
        blamed_hops=tuple(h.index for h in hops if h.violated),
    )


def _assumption_check(
    assumption: Assumption, result: Estimate, resources: Mapping[str, Any]
) -> AssumptionCheck:
    _, low, high = magnitude(result)
    claim = assumption.claim_value(resources)
    return AssumptionCheck(
        name=assumption.name,
        game=assumption.game,
        params=result.params,
        reduction=assumption.reduction,
        claim=assumption.claim.text,
        claim_value=claim,
        estimate=result,
        low=low,
        high=high,
        violated=low > claim,
    )


def _hop_check(
    play: HopPlay, games: Mapping[GameKey, Estimate], values: Mapping[str, Any]
) -> HopCheck:
    """The hop's allowance at ``values`` and, when both ends are known, its measured gap."""
    hop = play.hop
    written: dict[str, Any] = {
        "index": hop.index,
        "source": hop.source,
        "target": hop.target,
        "by": hop.by,
    }
    allowance = hop.value(values)
    if play.source is None or play.target is None:
        return HopCheck(**written, allowance=allowance, measured=False, reason=play.reason)
    first, (a1, low1, high1) = _end(play.source, games)
    second, (a2, low2, high2) = _end(play.target, games)
    gap_low = max(0.0, low2 - high1, low1 - high2)
    return HopCheck(
        **written,
        allowance=allowance,
        measured=True,
        source_estimate=first,
        target_estimate=second,
        gap=abs(a2 - a1),
        gap_low=gap_low,
        gap_high=max(abs(high2 - low1), abs(high1 - low2)),
        violated=gap_low > allowance,
    )


def _end(
    end: GameKey | Stated, games: Mapping[GameKey, Estimate]
) -> tuple[Estimate | None, tuple[float, float, float]]:
    """A hop end's estimate (None for a stated advantage) and its advantage, low and high."""
    if isinstance(end, Stated):
        return None, (end.value, end.value, end.value)
    result = games[end]
    return result, (result.advantage, result.ci_low, result.ci_high)


def _blame(
    proof: Proof,
    theorem: Estimate,
    low_g: float,
    bound: float,
    checks: tuple[AssumptionCheck, ...],
    hops: tuple[HopCheck, ...],
) -> tuple[list[str], list[str]]:
    """The ``algorithm`` and ``assumption:NAME`` verdicts, with their reasons."""
    verdicts: list[str] = []
    reasons: list[str] = []
    blamed = [hop for hop in hops if hop.violated]
    if low_g > bound or blamed:
        verdicts.append("algorithm")
        if low_g > bound:
            reasons.append(
                f"|Adv_{theorem.game}(A)| ≥ {low_g:.4f} exceeds the bound {proof.theorem.bound.text} "
                f"= {bound:.4g} at the upper ends of the assumption advantages: no reading of the "
                "assumptions explains A's success; the scheme, its implementation or the proof is "
                "wrong."
            )
        for hop in blamed:
            reasons.append(
                f"{hop.label}: the measured gap is at least {hop.gap_low:.4f}, more "
                f"than its justification [{hop.by}] allows ({hop.allowance:.4g})."
            )
        if not blamed and any(not hop.measured for hop in hops):
            costs = ", ".join(f"hop {h.index} ≤ {h.allowance:.4g}" for h in hops)
            reasons.append(
                f"No hop could be measured (their games are not playable), so none is named; at "
                f"the measured values the chain allows {costs}, in all "
                f"{sum(h.allowance for h in hops):.4g}."
            )
    for check in checks:
        if check.violated:
            verdicts.append(f"assumption:{check.name}")
            reasons.append(
                f"|Adv_{check.game}(B_{check.name})| ≥ {check.low:.4f} exceeds the claim "
                f"{check.claim} = {check.claim_value:.4g}: the assumption {check.name} does not "
                f"hold for the B that {check.reduction} builds from A."
            )
    return verdicts, reasons


def _lost_reason(theorem: Estimate) -> str:
    return (
        f"A lost {lost(theorem)} of {theorem.trials} trials of the theorem's game to errors: they "
        "count as losses, and a negative advantage is not credited as a flipped one."
    )


def _undecided(
    theorem: Estimate,
    low_g: float,
    high_g: float,
    bound: float,
    maximum: float,
    consistent: bool,
    needed: int | None,
) -> str:
    """The reason for ``consistent``, or for ``inconclusive`` with the trials that would decide."""
    if consistent:
        return (
            f"|Adv_{theorem.game}(A)| ≤ {high_g:.4f}, within the bound {bound:.4g} at the upper "
            "ends of the assumption advantages, and no assumption's interval exceeds its claim."
        )
    if bound >= maximum:
        why = (
            f"the bound at the upper ends is {bound:.4g}, at least the largest advantage "
            f"{maximum:.4g}: these trials cannot test it"
        )
    else:
        why = (
            f"the interval of |Adv_{theorem.game}(A)|, [{low_g:.4f}, {high_g:.4f}], "
            f"straddles the bound {bound:.4g}"
        )
    if needed is None:
        how = "no number of trials would decide it at the current estimates"
    else:
        how = (
            f"about {needed} trials would likely decide it (normal approximation "
            f"from the current estimates, {POWER:.0%} power)"
        )
    return f"Nothing is contradicted, but {why}; {how}."


# -- the trials that would decide -------------------------------------------------------------


def trials_needed(checking: CheckPlan, played: PlanEstimates, family: Family) -> int | None:
    """Trials at which the theorem's interval would likely clear the bound, one way or the other.

    Every interval is projected as the current estimate ± (its half-width + z_power·σ)/√n,
    from the current counts; the suggestion is the smallest n at which the projection
    decides, or None when none would (up to :data:`MAX_SUGGESTION`).
    """
    from scipy import special

    z_power = float(special.ndtri(POWER))
    proof, resources, theorem = checking.proof, checking.resources, played.theorem
    maximum = max_advantage(theorem)

    def spread(result: Estimate) -> float:
        half, sd = _spreads(result, family.interval_level)
        return half + z_power * sd

    value_g = magnitude(theorem)[0]
    spread_g = spread(theorem)
    sides = [
        (p.assumption.variable, min(1.0, magnitude(r)[0]), spread(r))
        for p, r in zip(checking.assumptions, played.assumptions, strict=True)
    ]

    def bound_at(n: int) -> float:
        values = {name: min(1.0, value + width / math.sqrt(n)) for name, value, width in sides}
        return proof.bound_value({**resources, **values})

    at_estimates = proof.bound_value({**resources, **{name: value for name, value, _ in sides}})
    if value_g > at_estimates:

        def decided(n: int) -> bool:
            return value_g - spread_g / math.sqrt(n) > bound_at(n)

    elif at_estimates < maximum:

        def decided(n: int) -> bool:
            bound = bound_at(n)
            return value_g + spread_g / math.sqrt(n) <= bound < maximum

    else:
        return None
    return smallest(decided, family.trials + 1)


def _spreads(result: Estimate, each: float) -> tuple[float, float]:
    """The advantage's half-width at level ``each`` and its standard deviation, times sqrt(trials).

    A normal approximation from the current counts, shaped like the engine's intervals: a
    real-vs-ideal game plays half its trials in each world, and its Bonferroni interval adds
    the two worlds' half-widths (each at level 1 − α/2).
    """

    def deviation(ones: int, n: int) -> float:
        p = (ones + 0.5) / (n + 1)  # kept off 0 and 1 so that a perfect run still has a spread
        return math.sqrt(p * (1 - p))

    from scipy import special

    alpha = 1 - each
    if result.shape == "real-vs-ideal" and result.worlds:
        (rn, r1), (i_n, i1) = result.worlds["real"], result.worlds["ideal"]
        real, ideal = deviation(r1, rn) * math.sqrt(2), deviation(i1, i_n) * math.sqrt(2)
        sd = math.hypot(real, ideal)
        if result.method.startswith("bonferroni"):
            return float(special.ndtri(1 - alpha / 4)) * (real + ideal), sd
        return float(special.ndtri(1 - alpha / 2)) * sd, sd
    sd = deviation(result.wins, result.trials) * (2 if result.shape == "hidden-bit" else 1)
    return float(special.ndtri(1 - alpha / 2)) * sd, sd


def smallest(predicate: Callable[[int], bool], start: int) -> int | None:
    """The smallest n ≥ start for which the (monotone) predicate holds, or None past the cap."""
    if predicate(start):
        return start
    low, high = start, max(2 * start, start + 1)
    while not predicate(high):
        low, high = high, 2 * high
        if high > MAX_SUGGESTION:
            return None
    while high - low > 1:
        middle = (low + high) // 2
        if predicate(middle):
            high = middle
        else:
            low = middle
    return high
