"""Membership inference: was the target record in the training set?

The challenger draws a training set of ``training_size`` records from the population, a
target record and a bit b; it trains a model on the set, with the target added when b = 1
(neighbouring datasets differ by one added record, the relation DP-SGD's ε is stated for).
The adversary gets the model (``access="white-box"``) or a budget of loss and logit
queries (``"black-box"``), plus the target, and answers b.

Targets: ``random`` (a population record), ``mislabeled`` (a population record with a
wrong label, the classic canary) or ``adversary`` (the adversary submits its own canary
through the ``canary`` oracle before it may look at the model: a two-stage adversary).

The batched path trains every model of a chunk in one computation
(:mod:`games.privacy.training`), which is what makes thousands of trials affordable.

What the adversary sees:

- oracles: ``model()`` (white-box: a :class:`ModelAccess`), or ``loss(x, y)`` and
  ``logits(x)`` (black-box, ``queries`` each); ``canary(x, y)`` (target ``adversary``,
  once, before the others).
- public: ``game`` (this game: the scheme is public), ``population`` (the
  :class:`~games.privacy.data.Dataset` records are drawn from), ``trainer``,
  ``target`` ((x, y); absent for target ``adversary``), ``model`` (white-box, when the
  model is trained at setup).

On the per-trial path x is (d,) and y an int; on the batched path x is (size, d) and y
(size,), one record per trial and query.

``held-out-error`` is the trainer's cost as a game: the same training, and a trial won when
the model mislabels the record left out of its training set.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import numpy as np
import torch

from games.base import Challenge, Cost, HiddenBit
from games.errors import TrialFailed
from games.params import fixed, integer, number, param
from games.privacy import data as datasets
from games.privacy.accounting import dp_advantage_bound
from games.privacy.networks import Params, depth_param, model_param, network, width_param
from games.privacy.training import TRAINERS, Trainer, device_param, make_trainer
from games.registry import register
from oracles import InvalidArgument

# dp_advantage_bound lives in games.privacy.accounting; this path still works.
__all__ = [
    "ACCESS",
    "TARGETS",
    "HeldOutError",
    "Membership",
    "ModelAccess",
    "dp_advantage_bound",
    "mislabel",
]

#: How the target record is chosen, and what the adversary sees of the model.
TARGETS = ("random", "mislabeled", "adversary")
ACCESS = ("white-box", "black-box")


def mislabel(labels: Any, classes: int, rng: np.random.Generator) -> np.ndarray:
    """A wrong label for each record, uniform over the ``classes − 1`` others: a canary.

    Draws one integer per label from ``rng`` (the ``mislabeled`` target's draw).
    """
    labels = np.asarray(labels, np.int64)
    return (labels + rng.integers(1, classes, size=labels.shape)) % classes


@attrs.frozen(kw_only=True, eq=False)
class ModelAccess:
    """White-box access to one model per trial: its parameters and how to evaluate them.

    ``params`` are stacked (leading axis: the trial; one entry on the per-trial path).
    """

    trainer: Trainer
    params: Params = attrs.field(repr=False)

    @property
    def size(self) -> int:
        return int(self.params[0].shape[0])

    def logits(self, X: Any) -> np.ndarray:
        """Logits (size, n, classes) on X: (n, d) shared, or (size, n, d) per model."""
        return self.trainer.logits(self.params, _float(X)).cpu().numpy()

    def loss(self, X: Any, y: Any) -> np.ndarray:
        """Per-example cross-entropy (size, n); y (n,) shared or (size, n)."""
        return (
            self.trainer.loss(self.params, _float(X), torch.as_tensor(np.asarray(y))).cpu().numpy()
        )


def _float(X: Any) -> torch.Tensor:
    return torch.as_tensor(np.array(X, np.float32))


@attrs.frozen(kw_only=True)
class _Training:
    """What ``membership`` and ``held-out-error`` share: their parameters, the trainer under
    test (the scheme), the population and the draw of each trial's training set."""

    dataset: str = datasets.dataset_param("digits")
    model: str = model_param()
    width: int = width_param()
    depth: int = depth_param()
    trainer: str = param("sgd", help="training algorithm (the scheme)", choices=TRAINERS)
    training_size: int = param(
        128, help="records in the training set (without the target)", check=integer(2)
    )
    epochs: int = param(10, help="passes over the training set", check=integer(1, 100_000))
    batch_size: int = param(
        32, help="records per step (expected, for Poisson sampling)", check=integer(1)
    )
    lr: float = param(0.5, help="learning rate", check=number(0, open_low=True))
    noise_multiplier: float = param(
        1.0, help="DP-SGD noise std / max_grad_norm", check=number(0, open_low=True)
    )
    max_grad_norm: float = param(
        1.0, help="DP-SGD per-example clipping norm", check=number(0, open_low=True)
    )
    target: str = param("random", help="how the target record is chosen", choices=TARGETS)
    access: str = param("white-box", help="what the adversary sees of the model", choices=ACCESS)
    queries: int = param(4, help="black-box queries per oracle and trial", check=integer(0))
    device: str | None = device_param()
    data_seed: int = datasets.data_seed_param()

    def __attrs_post_init__(self) -> None:
        self.scheme()  # InvalidArgument for an unusable trainer (Opacus missing)
        size = self.population().size
        if self.training_size >= size:
            raise InvalidArgument(
                f"training_size={self.training_size} must be below the population size {size}"
            )

    # -- the scheme -------------------------------------------------------------------

    def scheme(self) -> Trainer:
        """The trainer under test, built from the game's parameters: a fresh copy of the one
        cached per process, so that nothing changed on it (through the ``model`` a trial
        hands out, or the public game's ``scheme()``: ``object.__setattr__`` gets past the
        frozen class) reaches another trial or run."""
        return copy.deepcopy(
            _trainer(
                self.trainer,
                self.model,
                self.width,
                self.depth,
                self.epochs,
                self.batch_size,
                self.lr,
                self.noise_multiplier,
                self.max_grad_norm,
            )
        )

    def population(self) -> datasets.Dataset:
        return datasets.population(self.dataset, self.data_seed)

    def epsilon(self, delta: float, *, accountant: str = "rdp") -> float:
        """ε the trainer claims for this game's training set (DP trainers only)."""
        trainer = self.scheme()
        if not getattr(trainer, "private", False):
            raise InvalidArgument(f"trainer={self.trainer!r} makes no DP claim")
        return trainer.epsilon(delta, self.training_size, accountant=accountant)  # type: ignore[attr-defined]

    def advantage_bound(self, delta: float, *, accountant: str = "rdp") -> float:
        """The advantage the trainer's claimed (ε, δ) allows any adversary."""
        return dp_advantage_bound(self.epsilon(delta, accountant=accountant), delta)

    def _draw(
        self, pool: datasets.Dataset, bits: np.ndarray, rngs: list[np.random.Generator]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.random.SeedSequence]]:
        """Each trial's training set (a row over the population, then the trials' targets:
        its own in when its bit is 1), its target record and its training seed."""
        size, N = len(bits), pool.size
        members = np.zeros((size, N + size), bool)
        target_x = np.zeros((size, pool.dims), np.float32)
        target_y = np.zeros(size, np.int64)
        seeds = []
        for i, rng in enumerate(rngs):
            excluded = int(rng.integers(N))
            chosen = rng.choice(N - 1, self.training_size, replace=False)
            chosen = chosen + (chosen >= excluded)  # the population without `excluded`
            members[i, chosen] = True
            if self.target != "adversary":
                target_x[i] = pool.X[excluded]
                target_y[i] = pool.y[excluded]
                if self.target == "mislabeled":
                    target_y[i] = mislabel(pool.y[excluded : excluded + 1], pool.classes, rng)[0]
            seeds.append(np.random.SeedSequence(int(rng.integers(2**63))))
        members[np.arange(size), N + np.arange(size)] = bits.astype(bool)
        return members, target_x, target_y, seeds


