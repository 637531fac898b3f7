"""The concept-erasure game and the two-moment assumption."""

from __future__ import annotations

import attrs
import numpy as np
import pytest

import games
from adversaries.generic import Guess
from games.representations import SOURCES, ConceptErasure, TwoMoment
from oracles import InvalidArgument


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
    erased_gap = np.linalg.norm(_gap(public["X"], public["z"]))
    raw = attrs.evolve(game, eraser="none").setup(0, np.random.default_rng(10)).public
    assert erased_gap < 0.1 * np.linalg.norm(_gap(raw["X"], raw["z"]))


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


def _gap(X: np.ndarray, z: np.ndarray) -> np.ndarray:
    return X[z == 1].mean(axis=0) - X[z == 0].mean(axis=0)
