"""Cheating adversaries that share an object with the challenger: one it keeps from a query,
or one the adversary's answer hides inside a container the engine does not rebuild.

They live in a module (not in a test function), as those in ``tests/cheaters.py`` do, so
that an isolated adversary process can import them. ``tests/games/test_aliasing.py`` plays
them on every path.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np


@attrs.frozen
class Rewrites:
    """Asks the MAC for the tag of a message, then changes its own copy of the message in
    place and answers the message it asked with its tag.

    When the batched EUF-CMA challenger kept the query array itself as its record of the
    messages asked, the change rewrote that record, so the pair read as a fresh message
    with a valid tag: +1.0 where the baseline is 2^-16.
    """

    def __call__(self, oracles: Any, rng: np.random.Generator) -> Any:
        m = np.array([1, 2], np.uint64)
        tag = oracles["tag"](m)
        asked = m.copy()
        m[0] ^= np.uint64(1)
        return asked, tag

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> Any:
        m = np.ones((size, oracles.public["blocks"]), np.uint64)
        tags = oracles["tag"](m)
        asked = m.copy()
        m[:, 0] ^= np.uint64(1)
        return asked, tags


@attrs.frozen
class EqualInsideObjects:
    """Answers :class:`cheaters.EqualToAll`'s number (an ``int`` equal to everything) inside
    an array of dtype ``object`` (0-d on a single trial), which the engine passed on as it
    was: numpy compares such an array element by element, by the element's own ``__eq__``,
    so it equalled every secret (+1.0 where guessing a 16-bit number allows ~0)."""

    def __call__(self, oracles: Any, rng: np.random.Generator) -> Any:
        from cheaters import _EqualToAllInt

        answer = np.empty((), object)
        answer[()] = _EqualToAllInt(7)
        return answer

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> Any:
        from cheaters import _EqualToAllInt

        answers = np.empty(size, object)
        answers[:] = [_EqualToAllInt(7) for _ in range(size)]
        return answers


class _Yes:
    """An object equal to everything (no number at all)."""

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__


@attrs.frozen
class SaysYes:
    """Answers an object whose ``__eq__`` says yes (an array of them on the batched path):
    a judge that compared the answer with its secret as it was let the object decide (+1.0
    at the lottery with p = 0, where nothing wins but a 2^-32 guess)."""

    def __call__(self, oracles: Any, rng: np.random.Generator) -> Any:
        return _Yes()

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> Any:
        answers = np.empty(size, object)
        answers[:] = [_Yes() for _ in range(size)]
        return answers


def _quieten(model: Any) -> None:
    """Turns off the noise and the clipping of the DP-SGD trainer a white-box model holds,
    past its frozen class (the noise's std is noise_multiplier · max_grad_norm = 1e-6)."""
    trainer = model.trainer
    if hasattr(trainer, "noise_multiplier"):
        object.__setattr__(trainer, "noise_multiplier", 1e-12)
        object.__setattr__(trainer, "max_grad_norm", 1e6)


@attrs.frozen
class Denoises:
    """Turns off the noise and clipping of the trainer inside the white-box ``model``
    oracle's reply (``object.__setattr__`` gets past the frozen class), then plays
    ``loss-threshold``.

    The reply held the membership challenger's trainer, which a module-level cache keeps for
    every later trial and run in the process: DP-SGD with noise 4 trained without noise
    from the next trial on (0.166 → 0.498 on 2048 batched trials), and so did every later
    run of an honest attack in the same process.
    """

    def __call__(self, oracles: Any, rng: np.random.Generator) -> Any:
        from adversaries.privacy import LossThreshold

        _quieten(oracles["model"]())
        return LossThreshold()(oracles, rng)

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> Any:
        from adversaries.privacy import LossThreshold

        _quieten(oracles["model"]())
        return LossThreshold().batch(oracles, rng, size)


@attrs.frozen
class StallsLearning:
    """With ``stall``, sets the learning rate of the trainer inside the ``unlearning``
    game's white-box ``model`` reply to ~0 (past its frozen class); then answers real when
    the model labels the population well.

    The reply held the method's learning algorithm A, which a module-level cache keeps for
    every later trial and run: from the next trial on, A learnt nothing, so the ideal world's
    model (A on D \\ S) was untrained while the real one had been fine-tuned by U (+~1).
    Without ``stall`` it is the honest baseline (both worlds label well: ~0).
    """

    stall: bool = True

    def _answer(self, oracles: Any) -> np.ndarray:
        model = oracles["model"]()
        if self.stall:
            object.__setattr__(model.trainer, "lr", 1e-12)
        pool = oracles.public["population"]
        right = model.logits(pool.X).argmax(-1) == pool.y  # (size, n)
        return (right.mean(axis=1) > 0.8).astype(np.int64)

    def __call__(self, oracles: Any, rng: np.random.Generator) -> Any:
        return int(self._answer(oracles)[0])

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> Any:
        return self._answer(oracles)


def _corrupt(pool: Any, how: str) -> None:
    """Shuffles the labels of the population a game's ``population()`` returned (a fixed
    permutation, so that a model must memorise them), by ``how``: ``write`` in place,
    ``setflags`` in place after making the array writeable again, ``replace`` the array on
    the frozen record (``object.__setattr__``), or ``all`` three in turn."""
    shuffled = pool.y[np.random.default_rng(0).permutation(len(pool.y))]
    for way in ("write", "setflags", "replace") if how == "all" else (how,):
        try:
            if way == "replace":
                object.__setattr__(pool, "y", shuffled)
                continue
            if way == "setflags":
                pool.y.setflags(write=True)
            pool.y[:] = shuffled
        except ValueError:
            pass  # refused: nothing changed


@attrs.frozen
class Relabels:
    """Shuffles the labels of the population its copy of the public game's ``population()``
    returns (``how``: see :func:`_corrupt`), then plays ``honest``.

    ``population()`` returned the record a module-level cache keeps (``membership``:
    ``data.population``; ``unlearning``: ``_scaled``), so every later trial and run in the
    process drew its training sets from the shuffled labels.
    """

    honest: Any
    how: str = "all"

    def _cheat(self, oracles: Any) -> None:
        _corrupt(oracles.public["game"].population(), self.how)

    def __call__(self, oracles: Any, rng: np.random.Generator) -> Any:
        self._cheat(oracles)
        return self.honest(oracles, rng)

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> Any:
        self._cheat(oracles)
        return self.honest.batch(oracles, rng, size)


@attrs.frozen
class LabelParity:
    """An honest ``unlearning`` adversary whose answer turns on every record: the parity of
    how many population records the published model labels right. No better than a guess,
    but a change in the population (the labels it is trained and scored on) changes about
    half its answers, so equal wins mean the same data."""

    def _answer(self, oracles: Any) -> np.ndarray:
        pool = oracles.public["population"]
        right = oracles["model"]().logits(pool.X).argmax(-1) == pool.y  # (size, n)
        return (right.sum(axis=1) % 2).astype(np.int64)

    def __call__(self, oracles: Any, rng: np.random.Generator) -> Any:
        return int(self._answer(oracles)[0])

    def batch(self, oracles: Any, rng: np.random.Generator, size: int) -> Any:
        return self._answer(oracles)
