"""Machine unlearning: can anyone tell a model that forgot S from one never trained on S?

World real: the challenger trains a model on a training set D with the scheme's learning
algorithm A, then removes a forget set S ⊂ D with the scheme's unlearning update U. World
ideal: it trains on D \\ S from scratch with A. The adversary gets the final model and S,
and answers 1 for real. Advantage: Pr[A→1 | real] − Pr[A→1 | ideal]. An exact method makes
the two worlds identical; a certified one bounds the advantage; a heuristic one claims
nothing and is measured.

The methods (the schemes, :data:`~games.unlearning.schemes.METHODS`) are in
:mod:`games.unlearning.schemes`.

How S is chosen (``forget``): ``random`` (``forget_size`` records of D), ``class`` (that many
records of one class of D, drawn among the classes with enough records), ``outliers`` (the
records of D farthest from their class's mean in D), or ``adversary`` (the adversary submits
S through the ``submit`` oracle before it may look at the model; S joins
``training_size − forget_size`` records drawn from the population).

Records are the dataset's standardised features scaled by one constant that brings the 0.9
quantile of their norms to 1, the farther tenth projected onto the unit sphere (the unit ball
certified removal assumes); every method sees the same data.

What the adversary sees:

- oracles: ``model()`` (a :class:`Model`), ``submit(x, y)`` (``forget="adversary"``: S, once,
  before the model).
- public: ``game`` (the scheme is public), ``population``, ``training_size``,
  ``forget_size``, ``forget`` (S as (x, y); absent for ``forget="adversary"``) and ``model``
  (absent for ``forget="adversary"``).

On the per-trial path S is x (k, d) and y (k,); on the batched path x (size, k, d) and
y (size, k). The batched path trains the whole chunk in a few calls of the privacy domain's
batched trainer (:mod:`games.privacy.training`): first A for every trial (on D in the real
world, on D \\ S in the ideal one), then U for the real trials, then the publication noise.

``unlearned-error`` is a method's cost as a game: the real world's run, and a trial won when
the published model mislabels a record outside D.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np
import torch

from games.base import REAL, Challenge, Cost, RealIdeal
from games.errors import TrialFailed
from games.params import integer, number, param
from games.privacy.accounting import DELTA
from games.privacy.data import Dataset, data_seed_param, dataset_param, population, sealed
from games.privacy.networks import depth_param, model_param, network, width_param
from games.privacy.training import SGD, device_param
from games.registry import register
from games.unlearning.schemes import (
    METHODS,
    Finetune,
    GradientAscent,
    Model,
    NoisyDescent,
    Retrain,
    Sisa,
    TrialModels,
)
from oracles import InvalidArgument

__all__ = ["FORGET", "QUANTILE", "Run", "UnlearnedError", "Unlearning"]

FORGET = ("random", "class", "outliers", "adversary")
#: The share of records the population's scaling keeps strictly inside the unit ball.
QUANTILE = 0.9


# -- a run of the game --------------------------------------------------------------------


@attrs.frozen(kw_only=True, eq=False)
class Run:
    """M trials played to the end: the published models and what they were trained on.

    ``X``/``y`` are every record the chunk uses (the population, then the submitted forget
    sets); ``members`` (M, records) is each trial's D and ``forget`` its S; ``models`` counts
    the models trained (shard models included).
    """

    model: Model
    worlds: np.ndarray
    members: np.ndarray
    forget: np.ndarray
    X: np.ndarray = attrs.field(repr=False)
    y: np.ndarray = attrs.field(repr=False)
    failed: np.ndarray
    models: int


@attrs.frozen(kw_only=True, eq=False)
class _Draw:
    worlds: np.ndarray
    members: np.ndarray  # (M, U)
    forget: np.ndarray  # (M, U)
    bases: np.ndarray  # (M,)
    failed: np.ndarray  # (M,)


# -- the game -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _Removal:
    """What ``unlearning`` and ``unlearned-error`` share: their parameters, the method under
    test (the scheme), the population, and a trial's run: D and S drawn, A, U, publication."""

    dataset: str = dataset_param("breast-cancer")
    model: str = model_param()
    width: int = width_param()
    depth: int = depth_param()
    training_size: int = param(128, help="records in D (S included)", check=integer(2))
    forget_size: int = param(8, help="records in the forget set S", check=integer(1))
    forget: str = param("random", help="how S is chosen", choices=FORGET)
    method: str = param("finetune", help="unlearning method (the scheme)", choices=tuple(METHODS))
    epochs: int = param(
        10,
        help="passes of A over its data (noisy-descent: full-batch steps T0)",
        check=integer(1, 100_000),
    )
    batch_size: int = param(32, help="records per step (not noisy-descent)", check=integer(1))
    lr: float = param(
        0.5, help="learning rate of A (not noisy-descent)", check=number(0, open_low=True)
    )
    l2: float = param(
        0.0,
        help="L2 regularisation λ of every training (noisy-descent needs λ > 0)",
        check=number(0),
    )
    unlearn_epochs: int = param(
        2,
        help="passes of U: over D \\ S (finetune; noisy-descent: full-batch steps T) or S "
        "(gradient-ascent)",
        check=integer(1, 100_000),
    )
    unlearn_lr: float = param(
        0.5, help="learning rate of U (finetune, gradient-ascent)", check=number(0, open_low=True)
    )
    shards: int = param(4, help="SISA shards", check=integer(1, 1024))
    noise: float = param(
        1.0,
        help="std of the Gaussian noise noisy-descent publishes",
        check=number(0, open_low=True),
    )
    delta: float = param(
        DELTA,
        help="δ of noisy-descent's (ε, δ) claim",
        check=number(0, 1, open_low=True, open_high=True),
    )
    device: str | None = device_param()
    data_seed: int = data_seed_param()

    def __attrs_post_init__(self) -> None:
        if self.forget_size >= self.training_size:
            raise InvalidArgument(
                f"forget_size={self.forget_size} must be below training_size="
                f"{self.training_size}: D \\ S must keep at least one record"
            )
        pool = self.population()
        if self.training_size >= pool.size:
            raise InvalidArgument(
                f"training_size={self.training_size} must be below the population size {pool.size}"
            )
        largest = int(np.bincount(pool.y).max())
        if self.forget == "class" and self.forget_size > largest:
            raise InvalidArgument(
                f"forget_size={self.forget_size} exceeds the largest class of "
                f"{self.dataset!r} ({largest} records): forget='class' could never draw S"
            )
        if self.method == "sisa" and self.shards > self.training_size:
            raise InvalidArgument(
                f"shards={self.shards} must be at most training_size={self.training_size}"
            )
        if issubclass(METHODS[self.method], NoisyDescent):
            if self.model != "logreg":
                raise InvalidArgument(
                    f"model={self.model!r}: method={self.method!r} is certified for "
                    "model='logreg' only (its proof needs a convex loss)"
                )
            if self.l2 <= 0:
                raise InvalidArgument(
                    f"l2={self.l2!r} must be > 0 for method={self.method!r} (its proof needs a "
                    "strongly convex objective)"
                )

    # -- the scheme -------------------------------------------------------------------

    def population(self) -> Dataset:
        """The records, scaled into the unit ball: a fresh record each call over the cached
        arrays, which are sealed (read-only for good), so that nothing done to what this
        returns (the adversary reaches it through the public game) changes what a later
        trial or run draws from."""
        return attrs.evolve(_scaled(self.dataset, self.data_seed))

    def scheme(self) -> Retrain:
        """The unlearning method under test, built from the game's parameters: a fresh copy
        of the one cached per process, so that nothing changed on it (through the trainer
        of the ``model`` a trial hands out, or the public game's ``scheme()``) reaches
        another trial or run."""
        return copy.deepcopy(_scheme(self))

    def claim(self) -> tuple[float, float]:
        """(ε, δ) that a certified method claims; InvalidArgument for the others."""
        scheme = self.scheme()
        if not isinstance(scheme, NoisyDescent):
            raise InvalidArgument(f"method={self.method!r} makes no (ε, δ) claim")
        return scheme.epsilon(), scheme.delta

    def epsilon(self) -> float:
        """ε of the method's claim (certified methods only)."""
        return self.claim()[0]

    def advantage_bound(self) -> float:
        """The advantage the method's claim allows any adversary (0 for exact methods)."""
        scheme = self.scheme()
        if isinstance(scheme, NoisyDescent):
            return scheme.advantage_bound()
        if scheme.exact:
            return 0.0
        raise InvalidArgument(f"method={self.method!r} makes no claim")

    def _no_extra(self) -> tuple[np.ndarray, np.ndarray]:
        dims = self.population().dims
        return np.zeros((0, dims), np.float32), np.zeros(0, np.int64)

    def _draw(self, worlds: np.ndarray, rngs: Sequence[np.random.Generator]) -> _Draw:
        pool = self.population()
        N, M, k = pool.size, len(worlds), self.forget_size
        adversary = self.forget == "adversary"
        U = N + (M * k if adversary else 0)
        members = np.zeros((M, U), bool)
        forget = np.zeros((M, U), bool)
        bases = np.zeros(M, np.uint64)
        failed = np.zeros(M, bool)
        for i, rng in enumerate(rngs):
            if adversary:
                members[i, rng.choice(N, self.training_size - k, replace=False)] = True
                rows = N + i * k + np.arange(k)
                members[i, rows] = forget[i, rows] = True
            else:
                chosen = np.sort(rng.choice(N, self.training_size, replace=False))
                members[i, chosen] = True
                picked, ok = self._pick(chosen, rng)
                forget[i, picked] = True
                failed[i] = not ok
            bases[i] = rng.integers(2**63)
        return _Draw(worlds=worlds, members=members, forget=forget, bases=bases, failed=failed)

    def _pick(self, chosen: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
        """S ⊂ D (population rows ``chosen``) by the game's rule, and whether it could be drawn."""
        pool = self.population()
        k = self.forget_size
        if self.forget == "random":
            return rng.choice(chosen, k, replace=False), True
        labels = pool.y[chosen]
        if self.forget == "class":
            counts = np.bincount(labels, minlength=pool.classes)
            candidates = np.flatnonzero(counts >= k)
            if len(candidates) == 0:
                return chosen[:k], False
            label = rng.choice(candidates)
            return rng.choice(chosen[labels == label], k, replace=False), True
        # outliers: farthest from their class's mean in D
        X = pool.X[chosen].astype(np.float64)
        means = np.zeros((pool.classes, pool.dims))
        np.add.at(means, labels, X)
        means /= np.maximum(1, np.bincount(labels, minlength=pool.classes))[:, None]
        distance = np.linalg.norm(X - means[labels], axis=1)
        return chosen[np.argsort(-distance, kind="stable")[:k]], True

    def _run(self, draw: _Draw, extra_x: np.ndarray, extra_y: np.ndarray) -> Run:
        pool = self.population()
        scheme = self.scheme()
        device = self.device or "cpu"
        X = np.concatenate([pool.X, extra_x]) if len(extra_x) else pool.X
        y = np.concatenate([pool.y, extra_y]) if len(extra_y) else pool.y
        real = draw.worlds == REAL
        # A on D in the real world, on D \ S in the ideal one: one batch for both worlds.
        learn = draw.members & ~(draw.forget & ~real[:, None])
        fit = scheme.learn(X, y, learn, draw.bases, device)
        models = int(fit.masks.any(axis=2).sum())
        trials = np.flatnonzero(real)
        if len(trials):
            before = fit.take(trials)
            after = scheme.unlearn(X, y, before, draw.forget[trials], draw.bases[trials], device)
            models += _retrained(before, after)
            fit = fit.put(trials, after)
        fit = scheme.publish(fit, draw.bases, device)
        model = Model(
            trainer=scheme.trainer,
            params=fit.params,
            shards=fit.shards,
            active=np.asarray(fit.masks.any(axis=2)),
        )
        return Run(
            model=model,
            worlds=draw.worlds,
            members=draw.members,
            forget=draw.forget,
            X=X,
            y=y,
            failed=draw.failed | fit.diverged,
            models=models,
        )


@register("unlearning")
@attrs.frozen(kw_only=True)
class Unlearning(_Removal, RealIdeal):
    """Machine unlearning: tell a model that forgot S from one retrained without S."""

    cost_game: ClassVar[str | None] = "unlearned-error"

    # -- trials -----------------------------------------------------------------------

    def setup(self, world: int, rng: np.random.Generator) -> Challenge:
        return self._setup(np.array([world]), [rng], single=True)

    def setup_batch(self, world: np.ndarray, rng: np.random.Generator) -> Challenge:
        return self._setup(np.asarray(world), rng.spawn(len(world)), single=False)

    def simulate(
        self,
        worlds: Any,
        rng: np.random.Generator,
        forget: tuple[Any, Any] | None = None,
    ) -> Run:
        """Play ``len(worlds)`` trials to the end with the game's own challenger, in one batch.

        What anyone who knows the (public) scheme can do: an attack's shadow runs. ``forget``:
        the forget set of every trial for ``forget="adversary"``, as x (k, d) and y (k,) shared
        or x (M, k, d) and y (M, k).
        """
        worlds = np.asarray(worlds, np.int64)
        draw = self._draw(worlds, rng.spawn(len(worlds)))
        if self.forget == "adversary":
            if forget is None:
                raise InvalidArgument("forget='adversary': give the forget sets (x, y)")
            x, y = self._check_forget(len(worlds), *forget)
        else:
            x, y = self._no_extra()
        return self._run(draw, x, y)

    def _check_forget(self, size: int, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        pool = self.population()
        k = self.forget_size
        x = np.asarray(x, np.float32)
        y = np.asarray(y)
        try:
            x = np.broadcast_to(x, (size, k, pool.dims)).reshape(size * k, pool.dims)
            y = np.broadcast_to(y, (size, k)).reshape(size * k)
        except ValueError:
            raise InvalidArgument(
                f"the forget set must be x ({k}, {pool.dims}) and y ({k},) per trial, got "
                f"{x.shape} and {y.shape}"
            ) from None
        if not np.isfinite(x).all():
            raise InvalidArgument("the forget set's features must be finite")
        norms = np.linalg.norm(x.astype(np.float64), axis=1)
        if (norms > 1 + 1e-5).any():
            raise InvalidArgument(
                f"the forget set's records must lie in the unit ball (largest norm {norms.max():.4g})"
            )
        if not np.isin(y, np.arange(pool.classes)).all():
            raise InvalidArgument(f"the forget set's labels must be in [0, {pool.classes})")
        x = (x / np.maximum(1.0, norms)[:, None]).astype(np.float32)
        return x, y.astype(np.int64)

    def _setup(
        self, worlds: np.ndarray, rngs: Sequence[np.random.Generator], *, single: bool
    ) -> Challenge:
        pool = self.population()
        size, k = len(worlds), self.forget_size
        draw = self._draw(worlds, rngs)
        if single and draw.failed[0]:
            raise TrialFailed(f"no class of D has forget_size={k} records")
        failed = draw.failed.copy()
        state: dict[str, Any] = {}
        adversary = self.forget == "adversary"

        def model() -> Model:
            if "run" not in state:
                if adversary and "forget" not in state:
                    raise InvalidArgument(
                        "submit the forget set (oracle 'submit') before using the model"
                    )
                x, y = state.get("forget") or self._no_extra()
                run = self._run(draw, x, y)
                failed[:] = run.failed
                if single and failed[0]:
                    raise TrialFailed("a model diverged (its loss or weights are not finite)")
                state["run"] = run
            return state["run"].model

        def submit(x: Any, y: Any) -> None:
            if "forget" in state:
                raise InvalidArgument("the forget set was already submitted")
            state["forget"] = self._check_forget(size, x, y)

        oracles: dict[str, Callable[..., Any]] = {"model": model}
        budgets: dict[str, int | None] = {}
        public: dict[str, Any] = {
            "game": self,
            "population": pool,
            "training_size": self.training_size,
            "forget_size": k,
        }
        if adversary:
            oracles["submit"] = submit
            budgets["submit"] = 1
        else:
            rows = np.nonzero(draw.forget)[1].reshape(size, k)
            x, y = pool.X[rows], pool.y[rows]
            public["forget"] = (x[0], y[0]) if single else (x, y)
            public["model"] = model()
        return Challenge(
            oracles=oracles, budgets=budgets, public=public, secret=worlds, failed=failed
        )


@register("unlearned-error")
@attrs.frozen(kw_only=True)
class UnlearnedError(_Removal, Cost):
    """An unlearning method's cost: how often the model that forgot S mislabels a record outside D.

    The utility side of ``unlearning`` as a game (a method can forget by damaging the
    model), so that reports put it next to the attacks' advantages: a trial runs the real
    world of an ``unlearning`` trial (A on D, then U removing S, then publication) and is
    won when the published model mislabels a population record drawn outside D. It is a
    search game with ``unlearning``'s parameters (``forget='adversary'`` is refused: S is
    drawn by the game's rule); the adversary is given nothing and its answer is not read,
    so the win rate is the unlearned model's error on unseen records. A trial whose model
    diverged, or whose S could not be drawn, is left out, as in ``unlearning``.
    """

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if self.forget == "adversary":
            raise InvalidArgument(
                "forget='adversary': unlearned-error draws S by the game's rule (random, "
                "class or outliers); no adversary submits it"
            )

    def decide(self, rngs: list[np.random.Generator], *, single: bool) -> Challenge:
        pool = self.population()
        draw = self._draw(np.full(len(rngs), REAL), rngs)
        # After the draw, from each trial's own stream: a test record outside its D.
        tests = np.array(
            [rng.choice(np.flatnonzero(~draw.members[i])) for i, rng in enumerate(rngs)]
        )
        run = self._run(draw, *self._no_extra())
        if single and run.failed[0]:
            raise TrialFailed("S could not be drawn, or a model diverged")
        named = run.model.logits(pool.X[tests][:, None, :]).argmax(-1)[:, 0]
        return Challenge(secret=named != pool.y[tests], failed=run.failed)


def _retrained(before: TrialModels, after: TrialModels) -> int:
    """Models U trained: shard models whose parameters changed."""
    changed = torch.zeros(before.size * before.shards, dtype=torch.bool)
    for p, q in zip(before.params, after.params, strict=True):
        changed |= (p != q).reshape(len(changed), -1).any(1).cpu()
    return int(changed.sum())


@functools.lru_cache(maxsize=16)
def _scaled(name: str, seed: int) -> Dataset:
    raw = population(name, seed)
    X = raw.X.astype(np.float64)
    norms = np.linalg.norm(X, axis=1)
    # One constant puts nine records in ten inside the ball; the rest are projected onto its
    # sphere. A hair under 1, so that rounding keeps every record inside.
    X *= 1 / max(float(np.quantile(norms, QUANTILE)), 1e-12)
    X /= np.maximum(1.0, np.linalg.norm(X, axis=1) / (1 - 1e-6))[:, None]
    return Dataset(name=raw.name, X=sealed(X.astype(np.float32)), y=raw.y, classes=raw.classes)


@functools.lru_cache(maxsize=64)
def _scheme(game: _Removal) -> Retrain:
    net = network(game.model, width=game.width, depth=game.depth)
    cls = METHODS[game.method]
    if issubclass(cls, NoisyDescent):
        pool = game.population()
        claim: dict[str, Any] = {
            "l2": game.l2,
            "noise": game.noise,
            "delta": game.delta,
            "training_size": game.training_size,
            "forget_size": game.forget_size,
            "dims": pool.dims,
            "classes": pool.classes,
        }
        probe = cls(trainer=SGD(network=net), update=SGD(network=net), **claim)
        # Full-batch descent: Poisson sampling at rate 1 takes every record at each step, and
        # the gradient sum is divided by the nominal size n for D and D \ S alike.
        descent: dict[str, Any] = {
            "network": net,
            "batch_size": game.training_size,
            "lr": probe.step,
            "sampling": "poisson",
            "weight_decay": game.l2,
        }
        return cls(
            trainer=SGD(epochs=game.epochs, **descent),
            update=SGD(epochs=game.unlearn_epochs, **descent),
            size=game.training_size,
            **claim,
        )
    common: dict[str, Any] = {
        "network": net,
        "batch_size": game.batch_size,
        "weight_decay": game.l2,
    }
    trainer = SGD(epochs=game.epochs, lr=game.lr, **common)
    if cls is Sisa:
        return Sisa(trainer=trainer, shards=game.shards)
    if cls in (Finetune, GradientAscent):
        ascent = cls is GradientAscent
        update = SGD(epochs=game.unlearn_epochs, lr=game.unlearn_lr, ascent=ascent, **common)
        return cls(trainer=trainer, update=update)  # type: ignore[call-arg]
    return cls(trainer=trainer)
