"""One attack across the jailbreak game's behaviours: an interval per behaviour, and one
stratified across them.

A defense is rarely equally strong against every behaviour (leaking the system prompt's
secret, writing a forbidden recipe), and pooling their trials would let the easier one hide
the harder. :func:`across_behaviours` plays the game once per behaviour, on its own trials
and from its own seed (derived from the run's by a one-way step, as a sweep derives its
points'), and reports each estimate with its interval next to the weighted mean of the
behaviours' advantages with a stratified interval (:func:`games.stats.stratified_interval`:
valid whatever the per-behaviour rates).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from games.engine.records import Estimate
from games.engine.runs import estimate
from games.engine.seeds import derive, fresh_seed
from games.lm.jailbreak import BEHAVIOURS, Jailbreak
from games.stats import stratified_interval
from oracles import InvalidArgument

__all__ = ["Stratified", "across_behaviours"]


@attrs.frozen(kw_only=True)
class Stratified:
    """Each behaviour's estimate, and the weighted advantage across them with its interval.

    Attributes:
        estimates: behaviour → its :class:`~games.Estimate` (its own trials and interval).
        weights: behaviour → its share of the mean (they sum to 1).
        advantage, ci_low, ci_high: the weighted mean of the behaviours' advantages and its
            stratified interval at ``level`` (Bonferroni over the behaviours).
    """

    estimates: Mapping[str, Estimate]
    weights: Mapping[str, float]
    advantage: float
    ci_low: float
    ci_high: float
    level: float

    def to_json(self) -> dict[str, Any]:
        return {
            "estimates": {b: e.to_json() for b, e in self.estimates.items()},
            "weights": dict(self.weights),
            "advantage": self.advantage,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "level": self.level,
        }


def across_behaviours(
    adversary: Callable[..., Any],
    *,
    trials: int,
    seed: int | None = None,
    behaviours: Sequence[str] = BEHAVIOURS,
    weights: Sequence[float] | None = None,
    level: float = 0.95,
    **params: Any,
) -> Stratified:
    """Play ``jailbreak`` (with ``params``) once per behaviour against ``adversary``.

    Each behaviour gets ``trials`` trials from a seed of its own, derived from ``seed``; the
    game's baseline is 0, so each advantage is a win rate and the stratified interval
    applies to their weighted mean.
    """
    chosen = list(behaviours)
    unknown = [b for b in chosen if b not in BEHAVIOURS]
    if not chosen or unknown or len(set(chosen)) != len(chosen):
        raise InvalidArgument(
            f"behaviours={chosen!r} must be distinct names among: {', '.join(BEHAVIOURS)}"
        )
    if "behaviour" in params:
        raise InvalidArgument("behaviour is what varies here: give behaviours=[...] instead")
    # Everything is checked before the first trial: the games, the weights and the level.
    games = {b: Jailbreak(behaviour=b, **params) for b in chosen}
    stratified_interval([0] * len(chosen), [1] * len(chosen), weights, level)
    seed = fresh_seed() if seed is None else seed
    estimates = {
        b: estimate(game, adversary, trials=trials, seed=derive(seed, b"behaviour", i))
        for i, (b, game) in enumerate(games.items())
    }
    played = [estimates[b] for b in chosen]
    empty = [b for b, e in estimates.items() if e.trials == 0]
    if empty:  # every trial of the behaviour failed on the challenger's side
        raise InvalidArgument(f"no trial of {', '.join(empty)} was played to the end")
    rate, low, high = stratified_interval(
        [e.wins for e in played], [e.trials for e in played], weights, level
    )
    given = [1.0] * len(chosen) if weights is None else [float(w) for w in weights]
    shares = [w / sum(given) for w in given]
    return Stratified(
        estimates=estimates,
        weights=dict(zip(chosen, shares, strict=True)),
        advantage=rate,
        ci_low=low,
        ci_high=high,
        level=level,
    )
