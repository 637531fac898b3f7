"""The best of several adversaries: each one's advantage, and the ensemble's, honestly.

Every adversary plays the same trials (same seed: the same challenger randomness, trial by
trial). What "the ensemble" means depends on the shape of the game:

- **Search games: the per-trial union.** A trial counts as won when *any* adversary wins it
  (as AutoAttack reports robustness: the worst case per input). Finding a forgery or a
  collision is checkable, so an adversary that runs all of them and keeps a winning answer
  achieves this rate; it is one pre-declared statistic, estimated on every trial with an
  exact interval that needs no correction.
- **Hidden-bit and real-vs-ideal games: the best single adversary.** "Any adversary guessed
  the bit" is not the advantage of any adversary (two that always answer 0 and 1 would
  "win" every trial), so the meaningful worst case is the maximum of the adversaries' own
  advantages, with the interval corrected for having picked the maximum, by one of:

  - ``correction="bonferroni"`` (default): every adversary plays all ``trials``; each
    interval is at level ``1 − (1 − level)/k``, so all k hold at once with probability at
    least ``level``, and then the largest advantage lies in ``[max_j L_j, max_j U_j]``.
  - ``correction="held-out"``: every adversary plays the first half of the trials (the
    selection split, intervals at ``level``, not corrected); the one with the highest
    advantage there plays the second half (fresh trials), and its interval there, at
    ``level``, needs no correction since the choice did not look at those trials.

  Search games get the corrected maximum too, beside the union.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Unpack

import attrs
import numpy as np

from games.base import BatchAdversary, Challenge, Game, Search
from games.engine.backends import session
from games.engine.isolation import Isolated
from games.engine.options import RunKeywords, RunOptions
from games.engine.records import Estimate, Total, describe_adversary, plain
from games.engine.runlog import spec_of
from games.engine.runs import (
    check_run,
    default_chunk,
    estimate,
    estimate_from,
    play,
    use_batched,
    with_device,
)
from games.engine.seeds import fresh_seed
from games.errors import InvalidAnswer, TrialFailed
from games.registry import name_of
from oracles import InvalidArgument, Oracle, Oracles, checks

__all__ = ["CORRECTIONS", "BestOf", "Ensemble", "estimate_best"]

CORRECTIONS = ("bonferroni", "held-out")


@attrs.frozen(kw_only=True)
class BestOf:
    """The largest advantage among the adversaries, with an interval corrected for the choice.

    Attributes:
        adversary: the label of the adversary with the largest advantage.
        advantage: its advantage (held-out: on the evaluation split).
        ci_low, ci_high: an interval for the largest true advantage (Bonferroni) or for the
            chosen adversary's advantage (held-out), at ``level``.
        correction: how the choice is accounted for, in words.
        trials: the trials the interval rests on.
    """

    adversary: str
    index: int
    advantage: float
    ci_low: float
    ci_high: float
    level: float
    method: str
    correction: str
    trials: int

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen(kw_only=True)
class Ensemble:
    """Each adversary's estimate on the same trials, the corrected best, and (search games)
    the per-trial union.

    Attributes:
        adversaries: one estimate per adversary, in the order given. With the Bonferroni
            correction their intervals are at the corrected level (all hold at once); with the
            held-out one they are on the selection split, at ``level``, not corrected.
        labels: a name per adversary (with its parameters where names repeat).
        best: the corrected maximum (:class:`BestOf`).
        union: search games: "any adversary wins the trial", on all trials; else None.
    """

    game: str
    params: Mapping[str, Any]
    shape: str
    trials: int
    seed: int
    level: float
    correction: str
    labels: tuple[str, ...]
    adversaries: tuple[Estimate, ...]
    best: BestOf
    union: Estimate | None = None

    @property
    def worst_case(self) -> Estimate | BestOf:
        """The ensemble's headline: the union for search games, else the corrected best."""
        return self.union if self.union is not None else self.best

    def to_json(self) -> dict[str, Any]:
        return {
            "game": self.game,
            "params": plain(self.params),
            "shape": self.shape,
            "trials": self.trials,
            "seed": self.seed,
            "level": self.level,
            "correction": self.correction,
            "adversaries": [
                {"label": label, **e.to_json()}
                for label, e in zip(self.labels, self.adversaries, strict=True)
            ],
            "best": self.best.to_json(),
            "union": self.union.to_json() if self.union is not None else None,
        }


