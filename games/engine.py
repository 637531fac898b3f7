"""The engine: plays a game many times and estimates the adversary's advantage.

Seed contract (see :mod:`games.seeds`): trial *i* of seed *s* draws the challenger's coins
and the adversary's from two streams keyed by a pseudorandom function of (*s*, *i*): the
same whatever the backend, worker count, chunking or order, and replayable alone. A batched
chunk ``[start, stop)`` draws from streams keyed by its bounds, so the batched path is
reproducible for a fixed chunk size. Everything hidden — the bit, the world of a
real-vs-ideal trial, keys, data — comes from the challenger's stream; nothing the adversary
can reach reveals the seed or the trial's index.

Integrity: each trial gets a fresh copy of the adversary (its parameters, never state an
earlier trial left on it); budgets and challenger failures are judged from the challenger's
own accounts of each oracle; an adversary that raises anything, overspends, answers
nonsense or runs past the trial timeout loses the trial, and the run counts it. State an
adversary keeps at module level (a global, a class attribute) is outside this model: in one
interpreter nothing stops it, which is what ``isolate`` is for.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import math
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import attrs
import numpy as np

from games import seeds, stats
from games.base import (
    IDEAL,
    REAL,
    BatchAdversary,
    Challenge,
    Game,
    InvalidAnswer,
    ReportsResources,
    TrialFailed,
    TrialTimeout,
    answer_bit,
    answer_bits,
    short,
)
from games.isolation import Isolated, renewer
from games.options import RunOptions
from games.registry import ADVERSARIES, name_of
from oracles import Account, BudgetExceeded, InvalidArgument

__all__ = [
    "Chunks",
    "Estimate",
    "Stopped",
    "Tally",
    "TrialRecord",
    "check_run",
    "estimate",
    "estimate_from",
    "plain",
    "play",
    "play_chunk",
    "replay",
]

ERROR_KINDS = ("exception", "budget", "invalid-answer", "timeout", "game-failed")


# -- records ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Tally:
    """What a range of trials produced; tallies of disjoint ranges add up.

    ``real`` and ``ideal`` are (trials, answers of 1) per world, for real-vs-ideal games.
    ``first_error`` is (trial index, traceback) of the lowest-numbered failed trial.
    """

    ranges: tuple[tuple[int, int], ...]
    trials: int = 0
    wins: int = 0
    real: tuple[int, int] = (0, 0)
    ideal: tuple[int, int] = (0, 0)
    queries: Mapping[str, int] = attrs.field(factory=dict)
    errors: Mapping[str, int] = attrs.field(factory=dict)
    first_error: tuple[int, str] | None = None
    seconds: float = 0.0

    def __add__(self, other: Tally) -> Tally:
        errors = [e for e in (self.first_error, other.first_error) if e is not None]
        return Tally(
            ranges=_coalesce(self.ranges + other.ranges),
            trials=self.trials + other.trials,
            wins=self.wins + other.wins,
            real=(self.real[0] + other.real[0], self.real[1] + other.real[1]),
            ideal=(self.ideal[0] + other.ideal[0], self.ideal[1] + other.ideal[1]),
            queries=_add(self.queries, other.queries),
            errors=_add(self.errors, other.errors),
            first_error=min(errors) if errors else None,
            seconds=self.seconds + other.seconds,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "ranges": [list(r) for r in self.ranges],
            "trials": self.trials,
            "wins": self.wins,
            "real": list(self.real),
            "ideal": list(self.ideal),
            "queries": dict(self.queries),
            "errors": dict(self.errors),
            "first_error": list(self.first_error) if self.first_error else None,
            "seconds": self.seconds,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tally:
        first = data.get("first_error")
        return cls(
            ranges=tuple(tuple(r) for r in data["ranges"]),  # type: ignore[misc]
            trials=int(data["trials"]),
            wins=int(data["wins"]),
            real=tuple(data["real"]),  # type: ignore[arg-type]
            ideal=tuple(data["ideal"]),  # type: ignore[arg-type]
            queries=dict(data["queries"]),
            errors=dict(data["errors"]),
            first_error=(int(first[0]), str(first[1])) if first else None,
            seconds=float(data["seconds"]),
        )


def _coalesce(ranges: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """Sorted ranges with touching neighbours joined, so a run's tally stays small."""
    out: list[tuple[int, int]] = []
    for start, stop in sorted(ranges):
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], stop)
        else:
            out.append((start, stop))
    return tuple(out)


