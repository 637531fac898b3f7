"""The three shapes of a security game, the record a challenger hands out, the adversary.

A game is a small frozen attrs class whose fields are its parameters. Its methods are pure
with respect to the game object: what a trial needs (keys, the hidden bit, a trained model)
lives in the :class:`Challenge` that ``setup`` returns, never on the game.

Each shape owns its mechanics — what the challenger draws before ``setup`` (:meth:`Game.open`)
and how an answer is judged (:meth:`Game.judge`) — and its statistics
(:mod:`games.stats.shapes`, as ``game.shape``), so the engine never dispatches on a name.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

import attrs
import numpy as np

from games.errors import InvalidAnswer
from games.stats.shapes import HIDDEN_BIT, REAL_VS_IDEAL, SEARCH, Shape
from oracles import Account, InvalidArgument, Oracles, open_oracles

__all__ = [
    "IDEAL",
    "REAL",
    "Adversary",
    "BatchAdversary",
    "Challenge",
    "Cost",
    "Game",
    "HiddenBit",
    "RealIdeal",
    "ReportsResources",
    "Search",
    "answer_bit",
    "answer_bits",
    "short",
]

REAL, IDEAL = 1, 0


@attrs.frozen(kw_only=True)
class Challenge:
    """What ``setup`` returns for one trial (or one batch of trials).

    Attributes:
        oracles: the functions the adversary may query, by name. The engine wraps each in
            an :class:`~oracles.Oracle` that enforces its budget and keeps the transcript.
        budgets: queries allowed per trial, by oracle name; a missing name is unlimited.
            On the batched path one call answers every trial of the batch and counts as
            one query of each.
        public: values the adversary is given openly (a challenge, parameters, a model).
        secret: whatever ``finalize`` needs to judge the answer; never shown to the adversary.
        failed: batched path only: a boolean mask of trials whose challenger side failed
            (a diverged model), filled in place. Trials marked by ``setup_batch`` are
            reported and left out of the counts; trials marked later, while an oracle
            answered, are the adversary's losses (as :class:`TrialFailed` says).
    """

    oracles: Mapping[str, Callable[..., Any]] = attrs.field(factory=dict)
    budgets: Mapping[str, int | None] = attrs.field(factory=dict)
    public: Mapping[str, Any] = attrs.field(factory=dict)
    secret: Any = None
    failed: Any = None

    def handles(self, transcript: bool = False) -> Oracles:
        """The adversary's view: oracle handles and public values, nothing else."""
        return self.open(transcript)[0]

    def open(self, transcript: bool = False) -> tuple[Oracles, dict[str, Callable[[], Account]]]:
        """The adversary's view, and the challenger's own readers of each oracle's account.

        The engine judges budgets and challenger failures from the readers, which the
        adversary's handles cannot change.
        """
        if not self.budgets.keys() <= self.oracles.keys():
            unknown = sorted(set(self.budgets) - set(self.oracles))
            raise InvalidArgument(f"budgets name oracles that do not exist: {unknown}")
        return open_oracles(self.oracles, self.budgets, self.public, transcript)


def answer_bit(answer: Any) -> int:
    """The adversary's answer as a bit, or :class:`InvalidAnswer`.

    A bit is a bool, an integer 0 or 1, or a float 0.0 or 1.0 (numpy's included); nothing
    else (a complex number, a string, None, NaN) is one.
    """
    if type(answer) is int and 0 <= answer <= 1:  # the common case, first
        return answer
    if isinstance(answer, bool | np.bool_):
        return int(answer)
    if isinstance(answer, int | np.integer) and answer in (0, 1):
        return int(answer)
    if isinstance(answer, float | np.floating) and not math.isnan(answer) and answer in (0.0, 1.0):
        return int(answer)
    raise InvalidAnswer(f"answer {short(answer)} is not a bit (0 or 1)")