# -- the per-trial union, as a game -------------------------------------------------------


class _Lost:
    """An adversary's answer in a union trial that it lost before answering."""

    def __repr__(self) -> str:
        return "LOST"


LOST = _Lost()


@attrs.frozen
class _AnyFailed:
    """Batched failure mask of a union trial: failed when any copy's challenger failed; read
    lazily, since a challenger may fill its mask while answering."""

    masks: tuple[Any, ...]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.zeros(len(self.masks[0]), bool)
        for mask in self.masks:
            out |= np.asarray(mask, bool)
        return out if dtype is None else out.astype(dtype)


@attrs.frozen(kw_only=True)
class AnyWins(Search):
    """Search game: each of ``count`` adversaries plays its own copy of one trial of ``inner``
    (set up from identical copies of the trial's generator, so each copy is the trial that
    adversary would get alone); the trial is won when any copy is won."""

    inner: Game
    count: int
    batchable: bool = False

    @property
    def baseline(self) -> float:
        return self.inner.baseline

    @property
    def batched(self) -> bool:
        return self.batchable and self.inner.batched

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    def _challenge(self, copies: list[Challenge], secret: Any, failed: Any = None) -> Challenge:
        return Challenge(
            oracles={
                f"{j}.{name}": fn for j, c in enumerate(copies) for name, fn in c.oracles.items()
            },
            public={
                "views": tuple((dict(c.budgets), dict(c.public), tuple(c.oracles)) for c in copies)
            },
            secret=secret,
            failed=failed,
        )

    def setup(self, rng: np.random.Generator) -> Challenge:
        copies = [self.inner.setup(copy.deepcopy(rng)) for _ in range(self.count)]  # type: ignore[attr-defined]
        return self._challenge(copies, copies)

    def finalize(self, challenge: Challenge, answer: Any) -> bool:
        for sub, given in zip(challenge.secret, answer, strict=True):
            if given is LOST:
                continue
            try:
                if self.inner.finalize(sub, given):  # type: ignore[attr-defined]
                    return True
            except InvalidAnswer:
                continue
        return False

    def setup_batch(self, size: int, rng: np.random.Generator) -> Challenge:
        copies = [self.inner.setup_batch(size, copy.deepcopy(rng)) for _ in range(self.count)]  # type: ignore[attr-defined]
        masks = tuple(c.failed for c in copies if c.failed is not None)
        return self._challenge(copies, (copies, size), _AnyFailed(masks) if masks else None)

    def finalize_batch(self, challenge: Challenge, answers: Any) -> np.ndarray:
        copies, size = challenge.secret
        won = np.zeros(size, bool)
        for sub, given in zip(copies, answers, strict=True):
            if given is LOST:
                continue
            try:
                won |= np.asarray(self.inner.finalize_batch(sub, given)).astype(bool)  # type: ignore[attr-defined]
            except InvalidAnswer:
                continue
        return won


@attrs.frozen
class Each:
    """Plays every adversary on its own copy of the trial, each with its own budgets and an
    identical copy of the adversary's generator; an adversary that raises or overspends loses
    its copy (:data:`LOST`) and no other."""

    adversaries: tuple[Any, ...]

    def _views(self, oracles: Oracles) -> list[Oracles]:
        views = []
        for j, (budgets, public, names) in enumerate(oracles.public["views"]):
            handles = {
                name: Oracle(oracles[f"{j}.{name}"], name=name, budget=budgets.get(name))
                for name in names
            }
            views.append(Oracles(handles, public))
        return views

    def _play(self, oracles: Oracles, rng: np.random.Generator, size: int | None) -> list[Any]:
        answers: list[Any] = []
        for adversary, view in zip(self.adversaries, self._views(oracles), strict=True):
            mine = copy.deepcopy(rng)
            try:
                answer = (
                    adversary(view, mine) if size is None else adversary.batch(view, mine, size)
                )
            except TrialFailed:
                raise  # the engine checks its accounts: a challenger failure leaves the trial out
            except Exception:
                answers.append(LOST)
                continue
            answers.append(LOST if any(o.exceeded for o in view.values()) else answer)
        return answers

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> tuple[Any, ...]:
        return tuple(self._play(oracles, rng, None))

    def batch(self, oracles: Oracles, rng: np.random.Generator, size: int) -> list[Any]:
        return self._play(oracles, rng, size)