def _add(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    out = dict(a)
    for key, value in b.items():
        out[key] = out.get(key, 0) + value
    return out


@attrs.frozen(kw_only=True)
class Estimate:
    """An adversary's estimated advantage in a game, with its confidence interval.

    ``trials`` counts the trials that were played to the end; trials the adversary lost by
    raising, overspending a budget or giving an invalid answer are among them (counted as
    losses and in ``errors``); trials whose challenger side failed are not, and appear in
    ``errors["game-failed"]``.
    """

    game: str
    params: Mapping[str, Any]
    adversary: str
    adversary_params: Mapping[str, Any]
    shape: str
    trials: int
    wins: int
    win_rate: float
    baseline: float
    advantage: float
    ci_low: float
    ci_high: float
    level: float
    method: str
    seed: int
    queries: Mapping[str, int]
    errors: Mapping[str, int]
    first_error: str | None
    seconds: float
    worlds: Mapping[str, tuple[int, int]] | None = None
    path: str = "trial"
    resources: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def to_json(self) -> dict[str, Any]:
        """The fields as plain JSON values (the `--json` output of `advantage run`)."""
        return {
            "game": self.game,
            "adversary": self.adversary,
            "params": plain(self.params),
            "adversary_params": plain(self.adversary_params),
            "shape": self.shape,
            "trials": self.trials,
            "wins": self.wins,
            "win_rate": self.win_rate,
            "baseline": self.baseline,
            "advantage": self.advantage,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "level": self.level,
            "method": self.method,
            "seed": self.seed,
            "seconds": self.seconds,
            "queries": dict(self.queries),
            "errors": self.error_count,
            "error_kinds": dict(self.errors),
            "first_error": self.first_error,
            "worlds": {k: list(v) for k, v in self.worlds.items()} if self.worlds else None,
            "path": self.path,
            "resources": plain(self.resources),
        }

    def __str__(self) -> str:
        return (
            f"{self.adversary} vs {self.game}: advantage {self.advantage:+.4f} "
            f"[{self.ci_low:+.4f}, {self.ci_high:+.4f}] "
            f"({self.level:.0%} {self.method}, {self.trials} trials, seed {self.seed})"
        )


def plain(value: Any) -> Any:
    """A JSON-friendly copy of parameter values (tuples to lists, objects to their repr)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    return repr(value)


@attrs.frozen(kw_only=True)
class TrialRecord:
    """One trial replayed: the hidden value, the answer, the outcome and every query."""

    trial: int
    seed: int
    hidden: int | None
    answer: Any
    win: bool
    error: str | None
    error_kind: str | None
    transcripts: Mapping[str, tuple[tuple[Any, Any], ...]]


# -- playing ------------------------------------------------------------------------------


class _Outcome(NamedTuple):
    """One trial's result: what was hidden, what was answered, and how it ended."""

    hidden: int | None
    answer: Any
    win: bool
    kind: str | None  # an ERROR_KINDS entry, or None for a trial played to the end
    trace: str | None
    accounts: Mapping[str, Account] | None


_TRACE_LIMIT = 20_000  # characters of a traceback kept in a tally (head and tail)


def _trace(index: int, seed: int, text: str | None = None) -> str:
    text = traceback.format_exc() if text is None else text
    if len(text) > _TRACE_LIMIT:
        half = _TRACE_LIMIT // 2
        text = (
            f"{text[:half]}\n... ({len(text) - _TRACE_LIMIT:,} characters cut) ...\n{text[-half:]}"
        )
    return f"trial {index} (seed {seed}):\n{text}"


class _Alarm:
    """Ends an adversary's call with :class:`TrialTimeout` after ``seconds`` (SIGALRM).

    Only the main thread of a Unix process can take the signal; elsewhere the alarm does
    nothing and ``--isolate`` (whose parent kills a late process) is the way to a limit.
    An adversary that catches the exception still loses the trial: ``fired`` says so.
    """

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.fired = False
        self.usable = (
            seconds is not None
            and hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
        )
        self._previous: Any = None

    def _ring(self, signum: int, frame: Any) -> None:
        self.fired = True
        raise TrialTimeout(f"the adversary ran past the trial timeout of {self.seconds:g} s")

    def install(self) -> None:
        if self.usable:
            self._previous = signal.signal(signal.SIGALRM, self._ring)

    def uninstall(self) -> None:
        if self.usable:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous or signal.SIG_DFL)

    @contextlib.contextmanager
    def armed(self, scale: int = 1) -> Iterator[None]:
        if not self.usable:
            yield
            return
        self.fired = False
        every = self.seconds * scale  # type: ignore[operator]
        signal.setitimer(signal.ITIMER_REAL, every, every)  # again and again, if caught
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)


