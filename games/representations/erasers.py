"""Concept erasers: fitted on labelled representations, they scrub the concept from them.

``fit_eraser(name, X, z)`` (:data:`ERASERS`) returns an :class:`AffineEraser` that maps
representations ``x -> x - M (x - mean)``: ``none`` (the baseline), ``mean-projection``,
``leace`` (Belrose et al. 2023), ``inlp`` (iterative nullspace projection) and
``leace-no-whiten``, a planted bug.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from games.representations.sources import concept_bits
from oracles import InvalidArgument, checks

__all__ = [
    "ERASERS",
    "GRID_BITS",
    "AffineEraser",
    "fit_eraser",
    "inlp",
    "leace",
    "leace_no_whiten",
    "mean_projection",
    "no_eraser",
]


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
    z = concept_bits(z)
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

    checks.integer("iterations", iterations, 1, exact=True)
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
    checks.choice("eraser", name, ERASERS)
    if name == "inlp":
        return inlp(X, z, iterations=iterations)
    return ERASERS[name](X, z)
