"""Certify "advantage ≤ eps" with as few trials as the evidence allows.

:func:`certify` plays trials through the engine's machinery (the same per-trial seeds as
:func:`games.estimate`, the same backends) in growing waves and, after every trial, asks an
anytime-valid confidence sequence (:mod:`games.sequential`) whether the adversary's win
probability is below or above the boundary that ``eps`` maps to. It stops at the first trial
where it is decided: whenever a run stops, the chance that its decision is wrong is at most
``alpha``, whatever the true advantage.

How each shape maps to one win probability:

- hidden bit: the boundary is ``(1 + eps)/2``;
- search: the boundary is ``baseline + eps``;
- real vs ideal, by balanced worlds: the engine plays the real world on even trials and the
  ideal world on odd ones, and a trial is won when the adversary names its world. Over a
  pair of trials (one of each) the mean win rate is
  ``(Pr[A→1 | real] + 1 − Pr[A→1 | ideal]) / 2 = (1 + advantage)/2``, so the hidden-bit
  boundary applies. Trials within a pair are not identically distributed, but the mixture
  martingale of :mod:`games.sequential` multiplied over a whole pair still has expectation
  at most 1 at the mean (the two factors are ``1 + d·k`` and ``1 − d·k``, or both on the same
  side of 1 for the one-sided tests), so the decision is checked only after complete pairs
  (after odd-numbered trials) and keeps its guarantee there.

Trials whose challenger side failed are left out of the counts, as in :func:`games.estimate`.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Mapping
from numbers import Integral
from typing import Any

import attrs
import numpy as np

from games import sequential
from games.base import Game, ReportsResources
from games.engine import (
    Tally,
    check_run,
    chunks,
    default_chunk,
    plain,
    play_chunk,
    use_batched,
    with_device,
)
from games.sequential import Certifier, Decision
from games.stats import _check_open_unit
from oracles import InvalidArgument

__all__ = ["Certificate", "certify", "play_outcomes"]

METHOD = "beta-mixture confidence sequence"


@attrs.frozen(kw_only=True)
class Certificate:
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
            sequence shrinking needs; real-vs-ideal: after complete pairs only).
    """

    game: str
    params: Mapping[str, Any]
    adversary: str
    adversary_params: Mapping[str, Any]
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
        rate = self.wins / self.trials
        return rate - self.baseline if self.shape == "search" else 2 * rate - 1

    @property
    def decided(self) -> bool:
        return self.decision != "undecided"

    def to_json(self) -> dict[str, Any]:
        """The fields as plain JSON values (the `--json` output of `advantage certify`)."""
        return {
            "game": self.game,
            "adversary": self.adversary,
            "params": plain(self.params),
            "adversary_params": plain(self.adversary_params),
            "shape": self.shape,
            "decision": self.decision,
            "trials": self.trials,
            "wins": self.wins,
            "played": self.played,
            "max_trials": self.max_trials,
            "advantage": self.advantage,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "win_low": self.win_low,
            "win_high": self.win_high,
            "eps": self.eps,
            "alpha": self.alpha,
            "p_eps": self.p_eps,
            "baseline": self.baseline,
            "seed": self.seed,
            "method": self.method,
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
            "first_error": self.first_error,
            "seconds": self.seconds,
            "path": self.path,
            "resources": plain(self.resources),
            "sequence": [list(point) for point in self.sequence],
        }

    def __str__(self) -> str:
        verdict = {
            "below": f"advantage ≤ {self.eps:g}",
            "above": f"advantage > {self.eps:g}",
            "undecided": f"undecided about eps = {self.eps:g}",
        }[self.decision]
        return (
            f"{self.adversary} vs {self.game}: {verdict} after {self.trials} trials "
            f"(advantage in [{self.ci_low:+.4f}, {self.ci_high:+.4f}], each end anytime-valid at "
            f"{1 - self.alpha:.0%}; {self.method}, alpha {self.alpha:g}, seed {self.seed})"
        )


