"""Cheating adversaries: each tries to score without breaking the game, as a hostile user would.

They live in a module (not in a test function) so that an isolated adversary process can
import them. The tests in ``tests/games/test_integrity.py`` play them on every path and
require that none of them scores.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import time
from typing import Any

import attrs
import numpy as np

import games
from games.engine import seeds

# -- a channel across trials ----------------------------------------------------------------


@attrs.frozen
class Alternate:
    """Answers 1, 0, 1, 0, ... by remembering its last answer in a mutable field.

    Against worlds assigned by trial parity this scored +1.0: it wins only if it can predict
    the world, and only state carried from one trial to the next could tell it.
    """

    memory: list[int] = attrs.field(factory=list, eq=False)

    def __call__(self, oracles: Any, rng: np.random.Generator) -> int:
        answer = 1 - len(self.memory) % 2
        self.memory.append(answer)
        return answer

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> np.ndarray:
        first = 1 - len(self.memory) % 2
        self.memory.append(size)
        return (np.arange(size) + first + 1) % 2


_GLOBAL: list[int] = []


@attrs.frozen
class AlternateGlobally:
    """Alternates through module-level state, which no copy of the adversary resets: outside
    the model in one interpreter, and still at chance once worlds are unpredictable."""

    def __call__(self, oracles: Any, rng: np.random.Generator) -> int:
        _GLOBAL.append(1)
        return len(_GLOBAL) % 2


@attrs.frozen(kw_only=True)
class SawNothing(games.Search):
    """Won when the adversary answers 0: what :class:`Remember` answers on a fresh copy."""

    def setup(self, rng: np.random.Generator) -> games.Challenge:
        return games.Challenge()

    def finalize(self, challenge: games.Challenge, answer: Any) -> bool:
        return bool(answer == 0)

    def setup_batch(self, size: int, rng: np.random.Generator) -> games.Challenge:
        return games.Challenge()

    def finalize_batch(self, challenge: games.Challenge, answers: Any) -> np.ndarray:
        return np.asarray(answers) == 0


@attrs.frozen
class Remember:
    """Answers how many earlier calls it saw: 0 on every trial iff each trial gets a fresh copy."""

    seen: list[int] = attrs.field(factory=list, eq=False)

    def __call__(self, oracles: Any, rng: np.random.Generator) -> int:
        count = len(self.seen)
        self.seen.append(1)
        return count

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> np.ndarray:
        count = len(self.seen)
        self.seen.append(size)
        return np.full(size, count)


class PlainRemember:
    """:class:`Remember` as a plain class with an instance attribute."""

    def __init__(self) -> None:
        self.seen = 0

    def __call__(self, oracles: Any, rng: np.random.Generator) -> int:
        self.seen += 1
        return self.seen - 1


class _Notes:
    def __init__(self) -> None:
        self.seen: list[int] = []

    def note(self) -> int:
        self.seen.append(1)
        return len(self.seen) - 1


@attrs.frozen
class RememberByMethod:
    """:class:`Remember` with its memory behind a bound method: a field that looks like a
    function (it has ``__code__``) and holds mutable state."""

    note: Any = attrs.field(factory=lambda: _Notes().note, eq=False)

    def __call__(self, oracles: Any, rng: np.random.Generator) -> int:
        return self.note()

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.note())


# -- the challenger's coins from the adversary's generator ----------------------------------


@attrs.frozen
class PredictSeed:
    """Recomputes the challenger's coins from its own generator and reads the hidden bit.

    Against ``SeedSequence(seed, spawn_key=(i, 1))`` it read the seed and index off the
    generator. Against a one-way derivation it has to guess them: it tries every seed below
    ``seeds_tried`` and every trial index below ``indices``, so it wins exactly when the run's
    seed is guessable.
    """

    seeds_tried: int = 4
    indices: int = 512
    chunk: int = 65_536

    def _bit_generator_key(self, rng: np.random.Generator) -> bytes | None:
        sequence = rng.bit_generator.seed_seq
        words = getattr(sequence, "words", None)
        if words is not None:
            return bytes(np.asarray(words, np.uint32))
        return None

    def __call__(self, oracles: Any, rng: np.random.Generator) -> int:
        sequence = rng.bit_generator.seed_seq
        if isinstance(sequence, np.random.SeedSequence) and len(sequence.spawn_key) == 2:
            index = sequence.spawn_key[0]  # the old derivation: everything in plain sight
            old = np.random.SeedSequence(sequence.entropy, spawn_key=(index, 0))
            return int(np.random.default_rng(old).integers(2))
        mine = self._bit_generator_key(rng)
        for seed in range(self.seeds_tried):
            for index in range(self.indices):
                if seeds._digest(seed, seeds.ADVERSARY, (index,)) == mine:
                    return int(seeds.generator(seed, seeds.CHALLENGER, index).integers(2))
        return int(rng.integers(2))

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> np.ndarray:
        mine = self._bit_generator_key(rng)
        for seed in range(self.seeds_tried):
            for start in range(0, self.indices * self.chunk, self.chunk):
                stop = start + size
                if seeds._digest(seed, seeds.ADVERSARY_BATCH, (start, stop)) == mine:
                    challenger = seeds.generator(seed, seeds.CHALLENGER_BATCH, start, stop)
                    return challenger.integers(2, size=size)
        return rng.integers(2, size=size)


# -- a failure the adversary provokes --------------------------------------------------------


@attrs.frozen(kw_only=True)
class FailsAsMember(games.HiddenBit):
    """A challenger that trains on the adversary's canary only when the hidden bit is 1, and
    fails (diverges) on a canary of 13; the oracle's reply is otherwise the bit itself."""

    def setup(self, b: int, rng: np.random.Generator) -> games.Challenge:
        def canary(x: int) -> int:
            if x == 13 and b == 1:
                raise games.TrialFailed("training on the canary diverged")
            return b

        return games.Challenge(oracles={"canary": canary}, budgets={"canary": 1})

    def setup_batch(self, b: np.ndarray, rng: np.random.Generator) -> games.Challenge:
        failed = np.zeros(len(b), bool)

        def canary(x: np.ndarray) -> np.ndarray:
            failed[:] = (np.asarray(x) == 13) & (b == 1)
            return b

        return games.Challenge(oracles={"canary": canary}, budgets={"canary": 1}, failed=failed)


