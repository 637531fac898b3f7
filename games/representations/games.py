"""The concept-erasure games: ``concept-erasure`` and the assumption ``two-moment``.

In ``concept-erasure`` (:class:`ConceptErasure`) a reader guesses the concept of one erased
representation after training on erased labelled ones; in ``two-moment`` (:class:`TwoMoment`)
a distinguisher tells a source's representations from the Gaussians with the same class means
and shared covariance. :func:`erasure_view` builds the reader's view for both the game and
the reduction from it to ``two-moment``.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from games.base import IDEAL, Challenge, HiddenBit, RealIdeal
from games.params import integer, param
from games.registry import register
from games.representations.erasers import ERASERS, fit_eraser
from games.representations.sources import SOURCES, balanced, digits_capacity, population
from oracles import InvalidArgument

__all__ = ["ConceptErasure", "TwoMoment", "erasure_view"]


def erasure_view(
    eraser: str,
    X: np.ndarray,
    z: np.ndarray,
    *,
    fit_size: int,
    budget: int,
    iterations: int = 4,
) -> dict[str, Any]:
    """The adversary's view in ``concept-erasure``, built from one trial's labelled sample.

    The first ``fit_size`` rows fit the eraser (the challenger's own sample), the next
    ``budget`` rows are the adversary's labelled training set, the last row the challenge;
    all but the fitting rows are erased. Shared by the game and by the reduction to
    ``two-moment``, so both build exactly the same view.
    """
    fitted = fit_eraser(eraser, X[:fit_size], z[:fit_size], iterations=iterations)
    erased = fitted(X[fit_size:])
    return {
        "X": erased[:budget],
        "z": z[fit_size : fit_size + budget].copy(),
        "challenge": erased[budget],
        "dims": erased.shape[1],
    }


def _source_param(default: str) -> Any:
    return param(default, help="where the representations come from", choices=tuple(SOURCES))


def _check_digits_capacity(need: int, what: str) -> None:
    have = digits_capacity()
    if need > have:
        raise InvalidArgument(
            f"{what} needs {need} held-out digits of each concept value; source 'digits' holds {have}"
        )


@register("concept-erasure")
@attrs.frozen(kw_only=True)
class ConceptErasure(HiddenBit):
    """Concept erasure: after the eraser, guess the concept of one representation.

    Per trial the challenger draws a population from ``source``, fits the eraser on
    ``fit_size`` labelled representations of its own, and hands the adversary ``budget``
    labelled erased representations (public ``X``, ``z``) and one erased representation of
    concept b (public ``challenge``). With ``twin`` the trial is played on the Gaussian
    with the source's class means and shared covariance: the ideal world of ``two-moment``.
    """

    source: str = _source_param("gaussian")
    eraser: str = param("leace", help="the concept eraser under test", choices=tuple(ERASERS))
    dims: int = param(8, help="dimension of the representations", check=integer(2, 256))
    fit_size: int = param(
        500, help="labelled representations the challenger fits the eraser on", check=integer(4)
    )
    budget: int = param(
        200, help="labelled erased representations the adversary may train on", check=integer(1)
    )
    iterations: int = param(4, help="directions inlp removes", check=integer(1, 256))
    twin: bool = param(False, help="play on the source's Gaussian twin (two-moment's ideal world)")

    def __attrs_post_init__(self) -> None:
        if self.source == "digits":
            _check_digits_capacity(
                (self.fit_size + 1) // 2 + (self.budget + 1) // 2 + 1, "concept-erasure"
            )

    def setup(self, b: int, rng: np.random.Generator) -> Challenge:
        world = population(self.source, rng, dims=self.dims)
        if self.twin:
            world = world.gaussian_twin()
        z = np.concatenate([balanced(self.fit_size, rng), balanced(self.budget, rng), [int(b)]])
        X = world.sample(rng, z)
        public = erasure_view(
            self.eraser,
            X,
            z,
            fit_size=self.fit_size,
            budget=self.budget,
            iterations=self.iterations,
        )
        return Challenge(public=public, secret=int(b))


@register("two-moment")
@attrs.frozen(kw_only=True)
class TwoMoment(RealIdeal):
    """Two-moment assumption: representations look like Gaussians with their class means and shared covariance.

    The adversary gets ``samples`` labelled representations (public ``X``, ``z``, half of
    each concept value): in the real world from ``source``, in the ideal world from the
    Gaussian with the source's exact class means and pooled within-class covariance.
    """

    source: str = _source_param("gaussian")
    dims: int = param(8, help="dimension of the representations", check=integer(2, 256))
    samples: int = param(800, help="labelled representations the adversary sees", check=integer(4))

    def __attrs_post_init__(self) -> None:
        if self.source == "digits":
            _check_digits_capacity((self.samples + 1) // 2, "two-moment")

    def setup(self, world: int, rng: np.random.Generator) -> Challenge:
        drawn = population(self.source, rng, dims=self.dims)
        if world == IDEAL:
            drawn = drawn.gaussian_twin()
        z = balanced(self.samples, rng)
        return Challenge(
            public={"X": drawn.sample(rng, z), "z": z, "dims": self.dims}, secret=world
        )