_UNARMED = _Alarm(None)


def _play(
    game: Game,
    player: Callable[..., Any],
    seed: int,
    index: int,
    transcript: bool = False,
    alarm: _Alarm = _UNARMED,
) -> _Outcome:
    """One trial, with ``player`` a fresh copy of the adversary."""
    challenger, attacker = seeds.pair(seed, index)
    shape = game.shape
    try:
        if shape == "search":
            hidden = None
            challenge = game.setup(challenger)  # type: ignore[attr-defined]
        else:  # the hidden bit, or the world: from the challenger's coins alone
            hidden = int(challenger.integers(2))
            challenge = game.setup(hidden, challenger)  # type: ignore[attr-defined]
    except TrialFailed:
        return _Outcome(None, None, False, "game-failed", _trace(index, seed), None)
    handles, readers = challenge.open(transcript)
    kind = trace = None
    try:
        with alarm.armed():
            answer = player(handles, attacker)
    except TrialTimeout:
        answer, kind, trace = None, "timeout", _trace(index, seed)
    except BaseException as error:  # SystemExit, GeneratorExit, KeyboardInterrupt too: a loss
        answer, trace = None, _trace(index, seed)
        kind = "budget" if isinstance(error, BudgetExceeded) else _lost(error)
    accounts = {name: read() for name, read in readers.items()}
    if alarm.fired and kind != "timeout":
        kind, trace = "timeout", _trace(index, seed, "the adversary caught its trial timeout")
    if kind is not None:
        if any(isinstance(a.failure, TrialFailed) for a in accounts.values()):
            # The challenger failed while answering (a model trained on the adversary's canary
            # diverged): a challenger failure, which an adversary cannot fake by raising.
            kind = "game-failed"
        elif kind == "exception" and any(a.exceeded for a in accounts.values()):
            kind = "budget"
        return _Outcome(hidden, None, False, kind, trace, accounts)
    if any(a.exceeded for a in accounts.values()):
        # The adversary caught BudgetExceeded and went on: the trial is lost all the same.
        return _Outcome(
            hidden, answer, False, "budget", f"trial {index}: budget exceeded", accounts
        )
    try:
        if shape == "search":
            win = bool(game.finalize(challenge, answer))  # type: ignore[attr-defined]
        else:
            win = answer_bit(answer) == hidden
    except InvalidAnswer:
        return _Outcome(hidden, answer, False, "invalid-answer", _trace(index, seed), accounts)
    return _Outcome(hidden, answer, win, None, None, accounts)


def _lost(error: BaseException) -> str:
    """The error kind of an adversary that raised ``error``."""
    from games.wire import ProtocolError  # an isolated adversary's malformed message

    return "invalid-answer" if isinstance(error, ProtocolError) else "exception"


@functools.cache
def _reuse_freed_memory() -> None:
    """Keep arrays freed at the end of a batched chunk for the next one (glibc only).

    glibc maps arrays over 128 KiB afresh and gives freed memory back to the OS once 1 MiB
    of it sits at the heap's top, so each chunk faults every page of its arrays in again:
    that doubled the time of a cheap batched trial (otp). Serving arrays up to 32 MiB from
    the heap and keeping up to 64 MiB of freed memory removes it; larger arrays are mapped.
    """
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, TypeError, AttributeError):  # no C library found, or not glibc's
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    mallopt(m_mmap_threshold, 32 << 20)
    mallopt(m_trim_threshold, 64 << 20)


