"""Playing trials: one trial, and one chunk of trials (the unit of work of every backend).

A trial draws the challenger's coins and the adversary's from its own streams
(:mod:`games.engine.seeds`), gives the adversary a fresh copy of itself, and ends in one of
the outcomes the engine counts: a win or a loss, the adversary's failure (``exception``,
``budget``, ``invalid-answer``, ``timeout``), the challenger's failure while answering the
adversary or judging its answer (``oracle-failed``, a loss) or before the adversary played
(``game-failed``, left out).

Why a failure while answering is a loss: it may be the adversary's doing (a canary that makes
the training diverge), and it may hang on the hidden value (the canary is trained on only
when it is a member). Were those trials left out, an adversary could drop the trials it would
lose: a canary that diverges only as a member, and the answer "not a member", would read as
an advantage of 1. As a loss, provoking a failure never helps.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import attrs
import numpy as np

from games.base import IDEAL, REAL, BatchAdversary, Game, short
from games.engine import seeds
from games.engine.isolation import Isolated, renewer
from games.engine.records import Tally
from games.errors import InvalidAnswer, TrialFailed, TrialTimeout
from oracles import Account, BudgetExceeded, InvalidArgument, inert

__all__ = ["COLLECT", "Chunks", "play_chunk", "play_trial"]

COLLECT = ("tally", "outcomes", "scores")


class _Outcome(NamedTuple):
    """One trial's result: what was hidden, what was answered, and how it ended."""

    hidden: int | None
    answer: Any
    win: bool
    kind: str | None  # an ERROR_KINDS entry, or None for a trial played to the end
    trace: str | None
    accounts: Mapping[str, Account] | None


_played = functools.partial(tuple.__new__, _Outcome)  # _Outcome(...) without its Python frame
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

#: Set while the user's second Ctrl-C of a run is being raised (see games.engine.runs): that
#: KeyboardInterrupt stops the run, where one the adversary raises itself loses its trial.
INTERRUPTED = threading.Event()


def play_trial(
    game: Game,
    player: Callable[..., Any],
    seed: int,
    index: int,
    transcript: bool = False,
    alarm: _Alarm = _UNARMED,
    spent: dict[str, int] | None = None,
) -> _Outcome:
    """One trial, with ``player`` a fresh copy of the adversary; each oracle's queries are
    added to ``spent`` when given (a chunk's running count)."""
    challenger, attacker = seeds.pair(seed, index)
    try:
        hidden, challenge = game.open(challenger)
    except TrialFailed:
        return _Outcome(None, None, False, "game-failed", _trace(index, seed), None)
    handles, readers = challenge.open(transcript)
    kind = trace = None
    try:
        if alarm.usable:
            with alarm.armed():
                answer = player(handles, attacker)
        else:  # the common case, without a context manager's cost
            answer = player(handles, attacker)
    except TrialTimeout:
        answer, kind, trace = None, "timeout", _trace(index, seed)
    except BaseException as error:  # SystemExit, GeneratorExit, KeyboardInterrupt too: a loss
        if INTERRUPTED.is_set():
            raise  # the user's Ctrl-C, not the adversary's: no trial is counted for it
        answer, trace = None, _trace(index, seed)
        kind = "budget" if isinstance(error, BudgetExceeded) else _lost(error)
    accounts = {}
    exceeded = failed = False
    for name, read in readers.items():  # one pass, no comprehension frame: it runs every trial
        account = accounts[name] = read()
        exceeded = exceeded or account.exceeded
        if account.failure is not None:  # rare: only then the type check
            failed = failed or isinstance(account.failure, TrialFailed)
        if spent is not None:
            spent[name] = spent.get(name, 0) + account.queries
    if failed:
        # The challenger failed while answering (a model trained on the adversary's canary
        # diverged): the adversary's loss (see the module's docstring), as on the batched
        # path, whether it raised or caught the error and answered.
        if kind is None:
            trace = f"trial {index}: an oracle failed (the adversary caught its error)"
        return _Outcome(hidden, None, False, "oracle-failed", trace, accounts)
    if alarm.fired and kind != "timeout":
        kind, trace = "timeout", _trace(index, seed, "the adversary caught its trial timeout")
    if kind is not None:
        if kind == "exception" and exceeded:
            kind = "budget"
        return _Outcome(hidden, None, False, kind, trace, accounts)
    if exceeded:
        # The adversary caught BudgetExceeded and went on: the trial is lost all the same.
        return _Outcome(
            hidden, answer, False, "budget", f"trial {index}: budget exceeded", accounts
        )
    try:
        answer = _inert(answer)
        win = game.judge(challenge, hidden, answer)
    except InvalidAnswer:
        return _Outcome(hidden, answer, False, "invalid-answer", _trace(index, seed), accounts)
    except TrialFailed:
        # The challenger failed judging the answer (an agent it ran on the injected text):
        # the adversary's loss, as a failure while answering is. It escaped and ended the run.
        return _Outcome(hidden, answer, False, "oracle-failed", _trace(index, seed), accounts)
    return _played((hidden, answer, win, None, None, accounts))


