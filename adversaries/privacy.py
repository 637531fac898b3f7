"""Membership-inference attacks for the ``membership`` game.

Each attack computes a score per trial (higher: the target was trained on) and answers 1
when it exceeds a threshold (:class:`adversaries.scoring.ScoreAttack`). The threshold is
calibrated once per game by playing the game's own challenger (it is public) on
``calibration`` simulated trials whose bits the attack knows; those simulated models, and LiRA's shadow models, are the attack's offline
resources (:meth:`resources`), trained with the game's batched trainer and drawn from the
attack's own ``seed`` so that every trial and every chunk sees the same attack.

- ``loss-threshold`` (Yeom et al. 2018): the target's loss is low when it was trained on.
- ``lira`` (Carlini et al. 2022, offline variant): how far the target's logit-scaled
  confidence lies above its distribution on shadow models that never saw it.
- ``gradient-canary``: a two-stage auditing attack for DP-SGD. It submits a canary whose
  input points along the population's direction of least variance, scaled far beyond
  any record, so its gradient is as large as clipping allows and points where no other
  record's gradient does; it then reads the canary's logit margin relative to the origin.
  Against target ``random`` or ``mislabeled`` it reads the same margin at the given target.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import torch

from adversaries.memo import cached
from adversaries.registry import register
from adversaries.scoring import (
    ScoreAttack,
    View,
    best_threshold,
    confidence,
    offline_seed,
    record_key,
)
from games import integer, number, param
from games.privacy.membership import mislabel
from oracles import Oracles

# best_threshold lives in adversaries.scoring; this path still works.
__all__ = ["GradientCanary", "Lira", "LossThreshold", "MembershipView", "best_threshold"]


class MembershipView(View):
    """The attack's view of a membership challenge: the target and the model, with a trial axis."""

    def __init__(self, oracles: Oracles, size: int, single: bool) -> None:
        super().__init__(oracles, size, single)
        self.population = oracles.public["population"]

    def _record(self, x: np.ndarray, y: np.ndarray | None = None) -> tuple[Any, Any]:
        if self.single:
            return x[0], (None if y is None else int(y[0]))
        return x, y

    def submit(self, x: np.ndarray, y: np.ndarray) -> None:
        self.oracles["canary"](*self._record(x, y))

    def target(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The target (size, d), (size,); a mislabeled population record when the attack
        must submit its own."""
        if "target" in self.public:
            x, y = self.public["target"]
            return np.asarray(x, np.float32).reshape(self.size, -1), np.asarray(y).reshape(
                self.size
            )
        pool = self.population
        pick = rng.integers(pool.size, size=self.size)
        x = pool.X[pick].astype(np.float32)
        y = mislabel(pool.y[pick], pool.classes, rng)
        self.submit(x, y)
        return x, y

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Each trial's model's logits (size, k) at its own point x (size, d)."""
        if "model" in self.oracles:
            return self.oracles["model"]().logits(x[:, None, :])[:, 0]
        out = self.oracles["logits"](self._record(x)[0])
        return np.asarray(out).reshape(self.size, -1)

    def loss(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if "model" in self.oracles:
            return self.oracles["model"]().loss(x[:, None, :], y[:, None])[:, 0]
        return np.asarray(self.oracles["loss"](*self._record(x, y)), float).reshape(self.size)


class _Calibrated(ScoreAttack):
    """Score → bit through a threshold calibrated on simulated trials of the same game."""

    view = MembershipView
    calibration: int
    seed: int

    def cutoff(self, game: Any) -> float:
        """The score above which the attack answers 1 in ``game`` (calibrated once)."""
        return cached(("threshold", self, game), lambda: self._calibrate(game))

    def _calibrate(self, game: Any) -> float:
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(1,)))
        bits = np.arange(self.calibration) % 2
        challenge = game.setup_batch(bits, rng)
        found = self.scores(challenge.handles(), rng, self.calibration)
        kept = ~np.asarray(challenge.failed, bool)
        return best_threshold(found[kept], bits[kept])

    def _bits(self, game: Any, scores: np.ndarray) -> np.ndarray:
        return scores > self.cutoff(game)

    def resources(self, game: Any) -> dict[str, int]:
        """Models the attack trains offline for ``game``."""
        return {"calibration-models": self.calibration}


def _calibration() -> Any:
    return param(256, help="simulated trials to calibrate the threshold on", check=integer(2))


@register("loss-threshold", games=("membership",))
@attrs.frozen(kw_only=True)
class LossThreshold(_Calibrated):
    """Guesses member when the target's loss is below a threshold (Yeom et al. 2018)."""

    threshold: float | None = param(
        None, help="fixed loss threshold; None calibrates it on simulated trials"
    )
    calibration: int = _calibration()
    seed: int = offline_seed()

    def _score(self, view: MembershipView, rng: np.random.Generator) -> np.ndarray:
        x, y = view.target(rng)
        return -view.loss(x, y)

    def cutoff(self, game: Any) -> float:
        if self.threshold is not None:
            return -float(self.threshold)
        return super().cutoff(game)

    def resources(self, game: Any) -> dict[str, int]:
        return {} if self.threshold is not None else super().resources(game)


