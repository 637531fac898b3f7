"""Datasets for the privacy games, all available offline and standardised.

``digits`` and ``breast-cancer`` are the small datasets bundled with scikit-learn (no
download); ``gaussian`` is a synthetic classification task drawn from a numpy Generator.
Features are standardised to zero mean and unit variance; a feature that is constant in
the data stays exactly zero (it carries no information, which is what the gradient-canary
attack exploits).
"""

from __future__ import annotations

import functools
from typing import Any

import attrs
import numpy as np

from games.params import integer, param
from oracles import InvalidArgument, checks

__all__ = [
    "DATASETS",
    "Dataset",
    "data_seed_param",
    "dataset_param",
    "load",
    "population",
    "sealed",
    "standardise",
]

DATASETS = ("digits", "breast-cancer", "gaussian")


@attrs.frozen(kw_only=True, eq=False)
class Dataset:
    """A labelled dataset: features ``X`` (n, d) float32, labels ``y`` (n,) int64 in [0, classes)."""

    name: str
    X: np.ndarray = attrs.field(repr=lambda a: f"array{a.shape}")
    y: np.ndarray = attrs.field(repr=lambda a: f"array{a.shape}")
    classes: int

    @property
    def size(self) -> int:
        return len(self.y)

    @property
    def dims(self) -> int:
        return int(self.X.shape[1])


def sealed(a: np.ndarray) -> np.ndarray:
    """A read-only copy of ``a`` over immutable memory (a ``bytes`` object): unlike an array
    made read-only by ``setflags(write=False)``, it cannot be made writeable again, so code
    handed it cannot change the data a cache keeps."""
    a = np.ascontiguousarray(a)
    return np.frombuffer(a.tobytes(), a.dtype).reshape(a.shape)


def standardise(X: np.ndarray) -> np.ndarray:
    """Zero mean and unit variance per column; constant columns become exactly zero."""
    X = np.asarray(X, np.float64)
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    scale = np.where(std > 0, std, 1.0)
    return ((X - mean) / scale).astype(np.float32)


@functools.cache
def _bundled(name: str) -> Dataset:
    from sklearn import datasets

    loader = {"digits": datasets.load_digits, "breast-cancer": datasets.load_breast_cancer}[name]
    bunch = loader()
    y = sealed(np.asarray(bunch.target, np.int64))
    X = sealed(standardise(bunch.data))
    return Dataset(name=name, X=X, y=y, classes=int(y.max()) + 1)


def _gaussian(
    rng: np.random.Generator, *, size: int, dims: int, classes: int, separation: float
) -> Dataset:
    # Class means on a sphere of radius `separation`, unit-variance isotropic noise: the
    # Bayes error falls as the separation grows.
    means = rng.standard_normal((classes, dims))
    means *= separation / np.linalg.norm(means, axis=1, keepdims=True)
    y = rng.integers(classes, size=size)
    X = means[y] + rng.standard_normal((size, dims))
    return Dataset(name="gaussian", X=standardise(X), y=y.astype(np.int64), classes=classes)


def load(
    name: str,
    *,
    rng: np.random.Generator | None = None,
    size: int = 2000,
    dims: int = 20,
    classes: int = 2,
    separation: float = 2.0,
) -> Dataset:
    """Load a dataset by name.

    Args:
        name: one of :data:`DATASETS`.
        rng: the generator the ``gaussian`` task is drawn from (required for it, unused
            otherwise).
        size, dims, classes, separation: the ``gaussian`` task's shape: number of records,
            features, classes, and the distance of each class mean from the origin.
    """
    checks.choice("dataset", name, DATASETS)
    if name != "gaussian":
        return attrs.evolve(_bundled(name))  # a fresh record over the cached sealed arrays
    if rng is None:
        raise InvalidArgument("rng must be a numpy Generator for dataset='gaussian'")
    return _gaussian(
        rng,
        size=checks.integer("size", size, 2, exact=True),
        dims=checks.integer("dims", dims, 1, exact=True),
        classes=checks.integer("classes", classes, 2, exact=True),
        separation=checks.number("separation", separation, 0),
    )


def population(name: str, seed: int) -> Dataset:
    """The records a privacy game draws from: dataset ``name``, the ``gaussian`` task drawn
    from ``seed`` (cached: every trial of a game sees the same population).

    Each call returns a fresh record over the cached arrays, which are :func:`sealed`: the
    adversary reaches this through the public game, and neither writing to the arrays nor
    replacing them on the record (``object.__setattr__`` gets past the frozen class) changes
    what a later trial or run draws from. Nothing is copied per call."""
    return attrs.evolve(_population(name, seed))


@functools.lru_cache(maxsize=16)
def _population(name: str, seed: int) -> Dataset:
    if name != "gaussian":
        return _bundled(name)
    pool = load(name, rng=np.random.default_rng(seed))
    return attrs.evolve(pool, X=sealed(pool.X), y=sealed(pool.y))


def dataset_param(default: str) -> Any:
    """The ``dataset`` parameter of a game whose records come from :func:`population`."""
    return param(default, help="population the records come from", choices=DATASETS)


def data_seed_param() -> Any:
    """The ``data_seed`` parameter: the seed :func:`population` draws ``gaussian`` from."""
    return param(0, help="seed of the synthetic gaussian population", check=integer(0))
