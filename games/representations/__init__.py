"""Concept erasure: can a reader recover a concept from representations an eraser has scrubbed?

The domain's showcase is a *behavioural* assumption. LEACE (Belrose et al. 2023) makes a
concept linearly unreadable whatever the data: after erasure the class-conditional means
are equal, so no linear probe trained with a convex loss beats a constant. It says nothing
about nonlinear readers. The assumption that bridges the gap, ``two-moment``, is that the
class-conditional representations are indistinguishable from Gaussians with the same class
means and one shared covariance; under it the erased classes are (up to the eraser's fitting
error) the same Gaussian, and no reader at all can tell them apart. The ``shape`` and
``variance`` sources break that assumption on purpose.

Modules:

- :mod:`~games.representations.sources` (:data:`SOURCES`): ``source(rng, dims=...)``
  returns a :class:`Population`, one concept's pair of class-conditional distributions
  (drawn afresh per trial where the source is random); ``population.draw(rng, n)`` returns
  labelled representations ``(X, z)``.
- :mod:`~games.representations.erasers` (:data:`ERASERS`): ``fit_eraser(name, X, z)``
  returns an :class:`AffineEraser` that maps representations ``x -> x - M (x - mean)``.
- :mod:`~games.representations.games`: ``concept-erasure`` (:class:`ConceptErasure`) and
  the assumption ``two-moment`` (:class:`TwoMoment`).
"""

from games.representations.erasers import (
    ERASERS,
    GRID_BITS,
    AffineEraser,
    fit_eraser,
    inlp,
    leace,
    leace_no_whiten,
    mean_projection,
    no_eraser,
)
from games.representations.games import ConceptErasure, TwoMoment, erasure_view
from games.representations.sources import (
    DIGITS_SEED,
    SOURCES,
    DigitsPopulation,
    GaussianPopulation,
    Population,
    ShapePopulation,
    balanced,
    digits,
    gaussian,
    population,
    shape,
    variance,
)

__all__ = [
    "DIGITS_SEED",
    "ERASERS",
    "GRID_BITS",
    "SOURCES",
    "AffineEraser",
    "ConceptErasure",
    "DigitsPopulation",
    "GaussianPopulation",
    "Population",
    "ShapePopulation",
    "TwoMoment",
    "balanced",
    "digits",
    "erasure_view",
    "fit_eraser",
    "gaussian",
    "inlp",
    "leace",
    "leace_no_whiten",
    "mean_projection",
    "no_eraser",
    "population",
    "shape",
    "variance",
]
