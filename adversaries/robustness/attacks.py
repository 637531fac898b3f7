"""The robustness attacks, registered by name, for ``evasion``, ``pgd-gap`` and ``certified-radius``.

Every attack is written for a batch (:class:`~adversaries.robustness.view.View`) and
plays both paths: ``attack(oracles, rng)`` on one trial, ``attack.batch(oracles, rng,
size)`` on all the trials of a chunk at once. Its randomness is a ``torch.Generator``
seeded from its own numpy generator.

- ``clean``: returns the point unchanged (the trivial adversary: advantage 0).
- ``fgsm`` (Goodfellow et al. 2015): one step of size ε along the gradient's sign (ℓ∞)
  or direction (ℓ2).
- ``pgd`` (Madry et al. 2018): projected gradient ascent from random starts, step size a
  fraction of ε (constant or cosine schedule).
- ``apgd-ce``, ``apgd-dlr`` (Croce and Hein 2020): step-size-free PGD with momentum on
  the cross-entropy or the difference-of-logits-ratio loss.
- ``square`` (Andriushchenko et al. 2020): score-based black-box random search.
- ``eot`` (Athalye et al. 2018): PGD on the gradient averaged over ``samples`` calls,
  each with fresh defense randomness — the expectation over the transformation.
- ``bpda`` (Athalye, Carlini and Wagner 2018): PGD whose backward pass replaces the
  defense's preprocessing step by the identity: the forward pass runs the (public) step,
  the gradient is the bare model's at the preprocessed point.
- ``autoattack`` (Croce and Hein 2020): the parameter-free ensemble APGD-CE, APGD-DLR,
  Square (version ``rand``: the two APGDs with EOT), best per point.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import torch

from adversaries.registry import register
from adversaries.robustness.apgd import apgd
from adversaries.robustness.square import square
from adversaries.robustness.view import View, generator
from games.params import integer, number, param
from games.robustness import perturb
from games.robustness.models import one_thread
from oracles import InvalidArgument, Oracles, checks

__all__ = [
    "GAMES",
    "Apgd",
    "ApgdCe",
    "ApgdDlr",
    "AutoAttack",
    "Bpda",
    "Clean",
    "Eot",
    "Fgsm",
    "Pgd",
    "Square",
]

GAMES = ("evasion", "pgd-gap", "certified-radius")


def _loss_choice(name: str, value: Any) -> None:
    checks.choice(name, value, perturb.LOSSES)


def _step_check(name: str, value: Any) -> None:
    if value is not None:
        number(0, open_low=True)(name, value)


class _Attack:
    """Both paths over one batched ``run``."""

    def run(self, view: View, coins: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> torch.Tensor:
        with one_thread():  # tiny batches: threads cost more than they save
            view = View(oracles, 1, single=True)
            return view.answer(self.run(view, generator(rng)))

    def batch(self, oracles: Oracles, rng: np.random.Generator, size: int) -> torch.Tensor:
        with one_thread():
            view = View(oracles, size, single=False)
            return view.answer(self.run(view, generator(rng)))


@register("clean", games=(*GAMES, "clean-error"))
@attrs.frozen(kw_only=True)
class Clean(_Attack):
    """Returns the point unchanged, without a query: the trivial adversary."""

    def run(self, view: View, coins: torch.Generator) -> torch.Tensor:
        return view.x.clone()


@register("fgsm", games=GAMES)
@attrs.frozen(kw_only=True)
class Fgsm(_Attack):
    """FGSM: one step of size eps along the gradient's sign (ℓ∞) or direction (ℓ2)."""

    loss: str = param("ce", help="the loss climbed", check=_loss_choice)

    def run(self, view: View, coins: torch.Generator) -> torch.Tensor:
        _, grad = view.gradient(view.x, self.loss)
        step = view.radius.reshape(-1, 1) * perturb.ascent(grad, view.norm)
        return view.project(view.x + step)


def _pgd(attack: Any, view: View, coins: torch.Generator, gradient: Any) -> torch.Tensor:
    return perturb.pgd(
        gradient,
        view.x,
        view.y,
        view.radius,
        **view.ball,
        steps=attack.steps,
        step=attack.step if attack.step is not None else 2.5 / attack.steps,
        restarts=attack.restarts,
        schedule=attack.schedule,
        start=attack.start,
        generator=coins,
        loss_kind=attack.loss,
    )