# -- playing with per-trial outcomes -------------------------------------------------------


@attrs.define
class _Recorder:
    """Game and adversary in one, passing everything through to the real ones and keeping
    what the engine's batched chunk does not return: the hidden values, the answers and the
    per-trial wins of a search game."""

    game: Any
    adversary: Any
    hidden: Any = None
    challenge: Any = None
    answers: Any = None
    found: Any = None

    @property
    def shape(self) -> str:
        return self.game.shape

    def setup_batch(self, arg: Any, rng: np.random.Generator) -> Any:
        self.hidden = arg
        self.challenge = self.game.setup_batch(arg, rng)
        return self.challenge

    def finalize_batch(self, challenge: Any, answers: Any) -> np.ndarray:
        self.found = np.asarray(self.game.finalize_batch(challenge, answers), bool)
        return self.found

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> Any:
        self.answers = self.adversary.batch(oracles, rng, size)
        return self.answers


def play_outcomes(
    game: Game, adversary: Any, seed: int, start: int, stop: int, batched: bool
) -> tuple[Tally, np.ndarray]:
    """Play trials ``[start, stop)`` like :func:`games.engine.play_chunk`, and also return each
    trial's outcome: 1 won, 0 lost, −1 left out (the challenger failed).

    The trials are the engine's own: per-trial chunks are played one trial at a time with
    ``play_chunk``, batched chunks as one batch, whose wins are read back from the answers.
    """
    if batched:
        return _batch_outcomes(game, adversary, seed, start, stop)
    clock = time.perf_counter()
    outcomes = np.empty(stop - start, np.int8)
    wins = real_n = real_1 = ideal_n = ideal_1 = 0
    queries: dict[str, int] = {}
    errors: dict[str, int] = {}
    first: tuple[int, str] | None = None
    for index in range(start, stop):
        one = play_chunk(game, adversary, seed, index, index + 1, False)
        outcomes[index - start] = one.wins if one.trials else -1
        wins += one.wins
        real_n, real_1 = real_n + one.real[0], real_1 + one.real[1]
        ideal_n, ideal_1 = ideal_n + one.ideal[0], ideal_1 + one.ideal[1]
        for name, count in one.queries.items():
            queries[name] = queries.get(name, 0) + count
        for kind, count in one.errors.items():
            errors[kind] = errors.get(kind, 0) + count
        if first is None and one.first_error is not None:
            first = one.first_error
    tally = Tally(
        ranges=((start, stop),),
        trials=int((outcomes >= 0).sum()),
        wins=wins,
        real=(real_n, real_1),
        ideal=(ideal_n, ideal_1),
        queries=queries,
        errors=errors,
        first_error=first,
        seconds=time.perf_counter() - clock,
    )
    return tally, outcomes


def _batch_outcomes(
    game: Game, adversary: Any, seed: int, start: int, stop: int
) -> tuple[Tally, np.ndarray]:
    size = stop - start
    recorder = _Recorder(game, adversary)
    tally = play_chunk(recorder, recorder, seed, start, stop, True)  # type: ignore[arg-type]
    # On the batched path an adversary that raises or overspends loses every trial of the
    # batch; otherwise the wins are what the engine computed from the same values.
    everyone_lost = bool(tally.errors.get("exception") or tally.errors.get("budget"))
    win = np.zeros(size, bool)
    if not everyone_lost:
        if game.shape == "search":
            if recorder.found is not None:
                win = recorder.found
        elif recorder.answers is not None and np.shape(recorder.answers) == (size,):
            answers = np.asarray(recorder.answers)
            win = ((answers == 0) | (answers == 1)) & (answers == recorder.hidden)
    failed = getattr(recorder.challenge, "failed", None)
    failed = np.zeros(size, bool) if failed is None else np.asarray(failed, bool)
    outcomes = np.where(failed, -1, win.astype(np.int8)).astype(np.int8)
    if int((outcomes == 1).sum()) != tally.wins or int((outcomes >= 0).sum()) != tally.trials:
        raise RuntimeError(
            f"trials {start}-{stop - 1}: the per-trial wins read back ({int((outcomes == 1).sum())}) "
            f"disagree with the engine's count ({tally.wins})"
        )
    return tally, outcomes


