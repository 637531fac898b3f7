"""Estimating: the one loop every run plays on, and the estimate it supports.

Seed contract (see :mod:`games.engine.seeds`): trial *i* of seed *s* draws the challenger's
coins and the adversary's from two streams keyed by a pseudorandom function of (*s*, *i*):
the same whatever the backend, worker count, chunking or order, and replayable alone. A
batched chunk ``[start, stop)`` draws from streams keyed by its bounds, so the batched path
is reproducible for a fixed chunk size. Everything hidden — the bit, the world of a
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
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Unpack

import attrs

from games.base import BatchAdversary, Game, ReportsResources
from games.engine import seeds
from games.engine.backends import check_workers, run_chunks
from games.engine.isolation import Isolated, renewer
from games.engine.options import RunKeywords, RunOptions
from games.engine.records import Estimate, Tally, Total, TrialRecord
from games.engine.runlog import RunLog, logged_seed, played, spec_of
from games.engine.trials import INTERRUPTED, Chunks, play_trial
from games.registry import name_of
from games.stats import METHODS, shape_of
from oracles import InvalidArgument, checks

__all__ = [
    "MAX_TRIALS",
    "Stopped",
    "Work",
    "check_run",
    "default_chunk",
    "estimate",
    "estimate_from",
    "play",
    "replay",
    "use_batched",
    "with_device",
]


MAX_TRIALS = 2**53  # counts stay exact in a float


def check_run(trials: int, seed: int, level: float, method: str) -> None:
    """Refuse bad run arguments with a message naming the argument and its range."""
    if checks.positive("trials", trials) > MAX_TRIALS:
        raise InvalidArgument(f"trials={trials!r} must be at most 2**53")
    seeds.check_seed(seed)
    checks.open_unit("level", level)
    checks.choice("method", method, METHODS)


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
    log: str | Path | None = None,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
    **run: Unpack[RunKeywords],
) -> Estimate:
    """Play ``trials`` trials of ``game`` against ``adversary`` and estimate the advantage.

    Args:
        trials: number of trials (a positive integer).
        seed: the run's seed; trial *i* is the same trial whatever else changes. None draws a
            128-bit seed (reported in the estimate), which an adversary cannot guess; with
            ``resume``, None takes the logged run's seed.
        level, method: the confidence level and interval method (see :mod:`games.stats`).
        batched, chunk_size, backend, workers, address, isolate, device, trial_timeout: how
            trials are played (see :class:`games.engine.options.RunOptions`).
        log: a JSON-lines run log; with ``resume`` an interrupted run continues from it.
        progress: called as ``progress(done, total)`` after each chunk.
    """
    options = RunOptions(**run)
    if resume and log is None:
        raise InvalidArgument("resume=True needs the log of the run to resume (--log)")
    if resume and seed is None and log is not None:
        seed = logged_seed(log)  # the only seed that continues the logged run
    seed = seeds.fresh_seed() if seed is None else seed
    check_run(trials, seed, level, method)
    game = with_device(game, options.device)
    path = use_batched(game, adversary, False if options.isolate else options.batched)
    chunk = options.chunk_size or (default_chunk(game, True, trials) if path else None)
    spec = spec_of(
        game, adversary, trials=trials, seed=seed, batched=path, chunk_size=chunk,
        level=level, method=method, isolate=options.isolate, trial_timeout=options.trial_timeout,
    )  # fmt: skip
    total = Total()
    todo = [(0, trials)]
    runlog = None
    if log is not None:
        runlog = RunLog.open(log, spec, resume=resume)
        for done in runlog.tallies:
            total.add(done)
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
            total.add(tally)
            if runlog is not None:
                runlog.append(tally)
            if progress is not None:
                progress(sum(b - a for a, b in total.ranges), trials)
    finally:
        if runlog is not None:
            runlog.close()
    result = estimate_from(spec, total.tally(), level=level, method=method)
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
        signal.signal(signal.SIGINT, again)
        with contextlib.suppress(Exception):
            sys.stderr.write("\nstopping after the chunks in play; Ctrl-C again to stop at once\n")

    def again(signum: int, frame: Any) -> None:
        # Raised wherever the run is, an adversary's code included: marked as the user's,
        # so that the trial it lands in is not counted as the adversary's loss.
        INTERRUPTED.set()
        signal.signal(signal.SIGINT, previous)
        previous(signum, frame)

    signal.signal(signal.SIGINT, ask)
    try:
        yield asked.is_set
    finally:
        signal.signal(signal.SIGINT, previous)
        INTERRUPTED.clear()


def play(
    game: Game,
    adversary: Any,
    seed: int,
    todo: list[tuple[int, int]],
    *,
    options: RunOptions,
    batched: bool,
    collect: str = "tally",
) -> Iterator[Any]:
    """Play the trials in ``todo`` (ranges of trial indices), yielding each chunk's tally as
    it finishes (or ``(tally, what)`` when ``collect`` asks for more; see :class:`Chunks`).

    The loop every run procedure plays on: chunking, the backend, a fresh adversary for
    every trial, the trial timeout, and (with ``isolate``) the adversary's own process,
    closed when the loop ends (or is closed early). Ctrl-C stops it between chunks with
    :class:`Stopped`.
    """
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
    task = Chunks(game, player, seed, batched, options.trial_timeout, collect)
    try:
        with _stop_between_chunks() as stopped:
            for tally in run_chunks(task, work, options):
                yield tally
                if stopped():
                    raise Stopped("stopped by Ctrl-C; the finished chunks are counted")
    finally:
        task.close()  # the isolated adversary's process, if this process started one


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
    shape = shape_of(spec["shape"])
    baseline = float(spec["baseline"])
    n = total.trials
    low, high, method = shape.interval(total, level, method, baseline)
    return Estimate(
        **played(spec),
        shape=shape,
        trials=n,
        wins=total.wins,
        win_rate=total.wins / n if n else math.nan,
        baseline=baseline,
        advantage=shape.estimate(total, baseline),
        ci_low=low,
        ci_high=high,
        level=level,
        method=method,
        queries=dict(total.queries),
        errors=dict(total.errors),
        first_error=total.first_error[1] if total.first_error else None,
        seconds=total.seconds,
        worlds={"real": total.real, "ideal": total.ideal} if shape.worlds else None,
        path="batch" if spec.get("batched") else "trial",
    )


def replay(game: Game, adversary: Callable[..., Any], *, seed: int, trial: int) -> TrialRecord:
    """Rerun one trial of a per-trial run and return its transcript."""
    if isinstance(trial, bool) or not isinstance(trial, int) or trial < 0:
        raise InvalidArgument(f"trial={trial!r} must be a non-negative integer")
    check_run(1, seed, 0.95, "clopper-pearson")
    hidden, answer, win, kind, trace, accounts = play_trial(
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