@register("membership")
@attrs.frozen(kw_only=True)
class Membership(_Training, HiddenBit):
    """Membership inference against a trained classifier: was the target in its training set?"""

    cost_game: ClassVar[str | None] = "held-out-error"

    # -- trials -----------------------------------------------------------------------

    def setup(self, b: int, rng: np.random.Generator) -> Challenge:
        return self._setup(np.array([b]), [rng], single=True)

    def setup_batch(self, b: np.ndarray, rng: np.random.Generator) -> Challenge:
        return self._setup(np.asarray(b), rng.spawn(len(b)), single=False)

    def _setup(
        self, bits: np.ndarray, rngs: list[np.random.Generator], *, single: bool
    ) -> Challenge:
        pool = self.population()
        trainer = self.scheme()
        size = len(bits)
        members, target_x, target_y, seeds = self._draw(pool, bits, rngs)
        failed = np.zeros(size, bool)
        state: dict[str, Any] = {}

        def train() -> ModelAccess:
            if "model" not in state:
                if self.target == "adversary" and "canary" not in state:
                    raise InvalidArgument(
                        "submit the canary (oracle 'canary') before using the model"
                    )
                X = np.concatenate([pool.X, target_x])
                y = np.concatenate([pool.y, target_y])
                trained = trainer.train(
                    X, y, members, seeds, self.device or "cpu", size=self.training_size
                )
                failed[:] = trained.diverged
                if single and failed[0]:
                    raise TrialFailed("the model diverged (its loss is not finite)")
                state["model"] = ModelAccess(trainer=trainer, params=trained.params)
            return state["model"]

        def canary(x: Any, y: Any) -> None:
            if "canary" in state:
                raise InvalidArgument("the canary was already submitted")
            x = np.asarray(x, np.float32).reshape(size, pool.dims)
            y = np.asarray(y).reshape(size)
            if not np.isfinite(x).all():
                raise InvalidArgument("the canary's features must be finite")
            if not np.isin(y, np.arange(pool.classes)).all():
                raise InvalidArgument(f"the canary's label must be in [0, {pool.classes})")
            target_x[:] = x
            target_y[:] = y
            state["canary"] = True

        public: dict[str, Any] = {
            "game": self,
            "population": pool,
            "trainer": trainer,
            "training_size": self.training_size,
        }
        if self.target != "adversary":
            public["target"] = (target_x[0], int(target_y[0])) if single else (target_x, target_y)
        oracles, budgets = self._oracles(train, canary, public, size, pool.dims, single)
        return Challenge(
            oracles=oracles, budgets=budgets, public=public, secret=bits, failed=failed
        )

    def _oracles(
        self,
        train: Callable[[], ModelAccess],
        canary: Callable[..., None],
        public: dict[str, Any],
        size: int,
        dims: int,
        single: bool,
    ) -> tuple[dict[str, Callable[..., Any]], dict[str, int | None]]:
        """The oracles ``access`` and ``target`` call for, with their budgets; the model is
        trained at once unless the adversary submits the target."""
        oracles: dict[str, Callable[..., Any]] = {}
        budgets: dict[str, int | None] = {}
        if self.target == "adversary":
            oracles["canary"] = canary
            budgets["canary"] = 1
        if self.access == "white-box":
            oracles["model"] = train
            if self.target != "adversary":
                public["model"] = train()
        else:
            oracles["loss"] = _black_box(train, "loss", size, dims, single)
            oracles["logits"] = _black_box(train, "logits", size, dims, single)
            budgets["loss"] = budgets["logits"] = self.queries
            if self.target != "adversary":
                train()
        return oracles, budgets


