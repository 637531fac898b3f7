"""Concept erasure: sources, erasers and the two games."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import games
from adversaries.generic import Guess
from games.representations import (
    ERASERS,
    SOURCES,
    ConceptErasure,
    TwoMoment,
    balanced,
    digits,
    fit_eraser,
    gaussian,
    inlp,
    leace,
    leace_no_whiten,
    mean_projection,
    population,
    shape,
    variance,
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


# -- sources ---------------------------------------------------------------------------


@given(st.integers(0, 301), st.integers(0, 2**32 - 1))
def test_balanced_holds_half_of_each(n: int, seed: int) -> None:
    z = balanced(n, np.random.default_rng(seed))
    assert len(z) == n
    assert n // 2 <= z.sum() <= (n + 1) // 2


@pytest.mark.parametrize("name", ["gaussian", "shape", "variance"])
def test_population_moments_match_samples(name: str) -> None:
    rng = np.random.default_rng(0)
    world = population(name, rng, dims=4)
    X, z = world.draw(rng, 40_000)
    means, covariance = world.moments()
    scale = np.sqrt(np.diag(covariance))
    for value in (0, 1):
        assert np.allclose(X[z == value].mean(axis=0), means[value], atol=0.05 * scale.max())
    pooled = (np.cov(X[z == 0], rowvar=False) + np.cov(X[z == 1], rowvar=False)) / 2
    assert np.allclose(pooled, covariance, atol=0.05 * np.abs(covariance).max())


def test_shape_classes_share_two_moments_but_not_their_norm() -> None:
    rng = np.random.default_rng(1)
    world = shape(rng, dims=4)
    X, z = world.draw(rng, 40_000)
    covariance = world.moments()[1]
    for value in (0, 1):
        assert np.allclose(
            np.cov(X[z == value], rowvar=False), covariance, atol=0.05 * np.abs(covariance).max()
        )
    # The Mahalanobis norm tells them apart: it is sqrt(dims) exactly on class 1.
    white = (X - world.mean) @ np.linalg.inv(world.root).T
    norms = np.sum(white**2, axis=1)
    assert np.allclose(norms[z == 1], 4.0)
    assert norms[z == 0].std() > 2.0


def test_gaussian_source_is_its_own_twin() -> None:
    world = gaussian(np.random.default_rng(2), dims=5)
    twin = world.gaussian_twin()
    assert np.array_equal(twin.means, world.means)
    assert np.allclose(twin.covariances, world.covariances)


def test_variance_source_has_equal_means_and_different_covariances() -> None:
    world = variance(np.random.default_rng(3), dims=3, ratio=9.0)
    assert np.array_equal(world.means[0], world.means[1])
    assert not np.allclose(world.covariances[0], world.covariances[1])


def test_shape_rejects_a_spread_outside_its_range() -> None:
    with pytest.raises(InvalidArgument, match=r"spread=1\.0 must be a number in \[0, 1\)"):
        shape(np.random.default_rng(0), spread=1.0)


def test_unknown_source() -> None:
    with pytest.raises(InvalidArgument, match="source='pixels' must be one of: gaussian"):
        population("pixels", np.random.default_rng(0), dims=4)


def test_digits_population_is_cached_and_labelled_by_evenness() -> None:
    first = digits(np.random.default_rng(0), dims=8)
    second = digits(np.random.default_rng(1), dims=8)
    assert first.pools[0] is second.pools[0]  # trained once per process
    assert first.dims == 8
    assert min(len(pool) for pool in first.pools) == first.capacity > 400
    X = first.sample(np.random.default_rng(0), balanced(800, np.random.default_rng(0)))
    assert len(np.unique(X, axis=0)) > 790  # distinct digits within one call (dead units aside)
    with pytest.raises(InvalidArgument, match="the pool holds"):
        first.sample(np.random.default_rng(0), np.zeros(len(first.pools[0]) + 1, dtype=int))


# -- erasers ---------------------------------------------------------------------------


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


# -- games -----------------------------------------------------------------------------


def test_concept_erasure_parameters_are_checked() -> None:
    with pytest.raises(InvalidArgument, match="budget=0 must be a positive integer"):
        ConceptErasure(budget=0)
    with pytest.raises(InvalidArgument, match=r"fit_size=3 must be an integer >= 4"):
        ConceptErasure(fit_size=3)
    with pytest.raises(InvalidArgument, match=r"dims=1 must be an integer in \[2, 256\]"):
        ConceptErasure(dims=1)
    with pytest.raises(InvalidArgument, match="source='pixels' must be one of"):
        ConceptErasure(source="pixels")
    with pytest.raises(InvalidArgument, match="eraser='rlace' must be one of"):
        ConceptErasure(eraser="rlace")
    with pytest.raises(
        InvalidArgument, match="held-out digits of each concept value; source 'digits' holds"
    ):
        ConceptErasure(source="digits", fit_size=800, budget=200)
    with pytest.raises(InvalidArgument, match=r"samples=3 must be an integer >= 4"):
        TwoMoment(samples=3)
    with pytest.raises(InvalidArgument, match="source 'digits' holds"):
        TwoMoment(source="digits", samples=2000)


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_concept_erasure_hands_out_erased_labelled_data_and_a_challenge(source: str) -> None:
    game = ConceptErasure(source=source, dims=6, fit_size=40, budget=21)
    challenge = game.setup(1, np.random.default_rng(9))
    view = challenge.handles()
    assert view.public["X"].shape == (21, 6)
    assert sorted(np.bincount(view.public["z"], minlength=2)) == [10, 11]
    assert view.public["challenge"].shape == (6,)
    assert challenge.secret == 1
    again = game.setup(1, np.random.default_rng(9)).public
    assert np.array_equal(again["X"], view.public["X"])  # a trial is a function of its seed


def test_concept_erasure_with_the_eraser_makes_training_means_close() -> None:
    game = ConceptErasure(source="gaussian", dims=4, fit_size=4000, budget=4000)
    public = game.setup(0, np.random.default_rng(10)).public
    erased_gap = np.linalg.norm(_class_gap(public["X"], public["z"]))
    raw = attrs.evolve(game, eraser="none").setup(0, np.random.default_rng(10)).public
    assert erased_gap < 0.1 * np.linalg.norm(_class_gap(raw["X"], raw["z"]))


def test_two_moment_worlds() -> None:
    game = TwoMoment(source="shape", dims=3, samples=4000)
    real = game.setup(games.REAL, np.random.default_rng(11)).public
    ideal = game.setup(games.IDEAL, np.random.default_rng(11)).public
    for public in (real, ideal):
        assert public["X"].shape == (4000, 3)
        assert public["z"].sum() == 2000

    # Ideal classes are one Gaussian: class 1 no longer sits on a sphere.
    def spread_of_norm(public):  # type: ignore[no-untyped-def]
        X = public["X"] - public["X"].mean(axis=0)
        white = X @ np.linalg.inv(np.linalg.cholesky(np.cov(X, rowvar=False))).T
        return np.sum(white[public["z"] == 1] ** 2, axis=1).std()

    assert spread_of_norm(real) < 1.0 < spread_of_norm(ideal)


def test_guess_has_no_advantage() -> None:
    estimate = games.estimate(
        ConceptErasure(dims=3, fit_size=20, budget=10), Guess(), trials=400, seed=0
    )
    assert estimate.ci_low <= 0.0 <= estimate.ci_high
    assert estimate.error_count == 0


def test_games_are_registered() -> None:
    assert games.GAMES.get("concept-erasure") is ConceptErasure
    assert games.GAMES.get("two-moment") is TwoMoment
