"""Concept erasers: LEACE's guarantees, the planted bug, INLP and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from games.representations import (
    ERASERS,
    balanced,
    fit_eraser,
    gaussian,
    inlp,
    leace,
    leace_no_whiten,
    mean_projection,
)
from oracles import InvalidArgument


def _class_gap(X: np.ndarray, z: np.ndarray) -> np.ndarray:
    return X[z == 1].mean(axis=0) - X[z == 0].mean(axis=0)


@st.composite
def labelled(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Labelled representations: anisotropic, shifted by class, sometimes rank-deficient."""
    seed = draw(st.integers(0, 2**32 - 1))
    dims = draw(st.integers(2, 8))
    n = draw(st.integers(12, 200))
    rng = np.random.default_rng(seed)
    z = balanced(n, rng)
    X = (
        rng.standard_normal((n, dims))
        @ rng.standard_normal((dims, dims))
        * draw(st.sampled_from([1e-3, 1.0, 1e3]))
    )
    X += np.outer(z, rng.standard_normal(dims))
    if draw(st.booleans()):
        X[:, 0] = 0.0  # a dead unit
    if draw(st.booleans()):
        X[:, -1] = X[:, -2]  # a duplicated unit: singular covariance
    return X, z


@settings(max_examples=60, deadline=None)
@given(labelled())
def test_leace_leaves_no_cross_covariance_on_its_fitting_sample(data) -> None:  # type: ignore[no-untyped-def]
    X, z = data
    erased = leace(X, z)(X)
    scale = np.abs(X - X.mean(axis=0)).max() + 1e-300
    assert np.abs(_class_gap(erased, z)).max() <= 1e-8 * scale


@settings(max_examples=60, deadline=None)
@given(labelled(), st.integers(0, 2**32 - 1))
def test_leace_is_the_least_squares_guarding_eraser(data, seed: int) -> None:  # type: ignore[no-untyped-def]
    X, z = data
    centered = X - X.mean(axis=0)
    cross = centered.T @ (z - z.mean()) / len(X)
    least = np.mean(np.sum((leace(X, z)(X) - X) ** 2, axis=1))
    projected = np.mean(np.sum((mean_projection(X, z)(X) - X) ** 2, axis=1))
    assert least <= projected * (1 + 1e-9) + 1e-12
    # Every rank-one guarding eraser x - Σ_xz wᵀ(x - μ)/(w·Σ_xz): LEACE's w is the best one.
    w = np.random.default_rng(seed).standard_normal(X.shape[1])
    if abs(w @ cross) > 1e-6 * np.linalg.norm(w) * np.linalg.norm(cross):
        other = np.mean((centered @ w / (w @ cross)) ** 2) * (cross @ cross)
        assert least <= other * (1 + 1e-9) + 1e-12


@settings(max_examples=30, deadline=None)
@given(labelled())
def test_leace_is_idempotent_and_kills_the_concept_direction(data) -> None:  # type: ignore[no-untyped-def]
    X, z = data
    eraser = leace(X, z)
    once = eraser(X)
    scale = np.abs(X).max() + 1e-300
    assert np.allclose(eraser(once), once, atol=1e-8 * scale)
    cross = (X - X.mean(axis=0)).T @ (z - z.mean()) / len(X)
    assert np.allclose(eraser(X + cross), once, atol=1e-8 * scale)


def test_erasers_pass_a_dead_unit_through_exactly() -> None:
    rng = np.random.default_rng(4)
    X, z = gaussian(rng, dims=5).draw(rng, 300)
    X[:, 2] = 0.0
    for name in ERASERS:
        assert np.all(fit_eraser(name, X, z)(X)[:, 2] == 0.0), name


def test_leace_no_whiten_is_right_only_when_the_covariance_is_isotropic() -> None:
    rng = np.random.default_rng(5)
    X, z = gaussian(rng, dims=6).draw(rng, 2000)
    assert np.linalg.norm(_class_gap(leace_no_whiten(X, z)(X), z)) > 0.1
    # Whitened exactly, the sample covariance is I and the missing step does not matter.
    centered = X - X.mean(axis=0)
    values, vectors = np.linalg.eigh(centered.T @ centered / len(X))
    isotropic = centered @ vectors / np.sqrt(values)
    assert np.abs(_class_gap(leace_no_whiten(isotropic, z)(isotropic), z)).max() < 1e-8
    assert np.allclose(leace_no_whiten(isotropic, z).matrix, leace(isotropic, z).matrix, atol=1e-9)


def test_mean_projection_also_equalises_means_with_a_larger_edit() -> None:
    rng = np.random.default_rng(6)
    X, z = gaussian(rng, dims=6).draw(rng, 2000)
    projected = mean_projection(X, z)(X)
    assert np.abs(_class_gap(projected, z)).max() < 1e-8
    edit = np.mean(np.sum((projected - X) ** 2, axis=1))
    assert np.mean(np.sum((leace(X, z)(X) - X) ** 2, axis=1)) < 0.9 * edit


def test_inlp_projects_out_orthonormal_directions() -> None:
    rng = np.random.default_rng(7)
    X, z = gaussian(rng, dims=4).draw(rng, 500)
    eraser = inlp(X, z, iterations=2)
    assert eraser.left.shape == (4, 2)
    assert np.allclose(eraser.left.T @ eraser.left, np.eye(2))
    assert np.allclose(eraser(X) @ eraser.left, 0.0, atol=1e-8)
    gaps = [np.linalg.norm(_class_gap(inlp(X, z, iterations=k)(X), z)) for k in (1, 3)]
    assert gaps[1] < gaps[0]
    # Removing every direction leaves a constant, exactly (no rounding error to read).
    assert np.all(inlp(X, z, iterations=10)(X) == 0.0)


def test_eraser_bad_inputs() -> None:
    rng = np.random.default_rng(8)
    X, z = gaussian(rng, dims=3).draw(rng, 50)
    with pytest.raises(
        InvalidArgument, match="only concept value 1: an eraser must be fitted on both classes"
    ):
        fit_eraser("leace", X, np.ones(50, dtype=int))
    with pytest.raises(
        InvalidArgument, match="eraser='rlace' must be one of: none, mean-projection, leace"
    ):
        fit_eraser("rlace", X, z)
    with pytest.raises(InvalidArgument, match="z has 49 labels for 50 representations"):
        fit_eraser("leace", X, z[:49])
    with pytest.raises(InvalidArgument, match="z must be a 1-D array of concept bits"):
        fit_eraser("leace", X, z * 2)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InvalidArgument, match="X must be finite"):
        fit_eraser("leace", bad, z)
    with pytest.raises(InvalidArgument, match="X must be a non-empty 2-D array"):
        fit_eraser("leace", X[0], z)
    with pytest.raises(
        InvalidArgument, match="representations have 2 dimensions; the eraser was fitted on 3"
    ):
        fit_eraser("leace", X, z)(X[:, :2])
    with pytest.raises(InvalidArgument, match="iterations=0 must be a positive integer"):
        fit_eraser("inlp", X, z, iterations=0)
