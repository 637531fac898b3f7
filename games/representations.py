"""Concept erasure: can a reader recover a concept from representations an eraser has scrubbed?

The domain's showcase is a *behavioural* assumption. LEACE (Belrose et al. 2023) makes a
concept linearly unreadable whatever the data: after erasure the class-conditional means
are equal, so no linear probe trained with a convex loss beats a constant. It says nothing
about nonlinear readers. The assumption that bridges the gap, ``two-moment``, is that the
class-conditional representations are indistinguishable from Gaussians with the same class
means and one shared covariance; under it the erased classes are (up to the eraser's fitting
error) the same Gaussian, and no reader at all can tell them apart. The ``shape`` and
``variance`` sources break that assumption on purpose.

Pieces:

- sources (:data:`SOURCES`): ``source(rng, dims=...)`` returns a :class:`Population`, one
  concept's pair of class-conditional distributions (drawn afresh per trial where the
  source is random); ``population.draw(rng, n)`` returns labelled representations ``(X, z)``.
- erasers (:data:`ERASERS`): ``fit_eraser(name, X, z)`` returns an :class:`AffineEraser`
  that maps representations ``x -> x - M (x - mean)``.
- games: ``concept-erasure`` (:class:`ConceptErasure`) and the assumption ``two-moment``
  (:class:`TwoMoment`).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from games.base import IDEAL, Challenge, HiddenBit, RealIdeal
from games.params import integer, param
from games.registry import register
from oracles import InvalidArgument

__all__ = [
    "ERASERS",
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


# -- populations and sources -----------------------------------------------------------


def balanced(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` concept bits in random order, half of each (the odd one out a fair coin)."""
    z = np.zeros(n, dtype=np.int64)
    z[n // 2 : 2 * (n // 2)] = 1
    if n % 2:
        z[-1] = rng.integers(2)
    return rng.permutation(z)


def _labels(z: Any) -> np.ndarray:
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
        z = _labels(z)
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
        z = _labels(z)
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
        z = _labels(z)
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
    if not 0 <= spread < 1:
        raise InvalidArgument(f"spread={spread!r} must be a number in [0, 1)")
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


def _digits_capacity(seed: int = DIGITS_SEED) -> int:
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
    if name not in SOURCES:
        raise InvalidArgument(f"source={name!r} must be one of: {', '.join(SOURCES)}")
    return SOURCES[name](rng, dims=dims)


# -- erasers ---------------------------------------------------------------------------


GRID_BITS = 32


@attrs.frozen(kw_only=True, eq=False)
class AffineEraser:
    """A fitted eraser ``x -> x - left @ right.T @ (x - mean)``, applied row-wise.

    The edit is kept as two ``(dims, k)`` factors rather than one matrix so that it moves
    representations only along the columns of ``left``: coordinates outside them (a dead
    unit, say) come out as they went in.

    The output is then rounded to a grid of spacing ``step`` around ``mean`` (about 2^-32
    of the fitting sample's scale; ``None`` skips it). In exact arithmetic the erased
    direction is constant; in floating point it holds the rounding error of the edit, a
    function of the very component that was removed, and a reader that rescales that
    direction reads the concept back (advantage about 0.2 on the 4-dimensional
    ``gaussian`` source; see the ``roundoff-probe`` adversary). Rounding to a grid far
    coarser than that error makes the output a function of the exact erased value, except
    within ~1e-6 of a grid boundary.
    """

    name: str
    mean: np.ndarray
    left: np.ndarray
    right: np.ndarray
    step: float | None = None

    @property
    def matrix(self) -> np.ndarray:
        """The edit as one matrix M: the eraser is x ↦ x − M (x − mean), before rounding."""
        return self.left @ self.right.T

    def __call__(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.shape[-1] != len(self.mean):
            raise InvalidArgument(
                f"representations have {X.shape[-1]} dimensions; the eraser was fitted on {len(self.mean)}"
            )
        erased = X - ((X - self.mean) @ self.right) @ self.left.T
        if self.step is None:
            return erased
        return self.mean + self.step * np.round((erased - self.mean) / self.step)


def _fitted(
    name: str,
    X: np.ndarray,
    mean: np.ndarray,
    left: np.ndarray | None = None,
    right: np.ndarray | None = None,
) -> AffineEraser:
    """An eraser with edit ``left @ right.T`` (none when omitted), rounding on X's scale."""
    if left is None or right is None:
        left = right = np.zeros((X.shape[1], 0))
    scale = float(np.sqrt(np.mean((X - X.mean(axis=0)) ** 2)))
    step = 2.0 ** (np.floor(np.log2(scale)) - GRID_BITS) if scale > 0 else None
    return AffineEraser(name=name, mean=mean, left=left, right=right, step=step)


def _check_fit(X: Any, z: Any) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or len(X) == 0:
        raise InvalidArgument(
            f"X must be a non-empty 2-D array (samples, dims), got shape {X.shape}"
        )
    if not np.isfinite(X).all():
        raise InvalidArgument("X must be finite (it holds NaN or infinity)")
    z = _labels(z)
    if len(z) != len(X):
        raise InvalidArgument(f"z has {len(z)} labels for {len(X)} representations")
    present = np.unique(z)
    if len(present) < 2:
        raise InvalidArgument(
            f"z holds only concept value {int(present[0])}: an eraser must be fitted on both classes"
        )
    return X, z


def _whitening(covariance: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(W, W⁺)``: the pseudo-inverse square root of a covariance and its pseudo-inverse.

    Eigenvalues below a relative tolerance count as zero, so a rank-deficient covariance
    (dead units, a collapsed direction) is whitened on its support only.
    """
    values, vectors = np.linalg.eigh(covariance)
    top = max(float(values.max()), 0.0)
    keep = values > top * max(n, len(values)) * np.finfo(float).eps
    v, s = vectors[:, keep], np.sqrt(values[keep])
    return (v / s) @ v.T, (v * s) @ v.T


def _moments(X: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = X.mean(axis=0)
    centered = X - mean
    covariance = centered.T @ centered / len(X)
    cross = centered.T @ (z - z.mean()) / len(X)
    return mean, covariance, cross


def no_eraser(X: Any, z: Any) -> AffineEraser:
    """The identity: the baseline every eraser is compared with."""
    X, z = _check_fit(X, z)
    empty = np.zeros((X.shape[1], 0))
    return AffineEraser(name="none", mean=np.zeros(X.shape[1]), left=empty, right=empty)


def mean_projection(X: Any, z: Any) -> AffineEraser:
    """Removes the difference-of-means direction by orthogonal projection.

    This already makes the class means equal (so it is linearly guarding too); LEACE is
    the eraser that does so with the least squared change.
    """
    X, z = _check_fit(X, z)
    delta = X[z == 1].mean(axis=0) - X[z == 0].mean(axis=0)
    norm = float(np.linalg.norm(delta))
    if norm == 0.0:
        return _fitted("mean-projection", X, X.mean(axis=0))
    u = (delta / norm)[:, None]
    return _fitted("mean-projection", X, X.mean(axis=0), u, u)


def leace(X: Any, z: Any) -> AffineEraser:
    """LEAst-squares Concept Erasure (Belrose et al. 2023), in closed form.

    With whitening W = (Σ_xx^{1/2})⁺ and P the orthogonal projection onto the column space
    of W Σ_xz, the eraser is x ↦ x − W⁺ P W (x − μ). On the fitting sample the erased
    representations have zero cross-covariance with z (equal class means), and among
    affine erasers that achieve this it changes the representations least in mean square.

    For one concept bit P = w wᵀ / |w|² with w = W Σ_xz, so W⁺ P W = (W⁺ w)(W w)ᵀ / |w|².
    W⁺ w = W⁺ W Σ_xz is Σ_xz itself (Σ_xz lies in the range of Σ_xx), and Σ_xz is used
    as such: the computed product carries ~1e-17 components on coordinates the sample
    never moves (dead units), proportional to the concept's projection, and a reader that
    standardises its features would scale them back up into a concept detector.
    """
    X, z = _check_fit(X, z)
    mean, covariance, cross = _moments(X, z)
    white, _ = _whitening(covariance, len(X))
    w = white @ cross
    scale = float(w @ w)
    if scale == 0.0:
        return _fitted("leace", X, mean)
    return _fitted("leace", X, mean, cross[:, None], (white @ w / scale)[:, None])


def leace_no_whiten(X: Any, z: Any) -> AffineEraser:
    """A planted bug: LEACE with the projection taken along Σ_xz in the raw space.

    It whitens and unwhitens but projects onto span(Σ_xz) instead of span(W Σ_xz):
    x ↦ x − W⁺ P_{Σ_xz} W (x − μ). That is right when the covariance is isotropic (W Σ_xz
    is then parallel to Σ_xz) and leaves the class means apart, so the concept linearly
    decodable, when it is not. (Dropping W and W⁺ altogether instead would give
    :func:`mean_projection`, which is not a bug: it equalises the means too.)
    """
    X, z = _check_fit(X, z)
    mean, covariance, cross = _moments(X, z)
    white, unwhite = _whitening(covariance, len(X))
    norm = float(np.linalg.norm(cross))
    if norm == 0.0:
        return _fitted("leace-no-whiten", X, mean)
    u = cross / norm
    return _fitted("leace-no-whiten", X, mean, (unwhite @ u)[:, None], (white @ u)[:, None])


def inlp(X: Any, z: Any, *, iterations: int = 4) -> AffineEraser:
    """Iterative nullspace projection: repeatedly fit a logistic probe and project out its direction.

    After ``iterations`` rounds the eraser is x ↦ P x, with P the orthogonal projection
    onto the common nullspace of the probes' weight vectors.
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    integer(1)("iterations", iterations)
    X, z = _check_fit(X, z)
    d = X.shape[1]
    basis = np.zeros((d, 0))
    # Small matrices: BLAS threads cost more than they save (tenfold on a busy machine).
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(min(iterations, d)):
            kept = X - (X @ basis) @ basis.T
            probe = LogisticRegression(max_iter=1000).fit(kept, z)
            w = probe.coef_[0] - basis @ (basis.T @ probe.coef_[0])
            if np.linalg.norm(w) < 1e-12:
                break
            basis, _ = np.linalg.qr(np.column_stack([basis, w]))
    return _fitted("inlp", X, np.zeros(d), basis, basis)


ERASERS: Mapping[str, Callable[..., AffineEraser]] = {
    "none": no_eraser,
    "mean-projection": mean_projection,
    "leace": leace,
    "inlp": inlp,
    "leace-no-whiten": leace_no_whiten,
}


def fit_eraser(name: str, X: Any, z: Any, *, iterations: int = 4) -> AffineEraser:
    """Fit eraser ``name`` (one of :data:`ERASERS`) on labelled representations ``(X, z)``.

    Raises:
        InvalidArgument: an unknown name, or a sample that does not hold both classes.
    """
    if name not in ERASERS:
        raise InvalidArgument(f"eraser={name!r} must be one of: {', '.join(ERASERS)}")
    if name == "inlp":
        return inlp(X, z, iterations=iterations)
    return ERASERS[name](X, z)


# -- games -----------------------------------------------------------------------------


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
    have = _digits_capacity()
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
