"""Attacks on the ``unlearning`` game: did the model once train on the forget set S?

Both attacks compute a score per trial and turn it into a bit through a rule calibrated on
shadow runs (:class:`adversaries.scoring.ScoreAttack`): trials of the same game that the
attack plays itself with the game's public challenger
(:meth:`games.unlearning.Unlearning.simulate`, the batched trainer), drawn from the attack's
own ``seed`` so that every trial and every chunk sees the same attack. Those runs are the
attack's offline resources (:meth:`resources`).

- ``loss-gap``: the mean loss on ``held_out`` population records drawn at random minus the
  mean loss on S. Real-world models that kept a trace of S fit it
  better (finetuning) or worse (gradient ascent overshoots); the calibration picks the
  direction and the threshold.
- ``u-lira``: a likelihood-ratio attack (after LiRA, Carlini et al. 2022) with shadow runs of
  both worlds. For each record of S it reads the model's logit-scaled confidence at the
  record minus that at the origin (which cancels the biases every record moves), and
  subtracts its mean over shadow models that never trained on that record; the trial's
  score is the mean over S. Gaussians fitted to the scores of real and ideal shadow runs
  give a likelihood ratio, thresholded where it best separates the shadow runs.

For ``forget="adversary"`` both submit ``forget_size`` copies of one canary: a unit-norm
record along the population's direction of least variance (where no other record pulls
the weights, so whatever the canary left there shows), labelled with the rarest class.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from adversaries import scoring
from adversaries.memo import cached
from adversaries.registry import register
from adversaries.scoring import confidence
from games import integer, param

# confidence lives in adversaries.scoring; this path still works.
__all__ = ["ForgetView", "LossGap", "ULira", "canaries", "confidence", "statistic"]


def canaries(game: Any) -> tuple[np.ndarray, np.ndarray]:
    """``forget_size`` copies of a canary (x (k, d), y (k,)): unit norm along the population's
    least-variance direction, labelled with its rarest class."""
    pool = game.population()
    X = np.asarray(pool.X, np.float64)
    centred = X - X.mean(axis=0)
    _, vectors = np.linalg.eigh(centred.T @ centred)
    direction = vectors[:, 0] / np.linalg.norm(vectors[:, 0])
    x = (direction * (1 - 1e-6)).astype(np.float32)
    label = int(np.argmin(np.bincount(pool.y, minlength=pool.classes)))
    k = game.forget_size
    return np.tile(x, (k, 1)), np.full(k, label, np.int64)


def statistic(model: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Confidence at each record minus confidence at the origin with the same label.

    Args:
        model: a :class:`games.unlearning.Model` of ``size`` trials.
        x, y: records (n, d) and (n,) shared by every trial, or (size, n, d) and (size, n).

    Returns:
        (size, n).
    """
    x = np.asarray(x, np.float32)
    at = model.logits(x)
    origin = model.logits(np.zeros((*x.shape[:-2], 1, x.shape[-1]), np.float32))
    return confidence(at, y) - confidence(np.broadcast_to(origin, at.shape), y)


class ForgetView(scoring.View):
    """A challenge seen with a trial axis: S as (size, k, d) and (size, k), and the model."""

    def forget(self) -> tuple[np.ndarray, np.ndarray]:
        public = self.public
        if "forget" in public:
            x, y = public["forget"]
            k = self.game.forget_size
            return (
                np.asarray(x, np.float32).reshape(self.size, k, -1),
                np.asarray(y).reshape(self.size, k),
            )
        x, y = canaries(self.game)
        self.oracles["submit"](x, y)
        return np.broadcast_to(x, (self.size, *x.shape)), np.broadcast_to(y, (self.size, len(y)))

    def model(self) -> Any:
        return self.oracles["model"]()


def _shadow_runs(game: Any, runs: int, seed: int, key: int) -> Any:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))
    worlds = (np.arange(runs) % 2 == 0).astype(np.int64)
    forget = canaries(game) if game.forget == "adversary" else None
    return game.simulate(worlds, rng, forget=forget)


def _rows(run: Any) -> np.ndarray:
    """(M, k) the rows of each run's forget set."""
    return np.nonzero(run.forget)[1].reshape(len(run.worlds), -1)


