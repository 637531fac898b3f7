"""Concept erasure's sources: balanced labels, the populations and their moments."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from games.representations import balanced, digits, gaussian, population, shape, variance
from oracles import InvalidArgument


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