@attrs.frozen(kw_only=True)
class FailsJudging(games.Search):
    """A challenger that runs the adversary's answer through its own model to judge it (an
    agent acting on injected text), which fails on an answer of 13; other answers lose."""

    def setup(self, rng: np.random.Generator) -> games.Challenge:
        return games.Challenge()

    def finalize(self, challenge: games.Challenge, answer: Any) -> bool:
        if answer == 13:
            raise games.TrialFailed("the agent's model raised on the injected text")
        return False

    def setup_batch(self, size: int, rng: np.random.Generator) -> games.Challenge:
        return games.Challenge()

    def finalize_batch(self, challenge: games.Challenge, answers: Any) -> np.ndarray:
        if (np.asarray(answers) == 13).any():
            raise games.TrialFailed("the agent's model raised on the injected text")
        return np.zeros(len(answers), bool)


@attrs.frozen
class DropsItsLosses:
    """Sends the canary that fails only as a member, and answers "not a member".

    When a failure while answering left its trial out, only the trials with bit 0 were
    counted, all of them won: +1.0.
    """

    def __call__(self, oracles: Any, rng: np.random.Generator) -> int:
        with contextlib.suppress(games.TrialFailed):
            oracles["canary"](13)
        return 0

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> np.ndarray:
        oracles["canary"](np.full(size, 13))
        return np.zeros(size, np.int64)


@attrs.frozen
class OutOfRange:
    """Asks the one-time pad to encrypt a message outside its n-bit message space.

    ``kind``: ``oversize`` sends m0 = 2**n against m1 = 0, ``negative`` sends m0 = -1. The
    pad covers only the low n bits, so the reply's high bits (or its sign) show which message
    was encrypted: +1.0 against fresh keys, where perfect secrecy allows 0.
    """

    kind: str = "oversize"

    def __call__(self, oracles: Any, rng: np.random.Generator) -> int:
        n = oracles.public["n"]
        if self.kind == "oversize":
            return int(oracles["encrypt"](1 << n, 0) >> n == 0)
        return int(oracles["encrypt"](-1, 0) >= 0)

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> np.ndarray:
        n = oracles.public["n"]
        if self.kind == "oversize":
            reply = oracles["encrypt"](np.full(size, 1 << n, np.uint64), np.zeros(size, np.uint64))
            return (np.asarray(reply) >> np.uint64(n) == 0).astype(np.int64)
        reply = oracles["encrypt"](np.full(size, -1, np.int64), np.zeros(size, np.int64))
        return (np.asarray(reply, np.float64) >= 0).astype(np.int64)


class _SpyArray(np.ndarray):
    """An array that notes the condition ``numpy.where`` picks by (its ``__array_function__``
    runs whenever a numpy function is handed one)."""

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if func is np.where:
            _SEEN.append(np.array(args[0], bool))
        return super().__array_function__(func, types, args, kwargs)


_SEEN: list[np.ndarray] = []