def _inert(answer: Any) -> Any:
    """The answer as plain values (see :func:`oracles.inert`): the judge runs no method
    of the adversary's."""
    try:
        return inert(answer)
    except InvalidArgument as error:
        raise InvalidAnswer(str(error)) from None


def _lost(error: BaseException) -> str:
    """The error kind of an adversary that raised ``error``."""
    from games.engine.wire import ProtocolError  # an isolated adversary's malformed message

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
    #: what a call returns besides the tally: nothing (``tally``); each trial's outcome, 1 won,
    #: 0 lost, −1 left out (``outcomes``); or, on the batched path, the adversary's score and
    #: the hidden bit of each trial kept (``scores``, for audits that threshold scores)
    collect: str = attrs.field(default="tally", validator=attrs.validators.in_(COLLECT))
    _renew: Any = attrs.field(default=None, init=False, eq=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:  # the renewer is made again where it runs
        return {f.name: getattr(self, f.name) for f in attrs.fields(type(self)) if f.init}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_renew", None)

    def __call__(self, start: int, stop: int) -> Any:
        clock = time.perf_counter()
        if self._renew is None:  # once per process: it decides how the adversary is copied
            object.__setattr__(self, "_renew", renewer(self.adversary))
        renew = self._renew
        each: Any
        # an isolated adversary has its own deadline, kept by the parent that kills it; a
        # second clock here could ring while the parent tidies up after the first
        isolated = self.isolated
        timeout = None if isolated else self.trial_timeout
        alarm = _UNARMED if timeout is None else _Alarm(timeout)
        alarm.install()
        try:
            if self.collect == "scores":
                tally, each = self._scores(renew(), start, stop, clock)
            elif self.batched:
                _reuse_freed_memory()
                tally, each = self._batch(renew(), start, stop, alarm, clock)
            else:
                if isolated:
                    self.adversary.start()
                tally, each = self._trials(renew, start, stop, alarm, clock)
        finally:
            alarm.uninstall()
        return tally if self.collect == "tally" else (tally, each)

    @property
    def isolated(self) -> bool:
        """Whether the adversary runs in a process of its own (``--isolate``)."""
        return isinstance(self.adversary, Isolated)

    def close(self) -> None:
        """End the isolated adversary's process, if the task has one (a worker does when it
        is sent another run's task)."""
        if self.isolated:
            self.adversary.close()

    def _trials(
        self, renew: Callable[[], Any], start: int, stop: int, alarm: _Alarm, clock: float
    ) -> tuple[Tally, np.ndarray | None]:
        """Trials one by one, each with a fresh copy of the adversary from ``renew``."""
        game, seed, collect = self.game, self.seed, self.collect
        outcomes: list[int] = []
        keep = outcomes.append if collect != "tally" else None
        wins = real_n = real_1 = ideal_n = ideal_1 = 0
        queries: dict[str, int] = {}
        errors: dict[str, int] = {}
        first: tuple[int, str] | None = None
        worlds = game.shape.worlds
        for index in range(start, stop):
            hidden, _, win, kind, trace, _ = play_trial(
                game, renew(), seed, index, False, alarm, queries
            )
            if keep is not None:
                keep(-1 if kind == "game-failed" else win)
            if kind is not None:
                errors[kind] = errors.get(kind, 0) + 1
                if first is None:
                    first = (index, trace or "")
                if kind == "game-failed":
                    continue
            wins += win
            if worlds:
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
            seconds=time.perf_counter() - clock,
        )
        return tally, None if keep is None else np.array(outcomes, np.int8)

    def _scores(
        self, scorer: Any, start: int, stop: int, clock: float
    ) -> tuple[Tally, tuple[np.ndarray, np.ndarray]]:
        """A batch whose adversary scores each trial (higher: the bit is more likely 1), with the
        scores and hidden bits of the trials whose challenger did not fail."""
        game, seed = self.game, self.seed
        size = stop - start
        challenger, attacker = seeds.pair(seed, start, stop, batch=True)
        hidden, challenge = game.open_batch(size, challenger)
        early = _failures(challenge, size)
        handles, _ = challenge.open()
        scores = np.array(scorer.scores(handles, attacker, size), float)
        late = _failures(challenge, size) & ~early
        hidden = np.asarray(hidden)
        if late.any():
            # An oracle that failed while answering: the adversary's loss, as a score on the
            # wrong side of every threshold (a member's below all others, a non-member's
            # above).
            finite = scores[np.isfinite(scores) & ~late]
            low, high = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
            scores[late] = np.where(
                hidden[late] == 1, np.nextafter(low, -np.inf), np.nextafter(high, np.inf)
            )
        losses = [("game-failed", early, "the challenger failed"), ("oracle-failed", late, _ORACLE)]
        errors, first = _count_losses(
            losses, ~early, None, size, start, f"(seed {seed}, batch {start}-{stop - 1})"
        )
        tally = Tally(
            ranges=((start, stop),),
            trials=size - int(np.count_nonzero(early)),
            errors=errors,
            first_error=first,
            seconds=time.perf_counter() - clock,
        )
        return tally, (scores[~early], hidden[~early])

    def _batch(
        self, adversary: BatchAdversary, start: int, stop: int, alarm: _Alarm, clock: float
    ) -> tuple[Tally, np.ndarray | None]:
        """The trials as one batch."""
        game, seed, collect = self.game, self.seed, self.collect
        size = stop - start
        challenger, attacker = seeds.pair(seed, start, stop, batch=True)
        hidden, challenge = game.open_batch(size, challenger)
        # What failed so far failed before the adversary played: left out (a later failure
        # is its loss: see the module's docstring).
        early = None if challenge.failed is None else np.array(challenge.failed, bool)
        handles, readers = challenge.open()
        losses: list[Loss] = []  # the common case of no loss allocates nothing
        answers = None
        try:
            if alarm.usable:
                with alarm.armed(size):
                    answers = adversary.batch(handles, attacker, size)
            else:  # the common case, without a context manager's cost (as in play_trial)
                answers = adversary.batch(handles, attacker, size)
        except TrialTimeout:
            losses.append(("timeout", None, "the batch ran past its time"))
        except BaseException as error:
            if INTERRUPTED.is_set():
                raise  # the user's Ctrl-C: the chunk is not counted
            kind = "budget" if isinstance(error, BudgetExceeded) else _lost(error)
            what = "the batch went over budget" if kind == "budget" else "the adversary raised"
            losses.append((kind, None, f"{what}:\n{traceback.format_exc()[-_TRACE_LIMIT:]}"))
        spent: dict[str, int] = {}
        exceeded = False
        for name, read in readers.items():  # one pass, as in play_trial
            account = read()
            spent[name] = account.queries
            exceeded = exceeded or account.exceeded
        if alarm.fired and not losses:
            losses.append(("timeout", None, "the batch ran past its time"))
        if not losses and exceeded:
            losses.append(("budget", None, "the batch went over budget"))
        win = None if losses else _judge_batch(game, challenge, hidden, answers, size, losses)
        kept, late, win = _challenger_failures(challenge, early, win, losses)
        errors, first = (
            _count_losses(
                losses, kept, late, size, start, f"(seed {seed}, batch {start}-{stop - 1})"
            )
            if losses
            else ({}, None)
        )
        played = size if kept is None else int(np.count_nonzero(kept))
        wins = 0 if win is None else int(np.count_nonzero(win if kept is None else win & kept))
        real, ideal = (0, 0), (0, 0)
        if game.shape.worlds:
            real, ideal = _worlds(hidden, np.zeros(size, bool) if win is None else win, kept)  # type: ignore[arg-type]
        tally = Tally(
            ranges=((start, stop),),
            trials=played,
            wins=wins,
            real=real,
            ideal=ideal,
            queries={name: count * played for name, count in spent.items()},
            errors=errors,
            first_error=first,
            seconds=time.perf_counter() - clock,
        )
        if collect == "tally":
            return tally, None
        outcomes = np.zeros(size, np.int8) if win is None else win.astype(np.int8)
        if kept is not None:
            outcomes[~kept] = -1
        return tally, outcomes


