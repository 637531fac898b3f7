"""Data sets of the robustness games, all available offline, with their valid input range.

- ``digits``: scikit-learn's 8×8 handwritten digits (no download), pixels scaled to [0, 1],
  split once into a training and a test part (two thirds and one third, fixed order).
- ``gaussians``: two classes in the plane, N(c ± δ·u, τ²·I) with c = (½, ½),
  u = (1, 1)/√2, δ = 0.1 and τ = 0.05, restricted to [0, 1]² (a draw outside is drawn
  again; that happens with probability below 10⁻¹⁵). Its classifier is the Bayes rule
  sign(u·(x − c)), and the robust error of that rule at any radius is known in closed form
  (:meth:`Task.robust_error`), which is what the attacks are tested against.

Every point is a flat float32 vector; ``image`` says how a model or an attack that cares
about the layout (the CNN, Square's windows) should read it.
"""

from __future__ import annotations

import functools
import math

import attrs
import numpy as np

from oracles import InvalidArgument, checks

__all__ = ["DATASETS", "NORMS", "Task", "dual_norm", "load"]

DATASETS = ("digits", "gaussians")
NORMS = ("linf", "l2")

# The gaussians task: means c ± DELTA·u, spread TAU, in [0, 1]².
CENTER = 0.5
DELTA = 0.1
TAU = 0.05


@attrs.frozen(kw_only=True, eq=False)
class Task:
    """A classification task: training points, a way to draw test points, and the valid range.

    Attributes:
        name: the data set's name.
        classes: the number of classes.
        image: (height, width) of the feature layout (``(1, d)`` for plain vectors).
        low, high: every coordinate of a valid input lies in [low, high] (the unit cube
            unless the task says otherwise).
        train_x, train_y: the training part (empty for ``gaussians``, whose classifier is
            the Bayes rule).
        test_x, test_y: the test part (``digits`` only; ``gaussians`` draws test points).
    """

    name: str
    classes: int
    image: tuple[int, int]
    low: float = 0.0
    high: float = 1.0
    train_x: np.ndarray = attrs.field(repr=False)
    train_y: np.ndarray = attrs.field(repr=False)
    test_x: np.ndarray | None = attrs.field(default=None, repr=False)
    test_y: np.ndarray | None = attrs.field(default=None, repr=False)

    @property
    def dims(self) -> int:
        return self.image[0] * self.image[1]

    def draw(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` test points (n, dims) float32 and their labels, from ``rng``."""
        if self.name == "gaussians":
            return _draw_gaussians(rng, n)
        assert self.test_x is not None and self.test_y is not None
        pick = rng.integers(len(self.test_y), size=n)
        return self.test_x[pick], self.test_y[pick]

    def robust_error(self, eps: float, norm: str) -> float:
        """``gaussians`` only: the Bayes rule's robust error at radius ``eps``, exactly.

        The rule labels x by the sign of the margin m = u·(x − c), which is N(±δ, τ²) for
        the two classes. A correctly classified point (|m| on the right side) can be moved
        across the boundary within the ball iff |m| ≤ eps·‖u‖_*, with ‖u‖_* the dual norm
        (‖u‖₁ = √2 against ℓ∞, ‖u‖₂ = 1 against ℓ2); the range [0, 1]² never blocks
        that move (it lies over 8τ from the means). So among correctly classified points
        the robust error is [Φ((eps·‖u‖_* − δ)/τ) − Φ(−δ/τ)] / Φ(δ/τ).
        """
        if self.name != "gaussians":
            raise InvalidArgument("robust_error is known in closed form for data='gaussians' only")
        reach = eps * dual_norm(norm, self.dims)
        phi = _normal_cdf
        return (phi((reach - DELTA) / TAU) - phi(-DELTA / TAU)) / phi(DELTA / TAU)

    def clean_error(self) -> float:
        """``gaussians`` only: the Bayes rule's error on clean test points, Φ(−δ/τ), exactly
        (the margin of a point is N(±δ, τ²), on the wrong side with that probability)."""
        if self.name != "gaussians":
            raise InvalidArgument("clean_error is known in closed form for data='gaussians' only")
        return _normal_cdf(-DELTA / TAU)

    def bayes_margin(self, X: np.ndarray) -> np.ndarray:
        """``gaussians`` only: u·(x − c), positive on class 1's side."""
        X = np.asarray(X, np.float64)
        return (X - CENTER).sum(axis=-1) / math.sqrt(X.shape[-1])


def dual_norm(norm: str, dims: int) -> float:
    """‖u‖_* for the unit ℓ2 vector u = (1, ..., 1)/√dims: the reach of a ball of radius 1."""
    return math.sqrt(dims) if norm == "linf" else 1.0


def _normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2))


def _draw_gaussians(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(2, size=n)
    u = np.full(2, 1 / math.sqrt(2))
    X = CENTER + (2 * y[:, None] - 1) * DELTA * u + TAU * rng.standard_normal((n, 2))
    outside = ((X < 0) | (X > 1)).any(axis=1)
    while outside.any():  # probability below 1e-15 per point: a loop that never runs
        X[outside] = CENTER + (2 * y[outside, None] - 1) * DELTA * u
        X[outside] += TAU * rng.standard_normal((int(outside.sum()), 2))
        outside = ((X < 0) | (X > 1)).any(axis=1)
    return X.astype(np.float32), y.astype(np.int64)


@functools.cache
def _digits() -> Task:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    cut = 2 * len(y) // 3
    train, test = order[:cut], order[cut:]
    parts = [X[train], y[train], X[test], y[test]]
    for part in parts:
        part.setflags(write=False)
    return Task(
        name="digits",
        classes=10,
        image=(8, 8),
        train_x=parts[0],
        train_y=parts[1],
        test_x=parts[2],
        test_y=parts[3],
    )


@functools.cache
def _gaussians() -> Task:
    empty = np.zeros((0, 2), np.float32)
    return Task(
        name="gaussians",
        classes=2,
        image=(1, 2),
        train_x=empty,
        train_y=np.zeros(0, np.int64),
    )


def load(name: str) -> Task:
    """The task by name (one of :data:`DATASETS`)."""
    checks.choice("data", name, DATASETS)
    return _digits() if name == "digits" else _gaussians()