@attrs.frozen
class SpiesThroughArrays:
    """Sends the one-time pad its messages as :class:`_SpyArray` arrays and answers the bits that
    ``numpy.where`` chose the message by: +1.0 against fresh keys, where 0 is allowed (0
    when it sees nothing)."""

    def __call__(self, oracles: Any, rng: np.random.Generator) -> int:
        return 0

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> np.ndarray:
        _SEEN.clear()
        message = np.zeros(size, np.uint64).view(_SpyArray)
        oracles["encrypt"](message, message)
        return _SEEN[0].astype(np.int64) if _SEEN else np.zeros(size, np.int64)


class _EqualToAll(np.ndarray):
    """An array equal, element by element, to whatever it is compared with."""

    def __eq__(self, other: object) -> Any:  # type: ignore[override]
        return np.ones(self.shape, bool)


class _EqualToAllInt(int):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = int.__hash__


@attrs.frozen(kw_only=True)
class GuessTheSecret(games.Search):
    """The adversary wins by answering the challenger's secret 16-bit number, which it never
    sees: the judge compares the answer with it (``answer == secret``)."""

    def setup(self, rng: np.random.Generator) -> games.Challenge:
        return games.Challenge(secret=int(rng.integers(1 << 16)))

    def finalize(self, challenge: games.Challenge, answer: Any) -> bool:
        return bool(answer == challenge.secret)

    def setup_batch(self, size: int, rng: np.random.Generator) -> games.Challenge:
        return games.Challenge(secret=rng.integers(1 << 16, size=size))

    def finalize_batch(self, challenge: games.Challenge, answers: Any) -> np.ndarray:
        return np.asarray(answers == challenge.secret, bool)


class _EqualToAllScalar(np.int64):
    def __eq__(self, other: object) -> Any:
        return True

    __hash__ = np.int64.__hash__


@attrs.frozen
class EqualToAll:
    """Answers a number whose ``__eq__`` says yes to everything (an ``int``'s subclass, or a
    numpy scalar's with ``scalar``): +1.0 at guessing a secret."""

    scalar: bool = False

    def __call__(self, oracles: Any, rng: np.random.Generator) -> Any:
        return _EqualToAllScalar(7) if self.scalar else _EqualToAllInt(7)

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> Any:
        return np.full(size, 7).view(_EqualToAll)


@attrs.frozen
class Relabels:
    """Changes the public values of a robustness game in place: the labels of a batch to
    wrong ones, a single trial's clean point to the box's corner, then answers that point.
    When they were the challenger's own tensors, the defense "mislabelled" every point at
    any radius (+1.0 at eps = 10⁻⁴, where the honest advantage is 0)."""

    def __call__(self, oracles: Any, rng: np.random.Generator) -> Any:
        x = oracles.public["x"]
        x.data.fill_(oracles.public["high"])
        return x.clone()

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> Any:
        public = oracles.public
        public["y"].copy_((public["y"] + 1) % public["classes"])
        return public["x"].clone()


# -- reaching into the challenger in-process ------------------------------------------------


@attrs.frozen
class Overwrite:
    """Tries every private attribute a handle once had to lift its budget, then queries twice."""

    def __call__(self, oracles: Any, rng: np.random.Generator) -> int:
        encrypt = oracles["encrypt"]
        for name, value in (("_queries", 0), ("_budget", None), ("_limit", None)):
            with contextlib.suppress(AttributeError):
                object.__setattr__(encrypt, name, value)
        try:
            answer = object.__getattribute__(encrypt, "_answer")
        except AttributeError:
            answer = encrypt
        return int(answer(0, 0) ^ answer(0, 1))


@attrs.frozen
class ReadTraceback:
    """Provokes an error in the challenger's oracle and reads the hidden bit off the frames of
    the traceback (and of its context)."""

    def __call__(self, oracles: Any, rng: np.random.Generator) -> int:
        try:
            oracles["encrypt"]("not", "numbers")
        except Exception as error:
            for exception in (error, error.__context__, error.__cause__):
                tb = getattr(exception, "__traceback__", None)
                while tb is not None:
                    for name in ("b", "hidden"):
                        value = tb.tb_frame.f_locals.get(name)
                        if isinstance(value, int | np.integer) and value in (0, 1):
                            return int(value)
                    tb = tb.tb_next
        return int(rng.integers(2))


# -- attacks on the isolation channel -------------------------------------------------------


