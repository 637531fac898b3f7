"""The leace proof: LEACE erases a concept for every reader under the two-moment assumption.

The file's arithmetic, the fitting term of its second hop, its reduction, and the three
verdicts the checker must give at the tour's settings: consistent on Gaussian
representations, assumption:two_moment on a trained network's hidden layer, algorithm for
the planted bug.
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

import proofs
from advantage import tour
from adversaries.representations import ErasureDistinguisher, LinearProbe
from games.registry import ADVERSARIES
from games.representations import ConceptErasure, TwoMoment, balanced, fit_eraser, population
from oracles import InvalidArgument, Oracles
from proofs import ProofError, check_empirical
from proofs.representations.reductions import two_moment_from_erasure

SKLEARN = importlib.util.find_spec("sklearn") is not None
needs_sklearn = pytest.mark.skipif(not SKLEARN, reason="the probes need scikit-learn")


@pytest.fixture(scope="module")
def leace():
    return proofs.load("leace")


def _fitting_term(d: int, n: int) -> float:
    return 0.8 * math.sqrt(d / (n - 1))


# -- the file ---------------------------------------------------------------------------


def test_the_proof_is_shipped_and_its_chain_is_proven(leace):
    assert "leace" in proofs.catalogue()
    assert proofs.check_symbolic(leace).status == "proven"
    (assumption,) = leace.assumptions
    assert (assumption.name, assumption.game, assumption.kind) == (
        "two_moment",
        "two-moment",
        "behavioural",
    )
    resources = leace.resource_values()
    assert resources == {"d": 8, "n": 500, "b": 200}
    assert leace.bound_value({**resources, "adv_two_moment": 0}) == pytest.approx(
        _fitting_term(8, 500)
    )
    # B sees enough representations to play one erasure trial: n/2 + b/2 + 1 of each concept.
    assert assumption.game_params(resources) == {"source": "gaussian", "dims": 8, "samples": 704}
    first, second = leace.hops
    assert (first.kind, second.kind) == ("assumption", "statistical")
    assert proofs.plan.stated_advantage(second.target) == 0.0


# -- the fitting term -------------------------------------------------------------------


def _erased_distance(world, eraser) -> float:  # type: ignore[no-untyped-def]
    """Mahalanobis distance between the two erased classes of a shared-covariance Gaussian."""
    keep = np.eye(world.dims) - eraser.matrix
    delta = keep @ (world.means[1] - world.means[0])
    covariance = keep @ world.covariances[0] @ keep.T
    values, vectors = np.linalg.eigh(covariance)
    support = values > values.max() * 1e-10
    along = vectors[:, support].T @ delta
    return float(np.sqrt(np.sum(along**2 / values[support])))


def _whitened(world, vector: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    values, vectors = np.linalg.eigh(world.covariances[0])
    support = values > values.max() * 1e-10
    return (vectors[:, support] / np.sqrt(values[support])).T @ vector


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    source=st.sampled_from(["gaussian", "shape", "variance"]),
    dims=st.integers(2, 12),
    n=st.integers(4, 400),
)
def test_the_erased_twin_classes_lie_within_the_fitting_error(seed, source, dims, n):
    # The hop's note: after LEACE fitted on the twin, the classes' Mahalanobis distance is
    # at most |e|, the whitened error of the sample's difference of class means.
    rng = np.random.default_rng(seed)
    world = population(source, rng, dims=dims).gaussian_twin()
    z = balanced(n, rng)
    X = world.sample(rng, z)
    eraser = fit_eraser("leace", X, z)
    error = X[z == 1].mean(axis=0) - X[z == 0].mean(axis=0) - (world.means[1] - world.means[0])
    distance = _erased_distance(world, eraser)
    assert distance <= np.linalg.norm(_whitened(world, error)) * (1 + 1e-6) + 1e-9


@pytest.mark.parametrize(("dims", "n"), [(8, 500), (4, 60), (16, 2000)])
def test_the_best_reader_on_the_twin_stays_under_the_fitting_term(dims, n):
    # An oracle that knows the population and the fitted eraser gains the total variation
    # 2Φ(Δ/2) − 1; on average it stays under 0.8·sqrt(d/(n − 1)), and not by much.
    rng = np.random.default_rng(dims * n)
    gains = []
    for _ in range(300):
        world = population("gaussian", rng, dims=dims).gaussian_twin()
        z = balanced(n, rng)
        eraser = fit_eraser("leace", world.sample(rng, z), z)
        gains.append(2 * norm.cdf(_erased_distance(world, eraser) / 2) - 1)
    assert 0.6 * _fitting_term(dims, n) < np.mean(gains) < _fitting_term(dims, n)


# -- the reduction ----------------------------------------------------------------------


def test_the_reduction_plays_the_theorems_erasure_trial():
    params = ConceptErasure(eraser="inlp", fit_size=40, budget=30, iterations=2).describe()
    b = two_moment_from_erasure(LinearProbe(c=0.5), params)
    assert isinstance(b, ErasureDistinguisher)
    assert (b.eraser, b.fit_size, b.budget, b.iterations) == ("inlp", 40, 30, 2)
    assert b.inner == LinearProbe(c=0.5)


def test_the_reduction_refuses_the_twin_and_missing_parameters(leace):
    with pytest.raises(InvalidArgument, match="twin=true plays the theorem's game on the Gaussian"):
        two_moment_from_erasure(LinearProbe(), {**ConceptErasure().describe(), "twin": True})
    with pytest.raises(InvalidArgument, match="must set 'budget'"):
        two_moment_from_erasure(LinearProbe(), {"eraser": "leace", "fit_size": 10})
    with pytest.raises(ProofError, match="twin=true"):
        check_empirical(leace, LinearProbe(), params={"twin": True}, trials=2, seed=0)


@settings(max_examples=30, deadline=None)
@given(fit_size=st.integers(4, 41), budget=st.integers(1, 41), seed=st.integers(0, 2**16))
def test_the_samples_b_spends_are_enough_for_its_trial(fit_size, budget, seed):
    # samples = n + b + 4 gives at least ceil(n/2) + ceil(b/2) + 1 of each concept value.
    rng = np.random.default_rng(seed)
    game = TwoMoment(source="gaussian", dims=2, samples=fit_size + budget + 4)
    view = Oracles(public=game.setup(int(rng.integers(2)), rng).public)
    seen = {}

    def inner(oracles: Oracles, rng: np.random.Generator) -> int:
        seen["rows"] = len(oracles.public["X"])
        return 0

    b = ErasureDistinguisher(
        inner=inner, eraser="mean-projection", fit_size=fit_size, budget=budget
    )
    assert b(view, rng) in (0, 1)
    assert seen["rows"] == budget


# -- the verdicts, at the tour's settings -------------------------------------------------


def _row(expect: str) -> tour.CheckRow:
    (row,) = [
        r
        for r in tour.ROWS
        if isinstance(r, tour.CheckRow) and r.proof == "leace" and r.expect == expect
    ]
    return row


def _check(proof, row: tour.CheckRow, **changes):  # type: ignore[no-untyped-def]
    level = 1 - (1 - tour.FAMILY_LEVEL) / len(tour.ROWS)
    adversary = ADVERSARIES.get(row.adversary)(**row.adversary_params)
    params = {**row.params, **changes.pop("params", {})}
    trials = changes.pop("trials", row.trials)
    return check_empirical(proof, adversary, params=params, trials=trials, seed=0, level=level)


@needs_sklearn
@pytest.mark.slow
def test_gaussian_representations_are_consistent(leace):
    report = _check(leace, _row("consistent"))
    assert report.verdicts == ("consistent",)
    assert report.high <= report.bound < 1
    first, second = report.hops
    # The Gaussian source is its own twin: the same seed plays the same trials.
    assert first.measured and first.gap == 0
    assert second.measured and not second.violated and second.target_estimate is None


@needs_sklearn
@pytest.mark.slow
def test_a_trained_networks_hidden_layer_breaks_two_moment(leace):
    report = _check(leace, _row("assumption:two_moment"))
    assert report.verdicts == ("assumption:two_moment",)
    (assumption,) = report.assumptions
    assert assumption.violated and assumption.low > assumption.claim_value
    # The reader reads "even" after LEACE, yet nothing on the Gaussian twin: the gap is
    # the two-moment distinguisher's doing, within what the first hop allows.
    assert report.low > 0.5
    first, second = report.hops
    assert first.gap_low > 0.2 and not first.violated
    assert not second.violated
    assert report.low <= report.bound


@needs_sklearn
@pytest.mark.slow
def test_the_planted_bug_is_blamed_on_the_algorithm(leace):
    row = _row("algorithm")
    report = _check(leace, row)
    assert report.verdicts == ("algorithm",)
    # Not the bound (2·Adv_tm's upper end is wide), but the second hop: on the Gaussian
    # twin, where no assumption is involved, the reader beats the fitting term.
    assert report.blamed_hops == (2,) and report.low <= report.bound
    assert not report.assumptions[0].violated
    assert report.hops[1].gap_low > report.hops[1].allowance
    # The same settings with LEACE itself: nothing is blamed.
    control = _check(leace, row, params={"eraser": "leace"}, trials=200)
    assert "algorithm" not in control.verdicts and not control.hops[1].violated