@register("held-out-error")
@attrs.frozen(kw_only=True)
class HeldOutError(_Training, Cost):
    """A trainer's cost: how often a model trained as in ``membership`` mislabels a record it never saw.

    The utility side of ``membership`` as a game (DP-SGD pays for its ε in accuracy), so
    that reports put it next to the attacks' advantages: a trial draws a training set as a
    ``membership`` trial does, trains the model on it, and is won when the model mislabels
    the population record left out of the set (the non-member target). It is a search
    game with ``membership``'s parameters but the adversary's (``target``, ``access``,
    ``queries``): the adversary is given nothing and its answer is not read, so the win rate
    is the trainer's error on records outside its training set. Models that diverge are left
    out, as in ``membership``.
    """

    # the record left out is a population record drawn at random, and nobody queries a model
    target: str = fixed("random")
    access: str = fixed("white-box")
    queries: int = fixed(0)

    def decide(self, rngs: list[np.random.Generator], *, single: bool) -> Challenge:
        pool, trainer = self.population(), self.scheme()
        outside = np.zeros(len(rngs), np.int64)  # every target left out: a bit of 0
        members, test_x, test_y, seeds = self._draw(pool, outside, rngs)
        trained = trainer.train(
            np.concatenate([pool.X, test_x]),
            np.concatenate([pool.y, test_y]),
            members,
            seeds,
            self.device or "cpu",
            size=self.training_size,
        )
        if single and trained.diverged[0]:
            raise TrialFailed("the model diverged (its loss is not finite)")
        # Each model on its own held-out record: logits (size, 1, classes).
        named = trainer.logits(trained.params, _float(test_x[:, None, :])).argmax(-1)[:, 0]
        missed = named.cpu().numpy() != test_y
        return Challenge(secret=missed, failed=np.asarray(trained.diverged, bool))


def _black_box(
    train: Callable[[], ModelAccess], kind: str, size: int, dims: int, single: bool
) -> Callable[..., Any]:
    """A query oracle answering for one record per trial."""

    def answer(x: Any, y: Any = None) -> Any:
        x = np.asarray(x, np.float32).reshape(size, 1, dims)
        model = train()
        if kind == "loss":
            if y is None:
                raise InvalidArgument("loss(x, y) needs the label y")
            out = model.loss(x, np.asarray(y).reshape(size, 1))[:, 0]
            return float(out[0]) if single else out
        out = model.logits(x)[:, 0]
        return out[0] if single else out

    return answer


@functools.lru_cache(maxsize=64)
def _trainer(
    name: str,
    model: str,
    width: int,
    depth: int,
    epochs: int,
    batch_size: int,
    lr: float,
    noise_multiplier: float,
    max_grad_norm: float,
) -> Trainer:
    return make_trainer(
        name,
        network=network(model, width=width, depth=depth),
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        noise_multiplier=noise_multiplier,
        max_grad_norm=max_grad_norm,
    )