@attrs.frozen
class Chunks:
    """The unit of work of every backend: plays trials ``[start, stop)`` and tallies them.

    Every call starts from the adversary as given: each trial (each batch, on the batched
    path) gets a fresh copy, so no state crosses from one trial to the next.
    """

    game: Game
    adversary: Any
    seed: int
    batched: bool
    trial_timeout: float | None = None
    #: also return each trial's outcome: 1 won, 0 lost, −1 left out (the challenger failed)
    outcomes: bool = False

    def __call__(self, start: int, stop: int) -> Any:
        clock = time.perf_counter()
        renew = renewer(self.adversary)
        alarm = _Alarm(self.trial_timeout)
        alarm.install()
        try:
            if self.batched:
                _reuse_freed_memory()
                tally, each = _batch_chunk(self.game, renew(), self.seed, start, stop, alarm)
            else:
                if isinstance(self.adversary, Isolated):
                    self.adversary.start()
                tally, each = _trial_chunk(self.game, renew, self.seed, start, stop, alarm)
        finally:
            alarm.uninstall()
        tally = attrs.evolve(tally, seconds=time.perf_counter() - clock)
        return (tally, each) if self.outcomes else tally


def play_chunk(
    game: Game, adversary: Callable[..., Any], seed: int, start: int, stop: int, batched: bool
) -> Tally:
    """Play trials ``[start, stop)`` and tally them."""
    return Chunks(game, adversary, seed, batched)(start, stop)


def _trial_chunk(
    game: Game, renew: Callable[[], Any], seed: int, start: int, stop: int, alarm: _Alarm
) -> tuple[Tally, np.ndarray]:
    outcomes = np.empty(stop - start, np.int8)
    wins = real_n = real_1 = ideal_n = ideal_1 = 0
    queries: dict[str, int] = {}
    errors: dict[str, int] = {}
    first: tuple[int, str] | None = None
    real_vs_ideal = game.shape == "real-vs-ideal"
    for index in range(start, stop):
        hidden, _, win, kind, trace, accounts = _play(game, renew(), seed, index, alarm=alarm)
        if accounts is not None:
            for name, account in accounts.items():
                queries[name] = queries.get(name, 0) + account.queries
        outcomes[index - start] = -1 if kind == "game-failed" else win
        if kind is not None:
            errors[kind] = errors.get(kind, 0) + 1
            if first is None:
                first = (index, trace or "")
            if kind == "game-failed":
                continue
        wins += win
        if real_vs_ideal:
            says_real = win == (hidden == REAL)
            if hidden == REAL:
                real_n, real_1 = real_n + 1, real_1 + says_real
            else:
                ideal_n, ideal_1 = ideal_n + 1, ideal_1 + says_real
    played = stop - start - errors.get("game-failed", 0)
    tally = Tally(
        ranges=((start, stop),),
        trials=played,
        wins=wins,
        real=(real_n, real_1),
        ideal=(ideal_n, ideal_1),
        queries=queries,
        errors=errors,
        first_error=first,
    )
    return tally, outcomes