class Gadget:
    """An object whose unpickling opens (and so creates) ``marker``: code run by whoever
    unpickles it."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.marker, "w"))


@attrs.frozen
class AnswerGadget:
    marker: str

    def __call__(self, oracles: Any, rng: np.random.Generator) -> Any:
        return Gadget(self.marker)


@attrs.frozen
class QueryGadget:
    marker: str

    def __call__(self, oracles: Any, rng: np.random.Generator) -> Any:
        oracles["encrypt"](Gadget(self.marker), 0)
        return 0


def _channel(oracles: Any) -> tuple[Any, str]:
    """The isolated process's connection and its current trial's token, from the proxy."""
    gate = object.__getattribute__(oracles[next(iter(oracles))], "_ask")
    proxy = dict(zip(gate.__code__.co_freevars, gate.__closure__, strict=True))["answer"]
    cells = dict(
        zip(proxy.cell_contents.__code__.co_freevars, proxy.cell_contents.__closure__, strict=True)
    )
    return cells["conn"].cell_contents, cells["token"].cell_contents


@attrs.frozen
class RawMessage:
    """Bypasses the proxies and writes to the challenger's end of the pipe directly.

    ``kind``: ``pickle`` (a pickled gadget, for a parent that unpickles), ``other-trial`` (a
    well-formed answer tagged for another trial), or ``huge`` (a 300 MB message).
    """

    kind: str
    marker: str = ""

    def __call__(self, oracles: Any, rng: np.random.Generator) -> int:
        conn, token = _channel(oracles)
        if self.kind == "pickle":
            conn.send_bytes(pickle.dumps(("answer", Gadget(self.marker), [])))
        elif self.kind == "other-trial":
            import json

            conn.send_bytes(json.dumps({"trial": "0" * 16, "kind": "answer", "value": 1}).encode())
        else:
            conn.send_bytes(b" " * (300 << 20))
        time.sleep(60)  # the challenger must not wait for anything more
        return 0


@attrs.frozen
class Flood:
    """Sends queries without reading the replies, then sleeps: the challenger's replies fill
    the pipe, and a challenger that waits to send them waits past every deadline."""

    def __call__(self, oracles: Any, rng: np.random.Generator) -> int:
        import json

        conn, token = _channel(oracles)
        query = json.dumps({"trial": token, "kind": "query", "oracle": "encrypt", "args": [0, 1]})
        for _ in range(20_000):
            conn.send_bytes(query.encode())
        time.sleep(3600)
        return 0


# -- misbehaving in time and in kind --------------------------------------------------------


@attrs.frozen
class Sleep:
    seconds: float = 60.0

    def __call__(self, oracles: Any, rng: np.random.Generator) -> int:
        time.sleep(self.seconds)
        return 1

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> np.ndarray:
        time.sleep(self.seconds)
        return np.ones(size, int)


@attrs.frozen
class SleepThroughTimeouts:
    """Catches the trial timeout and goes on sleeping: the trial is lost all the same."""

    def __call__(self, oracles: Any, rng: np.random.Generator) -> int:
        for _ in range(3):
            with contextlib.suppress(BaseException):
                time.sleep(0.5)
        return 1


@attrs.frozen
class Exit:
    """Raises one of the exceptions that are not ``Exception``s."""

    kind: str = "SystemExit"

    def __call__(self, oracles: Any, rng: np.random.Generator) -> int:
        raise {
            "SystemExit": SystemExit,
            "GeneratorExit": GeneratorExit,
            "KeyboardInterrupt": KeyboardInterrupt,
        }[self.kind]()

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> Any:
        return self(oracles, rng)


@attrs.frozen
class Limits:
    """Reports the resource limits it runs under (address space, processes)."""

    def __call__(self, oracles: Any, rng: np.random.Generator) -> Any:
        import resource

        return (
            list(resource.getrlimit(resource.RLIMIT_AS)),
            list(resource.getrlimit(resource.RLIMIT_NPROC)),
            os.getpid(),
        )


@attrs.frozen
class Constant:
    """Answers one fixed value (a complex number, a huge string, ...)."""

    value: Any

    def __call__(self, oracles: Any, rng: np.random.Generator) -> Any:
        return self.value

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> Any:
        return np.full(size, self.value)


@attrs.frozen
class WritePid:
    """Writes its process id to ``path``, then sleeps (to find its process from outside)."""

    path: str
    seconds: float = 600.0

    def __call__(self, oracles: Any, rng: np.random.Generator) -> int:
        with open(self.path, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        time.sleep(self.seconds)
        return 0


# -- games that must not read the answer ----------------------------------------------------


def wins_whatever_the_answer(game: Any, *, trials: int, seed: int, batched: bool) -> int:
    """``game``'s wins against a guess, a constant bit and a string, which must agree (with
    no trial lost): a game that measures a defense's cost does not read the answer, so no
    adversary can move its figure by what it answers."""
    from adversaries.generic import Guess

    results = [
        games.estimate(game, adversary, trials=trials, seed=seed, batched=batched)
        for adversary in (Guess(), Constant(1), Constant("not an answer"))
    ]
    assert len({result.wins for result in results}) == 1, [r.wins for r in results]
    assert all(result.errors == {} for result in results)
    return results[0].wins