def play_chunk(
    game: Game, adversary: Callable[..., Any], seed: int, start: int, stop: int, batched: bool
) -> Tally:
    """Play trials ``[start, stop)`` and tally them."""
    return Chunks(game, adversary, seed, batched)(start, stop)


Loss = tuple[str, "np.ndarray | None", str]  # (kind, which trials (None: all), why)
_ORACLE = "an oracle failed while answering (the adversary's loss)"
_JUDGE = "the challenger failed judging the answers (the adversary's loss)"


def _failures(challenge: Any, size: int) -> np.ndarray:
    """A copy of the challenger's failure mask as it stands (the game may fill it later)."""
    return np.zeros(size, bool) if challenge.failed is None else np.array(challenge.failed, bool)


def _challenger_failures(
    challenge: Any, early: np.ndarray | None, win: np.ndarray | None, losses: list[Loss]
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """The trials kept (None: all), those an oracle's failure lost (None: none) and the wins
    without them; both failures are added to ``losses``.

    The mask is read again now: the challenger may fill it while answering (a model is
    trained once the adversary submits its canary); ``early`` is what it held before.
    """
    if early is None:
        return None, None, win
    late: np.ndarray | None = np.asarray(challenge.failed, bool) & ~early
    if late is not None and late.any():
        losses.append(("oracle-failed", late, _ORACLE))
        win = None if win is None else win & ~late
    else:
        late = None
    if not early.any():
        return None, late, win
    losses.append(("game-failed", early, "the challenger failed"))
    return ~early, late, win


def _judge_batch(
    game: Game, challenge: Any, hidden: Any, answers: Any, size: int, losses: list[Loss]
) -> np.ndarray | None:
    """The batch's wins; answers that are none (or a refused batch) are added to ``losses``."""
    try:
        win, invalid = game.judge_batch(challenge, hidden, _inert(answers), size)
    except InvalidAnswer:
        losses.append(("invalid-answer", None, f"answers refused:\n{traceback.format_exc()}"))
        return None
    except TrialFailed:  # the challenger failed judging the answers: as on the trial path
        losses.append(("oracle-failed", None, f"{_JUDGE}:\n{traceback.format_exc()}"))
        return None
    if invalid is not None:
        bad = short(np.asarray(answers)[np.flatnonzero(invalid)[0]])
        losses.append(("invalid-answer", invalid, f"answer {bad} is not a bit"))
    return win


def _count_losses(
    losses: list[Loss],
    kept: np.ndarray | None,
    late: np.ndarray | None,
    size: int,
    start: int,
    where: str,
) -> tuple[dict[str, int], tuple[int, str] | None]:
    """Trials lost by kind, and the first of them; a challenger failure (``kept`` false) or an
    oracle's (``late``) counts its trials under its own kind alone, as on the per-trial path."""
    errors: dict[str, int] = {}
    firsts: list[tuple[int, str]] = []
    counted: dict[str, np.ndarray] = {}  # a trial counts once under a kind given twice
    for kind, mask, why in losses:
        own = kind in ("game-failed", "oracle-failed")
        if mask is None:
            mask = np.ones(size, bool) if kept is None else kept
        elif kept is not None and not own:
            mask = mask & kept
        if late is not None and not own:
            mask = mask & ~late
        seen = counted.get(kind)
        if seen is not None:
            mask = mask & ~seen
        counted[kind] = mask if seen is None else seen | mask
        if mask.any():
            errors[kind] = errors.get(kind, 0) + int(np.count_nonzero(mask))
            firsts.append((start + int(np.flatnonzero(mask)[0]), f"{why} {where}"))
    return errors, min(firsts) if firsts else None


def _worlds(
    hidden: np.ndarray, win: np.ndarray, kept: np.ndarray | None
) -> tuple[tuple[int, int], tuple[int, int]]:
    """(trials, answers of 1) in the real world and in the ideal one."""
    says_real = win == (hidden == REAL)  # a right answer names the world played
    in_play = np.ones(hidden.size, bool) if kept is None else kept
    is_real, is_ideal = (hidden == REAL) & in_play, (hidden == IDEAL) & in_play
    return (
        (int(is_real.sum()), int((says_real & is_real).sum())),
        (int(is_ideal.sum()), int((says_real & is_ideal).sum())),
    )