def answer_bits(answers: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """A batch of answers as bits, by :func:`answer_bit`'s rule, and the mask of those that
    are not bits (None when every one is; those read as 0)."""
    kind = answers.dtype.kind
    if kind == "b":
        return answers, None
    if kind in "ui":
        # The common case, checked by one reduction rather than min and max: viewed as
        # unsigned, a negative integer is larger than 1.
        if answers.size == 0 or _most(answers) <= 1:
            return answers == 1, None
        valid = (answers == 0) | (answers == 1)
    elif kind == "f":
        valid = (answers == 0) | (answers == 1)  # NaN fails both
    elif kind == "O":
        valid = np.array([_is_bit(a) for a in answers.ravel()], bool).reshape(answers.shape)
    else:  # complex, strings, bytes, dates: never bits
        valid = np.zeros(answers.shape, bool)
    bits = np.zeros(answers.shape, bool)
    if valid.any():
        bits[valid] = answers[valid].astype(float) == 1
    return bits, (None if valid.all() else ~valid)


def _most(answers: np.ndarray) -> Any:
    """The largest of integer answers viewed as unsigned (a negative one is larger than 1)."""
    return np.maximum.reduce(answers.view(_UNSIGNED[answers.itemsize]), axis=None)


_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _is_bit(answer: Any) -> bool:
    try:
        answer_bit(answer)
    except InvalidAnswer:
        return False
    return True


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxlong, _SHORT.maxother = 3, 160, 60, 160


def short(value: Any) -> str:
    """A bounded ``repr(value)``, so an error message never stores a huge answer."""
    try:
        return _SHORT.repr(value)
    except Exception:  # an int too long to print, a repr that raises
        return f"<{type(value).__name__} object>"


class Game:
    """Base of every game. Subclass one of :class:`HiddenBit`, :class:`RealIdeal`, :class:`Search`."""

    shape: ClassVar[Shape]
    #: Trials per batched chunk unless a run says otherwise: enough for tens of milliseconds
    #: of work, few enough to keep a chunk's arrays (or models) small. Part of what a batched
    #: run's answer depends on, so it is a fixed number, not a timing.
    trials_per_batch: ClassVar[int] = 1024
    #: The registered name of the game that measures this game's defense on honest input:
    #: its cost, 1 − its utility (clean error, benign refusal, task failure), played with the
    #: parameters the two games share (:func:`games.registry.cost_of`). None: no such game.
    cost_game: ClassVar[str | None] = None

    @property
    def baseline(self) -> float:
        """Win rate of the trivial adversary."""
        return 0.5

    @property
    def batched(self) -> bool:
        """Whether this game overrides ``setup_batch`` (the engine's fast path)."""
        return type(self).setup_batch is not Game.setup_batch

    def setup_batch(self, hidden: Any, rng: np.random.Generator) -> Challenge:
        """Set up trials at once; the oracles then take and return arrays.

        ``hidden`` is the array of hidden bits or worlds (:class:`HiddenBit`,
        :class:`RealIdeal`), or the number of trials (:class:`Search`).
        """
        raise NotImplementedError(f"{type(self).__name__} has no batched path")

    def describe(self) -> dict[str, Any]:
        """The game's parameters, as plain values (the fields its constructor takes)."""
        if not attrs.has(type(self)):
            return {}
        return attrs.asdict(self, filter=lambda field, _: field.init)  # type: ignore[arg-type]

    def open(self, rng: np.random.Generator) -> tuple[int | None, Challenge]:
        """One trial: the hidden value drawn from the challenger's coins (None for a search
        game), and the challenge set up with it."""
        b = int(rng.integers(2))  # the bit, or the world: from the challenger's coins alone
        return b, self.setup(b, rng)  # type: ignore[attr-defined]

    def open_batch(
        self, size: int, rng: np.random.Generator
    ) -> tuple[np.ndarray | None, Challenge]:
        """``size`` trials at once, as :meth:`open`."""
        b = rng.integers(2, size=size)
        return b, self.setup_batch(b, rng)

    def judge(self, challenge: Challenge, hidden: int | None, answer: Any) -> bool:
        """Whether ``answer`` wins the trial; :class:`InvalidAnswer` when it is no answer."""
        return answer_bit(answer) == hidden

    def judge_batch(
        self, challenge: Challenge, hidden: np.ndarray | None, answers: Any, size: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Which of ``size`` answers win, and which are not answers at all (None: all are).

        Raises :class:`InvalidAnswer` when the batch as a whole is refused.
        """
        answers = np.asarray(answers)
        if answers.shape != (size,):
            raise InvalidAnswer(f"answers of shape {answers.shape}, not ({size},)")
        if answers.dtype.kind in "ui" and size and _most(answers) <= 1:
            # The common case: integer bits (checked as in answer_bits), compared as they are.
            return answers == hidden, None
        bits, invalid = answer_bits(answers)
        win = bits == hidden.astype(bool)  # type: ignore[union-attr]
        if invalid is not None:
            win &= ~invalid
        return win, invalid


class HiddenBit(Game):
    """The challenger draws a bit b; the adversary wins by answering b.

    Advantage: 2·Pr[win] − 1. Subclasses implement ``setup(b, rng)``.
    """

    shape: ClassVar[Shape] = HIDDEN_BIT

    def setup(self, b: int, rng: np.random.Generator) -> Challenge:
        raise NotImplementedError


class RealIdeal(Game):
    """The adversary is put in the real world or the ideal one and answers 1 for real.

    Advantage: Pr[A→1 | real] − Pr[A→1 | ideal]. Each trial's world is drawn from the
    challenger's coins, uniformly, so no adversary can predict it. Subclasses implement
    ``setup(world, rng)`` with ``world`` equal to :data:`REAL` (1) or :data:`IDEAL` (0).
    """

    shape: ClassVar[Shape] = REAL_VS_IDEAL

    def setup(self, world: int, rng: np.random.Generator) -> Challenge:
        raise NotImplementedError


class Search(Game):
    """The adversary must find something (a forgery, a collision); advantage Pr[win] − baseline.

    Subclasses implement ``setup(rng)``, ``finalize(challenge, answer) -> bool`` and
    ``baseline``; for a batched path, ``setup_batch(size, rng)`` and
    ``finalize_batch(challenge, answers) -> bool array``.
    """

    shape: ClassVar[Shape] = SEARCH

    @property
    def baseline(self) -> float:
        return 0.0

    def setup(self, rng: np.random.Generator) -> Challenge:
        raise NotImplementedError

    def finalize(self, challenge: Challenge, answer: Any) -> bool:
        raise NotImplementedError

    def finalize_batch(self, challenge: Challenge, answers: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} has no batched path")

    def open(self, rng: np.random.Generator) -> tuple[int | None, Challenge]:
        return None, self.setup(rng)

    def open_batch(
        self, size: int, rng: np.random.Generator
    ) -> tuple[np.ndarray | None, Challenge]:
        return None, self.setup_batch(size, rng)

    def judge(self, challenge: Challenge, hidden: int | None, answer: Any) -> bool:
        return bool(self.finalize(challenge, answer))

    def judge_batch(
        self, challenge: Challenge, hidden: np.ndarray | None, answers: Any, size: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        return np.asarray(self.finalize_batch(challenge, answers), bool), None


class Cost(Search):
    """A defense's cost as a search game: a win is a failure of the scheme on honest input
    (a mislabelled record, a failed task), so the advantage is 1 − its utility.

    The challenger decides every trial alone: subclasses implement
    ``decide(rngs, single=...)``, returning a challenge whose ``secret`` holds each trial's
    win (one generator a trial: ``[rng]``, or the batch's ``rng.spawn(size)``). The
    adversary's answer is never read, so every adversary gets the same figure (one that
    raises still loses its trials, counted as errors: play a cost with a trivial adversary).
    """

    def decide(self, rngs: list[np.random.Generator], *, single: bool) -> Challenge:
        raise NotImplementedError

    def setup(self, rng: np.random.Generator) -> Challenge:
        return self.decide([rng], single=True)

    def setup_batch(self, size: int, rng: np.random.Generator) -> Challenge:
        return self.decide(rng.spawn(size), single=False)

    def finalize(self, challenge: Challenge, answer: Any) -> bool:
        return bool(challenge.secret[0])

    def finalize_batch(self, challenge: Challenge, answers: Any) -> np.ndarray:
        return np.asarray(challenge.secret, bool)


@runtime_checkable
class Adversary(Protocol):
    """Gets the oracle handles and its own random generator, returns an answer."""

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> Any: ...


@runtime_checkable
class BatchAdversary(Protocol):
    """An adversary that also plays ``size`` trials at once against a batched game.

    Its oracles take and return arrays whose first axis is the trial; it returns an array
    of ``size`` answers.
    """

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> Any: ...

    def batch(self, oracles: Oracles, rng: np.random.Generator, size: int) -> Any: ...


@runtime_checkable
class ReportsResources(Protocol):
    """An adversary that spends more than oracle queries (shadow models, training steps)."""

    def resources(self, game: Any) -> Mapping[str, Any]: ...
