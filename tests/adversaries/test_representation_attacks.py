"""Readers of erased representations against concept-erasure, and the reduction to two-moment.

Each estimate runs a few hundred trials with a fixed seed; the claims are the ones the
domain makes: LEACE stops linear readers on Gaussian-like data, not nonlinear readers on
data whose classes differ beyond two moments, and the planted bug is caught.
"""

from __future__ import annotations

import attrs
import numpy as np
import pytest

import games
from adversaries.representations import (
    PROBES,
    ErasureDistinguisher,
    Knn,
    LinearProbe,
    MlpProbe,
    QuadraticProbe,
    RoundoffProbe,
    whiten,
)
from games.representations import ConceptErasure, TwoMoment, balanced, fit_eraser, gaussian
from oracles import InvalidArgument, Oracles


def _estimate(game, adversary, trials: int, seed: int = 0):  # type: ignore[no-untyped-def]
    estimate = games.estimate(game, adversary, trials=trials, seed=seed)
    assert estimate.error_count == 0, estimate.first_error
    return estimate


def _contains_zero(estimate) -> bool:  # type: ignore[no-untyped-def]
    return estimate.ci_low <= 0.0 <= estimate.ci_high


# -- the probes on their own -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PROBES))
def test_probes_read_a_plainly_separated_concept(name: str) -> None:
    rng = np.random.default_rng(0)
    z = balanced(200, rng)
    X = rng.standard_normal((200, 3)) + 4.0 * z[:, None]
    for b in (0, 1):
        view = Oracles(public={"X": X, "z": z, "challenge": np.full(3, 4.0 * b)})
        assert PROBES[name]()(view, rng) == b


def test_knn_with_fewer_records_than_neighbours_lets_all_of_them_vote() -> None:
    # A budget below k made every trial raise (an advantage of −1 with no eraser at all);
    # with every record voting, k-NN is the majority vote, which reads nothing.
    game = ConceptErasure(eraser="none", budget=10, fit_size=100, dims=4)
    assert _contains_zero(_estimate(game, Knn(), 50))
    assert _estimate(game, Knn(k=3), 50).ci_low > 0


def test_probes_guess_when_there_is_nothing_to_learn() -> None:
    rng = np.random.default_rng(1)
    one_class = Oracles(
        public={"X": rng.standard_normal((5, 2)), "z": np.ones(5, int), "challenge": np.zeros(2)}
    )
    constant = Oracles(
        public={"X": np.zeros((6, 2)), "z": balanced(6, rng), "challenge": np.zeros(2)}
    )
    for probe in (LinearProbe(), Knn(), RoundoffProbe()):
        assert {probe(one_class, rng) for _ in range(30)} == {0, 1}
        assert {probe(constant, rng) for _ in range(30)} == {0, 1}


def test_whiten_drops_a_collapsed_direction() -> None:
    rng = np.random.default_rng(2)
    X = rng.standard_normal((500, 3)) @ rng.standard_normal((3, 3))
    X[:, 2] = X[:, 0] - X[:, 1] + 1e-17 * rng.standard_normal(500)  # rank 2 plus rounding
    white, other = whiten(X, X[:5])
    assert white.shape == (500, 2)
    assert np.allclose(np.cov(white, rowvar=False, bias=True), np.eye(2))
    assert np.allclose(other, white[:5])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: LinearProbe(c=0), r"c=0 must be a number in \(0, inf\)"),
        (lambda: Knn(k=0), "k=0 must be a positive integer"),
        (lambda: ErasureDistinguisher(inner="svm"), "inner='svm' must be one of: linear-probe"),
        (lambda: ErasureDistinguisher(inner=3), "inner=3 must be a probe name or an adversary"),
    ],
)
def test_probe_parameters_are_checked(make, message) -> None:
    with pytest.raises(InvalidArgument, match=message):
        make()


def test_adversaries_are_registered_for_their_games() -> None:
    for name in [*PROBES, "roundoff-probe"]:
        assert games.ADVERSARIES.entry(name).games == ("concept-erasure",)
    assert games.ADVERSARIES.get("erasure-distinguisher") is ErasureDistinguisher


# -- concept-erasure -------------------------------------------------------------------


def test_without_an_eraser_a_linear_probe_reads_the_concept() -> None:
    estimate = _estimate(
        ConceptErasure(source="gaussian", eraser="none", dims=4), LinearProbe(), 200
    )
    assert estimate.ci_low > 0.5


@pytest.mark.parametrize("eraser", ["leace", "mean-projection"])
def test_leace_stops_a_linear_probe_on_gaussian_representations(eraser: str) -> None:
    # mean-projection is what "LEACE without whitening" reduces to when both W and W⁺ go:
    # it equalises the class means too, so it guards as well (with a larger edit).
    game = ConceptErasure(source="gaussian", eraser=eraser, dims=4, fit_size=2000)
    assert _contains_zero(_estimate(game, LinearProbe(), 400))