def _mean(
    calls: int, gradient: Callable[[], tuple[torch.Tensor, torch.Tensor]]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The outputs and gradient averaged over ``calls`` calls of ``gradient`` (EOT: each call
    draws the defense's randomness afresh)."""
    outputs = [gradient() for _ in range(calls)]
    return (
        torch.stack([o for o, _ in outputs]).mean(0),
        torch.stack([g for _, g in outputs]).mean(0),
    )


@attrs.frozen(kw_only=True)
class _Projected(_Attack):
    """The parameters of projected gradient ascent, shared by PGD, EOT and BPDA."""

    steps: int = param(20, help="steps per restart", check=integer(1, 1_000_000))
    restarts: int = param(1, help="random restarts", check=integer(1, 10_000))
    step: float | None = param(
        None, help="step size as a fraction of eps (None: 2.5/steps)", check=_step_check
    )
    schedule: str = param("constant", help="step size over the steps", choices=perturb.SCHEDULES)
    start: bool = param(True, help="start each restart at a random point of the ball")
    loss: str = param("ce", help="the loss climbed", check=_loss_choice)


@register("pgd", games=GAMES)
@attrs.frozen(kw_only=True)
class Pgd(_Projected):
    """PGD: projected gradient ascent from random starts (restarts × steps gradient calls)."""

    def run(self, view: View, coins: torch.Generator) -> torch.Tensor:
        return _pgd(self, view, coins, lambda p: view.gradient(p, self.loss))


@register("eot", games=GAMES)
@attrs.frozen(kw_only=True)
class Eot(_Projected):
    """EOT: PGD on the gradient averaged over ``samples`` calls (fresh defense noise in each)."""

    samples: int = param(8, help="gradient calls averaged per step", check=integer(1, 100_000))

    def run(self, view: View, coins: torch.Generator) -> torch.Tensor:
        def averaged(points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return _mean(self.samples, lambda: view.gradient(points, self.loss))

        return _pgd(self, view, coins, averaged)


@register("bpda", games=GAMES)
@attrs.frozen(kw_only=True)
class Bpda(_Projected):
    """BPDA: PGD with the identity as the backward pass of the defense's preprocessing step.

    The forward pass applies the (public) step g; the gradient is the bare model's at g(x)
    (``model_gradient``), used as the gradient at x: ∇_x f(g(x)) ≈ ∇f(g(x)). For a
    randomized step the gradient is averaged over ``samples`` draws (BPDA with EOT).
    """

    samples: int = param(1, help="draws of a randomized step per gradient", check=integer(1))

    def run(self, view: View, coins: torch.Generator) -> torch.Tensor:
        if not view.has("model_gradient"):
            raise InvalidArgument("bpda needs white-box access (the model_gradient oracle)")

        def through(points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return _mean(
                self.samples,
                lambda: view.gradient(view.transform(points, coins), self.loss, bare=True),
            )

        return _pgd(self, view, coins, through)


@attrs.frozen(kw_only=True)
class Apgd(_Attack):
    """APGD with the loss ``loss`` (see :mod:`adversaries.robustness.apgd`)."""

    steps: int = param(50, help="iterations per restart", check=integer(1, 1_000_000))
    restarts: int = param(1, help="restarts from fresh random points", check=integer(1, 10_000))
    samples: int = param(1, help="gradient calls averaged per step (EOT)", check=integer(1))
    rho: float = param(0.75, help="the step size's halving threshold", check=number(0, 1))
    loss: str = param("ce", help="the loss climbed", check=_loss_choice)

    def run(self, view: View, coins: torch.Generator) -> torch.Tensor:
        def averaged(points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return _mean(self.samples, lambda: view.gradient(points, self.loss))

        result = view.x.clone()
        done = torch.zeros(view.size, dtype=torch.bool, device=view.x.device)
        for _ in range(self.restarts):
            points, found = apgd(
                averaged,
                view.x,
                view.y,
                view.radius,
                **view.ball,
                steps=self.steps,
                loss_kind=self.loss,
                generator=coins,
                rho=self.rho,
            )
            take = ~done
            result[take] = points[take]
            done |= found
        return result


@register("apgd-ce", games=GAMES)
@attrs.frozen(kw_only=True)
class ApgdCe(Apgd):
    """APGD-CE: AutoAttack's step-size-free PGD on the cross-entropy."""


@register("apgd-dlr", games=GAMES)
@attrs.frozen(kw_only=True)
class ApgdDlr(Apgd):
    """APGD-DLR: AutoAttack's step-size-free PGD on the difference-of-logits-ratio loss."""

    loss: str = param("dlr", help="the loss climbed", check=_loss_choice)


@register("square", games=GAMES)
@attrs.frozen(kw_only=True)
class Square(_Attack):
    """Square: score-based black-box random search with square windows (``queries`` calls)."""

    queries: int = param(1000, help="calls of the scores (or labels) oracle", check=integer(1))
    p_init: float = param(0.8, help="the first windows' share of the image", check=number(0, 1))

    def run(self, view: View, coins: torch.Generator) -> torch.Tensor:
        if view.has("scores"):

            def margin(points: torch.Tensor) -> torch.Tensor:
                logp = torch.log(view.scores(points).clamp_min(1e-12))
                own = logp.gather(1, view.y[:, None])[:, 0]
                others = logp.scatter(1, view.y[:, None], -float("inf")).amax(1)
                return own - others
        else:

            def margin(points: torch.Tensor) -> torch.Tensor:
                return (view.labels(points) == view.y).double() * 2 - 1

        return square(
            margin,
            view.x,
            view.radius,
            **view.ball,
            image=view.image,
            queries=self.queries,
            generator=coins,
            p_init=self.p_init,
        )


@register("autoattack", games=GAMES)
@attrs.frozen(kw_only=True)
class AutoAttack:
    """AutoAttack: APGD-CE, APGD-DLR and Square (or the APGDs with EOT), the best point per trial.

    Each component plays the trial as it would alone (from an identical copy of this
    adversary's generator), and per point the first component whose point the ``labels``
    oracle calls misclassified gives the answer. On a deterministic defense this wins
    exactly the trials that the per-trial union of the components wins
    (:func:`games.estimate_best`), which needs no correction for the choice; where no
    component gets an oracle it needs (no gradients with black-box access), it is skipped.
    The components share the trial's budgets.
    """

    version: str = param(
        "standard", help="standard, or rand (with EOT)", choices=("standard", "rand")
    )
    steps: int = param(50, help="APGD iterations", check=integer(1, 1_000_000))
    queries: int = param(1000, help="Square's calls of the scores oracle", check=integer(1))
    samples: int = param(20, help="rand: gradient calls averaged per APGD step", check=integer(1))

    def components(self, view: View) -> list[Any]:
        """The attacks this trial's oracles allow, in order."""
        samples = self.samples if self.version == "rand" else 1
        out: list[Any] = []
        if view.has("gradient"):
            out += [
                ApgdCe(steps=self.steps, samples=samples),
                ApgdDlr(steps=self.steps, samples=samples),
            ]
        if self.version == "standard" and (view.has("scores") or view.has("labels")):
            out.append(Square(queries=self.queries))
        return out

    def _play(self, view: View, rng: np.random.Generator) -> torch.Tensor:
        answer = view.x.clone()
        done = torch.zeros(view.size, dtype=torch.bool, device=view.x.device)
        for component in self.components(view):
            points = component.run(view, generator(copy.deepcopy(rng)))
            fooled = view.labels(points) != view.y
            answer[~done] = points[~done]
            done |= fooled
        return answer

    def __call__(self, oracles: Oracles, rng: np.random.Generator) -> torch.Tensor:
        with one_thread():
            view = View(oracles, 1, single=True)
            return view.answer(self._play(view, rng))

    def batch(self, oracles: Oracles, rng: np.random.Generator, size: int) -> torch.Tensor:
        with one_thread():
            view = View(oracles, size, single=False)
            return view.answer(self._play(view, rng))