def _batch_chunk(
    game: Game, adversary: BatchAdversary, seed: int, start: int, stop: int, alarm: _Alarm
) -> tuple[Tally, np.ndarray]:
    size = stop - start
    challenger, attacker = seeds.pair(seed, start, stop, batch=True)
    shape = game.shape
    if shape == "search":
        hidden = None
        challenge: Challenge = game.setup_batch(size, challenger)  # type: ignore[attr-defined]
    else:  # hidden bits, or worlds: from the challenger's coins alone
        hidden = challenger.integers(2, size=size)
        challenge = game.setup_batch(hidden, challenger)  # type: ignore[attr-defined]
    handles, readers = challenge.open()
    # (kind, which trials (None: all), why): the common case of no loss allocates nothing.
    losses: list[tuple[str, np.ndarray | None, str]] = []
    win: np.ndarray | None = None
    try:
        with alarm.armed(size):
            answers = adversary.batch(handles, attacker, size)
    except TrialTimeout:
        losses.append(("timeout", None, "the batch ran past its time"))
    except BaseException as error:
        kind = "budget" if isinstance(error, BudgetExceeded) else _lost(error)
        what = "the batch went over budget" if kind == "budget" else "the adversary raised"
        losses.append((kind, None, f"{what}:\n{traceback.format_exc()[-_TRACE_LIMIT:]}"))
    accounts = [read() for read in readers.values()]
    if alarm.fired and not losses:
        losses.append(("timeout", None, "the batch ran past its time"))
    if not losses:
        if any(account.exceeded for account in accounts):
            losses.append(("budget", None, "the batch went over budget"))
        elif shape == "search":
            try:
                win = np.asarray(game.finalize_batch(challenge, answers), bool)  # type: ignore[attr-defined]
            except InvalidAnswer:
                losses.append(
                    ("invalid-answer", None, f"answers refused:\n{traceback.format_exc()}")
                )
        elif np.shape(answers) != (size,):
            why = f"answers of shape {np.shape(answers)}, not ({size},)"
            losses.append(("invalid-answer", None, why))
        else:
            given = np.asarray(answers)
            bits, invalid = answer_bits(given)
            win = bits == hidden.astype(bool)  # type: ignore[union-attr]
            if invalid is not None:
                win &= ~invalid
                bad = short(given[np.flatnonzero(invalid)[0]])
                losses.append(("invalid-answer", invalid, f"answer {bad} is not a bit"))
    # Read only now: the challenger may fill its mask while answering (a model is trained
    # once the adversary submits its canary).
    failed = None if challenge.failed is None else np.asarray(challenge.failed, bool)
    kept = None if failed is None or not failed.any() else ~failed
    errors: dict[str, int] = {}
    firsts: list[tuple[int, str]] = []
    where = f"(seed {seed}, batch {start}-{stop - 1})"
    if kept is not None:
        losses.append(("game-failed", failed, "the challenger failed"))
    for kind, mask, why in losses:
        if mask is None:
            mask = np.ones(size, bool) if kept is None else kept
        elif kept is not None and kind != "game-failed":
            mask = mask & kept
        if mask.any():
            errors[kind] = int(np.count_nonzero(mask))
            firsts.append((start + int(np.flatnonzero(mask)[0]), f"{why} {where}"))
    played = size if kept is None else int(np.count_nonzero(kept))
    wins = 0 if win is None else int(np.count_nonzero(win if kept is None else win & kept))
    real_n = real_1 = ideal_n = ideal_1 = 0
    if shape == "real-vs-ideal":
        right = np.zeros(size, bool) if win is None else win
        says_real = right == (hidden == REAL)  # a right answer names the world played
        in_play = np.ones(size, bool) if kept is None else kept
        is_real, is_ideal = (hidden == REAL) & in_play, (hidden == IDEAL) & in_play
        real_n, real_1 = int(is_real.sum()), int((says_real & is_real).sum())
        ideal_n, ideal_1 = int(is_ideal.sum()), int((says_real & is_ideal).sum())
    tally = Tally(
        ranges=((start, stop),),
        trials=played,
        wins=wins,
        real=(real_n, real_1),
        ideal=(ideal_n, ideal_1),
        queries={name: a.queries * played for name, a in zip(readers, accounts, strict=True)},
        errors=errors,
        first_error=min(firsts) if firsts else None,
    )
    outcomes = np.zeros(size, np.int8) if win is None else win.astype(np.int8)
    if kept is not None:
        outcomes[~kept] = -1
    return tally, outcomes


# -- estimating ---------------------------------------------------------------------------

MAX_TRIALS = 2**53  # counts stay exact in a float


