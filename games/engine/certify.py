"""Certify "advantage ≤ eps" with as few trials as the evidence allows.

:func:`certify` plays trials on the engine's one loop (the same per-trial seeds as
:func:`games.estimate`, the same backends) and, after every trial, asks an anytime-valid
confidence sequence (:mod:`games.stats.sequential`) whether the adversary's win probability
is below or above the boundary that ``eps`` maps to. It stops at the first trial where it is
decided (chunks already in play finish, and count as played): whenever a run stops, the
chance that its decision is wrong is at most ``alpha``, whatever the true advantage.

How each shape maps to one win probability:

- hidden bit: the boundary is ``(1 + eps)/2``;
- search: the boundary is ``baseline + eps``;
- real vs ideal: each trial's world is drawn uniformly from the challenger's coins, and a
  trial is won when the adversary names its world, so the win probability of every trial
  is ``(Pr[A→1 | real] + 1 − Pr[A→1 | ideal]) / 2 = (1 + advantage)/2`` and the hidden-bit
  boundary applies.

Trials whose challenger side failed are counted as in :func:`games.estimate` (left out, or
the adversary's loss when an oracle failed while answering).
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, Unpack

import attrs
import numpy as np

from games.base import Game, ReportsResources
from games.engine.options import RunKeywords, RunOptions
from games.engine.records import Played, Tally, as_json
from games.engine.runlog import played, spec_of
from games.engine.runs import check_run, default_chunk, play, use_batched, with_device
from games.engine.seeds import fresh_seed
from games.stats import sequential
from games.stats.intervals import percent
from games.stats.sequential import Certifier, Decision
from games.stats.shapes import shape_of
from oracles import checks

__all__ = ["Certificate", "certify"]

METHOD = "beta-mixture confidence sequence"


@attrs.frozen(kw_only=True)
class Certificate(Played):
    """What :func:`certify` decided, on how many trials, and the interval it rests on.

    Attributes:
        decision: ``below`` (advantage ≤ eps), ``above`` (advantage > eps) or ``undecided``
            (``max_trials`` reached first).
        trials, wins: the trials the decision rests on (the stopping point) and the wins among
            them. ``played`` counts every trial played, which can be more: a wave of trials is
            finished once started.
        win_low, win_high: anytime-valid bounds on the win probability; each end holds at
            ``1 − alpha`` on its own (``1 − 2·alpha`` jointly). The decision is ``below``
            exactly when ``win_high ≤ p_eps`` and ``above`` when ``win_low > p_eps``.
        ci_low, ci_high: the same bounds mapped to the advantage.
        p_eps: the win probability at advantage ``eps`` (the boundary).
        errors: trials the adversary lost by failing, by kind, over the trials played.
        sequence: the confidence sequence up to the stopping point, as
            ``(trials, ci_low, ci_high)`` on the advantage scale at about a hundred trial
            counts spaced evenly on a log scale, the stopping point last (what a plot of the
            sequence shrinking needs).
    """

    shape: str
    decision: Decision
    trials: int
    wins: int
    played: int
    max_trials: int
    eps: float
    alpha: float
    p_eps: float
    baseline: float
    win_low: float
    win_high: float
    ci_low: float
    ci_high: float
    seed: int
    method: str = METHOD
    errors: Mapping[str, int] = attrs.field(factory=dict)
    first_error: str | None = None
    seconds: float = 0.0
    path: str = "trial"
    resources: Mapping[str, Any] = attrs.field(factory=dict)
    sequence: tuple[tuple[int, float, float], ...] = ()

    @property
    def advantage(self) -> float:
        """The point estimate of the advantage at the stopping point (nan before any trial)."""
        if not self.trials:
            return math.nan
        return shape_of(self.shape).advantage(self.wins / self.trials, self.baseline)

    @property
    def decided(self) -> bool:
        return self.decision != "undecided"

    def to_json(self) -> dict[str, Any]:
        """The fields as plain JSON values (the `--json` output of `advantage certify`)."""
        return as_json(
            self,
            advantage=self.advantage,
            errors=sum(self.errors.values()),
            error_kinds=self.errors,
        )

    def __str__(self) -> str:
        verdict = {
            "below": f"advantage ≤ {self.eps:g}",
            "above": f"advantage > {self.eps:g}",
            "undecided": f"undecided about eps = {self.eps:g}",
        }[self.decision]
        return (
            f"{self.adversary} vs {self.game}: {verdict} after {self.trials} trials "
            f"(advantage in [{self.ci_low:+.4f}, {self.ci_high:+.4f}], each end anytime-valid at "
            f"{percent(1 - self.alpha)}; {self.method}, alpha {self.alpha:g}, seed {self.seed})"
        )


# -- deciding -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _thresholds(cert: Certifier, low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    """``(most_below, least_above)`` for trial counts ``low … high`` (cached: many runs of one
    certifier ask for the same ranges)."""
    return cert._thresholds(np.arange(low, high + 1, dtype=np.int64))


def _first_decision(
    cert: Certifier, outcomes: np.ndarray, wins: int, trials: int
) -> tuple[int | None, int, int, Decision]:
    """The first trial of the wave at which the run is decided.

    Returns:
        ``(offset in the wave or None, wins, trials, decision)`` at that trial, or at the end
        of the wave when it is not decided.
    """
    kept = outcomes >= 0
    s = wins + np.cumsum(outcomes == 1)
    n = trials + np.cumsum(kept)
    at = np.flatnonzero(n >= 1)
    if at.size:
        low, high = int(n[at].min()), int(n[at].max())
        most_below, least_above = _thresholds(cert, low, high)
        below = s[at] <= most_below[n[at] - low]
        above = s[at] >= least_above[n[at] - low]
        hit = below | above
        if hit.any():
            k = int(np.argmax(hit))
            i = int(at[k])
            return i, int(s[i]), int(n[i]), "below" if below[k] else "above"
    return None, int(s[-1]), int(n[-1]), "undecided"


#: About this many points of the confidence sequence are kept for :attr:`Certificate.sequence`.
_SEQUENCE_POINTS = 100


def _sampled(
    outcomes: np.ndarray, wins: int, trials: int, grid: np.ndarray
) -> list[tuple[int, int]]:
    """``(trials, wins)`` of a wave at the first trial reaching each count in ``grid``."""
    s = wins + np.cumsum(outcomes == 1)
    n = trials + np.cumsum(outcomes >= 0)
    ok = n >= 1
    s, n = s[ok], n[ok]
    if not n.size:
        return []
    wanted = grid[(grid > trials) & (grid <= n[-1])]
    return [(int(n[i]), int(s[i])) for i in np.unique(np.searchsorted(n, wanted))]


def _sequence(
    cert: Certifier, counts: list[tuple[int, int]], shape: str, baseline: float
) -> tuple[tuple[int, float, float], ...]:
    kind = shape_of(shape)
    out = []
    for trials, wins in dict(counts).items():  # one point per trial count, the last kept
        low, high = cert.bounds(wins, trials)
        out.append((trials, kind.advantage(low, baseline), kind.advantage(high, baseline)))
    return tuple(out)


def certify(
    game: Game,
    adversary: Callable[..., Any],
    *,
    eps: float,
    alpha: float = 0.05,
    max_trials: int = 100_000,
    seed: int | None = None,
    progress: Callable[[Certificate], None] | None = None,
    **run: Unpack[RunKeywords],
) -> Certificate:
    """Play trials until an anytime-valid confidence sequence decides whether the adversary's
    advantage is at most ``eps``, or ``max_trials`` is reached.

    Args:
        eps: the advantage to certify against, in (0, 1).
        alpha: the chance of a wrong decision (``below`` when the advantage is above ``eps``, or
            ``above`` when it is at most ``eps``), whenever the run stops; in (0, 1).
        max_trials: the most trials to play; the run ends ``undecided`` there.
        seed: trial *i* is trial *i* of :func:`games.estimate` with this seed (on the batched
            path: for the same chunk size); None draws a 128-bit seed.
        batched, chunk_size, backend, workers, address, isolate, device, trial_timeout: as
            for :func:`games.estimate`.
        progress: called with the certificate so far after each wave of trials.

    Returns:
        A :class:`Certificate`.
    """
    options = RunOptions(**run)
    eps, alpha = checks.open_unit("eps", eps), checks.open_unit("alpha", alpha)
    max_trials = checks.positive("max_trials", max_trials)
    seed = fresh_seed() if seed is None else seed
    check_run(max_trials, seed, 0.95, "clopper-pearson")
    game = with_device(game, options.device)
    baseline = float(game.baseline)
    cert = sequential.certifier(eps, alpha=alpha, shape=game.shape, baseline=baseline)
    path = use_batched(game, adversary, False if options.isolate else options.batched)
    # Per trial on one core, small chunks: the decision may come within a few dozen trials.
    small = not path and options.backend == "serial"
    unit = options.chunk_size or (64 if small else default_chunk(game, path, max_trials))
    spec = spec_of(game, adversary, trials=max_trials, seed=seed, batched=path, chunk_size=unit)

    clock = time.perf_counter()
    total = Tally(ranges=())
    reading = _Reading(cert, max_trials)

    def certificate() -> Certificate:
        return _certificate(
            spec, cert, reading.decision, reading.wins, reading.trials, total, max_trials, eps,
            baseline, time.perf_counter() - clock, path,
        )  # fmt: skip

    chunks: Any = play(
        game, adversary, seed, [(0, max_trials)], options=attrs.evolve(options, chunk_size=unit),
        batched=path, collect="outcomes",
    )  # fmt: skip
    with contextlib.closing(chunks):
        for tally, outcomes in chunks:
            total = total + tally
            reading.add(tally, outcomes)
            if progress is not None:
                progress(certificate())
            if reading.decision != "undecided":
                break
    result = attrs.evolve(certificate(), sequence=reading.sequence(game.shape, baseline))
    if isinstance(adversary, ReportsResources):
        result = attrs.evolve(result, resources=dict(adversary.resources(game)))
    return result


@attrs.define
class _Reading:
    """Reads chunks' outcomes in trial order, however they finish, up to the first trial at
    which the confidence sequence decides; keeps the sequence's points on a log grid."""

    cert: Certifier
    max_trials: int
    wins: int = 0
    trials: int = 0
    at: int = 0
    decision: Decision = "undecided"
    waiting: dict[int, tuple[Tally, np.ndarray]] = attrs.field(factory=dict)
    counts: list[tuple[int, int]] = attrs.field(factory=list)

    def add(self, tally: Tally, outcomes: np.ndarray) -> None:
        self.waiting[tally.ranges[0][0]] = (tally, outcomes)
        grid = np.unique(
            np.geomspace(1, self.max_trials, _SEQUENCE_POINTS).round().astype(np.int64)
        )
        while self.at in self.waiting and self.decision == "undecided":
            done, each = self.waiting.pop(self.at)
            before = (self.wins, self.trials)
            offset, self.wins, self.trials, self.decision = _first_decision(
                self.cert, each, self.wins, self.trials
            )
            self.counts += _sampled(each if offset is None else each[: offset + 1], *before, grid)
            self.at = done.ranges[0][1]

    def sequence(self, shape: str, baseline: float) -> tuple[tuple[int, float, float], ...]:
        counts = self.counts + ([(self.trials, self.wins)] if self.trials else [])
        return _sequence(self.cert, counts, shape, baseline)


def _certificate(
    spec: Mapping[str, Any],
    cert: Certifier,
    decision: Decision,
    wins: int,
    trials: int,
    total: Tally,
    max_trials: int,
    eps: float,
    baseline: float,
    seconds: float,
    path: bool,
) -> Certificate:
    shape = shape_of(spec["shape"])
    low, high = cert.bounds(wins, trials) if trials else (0.0, 1.0)
    ci = (shape.advantage(low, baseline), shape.advantage(high, baseline))
    method = METHOD
    return Certificate(
        **played(spec),
        shape=shape,
        decision=decision,
        trials=trials,
        wins=wins,
        played=sum(b - a for a, b in total.ranges),
        max_trials=max_trials,
        eps=eps,
        alpha=cert.alpha,
        p_eps=cert.p_eps,
        baseline=baseline,
        win_low=low,
        win_high=high,
        ci_low=ci[0],
        ci_high=ci[1],
        method=method,
        errors=dict(total.errors),
        first_error=total.first_error[1] if total.first_error else None,
        seconds=seconds,
        path="batch" if path else "trial",
    )