@attrs.frozen(kw_only=True, eq=False)
class _Shadows:
    params: tuple[torch.Tensor, ...]
    members: np.ndarray  # (S, N) which population records each shadow model saw
    ok: np.ndarray  # (S,) shadow models that did not diverge
    index: dict[bytes, int]  # population record -> row


@register("lira", games=("membership",))
@attrs.frozen(kw_only=True)
class Lira(_Calibrated):
    """Offline LiRA (Carlini et al. 2022): the target's confidence against shadow models
    that were not trained on it, with one variance shared across targets."""

    shadows: int = param(32, help="shadow models, trained once per game", check=integer(2))
    calibration: int = _calibration()
    seed: int = offline_seed()

    def _shadows(self, game: Any) -> _Shadows:
        def train() -> _Shadows:
            pool = game.population()
            trainer = game.scheme()
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(0,)))
            members = np.zeros((self.shadows, pool.size), bool)
            for s in range(self.shadows):
                members[s, rng.choice(pool.size, game.training_size, replace=False)] = True
            seeds = [
                np.random.SeedSequence(self.seed, spawn_key=(0, s)) for s in range(self.shadows)
            ]
            trained = trainer.train(
                pool.X, pool.y, members, seeds, game.device or "cpu", size=game.training_size
            )
            index = {record_key(pool.X[r], pool.y[r]): r for r in range(pool.size)}
            return _Shadows(
                params=trained.params, members=members, ok=~trained.diverged, index=index
            )

        return cached(("shadows", self, game), train)

    def _score(self, view: MembershipView, rng: np.random.Generator) -> np.ndarray:
        x, y = view.target(rng)
        game = view.game
        shadows = self._shadows(game)
        trainer = game.scheme()
        on_shadows = trainer.logits(shadows.params, torch.as_tensor(x)).cpu().numpy()
        phi = confidence(on_shadows, y)  # (S, size)
        rows = np.array([shadows.index.get(record_key(x[i], y[i]), -1) for i in range(len(y))])
        seen = np.where(rows >= 0, shadows.members[:, np.maximum(rows, 0)], False)
        out = ~seen & shadows.ok[:, None] & np.isfinite(phi)
        count = out.sum(0)
        mean = np.where(count > 0, np.where(out, phi, 0).sum(0) / np.maximum(count, 1), 0.0)
        spread = np.where(out, phi - mean, 0)
        sigma = float(np.sqrt((spread**2).sum() / max(1, out.sum() - 1))) or 1.0
        observed = confidence(view.logits(x), y)
        return (observed - mean) / sigma

    def resources(self, game: Any) -> dict[str, int]:
        return {"shadow-models": self.shadows, **super().resources(game)}


@register("gradient-canary", games=("membership",))
@attrs.frozen(kw_only=True)
class GradientCanary(_Calibrated):
    """Auditing attack on DP-SGD: a canary whose gradient is as large as clipping allows
    and orthogonal to the data, read back through its logit margin."""

    scale: float = param(
        10.0,
        help="canary norm, in multiples of the median record norm",
        check=number(0, open_low=True),
    )
    calibration: int = _calibration()
    seed: int = offline_seed()

    def canary(self, population: Any) -> tuple[np.ndarray, int]:
        """The canary (x, y): along the population's least-variance direction, labelled
        with its rarest class."""
        X = np.asarray(population.X, np.float64)
        centred = X - X.mean(axis=0)
        _, vectors = np.linalg.eigh(centred.T @ centred)
        direction = vectors[:, 0]
        norm = float(np.median(np.linalg.norm(X, axis=1)))
        x = (self.scale * norm * direction).astype(np.float32)
        label = int(np.argmin(np.bincount(population.y, minlength=population.classes)))
        return x, label

    def _score(self, view: MembershipView, rng: np.random.Generator) -> np.ndarray:
        if "canary" in view.oracles:
            x0, y0 = self.canary(view.population)
            x = np.tile(x0, (view.size, 1))
            y = np.full(view.size, y0)
            view.submit(x, y)
        else:
            x, y = view.target(rng)
        # The margin at the canary minus the margin at the origin cancels the biases, which
        # every record moves; what remains is the weight along the canary's direction.
        at = view.logits(x)
        origin = view.logits(np.zeros_like(x))
        shift = at - origin
        picked = np.take_along_axis(shift, y[:, None], axis=1)[:, 0]
        return picked - shift.mean(axis=1)