def test_the_planted_bug_leaves_the_concept_linearly_decodable() -> None:
    game = ConceptErasure(source="gaussian", eraser="leace-no-whiten", dims=8)
    assert _estimate(game, LinearProbe(), 1000).ci_low > 0.1  # about 0.24 at 3,000 trials


def test_inlp_with_few_iterations_leaves_the_concept_decodable() -> None:
    game = ConceptErasure(source="gaussian", eraser="inlp", dims=4, iterations=1)
    assert _estimate(game, LinearProbe(), 200).ci_low > 0.2


def test_leace_on_shape_stops_a_linear_probe_but_not_nonlinear_ones() -> None:
    game = ConceptErasure(source="shape", eraser="leace", dims=4)
    assert _contains_zero(_estimate(game, LinearProbe(), 300))
    assert _estimate(game, Knn(), 300).ci_low > 0.25


@pytest.mark.slow
def test_an_mlp_reads_the_concept_leace_left_on_shape() -> None:
    game = ConceptErasure(source="shape", eraser="leace", dims=4)
    assert _estimate(game, MlpProbe(), 150).ci_low > 0.15


def test_a_quadratic_probe_reads_shape_through_the_spread_of_its_features() -> None:
    # The degree-2 features have equal class means on shape (equal covariances), so the
    # log-loss optimum is the constant; but their spreads differ (class 1's norm is fixed),
    # and a threshold fitted on a finite sample puts most of class 1 on one side.
    game = ConceptErasure(source="shape", eraser="leace", dims=4)
    assert _estimate(game, QuadraticProbe(), 1200).ci_low > 0  # about 0.13 at 2,000 trials


def test_a_quadratic_probe_reads_class_covariances_that_leace_leaves() -> None:
    game = ConceptErasure(source="variance", eraser="leace", dims=4)
    assert _estimate(game, QuadraticProbe(), 400).ci_low > 0.1


def test_on_the_gaussian_twin_the_nonlinear_reader_has_nothing() -> None:
    game = ConceptErasure(source="shape", eraser="leace", dims=4, twin=True)
    assert _contains_zero(_estimate(game, Knn(), 400))


def test_rounding_error_of_an_unrounded_eraser_is_readable_and_the_grid_removes_it() -> None:
    rng = np.random.default_rng(3)
    wins = {True: 0, False: 0}
    trials = 300
    for _ in range(trials):
        world = gaussian(rng, dims=4)
        b = int(rng.integers(2))
        z = np.concatenate([balanced(2000, rng), balanced(400, rng), [b]])
        X = world.sample(rng, z)
        eraser = fit_eraser("mean-projection", X[:2000], z[:2000])
        for rounded in (True, False):
            erased = (eraser if rounded else attrs.evolve(eraser, step=None))(X[2000:])
            view = Oracles(public={"X": erased[:-1], "z": z[2000:-1], "challenge": erased[-1]})
            wins[rounded] += RoundoffProbe()(view, np.random.default_rng(0)) == b
    assert wins[False] / trials > 0.58
    assert abs(wins[True] / trials - 0.5) < 0.08
    game = ConceptErasure(source="gaussian", eraser="leace", dims=4, fit_size=2000)
    assert _contains_zero(_estimate(game, RoundoffProbe(), 400))


@pytest.mark.slow
def test_digits_representations_after_leace() -> None:
    raw = _estimate(ConceptErasure(source="digits", eraser="none", dims=8), LinearProbe(), 200)
    assert raw.ci_low > 0.5  # about 0.76 at 600 trials
    erased = ConceptErasure(source="digits", eraser="leace", dims=8)
    assert _contains_zero(_estimate(erased, LinearProbe(), 200))
    # A trained network's representations are not two-moment: neighbours still read "even".
    assert _estimate(erased, Knn(), 100).ci_low > 0.4


# -- two-moment and the reduction ------------------------------------------------------


def test_distinguisher_has_nothing_when_the_source_is_gaussian() -> None:
    game = TwoMoment(source="gaussian", dims=4)
    assert _contains_zero(_estimate(game, ErasureDistinguisher(inner="knn"), 400))


def test_a_reader_that_beats_leace_breaks_two_moment() -> None:
    game = TwoMoment(source="shape", dims=4)
    estimate = _estimate(game, ErasureDistinguisher(inner="knn"), 600)
    # Adv_TM(D) = (Adv_CE(knn) - ε_fit) / 2, and knn's Adv_CE on shape is about 0.45.
    assert estimate.ci_low > 0.05


def test_distinguisher_accepts_an_adversary_object_and_needs_enough_samples() -> None:
    rng = np.random.default_rng(4)
    public = TwoMoment(source="gaussian", dims=3, samples=60).setup(1, rng).public
    view = Oracles(public=public)
    small = ErasureDistinguisher(inner=Knn(k=3), fit_size=20, budget=20)
    assert small(view, rng) in (0, 1)
    too_big = ErasureDistinguisher(fit_size=40, budget=20)
    with pytest.raises(
        InvalidArgument,
        match="holds 30 representations of concept 0; fit_size=40 and budget=20 need 31",
    ):
        too_big(view, rng)