def check_run(trials: int, seed: int, level: float, method: str) -> None:
    """Refuse bad run arguments with a message naming the argument and its range."""
    if isinstance(trials, bool) or not isinstance(trials, int | np.integer) or trials <= 0:
        raise InvalidArgument(f"trials={trials!r} must be a positive integer")
    if trials > MAX_TRIALS:
        raise InvalidArgument(f"trials={trials!r} must be at most 2**53")
    seeds.check_seed(seed)
    if not isinstance(level, int | float) or not 0 < level < 1:
        raise InvalidArgument(f"level={level!r} must be in (0, 1)")
    if method not in stats.METHODS:
        raise InvalidArgument(f"method={method!r} must be one of: {', '.join(stats.METHODS)}")


def use_batched(game: Game, adversary: Any, batched: bool | None) -> bool:
    """Whether to take the batched path: both sides must offer it."""
    both = game.batched and isinstance(adversary, BatchAdversary)
    if batched and not both:
        side = "game" if not game.batched else "adversary"
        raise InvalidArgument(f"batched=True but the {side} has no batched path")
    return both if batched is None else bool(batched)


TRIAL_CHUNK = 256


def default_chunk(game: Game, batched: bool, trials: int, workers: int | None = None) -> int:
    """Trials per chunk when the run does not say.

    Batched: the game's ``trials_per_batch`` — a fixed number, since a batch's randomness depends
    on its bounds. Trial by trial the answer does not depend on chunking, so the size is
    chosen for the work: up to 256 trials, and small enough that every worker of a pool
    gets several chunks.
    """
    if batched:
        return game.trials_per_batch
    if workers is None or workers <= 1:
        return TRIAL_CHUNK
    return max(1, min(TRIAL_CHUNK, math.ceil(trials / (4 * workers))))