class _Calibrated(scoring.ScoreAttack):
    """Score → bit through a rule fitted on shadow runs of both worlds."""

    view = ForgetView
    seed: int


@attrs.frozen(kw_only=True, eq=False)
class _Rule:
    sign: float
    threshold: float
    runs: int
    models: int


@register("loss-gap", games=("unlearning",))
@attrs.frozen(kw_only=True)
class LossGap(_Calibrated):
    """Compares the model's loss on S with its loss on population records drawn at random."""

    calibration: int = param(
        256, help="shadow runs (both worlds) to calibrate the threshold on", check=integer(2)
    )
    held_out: int = param(
        32, help="population records drawn per trial to compare S with", check=integer(1)
    )
    seed: int = scoring.offline_seed()

    def _gap(
        self, model: Any, x: np.ndarray, y: np.ndarray, game: Any, rng: np.random.Generator
    ) -> np.ndarray:
        pool = game.population()
        held = rng.integers(pool.size, size=(len(y), self.held_out))
        on_s = model.loss(x, y).mean(axis=1)
        on_held = model.loss(pool.X[held], pool.y[held]).mean(axis=1)
        return on_held - on_s

    def _score(self, view: ForgetView, rng: np.random.Generator) -> np.ndarray:
        x, y = view.forget()
        return self._gap(view.model(), x, y, view.game, rng)

    def rule(self, game: Any) -> _Rule:
        """The direction and threshold calibrated for ``game`` (once per game)."""

        def fit() -> _Rule:
            run = _shadow_runs(game, self.calibration, self.seed, 1)
            rows = _rows(run)
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(2,)))
            scores = self._gap(run.model, run.X[rows], run.y[rows], game, rng)
            kept = ~run.failed & np.isfinite(scores)
            sign, t = scoring.signed_threshold(scores[kept], run.worlds[kept])
            return _Rule(sign=sign, threshold=t, runs=self.calibration, models=run.models)

        return cached(("loss-gap", self, game), fit)

    def _bits(self, game: Any, scores: np.ndarray) -> np.ndarray:
        rule = self.rule(game)
        return rule.sign * scores > rule.threshold

    def resources(self, game: Any) -> dict[str, int]:
        """Shadow runs and models the attack trains offline for ``game``."""
        rule = self.rule(game)
        return {"shadow-runs": rule.runs, "shadow-models": rule.models}


@attrs.frozen(kw_only=True, eq=False)
class _Shadows:
    stats: np.ndarray  # (R, N) statistic of every shadow model at every population record
    out: np.ndarray  # (R, N) whether the shadow model never trained on the record
    canary: np.ndarray  # (R,) statistic at the canary (forget="adversary")
    canary_out: np.ndarray  # (R,) whether the shadow never trained on the canary
    ok: np.ndarray  # (R,)
    index: dict[bytes, int]
    canary_key: bytes | None
    real: tuple[float, float]  # mean, std of real shadow runs' scores
    ideal: tuple[float, float]
    threshold: float
    runs: int
    models: int