# -- estimating ---------------------------------------------------------------------------


def _labels(adversaries: Sequence[Any]) -> tuple[str, ...]:
    described = [describe_adversary(a) for a in adversaries]
    names = [name for name, _ in described]
    labels = []
    for name, params in described:
        if names.count(name) > 1:
            inner = ", ".join(f"{k}={v}" for k, v in params.items())
            labels.append(f"{name}({inner})")
        else:
            labels.append(name)
    twins = list(labels)
    for i, label in enumerate(twins):  # identical twins: number them
        if twins.count(label) > 1:
            labels[i] = f"{label}#{twins[:i].count(label) + 1}"
    return tuple(labels)


def _estimate_range(
    game: Game,
    adversary: Any,
    *,
    start: int,
    stop: int,
    seed: int,
    level: float,
    method: str,
    options: RunOptions,
) -> Estimate:
    """Like :func:`games.estimate`, on trials ``[start, stop)`` of the seed only."""
    path = use_batched(game, adversary, False if options.isolate else options.batched)
    size = options.chunk_size or (default_chunk(game, True, stop - start) if path else None)
    spec = spec_of(game, adversary, trials=stop - start, seed=seed, batched=path, chunk_size=size)
    total = Total()
    for tally in play(
        game,
        adversary,
        seed,
        [(start, stop)],
        options=attrs.evolve(options, chunk_size=size),
        batched=path,
    ):
        total.add(tally)
    return estimate_from(spec, total.tally(), level=level, method=method)


def _largest(advantages: np.ndarray) -> int:
    """The index of the largest advantage; the first when none is a number (a real-vs-ideal
    estimate with a world that got no trials has none)."""
    return int(np.nanargmax(advantages)) if np.isfinite(advantages).any() else 0


def _best_of(
    estimates: Sequence[Estimate], labels: Sequence[str], level: float, correction: str
) -> BestOf:
    """Bonferroni: the largest advantage, and [max of lows, max of highs]."""
    advantages = np.array([e.advantage for e in estimates], float)
    index = _largest(advantages)
    chosen = estimates[index]
    return BestOf(
        adversary=labels[index],
        index=index,
        advantage=float(advantages[index]),
        ci_low=max(e.ci_low for e in estimates),
        ci_high=max(e.ci_high for e in estimates),
        level=level,
        method=chosen.method,
        correction=correction,
        trials=chosen.trials,
    )


def estimate_best(
    game: Game,
    adversaries: Sequence[Callable[..., Any]],
    *,
    trials: int,
    seed: int | None = None,
    level: float = 0.95,
    method: str = "clopper-pearson",
    correction: str = "bonferroni",
    progress: Callable[[int, int], None] | None = None,
    **run: Unpack[RunKeywords],
) -> Ensemble:
    """Estimate each adversary's advantage on the same trials, and the ensemble's worst case.

    See the module docstring for what the ensemble means per shape and for the two
    corrections. With one adversary no correction is needed: Bonferroni gives its estimate
    on every trial; ``held-out`` still splits the trials and estimates it on the second part.

    Args:
        adversaries: one or more adversaries (a list).
        trials, seed, level, method: as for :func:`games.estimate`; ``level`` is family-wise.
        correction: ``"bonferroni"`` or ``"held-out"``.
        progress: called as ``progress(done, total)`` over every trial played.
    """
    options = RunOptions(**run)
    seed = _checked(adversaries, trials, seed, level, method, correction)
    game = with_device(game, options.device)
    k = len(adversaries)
    labels = _labels(adversaries)
    given = attrs.asdict(attrs.evolve(options, device=None))
    search = not game.shape.hidden
    selection = trials // 2 if correction == "held-out" else trials
    steps = _Steps(progress, k * selection + (trials - selection) + (trials if search else 0))
    each_level = level if correction == "held-out" else 1 - (1 - level) / k

    def each(adversary: Callable[..., Any]) -> Estimate:
        played = estimate(game, adversary, trials=selection, seed=seed, level=each_level,
                          method=method, progress=steps, **given)  # fmt: skip
        steps.advance(selection)
        return played

    with session():  # the backend's workers start once for every adversary's run
        estimates = [each(adversary) for adversary in adversaries]
        if correction == "bonferroni":
            text = "none needed (one adversary)" if k == 1 else f"bonferroni over {k} adversaries"
            best = _best_of(estimates, labels, level, text)
        else:
            best = _held_out(game, adversaries, estimates, labels, trials, selection, seed,
                             level, method, options)  # fmt: skip
            steps.advance(trials - selection)
        union = None
        if search:
            union = _union(
                game, adversaries, labels, trials=trials, seed=seed, level=level,
                method=method, progress=steps, options=options,
            )  # fmt: skip
    return Ensemble(
        game=name_of(game),
        params=plain(game.describe()),
        shape=game.shape,
        trials=trials,
        seed=seed,
        level=level,
        correction=correction,
        labels=labels,
        adversaries=tuple(estimates),
        best=best,
        union=union,
    )


