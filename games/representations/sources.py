"""Where the representations come from: a concept's two class-conditional distributions.

``source(rng, dims=...)`` (:data:`SOURCES`) returns a :class:`Population`, drawn afresh per
trial where the source is random; ``population.draw(rng, n)`` returns labelled
representations ``(X, z)``. ``gaussian`` is the case LEACE is built for; ``shape`` and
``variance`` break the ``two-moment`` assumption on purpose (equal means and covariances but
different shapes, or equal means and different covariances); ``digits`` is a trained
network's hidden layer.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from oracles import InvalidArgument, checks

__all__ = [
    "DIGITS_SEED",
    "SOURCES",
    "DigitsPopulation",
    "GaussianPopulation",
    "Population",
    "ShapePopulation",
    "balanced",
    "concept_bits",
    "digits",
    "digits_capacity",
    "gaussian",
    "population",
    "shape",
    "variance",
]


def balanced(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` concept bits in random order, half of each (the odd one out a fair coin)."""
    z = np.zeros(n, dtype=np.int64)
    z[n // 2 : 2 * (n // 2)] = 1
    if n % 2:
        z[-1] = rng.integers(2)
    return rng.permutation(z)


def concept_bits(z: Any) -> np.ndarray:
    """``z`` as a 1-D int64 array of concept bits; InvalidArgument for anything else."""
    z = np.asarray(z)
    if z.ndim != 1 or not np.isin(z, (0, 1)).all():
        raise InvalidArgument("z must be a 1-D array of concept bits (0 or 1)")
    return z.astype(np.int64)


class Population:
    """A concept's two class-conditional distributions over representations in R^dims.

    Subclasses implement ``sample`` (representations of given concept bits) and
    ``moments`` (the exact class means and the shared within-class covariance, with the
    two classes weighted equally).
    """

    dims: int

    def sample(self, rng: np.random.Generator, z: Any) -> np.ndarray:
        """One representation per concept bit in ``z``, shape ``(len(z), dims)``."""
        raise NotImplementedError

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """``(means, covariance)``: class means ``(2, dims)`` and the pooled covariance."""
        raise NotImplementedError

    def draw(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` labelled representations ``(X, z)``, half of each concept value."""
        z = balanced(n, rng)
        return self.sample(rng, z), z

    def gaussian_twin(self) -> GaussianPopulation:
        """The Gaussian with this population's class means and shared covariance."""
        means, covariance = self.moments()
        return GaussianPopulation(means=means, covariances=np.stack([covariance, covariance]))


def _root(covariance: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(covariance)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


@attrs.frozen(kw_only=True, eq=False)
class GaussianPopulation(Population):
    """Class z is N(means[z], covariances[z])."""

    means: np.ndarray
    covariances: np.ndarray
    _roots: np.ndarray = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_roots", np.stack([_root(c) for c in self.covariances]))

    @property
    def dims(self) -> int:  # type: ignore[override]
        return int(self.means.shape[1])

    def sample(self, rng: np.random.Generator, z: Any) -> np.ndarray:
        z = concept_bits(z)
        noise = rng.standard_normal((len(z), self.dims))
        return self.means[z] + np.einsum("nij,nj->ni", self._roots[z], noise)

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        return self.means.copy(), self.covariances.mean(axis=0)


@attrs.frozen(kw_only=True, eq=False)
class ShapePopulation(Population):
    """Equal means and covariances; the classes differ in shape only.

    In whitened coordinates class 0 is a Gaussian scale mixture, N(0, (1 ± spread)·I) with
    equal odds, and class 1 is uniform on the sphere of radius sqrt(dims): both have mean 0
    and covariance I. No reader of first and second moments can tell them apart; one that
    looks at the Mahalanobis norm can (class 0 is near the centre or far out, class 1 on
    the sphere between). ``spread=0`` makes class 0 a plain Gaussian, a harder contrast.
    """

    mean: np.ndarray
    root: np.ndarray
    spread: float

    @property
    def dims(self) -> int:  # type: ignore[override]
        return int(self.mean.shape[0])

    def sample(self, rng: np.random.Generator, z: Any) -> np.ndarray:
        z = concept_bits(z)
        white = rng.standard_normal((len(z), self.dims))
        radius = np.linalg.norm(white, axis=1, keepdims=True)
        scale = np.sqrt(1 + self.spread * rng.choice((-1.0, 1.0), size=(len(z), 1)))
        white = np.where(z[:, None] == 1, white / radius * np.sqrt(self.dims), white * scale)
        return self.mean + white @ self.root.T

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        return np.stack([self.mean, self.mean]), self.root @ self.root.T


@attrs.frozen(kw_only=True, eq=False)
class DigitsPopulation(Population):
    """A finite pool of representations per class; a call samples distinct points.

    Sampling without replacement within a call keeps the challenge out of the adversary's
    training set (a nearest-neighbour reader would otherwise just look it up).
    """

    pools: tuple[np.ndarray, np.ndarray]

    @property
    def dims(self) -> int:  # type: ignore[override]
        return int(self.pools[0].shape[1])

    @property
    def capacity(self) -> int:
        """The most points of one class a single call may ask for."""
        return min(len(pool) for pool in self.pools)

    def sample(self, rng: np.random.Generator, z: Any) -> np.ndarray:
        z = concept_bits(z)
        out = np.empty((len(z), self.dims))
        for value, pool in enumerate(self.pools):
            where = np.flatnonzero(z == value)
            if len(where) > len(pool):
                raise InvalidArgument(
                    f"asked for {len(where)} representations of concept {value}; the pool holds {len(pool)}"
                )
            out[where] = pool[rng.choice(len(pool), size=len(where), replace=False)]
        return out

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        means = np.stack([pool.mean(axis=0) for pool in self.pools])
        covariance = np.mean([np.cov(pool, rowvar=False, bias=True) for pool in self.pools], axis=0)
        return means, covariance


def _covariance(rng: np.random.Generator, dims: int, condition: float) -> np.ndarray:
    """A random covariance with eigenvalues log-spread over ``condition`` and a random basis."""
    basis, _ = np.linalg.qr(rng.standard_normal((dims, dims)))
    values = np.exp(rng.uniform(-0.5, 0.5, dims) * np.log(condition))
    return (basis * values) @ basis.T


def _unit(rng: np.random.Generator, dims: int) -> np.ndarray:
    v = rng.standard_normal(dims)
    return v / np.linalg.norm(v)


def gaussian(
    rng: np.random.Generator, *, dims: int = 8, separation: float = 2.5, condition: float = 100.0
) -> GaussianPopulation:
    """Class-conditional Gaussians with one random anisotropic covariance and different means.

    Args:
        separation: the Mahalanobis distance between the class means (a linear reader's
            best advantage is 2Φ(separation/2) − 1).
        condition: the ratio of the covariance's largest to smallest eigenvalue (about).
    """
    covariance = _covariance(rng, dims, condition)
    center = rng.standard_normal(dims)
    delta = _root(covariance) @ _unit(rng, dims) * separation
    means = np.stack([center - delta / 2, center + delta / 2])
    return GaussianPopulation(means=means, covariances=np.stack([covariance, covariance]))


def shape(
    rng: np.random.Generator, *, dims: int = 8, spread: float = 0.9, condition: float = 100.0
) -> ShapePopulation:
    """A scale-mixture class and a sphere class with equal means and covariances.

    See :class:`ShapePopulation`; ``spread`` in [0, 1) sets how far class 0's two scales lie apart.
    """
    checks.number("spread", spread, 0, 1, open_high=True)
    covariance = _covariance(rng, dims, condition)
    return ShapePopulation(mean=rng.standard_normal(dims), root=_root(covariance), spread=spread)


def variance(
    rng: np.random.Generator, *, dims: int = 8, ratio: float = 9.0, condition: float = 100.0
) -> GaussianPopulation:
    """Gaussians with equal means whose covariances differ along one direction.

    A quadratic reader sees it; LEACE, which only equalises means, leaves it untouched.

    Args:
        ratio: the ratio of the two classes' variances along that (whitened) direction.
    """
    covariance = _covariance(rng, dims, condition)
    root = _root(covariance)
    v = _unit(rng, dims)
    # Variances 2r/(1+r) and 2/(1+r) along v: their average is 1, so the pooled covariance
    # is exactly the drawn one.
    scales = (2 * ratio / (1 + ratio), 2 / (1 + ratio))
    covariances = np.stack(
        [root @ (np.eye(dims) + (s - 1) * np.outer(v, v)) @ root for s in scales]
    )
    center = rng.standard_normal(dims)
    return GaussianPopulation(means=np.stack([center, center]), covariances=covariances)


DIGITS_SEED = 0


@functools.lru_cache(maxsize=4)
def _digits_split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    order = np.random.default_rng(seed).permutation(len(data.target))
    train, held = order[: len(order) // 2], order[len(order) // 2 :]
    images = data.data / 16.0
    return images[train], data.target[train], images[held], data.target[held]


@functools.lru_cache(maxsize=4)
def _digits_representations(seed: int, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """Hidden-layer representations of held-out digits, split by evenness (cached per process)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    train_x, train_y, held_x, held_y = _digits_split(seed)
    model = MLPClassifier(hidden_layer_sizes=(dims,), max_iter=500, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(train_x, train_y)
    hidden = np.maximum(held_x @ model.coefs_[0] + model.intercepts_[0], 0.0)
    even = held_y % 2 == 0
    hidden.setflags(write=False)
    return hidden[~even], hidden[even]


def digits(
    rng: np.random.Generator, *, dims: int = 16, seed: int = DIGITS_SEED
) -> DigitsPopulation:
    """Hidden layer (``dims`` ReLU units) of an MLP trained on scikit-learn's digits; concept "even".

    The model is trained once per process and ``(seed, dims)``, on half the digits; the
    population is the representations of the other half. ``rng`` is unused: the population
    is fixed, and each trial's randomness is in which held-out digits it samples.
    """
    odd, even = _digits_representations(seed, dims)
    return DigitsPopulation(pools=(odd, even))


def digits_capacity(seed: int = DIGITS_SEED) -> int:
    """The most held-out digits of one concept value the ``digits`` source holds."""
    held_y = _digits_split(seed)[3]
    return int(min((held_y % 2 == 0).sum(), (held_y % 2 == 1).sum()))


SOURCES: Mapping[str, Callable[..., Population]] = {
    "gaussian": gaussian,
    "shape": shape,
    "variance": variance,
    "digits": digits,
}


def population(name: str, rng: np.random.Generator, *, dims: int) -> Population:
    """The population of source ``name`` in ``dims`` dimensions."""
    checks.choice("source", name, SOURCES)
    return SOURCES[name](rng, dims=dims)