@register("u-lira", games=("unlearning",))
@attrs.frozen(kw_only=True)
class ULira(_Calibrated):
    """Likelihood-ratio attack with shadow runs of both worlds: S's confidence against shadow
    models that never trained on it, scored by Gaussians fitted per world."""

    shadows: int = param(
        256, help="shadow runs (half real, half ideal), trained once per game", check=integer(4)
    )
    seed: int = scoring.offline_seed()

    def _shadows(self, game: Any) -> _Shadows:
        def train() -> _Shadows:
            pool = game.population()
            run = _shadow_runs(game, self.shadows, self.seed, 0)
            N = pool.size
            ok = ~run.failed
            real = run.worlds == 1
            stats = statistic(run.model, pool.X, pool.y)
            members = run.members[:, :N]
            forget = run.forget[:, :N]
            out = (~members | (forget & ~real[:, None])) & ok[:, None]
            index = {scoring.record_key(pool.X[r], pool.y[r]): r for r in range(N)}
            canary_key = None
            canary = np.zeros(self.shadows)
            canary_out = np.zeros(self.shadows, bool)
            if game.forget == "adversary":
                x, y = canaries(game)
                canary_key = scoring.record_key(x[0], y[0])
                canary = statistic(run.model, x[:1], y[:1])[:, 0]
                canary_out = ~real & ok
            shadows = _Shadows(
                stats=stats,
                out=out,
                canary=canary,
                canary_out=canary_out,
                ok=ok,
                index=index,
                canary_key=canary_key,
                real=(0.0, 1.0),
                ideal=(0.0, 1.0),
                threshold=0.0,
                runs=self.shadows,
                models=run.models,
            )
            # Each shadow run's own score, against the other runs (leave one out).
            rows = _rows(run)
            x, y = run.X[rows], run.y[rows]
            observed = statistic(run.model, x, y)
            scores = _scores(shadows, observed, x, y, leave_out=np.arange(self.shadows))
            kept = ok & np.isfinite(scores)
            fits = [_gaussian(scores[kept & (real == w)]) for w in (True, False)]
            ratio = _log_ratio(scores, *fits)
            threshold = scoring.best_threshold(ratio[kept], real[kept])
            return attrs.evolve(shadows, real=fits[0], ideal=fits[1], threshold=threshold)

        return cached(("u-lira", self, game), train)

    def _score(self, view: ForgetView, rng: np.random.Generator) -> np.ndarray:
        x, y = view.forget()
        shadows = self._shadows(view.game)
        observed = statistic(view.model(), x, y)
        return _scores(shadows, observed, x, y)

    def _bits(self, game: Any, scores: np.ndarray) -> np.ndarray:
        shadows = self._shadows(game)
        return _log_ratio(scores, shadows.real, shadows.ideal) > shadows.threshold

    def resources(self, game: Any) -> dict[str, int]:
        """Shadow runs and models the attack trains offline for ``game``."""
        shadows = self._shadows(game)
        return {"shadow-runs": shadows.runs, "shadow-models": shadows.models}


def _scores(
    shadows: _Shadows,
    observed: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    leave_out: np.ndarray | None = None,
) -> np.ndarray:
    """Mean over S of (observed statistic − its mean on shadows that never trained the record).

    ``leave_out[i]``: a shadow run to leave out of trial i's reference (its own run).
    """
    size, k = y.shape
    stats = np.where(shadows.out, shadows.stats, 0.0)
    totals, counts = stats.sum(0), shadows.out.sum(0)
    canary_total = float(np.where(shadows.canary_out, shadows.canary, 0.0).sum())
    canary_count = int(shadows.canary_out.sum())
    fallback = float(totals.sum() / max(1, counts.sum()))
    reference = np.full((size, k), fallback)
    for i in range(size):
        for j in range(k):
            key = scoring.record_key(x[i, j], y[i, j])
            if key == shadows.canary_key:
                total, count = canary_total, canary_count
                if leave_out is not None and shadows.canary_out[leave_out[i]]:
                    total -= float(shadows.canary[leave_out[i]])
                    count -= 1
            elif key in shadows.index:
                r = shadows.index[key]
                total, count = float(totals[r]), int(counts[r])
                if leave_out is not None and shadows.out[leave_out[i], r]:
                    total -= float(shadows.stats[leave_out[i], r])
                    count -= 1
            else:
                continue
            if count > 0:
                reference[i, j] = total / count
    return (observed - reference).mean(axis=1)


def _gaussian(values: np.ndarray) -> tuple[float, float]:
    if len(values) < 2:
        return 0.0, 1.0
    return float(values.mean()), max(float(values.std(ddof=1)), 1e-9)


def _log_ratio(
    scores: np.ndarray, real: tuple[float, float], ideal: tuple[float, float]
) -> np.ndarray:
    """log N(score; real) − log N(score; ideal)."""

    def logpdf(value: np.ndarray, fit: tuple[float, float]) -> np.ndarray:
        mean, std = fit
        return -0.5 * ((value - mean) / std) ** 2 - math.log(std)

    scores = np.asarray(scores, float)
    out = logpdf(scores, real) - logpdf(scores, ideal)
    return np.where(np.isfinite(out), out, 0.0)