@attrs.define
class _Steps:
    """Progress over several runs in a row: each run's ``(done, total)`` made overall."""

    report: Callable[[int, int], None] | None
    total: int
    done: int = 0

    def __call__(self, so_far: int, _total: int) -> None:
        if self.report is not None:
            self.report(self.done + so_far, self.total)

    def advance(self, trials: int) -> None:
        self.done += trials
        self(0, self.total)


def _union(
    game: Game,
    adversaries: Sequence[Any],
    labels: Sequence[str],
    *,
    trials: int,
    seed: int,
    level: float,
    method: str,
    options: RunOptions,
    progress: Callable[[int, int], None],
) -> Estimate:
    """The per-trial union of a search game's adversaries, through the engine."""
    players: tuple[Any, ...] = tuple(adversaries)
    isolate = options.isolate
    if isolate:
        players = tuple(Isolated(a, options.trial_timeout) for a in adversaries)
    batchable = all(isinstance(a, BatchAdversary) for a in adversaries)
    union = AnyWins(inner=game, count=len(players), batchable=batchable and not isolate)
    given = attrs.asdict(attrs.evolve(options, isolate=False, device=None))
    try:
        result = estimate(
            union,
            Each(players),
            trials=trials,
            seed=seed,
            level=level,
            method=method,
            progress=progress,
            **{**given, "batched": False if isolate else given["batched"]},
        )
    finally:
        for player in players if isolate else ():
            player.close()
    return attrs.evolve(
        result,
        game=name_of(game),
        adversary="any of " + ", ".join(labels),
        adversary_params={},
        method=f"{result.method}, per-trial union (no correction needed)",
    )


def _held_out(
    game: Game,
    adversaries: Sequence[Callable[..., Any]],
    estimates: Sequence[Estimate],
    labels: Sequence[str],
    trials: int,
    selection: int,
    seed: int,
    level: float,
    method: str,
    options: RunOptions,
) -> BestOf:
    """The best of the first ``selection`` trials, estimated again on the trials after them."""
    index = _largest(np.array([e.advantage for e in estimates], float))
    held = _estimate_range(
        game, adversaries[index], start=selection, stop=trials, seed=seed, level=level,
        method=method, options=options,
    )  # fmt: skip
    return BestOf(
        adversary=labels[index],
        index=index,
        advantage=held.advantage,
        ci_low=held.ci_low,
        ci_high=held.ci_high,
        level=level,
        method=held.method,
        correction=f"held-out: chosen on trials 0-{selection - 1}, estimated on trials "
        f"{selection}-{trials - 1}",
        trials=held.trials,
    )


def _checked(
    adversaries: Any, trials: int, seed: int | None, level: float, method: str, correction: str
) -> int:
    """The run's seed (drawn when none is given), once the arguments are checked."""
    if isinstance(adversaries, str) or not isinstance(adversaries, Sequence) or not adversaries:
        raise InvalidArgument(
            f"adversaries={adversaries!r} must be a non-empty list of adversaries"
        )
    seed = fresh_seed() if seed is None else seed
    check_run(trials, seed, level, method)
    checks.choice("correction", correction, CORRECTIONS)
    if correction == "held-out" and trials < 2:
        raise InvalidArgument(f"trials={trials!r} must be at least 2 to hold out half of them")
    return seed