@attrs.frozen
class Work:
    """The chunks of the ranges still to play, made one at a time (a run of 10¹⁵ trials
    costs no memory up front).

    Batched chunks are aligned to multiples of the chunk size, since a batch's randomness
    depends on its bounds; per-trial chunks may be cut anywhere.
    """

    todo: tuple[tuple[int, int], ...]
    size: int
    batched: bool

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for start, stop in self.todo:
            at = start
            while at < stop:
                end = (
                    min(stop, (at // self.size + 1) * self.size)
                    if self.batched
                    else min(stop, at + self.size)
                )
                yield at, end
                at = end

    def __len__(self) -> int:
        if not self.batched:
            return sum(-(-(b - a) // self.size) for a, b in self.todo)
        return sum((b - 1) // self.size - a // self.size + 1 for a, b in self.todo if b > a)


def chunks(todo: list[tuple[int, int]], size: int, batched: bool) -> Iterator[tuple[int, int]]:
    """Split the ranges still to play into chunks of ``size`` trials (see :class:`Work`)."""
    return iter(Work(tuple(todo), size, batched))


def estimate(
    game: Game,
    adversary: Callable[..., Any],
    *,
    trials: int,
    seed: int | None = None,
    level: float = 0.95,
    method: str = "clopper-pearson",
    batched: bool | None = None,
    chunk_size: int | None = None,
    backend: str = "serial",
    workers: int | None = None,
    address: str | None = None,
    log: str | Path | None = None,
    resume: bool = False,
    isolate: bool = False,
    device: str | None = None,
    trial_timeout: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Estimate:
    """Play ``trials`` trials of ``game`` against ``adversary`` and estimate the advantage.

    Args:
        trials: number of trials (a positive integer).
        seed: the run's seed; trial *i* is the same trial whatever else changes. None draws a
            128-bit seed (reported in the estimate), which an adversary cannot guess.
        level, method: the confidence level and interval method (see :mod:`games.stats`).
        batched, chunk_size, backend, workers, address, isolate, device, trial_timeout: how
            trials are played (see :class:`games.options.RunOptions`).
        log: a JSON-lines run log; with ``resume`` an interrupted run continues from it.
        progress: called as ``progress(done, total)`` after each chunk.
    """
    from games.runlog import RunLog, spec_of

    options = RunOptions(
        batched=batched, chunk_size=chunk_size, backend=backend, workers=workers,
        address=address, isolate=isolate, device=device, trial_timeout=trial_timeout,
    )  # fmt: skip
    seed = seeds.fresh_seed() if seed is None else seed
    check_run(trials, seed, level, method)
    if resume and log is None:
        raise InvalidArgument("resume=True needs the log of the run to resume (--log)")
    game = with_device(game, options.device)
    path = use_batched(game, adversary, False if options.isolate else options.batched)
    chunk = options.chunk_size or (default_chunk(game, True, trials) if path else None)
    spec = spec_of(
        game, adversary, trials=trials, seed=seed, batched=path, chunk_size=chunk,
        level=level, method=method,
    )  # fmt: skip
    total = Tally(ranges=())
    todo = [(0, trials)]
    runlog = None
    if log is not None:
        runlog = RunLog.open(log, spec, resume=resume)
        for done in runlog.tallies:
            total = total + done
        todo = runlog.missing(trials)
    if progress is not None:
        progress(trials - sum(b - a for a, b in todo), trials)
    try:
        for tally in play(
            game,
            adversary,
            seed,
            todo,
            options=attrs.evolve(options, chunk_size=chunk),
            batched=path,
        ):
            total = total + tally
            if runlog is not None:
                runlog.append(tally)
            if progress is not None:
                progress(sum(b - a for a, b in total.ranges), trials)
    finally:
        if runlog is not None:
            runlog.close()
    result = estimate_from(spec, total, level=level, method=method)
    if isinstance(adversary, ReportsResources):
        result = attrs.evolve(result, resources=dict(adversary.resources(game)))
    return result


class Stopped(KeyboardInterrupt):
    """Ctrl-C stopped a run between chunks: every finished chunk was counted (and logged)."""


@contextlib.contextmanager
def _stop_between_chunks() -> Iterator[Callable[[], bool]]:
    """Ctrl-C asks the run to stop once the chunks in play are done; a second one stops it at
    once. (Only the main thread gets signals; elsewhere Ctrl-C behaves as usual.)"""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous) or previous is signal.default_int_handler:
        previous = signal.default_int_handler
    asked = threading.Event()

    def ask(signum: int, frame: Any) -> None:
        asked.set()
        signal.signal(signal.SIGINT, previous)
        with contextlib.suppress(Exception):
            sys.stderr.write("\nstopping after the chunks in play; Ctrl-C again to stop at once\n")

    signal.signal(signal.SIGINT, ask)
    try:
        yield asked.is_set
    finally:
        signal.signal(signal.SIGINT, previous)


def play(
    game: Game,
    adversary: Callable[..., Any],
    seed: int,
    todo: list[tuple[int, int]],
    *,
    options: RunOptions,
    batched: bool,
) -> Iterator[Tally]:
    """Play the trials in ``todo`` (ranges of trial indices), yielding each chunk's tally.

    The loop every run procedure plays on: chunking, the backend, a fresh adversary for
    every trial, the trial timeout, and (with ``isolate``) the adversary's own process,
    closed when the loop ends. Ctrl-C stops it between chunks with :class:`Stopped`.
    """
    from games.backends import check_workers, run_chunks

    if options.backend == "serial":
        pool = 1
    elif options.backend == "process":
        pool = check_workers(options.workers)
    else:
        pool = options.workers or (os.cpu_count() or 1)
    total = sum(b - a for a, b in todo)
    work = Work(
        tuple(todo), options.chunk_size or default_chunk(game, batched, total, pool), batched
    )
    player: Any = Isolated(adversary, options.trial_timeout) if options.isolate else adversary
    task = Chunks(game, player, seed, batched, options.trial_timeout)
    try:
        with _stop_between_chunks() as stopped:
            for tally in run_chunks(task, work, options):
                yield tally
                if stopped():
                    raise Stopped("stopped by Ctrl-C; the finished chunks are counted")
    finally:
        if options.isolate:
            player.close()


def with_device(game: Game, device: str | None) -> Game:
    """The game with its torch ``device`` parameter set, if it has one."""
    fields = attrs.fields_dict(type(game)) if attrs.has(type(game)) else {}  # type: ignore[arg-type]
    if "device" not in fields:
        if device is not None and device != "cpu":
            raise InvalidArgument(f"device={device!r}: game {name_of(game)} does not use torch")
        return game
    if device is None:
        if game.device is not None:  # type: ignore[attr-defined]
            return game
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise InvalidArgument(
                f"device={device!r} but torch sees no CUDA device; use device='cpu'"
            )
    elif device != "cpu":
        raise InvalidArgument(f"device={device!r} must be 'cpu' or 'cuda' (or 'cuda:N')")
    return attrs.evolve(game, device=device)  # type: ignore[misc]


def estimate_from(
    spec: Mapping[str, Any], total: Tally, *, level: float = 0.95, method: str = "clopper-pearson"
) -> Estimate:
    """The estimate that a run's spec and tally support (used by runs and by `show`)."""
    shape = spec["shape"]
    baseline = float(spec["baseline"])
    n = total.trials
    if n == 0:
        lo, hi, advantage, rate = -1.0, 1.0, math.nan, math.nan
    elif shape == "real-vs-ideal":
        rate = total.wins / n
        lo, hi, method = _difference(total.real, total.ideal, level, method)
        (rn, r1), (i_n, i1) = total.real, total.ideal
        advantage = r1 / rn - i1 / i_n if rn and i_n else math.nan
    else:
        rate = total.wins / n
        advantage = 2 * rate - 1 if shape == "hidden-bit" else rate - baseline
        lo, hi = stats.advantage_interval(
            shape, total.wins, n, level=level, method=method, baseline=baseline
        )
    first = total.first_error[1] if total.first_error else None
    return Estimate(
        game=spec["game"],
        params=spec["params"],
        adversary=spec["adversary"],
        adversary_params=spec["adversary_params"],
        shape=shape,
        trials=n,
        wins=total.wins,
        win_rate=rate,
        baseline=baseline,
        advantage=advantage,
        ci_low=lo,
        ci_high=hi,
        level=level,
        method=method,
        seed=int(spec["seed"]),
        queries=dict(total.queries),
        errors=dict(total.errors),
        first_error=first,
        seconds=total.seconds,
        worlds={"real": total.real, "ideal": total.ideal} if shape == "real-vs-ideal" else None,
        path="batch" if spec.get("batched") else "trial",
    )


def _difference(
    real: tuple[int, int], ideal: tuple[int, int], level: float, method: str
) -> tuple[float, float, str]:
    """Two-sample interval for Pr[A→1 | real] − Pr[A→1 | ideal], and the method's name.

    Wilson maps to Newcombe's interval; the other methods get a Bonferroni pair of one-sample
    intervals at level 1 − α/2 each.
    """
    (rn, r1), (i_n, i1) = real, ideal
    if not (rn and i_n):
        return -1.0, 1.0, method
    if method == "wilson":
        return (
            *stats.difference_interval(r1, rn, i1, i_n, level=level, method="newcombe"),
            "newcombe",
        )
    half = 1 - (1 - level) / 2
    lr, hr = stats.binomial_interval(r1, rn, half, method)
    li, hi = stats.binomial_interval(i1, i_n, half, method)
    return lr - hi, hr - li, f"bonferroni-{method}"


def replay(game: Game, adversary: Callable[..., Any], *, seed: int, trial: int) -> TrialRecord:
    """Rerun one trial of a per-trial run and return its transcript."""
    if isinstance(trial, bool) or not isinstance(trial, int) or trial < 0:
        raise InvalidArgument(f"trial={trial!r} must be a non-negative integer")
    check_run(1, seed, 0.95, "clopper-pearson")
    hidden, answer, win, kind, trace, accounts = _play(
        game, renewer(adversary)(), seed, trial, transcript=True
    )
    return TrialRecord(
        trial=trial,
        seed=seed,
        hidden=hidden,
        answer=answer,
        win=bool(win),
        error=trace,
        error_kind=kind,
        transcripts={name: a.transcript for name, a in (accounts or {}).items()},
    )


def describe_adversary(adversary: Any) -> tuple[str, dict[str, Any]]:
    """The adversary's registered name and its parameters."""
    params = attrs.asdict(adversary, recurse=False) if attrs.has(type(adversary)) else {}
    return name_of(adversary, ADVERSARIES), params