# -- deciding -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _thresholds(cert: Certifier, low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    """``(most_below, least_above)`` for trial counts ``low … high`` (cached: many runs of one
    certifier ask for the same ranges)."""
    return cert._thresholds(np.arange(low, high + 1, dtype=np.int64))


def _first_decision(
    cert: Certifier, outcomes: np.ndarray, start: int, wins: int, trials: int, pairs: bool
) -> tuple[int | None, int, int, Decision]:
    """The first trial of the wave at which the run is decided.

    Returns:
        ``(offset in the wave or None, wins, trials, decision)`` at that trial, or at the end
        of the wave when it is not decided.
    """
    kept = outcomes >= 0
    s = wins + np.cumsum(outcomes == 1)
    n = trials + np.cumsum(kept)
    check = n >= 1
    if pairs:  # real vs ideal: only after a complete (real, ideal) pair
        check &= np.arange(start, start + outcomes.size) % 2 == 1
    at = np.flatnonzero(check)
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
    outcomes: np.ndarray, start: int, wins: int, trials: int, pairs: bool, grid: np.ndarray
) -> list[tuple[int, int]]:
    """``(trials, wins)`` of a wave at the first trial reaching each count in ``grid``."""
    s = wins + np.cumsum(outcomes == 1)
    n = trials + np.cumsum(outcomes >= 0)
    ok = n >= 1
    if pairs:
        ok &= np.arange(start, start + outcomes.size) % 2 == 1
    s, n = s[ok], n[ok]
    if not n.size:
        return []
    wanted = grid[(grid > trials) & (grid <= n[-1])]
    return [(int(n[i]), int(s[i])) for i in np.unique(np.searchsorted(n, wanted))]


def _sequence(
    cert: Certifier, counts: list[tuple[int, int]], shape: str, baseline: float
) -> tuple[tuple[int, float, float], ...]:
    out = []
    for trials, wins in dict(counts).items():  # one point per trial count, the last kept
        low, high = cert.bounds(wins, trials)
        if shape == "search":
            out.append((trials, low - baseline, high - baseline))
        else:
            out.append((trials, 2 * low - 1, 2 * high - 1))
    return tuple(out)


def _check_eps_alpha(eps: Any, alpha: Any) -> tuple[float, float]:
    return _check_open_unit(eps, "eps"), _check_open_unit(alpha, "alpha")


def certify(
    game: Game,
    adversary: Callable[..., Any],
    *,
    eps: float,
    alpha: float = 0.05,
    max_trials: int = 100_000,
    seed: int,
    batched: bool | None = None,
    chunk_size: int | None = None,
    backend: str = "serial",
    workers: int | None = None,
    address: str | None = None,
    isolate: bool = False,
    device: str | None = None,
    progress: Callable[[Certificate], None] | None = None,
) -> Certificate:
    """Play trials until an anytime-valid confidence sequence decides whether the adversary's
    advantage is at most ``eps``, or ``max_trials`` is reached.

    Args:
        eps: the advantage to certify against, in (0, 1).
        alpha: the chance of a wrong decision (``below`` when the advantage is above ``eps``, or
            ``above`` when it is at most ``eps``), whenever the run stops; in (0, 1).
        max_trials: the most trials to play; the run ends ``undecided`` there.
        seed: trial *i* is trial *i* of :func:`games.estimate` with this seed (on the batched
            path: for the same chunk size).
        batched, chunk_size, backend, workers, address, isolate, device: as for
            :func:`games.estimate`.
        progress: called with the certificate so far after each wave of trials.

    Returns:
        A :class:`Certificate`.
    """
    from games.backends import run_chunks
    from games.runlog import spec_of

    eps, alpha = _check_eps_alpha(eps, alpha)
    if isinstance(max_trials, bool) or not isinstance(max_trials, Integral) or max_trials <= 0:
        raise InvalidArgument(f"max_trials={max_trials!r} must be a positive integer")
    max_trials = int(max_trials)
    check_run(max_trials, seed, 0.95, "clopper-pearson")
    if chunk_size is not None and (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size <= 0
    ):
        raise InvalidArgument(f"chunk_size={chunk_size!r} must be a positive integer")
    game = with_device(game, device)
    shape = game.shape
    baseline = float(game.baseline)
    if shape == "search":
        cert = sequential.certifier(eps, alpha=alpha, shape="search", baseline=baseline)
    else:
        cert = sequential.certifier(eps, alpha=alpha, shape="hidden-bit")
    if isolate:
        if batched:
            raise InvalidArgument(
                "isolate=True plays trial by trial; it cannot take the batched path"
            )
        batched = False
    path = use_batched(game, adversary, batched)
    unit = chunk_size or default_chunk(game, path, max_trials)
    spec = spec_of(game, adversary, trials=max_trials, seed=seed, batched=path, chunk_size=unit)
    pairs = shape == "real-vs-ideal"
    player: Any = adversary
    if isolate:
        from games.isolation import Isolated

        player = Isolated(adversary)

    clock = time.perf_counter()
    total = Tally(ranges=())
    wins = trials = 0
    decision: Decision = "undecided"
    at = 0
    wave = unit if path else 64
    grid = np.unique(np.geomspace(1, max_trials, _SEQUENCE_POINTS).round().astype(np.int64))
    counts: list[tuple[int, int]] = []

    def certificate() -> Certificate:
        return _certificate(
            spec,
            cert,
            decision,
            wins,
            trials,
            total,
            max_trials,
            eps,
            baseline,
            time.perf_counter() - clock,
            path,
        )

    try:
        while at < max_trials and decision == "undecided":
            stop = min(max_trials, at + wave)
            work = list(
                chunks([(at, stop)], unit if path or backend != "serial" else stop - at, path)
            )
            played = sorted(
                run_chunks(
                    play_outcomes,
                    game,
                    player,
                    seed,
                    work,
                    path,
                    backend=backend,
                    workers=workers,
                    address=address,
                ),
                key=lambda item: item[0].ranges[0][0],
            )
            outcomes = np.concatenate([o for _, o in played])
            for tally, _ in played:
                total = total + tally
            before = (wins, trials)
            offset, wins, trials, decision = _first_decision(
                cert, outcomes, at, wins, trials, pairs
            )
            reached = outcomes if offset is None else outcomes[: offset + 1]
            counts += _sampled(reached, at, *before, pairs, grid)
            at = stop
            wave = min(2 * wave, max(unit, 1 << 14))
            if progress is not None:
                progress(certificate())
    finally:
        if isolate:
            player.close()
    result = certificate()
    if trials:
        counts.append((trials, wins))
    result = attrs.evolve(result, sequence=_sequence(cert, counts, shape, baseline))
    if isinstance(adversary, ReportsResources):
        result = attrs.evolve(result, resources=dict(adversary.resources(game)))
    return result


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
    shape = spec["shape"]
    low, high = cert.bounds(wins, trials) if trials else (0.0, 1.0)
    ci = (low - baseline, high - baseline) if shape == "search" else (2 * low - 1, 2 * high - 1)
    method = METHOD + (", balanced worlds" if shape == "real-vs-ideal" else "")
    return Certificate(
        game=spec["game"],
        params=spec["params"],
        adversary=spec["adversary"],
        adversary_params=spec["adversary_params"],
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
        seed=int(spec["seed"]),
        method=method,
        errors=dict(total.errors),
        first_error=total.first_error[1] if total.first_error else None,
        seconds=seconds,
        path="batch" if path else "trial",
    )
