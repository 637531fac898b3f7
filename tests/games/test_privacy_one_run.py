"""The one-run audit: its p-value and ε bound (exact, monotone, valid by simulation) and the
procedure that trains one model with canaries."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

torch = pytest.importorskip("torch")

# The README's audit example; with the canaries' records dp-sgd claims ε ≈ 0.32 at δ = 1e-5.
from privacy_cases import README  # noqa: E402

from games.privacy import audit  # noqa: E402
from games.privacy.audit import (  # noqa: E402
    DELTA,
    OneRunAudit,
    one_run_audit,
    one_run_epsilon,
    one_run_p_value,
)
from games.privacy.membership import Membership  # noqa: E402
from games.privacy.training import SGD  # noqa: E402
from oracles import InvalidArgument  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


@st.composite
def counts(draw: st.DrawFn, max_m: int = 2000) -> tuple[int, int, int]:
    """(m, r, v) with 0 <= v <= r <= m, often at the edges."""
    m = draw(st.integers(1, max_m))
    r = draw(st.one_of(st.sampled_from([0, m]), st.integers(0, m)))
    v = draw(st.one_of(st.sampled_from([0, r]), st.integers(0, r)))
    return m, r, v


epsilons = st.floats(0, 12, allow_nan=False)
deltas = st.one_of(st.just(0.0), st.floats(1e-9, 0.5))


def p_value_by_the_formula(m: int, r: int, v: int, eps: float, delta: float) -> float:
    """The paper's bound written as a loop over i, as a reference."""
    q = math.exp(eps) / (1 + math.exp(eps))
    beta = stats.binom.sf(v - 1, r, q)
    alpha = 0.0
    for i in range(1, v + 1):
        between = sum(stats.binom.pmf(j, r, q) for j in range(v - i, v))
        alpha = max(alpha, between / i)
    return min(1.0, beta + 2 * m * delta * alpha)


# -- the p-value ----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(counts(), epsilons)
def test_without_delta_the_p_value_is_the_binomial_tail(mrv, eps):
    m, r, v = mrv
    q = 1 / (1 + math.exp(-eps))
    assert one_run_p_value(m, r, v, eps, 0.0) == pytest.approx(
        stats.binom.sf(v - 1, r, q), rel=1e-9, abs=1e-300
    )


@settings(max_examples=40, deadline=None)
@given(counts(max_m=60), epsilons, deltas)
def test_the_p_value_is_the_papers_bound(mrv, eps, delta):
    m, r, v = mrv
    assert one_run_p_value(m, r, v, eps, delta) == pytest.approx(
        p_value_by_the_formula(m, r, v, eps, delta), rel=1e-9, abs=1e-15
    )


@settings(max_examples=80, deadline=None)
@given(counts(), epsilons, epsilons, deltas)
def test_the_p_value_grows_with_epsilon(mrv, e1, e2, delta):
    # A larger ε allows more right guesses, so the same count is less surprising.
    m, r, v = mrv
    low, high = sorted((e1, e2))
    assert one_run_p_value(m, r, v, low, delta) <= one_run_p_value(m, r, v, high, delta) + 1e-12


@settings(max_examples=60, deadline=None)
@given(counts(), epsilons, deltas, deltas)
def test_the_p_value_grows_with_delta(mrv, eps, d1, d2):
    m, r, v = mrv
    low, high = sorted((d1, d2))
    assert one_run_p_value(m, r, v, eps, low) <= one_run_p_value(m, r, v, eps, high)


def test_p_value_edges():
    assert one_run_p_value(10, 0, 0, 1.0, 0.1) == 1.0  # no guess: nothing to see
    assert one_run_p_value(10, 5, 0, 0.0, 0.0) == 1.0
    assert one_run_p_value(10, 5, 5, 0.0, 0.0) == pytest.approx(0.5**5)
    assert one_run_p_value(1000, 10, 10, 0.0, 0.4) == 1.0  # capped


# -- the ε bound ----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(counts(), deltas, st.floats(0.5, 0.999))
def test_the_bound_is_the_largest_epsilon_the_p_value_rejects(mrv, delta, level):
    m, r, v = mrv
    eps = one_run_epsilon(m, r, v, delta=delta, level=level)
    assert eps >= 0
    # ε = 0 either is rejected at exactly 1 - level (m = r = v = 1 at level 0.5) or is the
    # floor when nothing is rejected; any positive bound is rejected, and nothing above it is.
    assert eps == 0 or one_run_p_value(m, r, v, eps, delta) <= 1 - level
    assert one_run_p_value(m, r, v, eps + 1e-6, delta) > 1 - level


@settings(max_examples=60, deadline=None)
@given(counts(), deltas, st.floats(0.5, 0.999), st.data())
def test_more_right_guesses_give_a_larger_bound(mrv, delta, level, data):
    m, r, v = mrv
    more = data.draw(st.integers(v, r))
    fewer = one_run_epsilon(m, r, v, delta=delta, level=level)
    assert fewer <= one_run_epsilon(m, r, more, delta=delta, level=level) + 1e-8


@settings(max_examples=60, deadline=None)
@given(counts(), deltas, st.floats(0.01, 0.999), st.floats(0.01, 0.999))
def test_more_confidence_gives_a_smaller_bound(mrv, delta, l1, l2):
    m, r, v = mrv
    low, high = sorted((l1, l2))
    bound = one_run_epsilon(m, r, v, delta=delta, level=high)
    assert bound <= one_run_epsilon(m, r, v, delta=delta, level=low) + 1e-8


def test_all_right_without_delta_has_a_closed_form():
    # P[Binomial(r, q) = r] = q^r = 1 - level at the bound.
    q = 0.05 ** (1 / 200)
    assert one_run_epsilon(1000, 200, 200, delta=0.0) == pytest.approx(
        math.log(q / (1 - q)), abs=1e-7
    )


# -- validity and power by simulation -------------------------------------------------------


def simulated_bounds(
    eps0: float,
    audits: int,
    m: int,
    k: int,
    rng: np.random.Generator,
    *,
    delta: float = 0.0,
    level: float = 0.95,
) -> np.ndarray:
    """One-run bounds of ``audits`` audits of randomised response on m canaries.

    The mechanism reports each canary's inclusion bit flipped with probability
    1/(1 + e^ε₀) (ε₀-DP), and with probability ``delta`` reveals it outright (so it is
    (ε₀, δ)-DP and no better); the score adds uniform noise that breaks ties at random.
    The k highest scores are guessed in, the k lowest out.
    """
    inside = rng.random((audits, m)) < 0.5
    flipped = rng.random((audits, m)) < 1 / (1 + math.exp(eps0))
    scores = (inside ^ flipped) + 0.5 * rng.random((audits, m))
    revealed = rng.random((audits, m)) < delta
    scores = np.where(revealed, np.where(inside, 10.0, -10.0), scores)
    ranked = np.argsort(scores, axis=1)
    rows = np.arange(audits)[:, None]
    right = inside[rows, ranked[:, m - k :]].sum(1) + (~inside[rows, ranked[:, :k]]).sum(1)
    return np.array([one_run_epsilon(m, 2 * k, int(v), delta=delta, level=level) for v in right])


@pytest.mark.parametrize(
    ("eps0", "m", "k", "delta"),
    [(1.0, 500, 50, 0.0), (0.5, 200, 100, 0.0), (2.0, 1000, 100, 0.0), (1.0, 1000, 100, 1e-4)],
)
def test_the_bound_exceeds_the_true_epsilon_at_most_one_minus_level_of_the_time(eps0, m, k, delta):
    audits, level = 400, 0.95
    bounds = simulated_bounds(eps0, audits, m, k, np.random.default_rng(1), delta=delta)
    over = int((bounds > eps0).sum())
    # Valid bounds make `over` at most Binomial(400, 0.05): above this with chance 1e-3.
    allowed = stats.binom.ppf(1 - 1e-3, audits, 1 - level)
    assert over <= allowed, (over, allowed)
    assert np.median(bounds) > 0.3 * eps0  # and the bound says something


def test_a_large_epsilon_is_detected():
    bounds = simulated_bounds(4.0, 20, 1000, 100, np.random.default_rng(2))
    assert bounds.min() > 2.0


# -- the procedure --------------------------------------------------------------------------


def test_sgd_leaks_its_mislabeled_canaries():
    found = one_run_audit(
        Membership(trainer="sgd"), canaries=400, guesses_in=40, guesses_out=40, seed=0
    )
    assert isinstance(found, OneRunAudit)
    assert found.epsilon > 0.5 and found.correct > 60
    assert found.claimed_epsilon is None and "makes no DP claim" in found.claim
    assert not found.refuted
    assert found.delta == DELTA and found.level == 0.95 and found.device == "cpu"
    assert found.guesses == 80 == found.guesses_in + found.guesses_out
    assert found.correct == found.correct_in + found.correct_out
    assert found.epsilon == one_run_epsilon(400, 80, found.correct, delta=DELTA)
    assert found.size == 128 + 200 and 150 < found.included < 250
    assert found.params["trainer"] == "sgd" and found.game == "membership"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dp_sgd_stays_below_its_claim(seed):
    found = one_run_audit(
        Membership(trainer="dp-sgd", **README),
        canaries=1000,
        guesses_in=100,
        guesses_out=100,
        seed=seed,
    )
    assert found.claimed_epsilon is not None and 0 < found.claimed_epsilon < 1
    assert found.epsilon <= found.claimed_epsilon and not found.refuted
    assert "rdp accountant" in found.claim and "564 records" in found.claim


def test_dp_sgd_without_clipping_is_caught_in_one_run():
    # The noise is calibrated to a clipping norm of 0.1 that is never applied.
    game = Membership(trainer="dp-sgd-noclip", max_grad_norm=0.1, **README)
    found = one_run_audit(game, canaries=1000, guesses_in=100, guesses_out=100, seed=0)
    assert found.refuted and found.epsilon > found.claimed_epsilon + 0.1  # type: ignore[operator]


def test_the_claim_is_the_trainers_for_the_run_at_the_given_delta():
    game = Membership(trainer="dp-sgd", **README)
    found = one_run_audit(game, canaries=100, guesses_in=5, guesses_out=5, seed=0, delta=1e-3)
    assert found.delta == 1e-3
    assert found.claimed_epsilon == game.scheme().epsilon(1e-3, 64 + 50)
    no_delta = one_run_audit(game, canaries=100, guesses_in=5, guesses_out=5, seed=0, delta=0)
    assert no_delta.claimed_epsilon is None and "delta=0.0 must be in (0, 1)" in no_delta.claim


def test_the_audit_is_a_function_of_the_seed():
    game = Membership(epochs=2)
    runs = [
        one_run_audit(game, canaries=300, guesses_in=30, guesses_out=10, seed=s) for s in (5, 5, 6)
    ]
    keep = ("correct_in", "correct_out", "included", "epsilon")
    assert [getattr(runs[0], k) for k in keep] == [getattr(runs[1], k) for k in keep]
    assert [getattr(runs[0], k) for k in keep] != [getattr(runs[2], k) for k in keep]
    data = runs[0].to_json()
    assert data["refuted"] is False and data["canaries"] == 300 and data["guesses_out"] == 10


@pytest.mark.parametrize(("k_in", "k_out"), [(50, 0), (0, 50)])
def test_guesses_on_one_side_only(k_in, k_out):
    found = one_run_audit(Membership(), canaries=300, guesses_in=k_in, guesses_out=k_out, seed=0)
    assert found.guesses == 50 and found.correct_in + found.correct_out == found.correct


class Spy(SGD):
    """A trainer that records what it was asked to train and trains it on the CPU."""

    def train(self, X, y, masks, seeds, device="cpu", *, size=None, init=None):
        calls.append({"X": X, "y": np.array(y), "masks": masks, "device": device, "size": size})
        return super().train(X, y, masks, seeds, "cpu", size=size, init=init)


calls: list[dict] = []


@pytest.mark.parametrize("device", [None, "spy-device"])
def test_one_model_on_the_games_device_with_the_canaries_it_reports(device):
    import attrs

    @attrs.frozen(kw_only=True)
    class Spied(Membership):
        def scheme(self):
            return Spy(epochs=self.epochs, lr=self.lr, batch_size=self.batch_size)

    calls.clear()
    game = Spied(training_size=100, epochs=2, device=device)
    found = one_run_audit(game, canaries=200, guesses_in=20, guesses_out=20, seed=3)
    [call] = calls
    pool = game.population()
    assert call["device"] == (device or "cpu") == found.device
    assert call["masks"].shape == (1, pool.size) and call["size"] == 100 + 100
    canary = call["y"] != pool.y  # every canary has a wrong label, every other record its own
    assert canary.sum() == 200
    assert call["masks"][0, ~canary].sum() == 100
    assert call["masks"][0, canary].sum() == found.included


@pytest.mark.gpu
def test_the_one_run_audit_runs_on_cuda_as_on_cpu():
    cpu = one_run_audit(Membership(), canaries=400, guesses_in=40, guesses_out=40, seed=0)
    gpu = one_run_audit(
        Membership(device="cuda"), canaries=400, guesses_in=40, guesses_out=40, seed=0
    )
    assert gpu.device == "cuda" and gpu.included == cpu.included
    assert abs(gpu.correct - cpu.correct) <= 4


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 0, 0, 1.0, 0.0), "m=-1 must be a non-negative integer"),
        ((1.5, 0, 0, 1.0, 0.0), r"m=1\.5 must be a non-negative integer"),
        ((True, 0, 0, 1.0, 0.0), "m=True must be a non-negative integer"),
        ((10, 11, 0, 1.0, 0.0), r"r=11 must be an integer in \[0, m=10\]"),
        ((10, -1, 0, 1.0, 0.0), r"r=-1 must be an integer in \[0, m=10\]"),
        ((10, 5, 6, 1.0, 0.0), r"v=6 must be an integer in \[0, r=5\]"),
        ((10, 5, -1, 1.0, 0.0), r"v=-1 must be an integer in \[0, r=5\]"),
        ((10, 5, 3, -0.1, 0.0), r"eps=-0\.1 must be a number in \[0, inf\)"),
        ((10, 5, 3, math.nan, 0.0), r"eps=nan must be a number in \[0, inf\)"),
        ((10, 5, 3, math.inf, 0.0), r"eps=inf must be a number in \[0, inf\)"),
        ((10, 5, 3, 1.0, 1.0), r"delta=1\.0 must be a number in \[0, 1\)"),
        ((10, 5, 3, 1.0, -1e-9), r"delta=-1e-09 must be a number in \[0, 1\)"),
    ],
)
def test_bad_p_value_arguments(args, message):
    with pytest.raises(InvalidArgument, match=message):
        one_run_p_value(*args)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((10, 5, 6), {"delta": 0.0}, r"v=6 must be an integer in \[0, r=5\]"),
        ((10, 12, 6), {"delta": 0.0}, r"r=12 must be an integer in \[0, m=10\]"),
        ((10, 5, 3), {"delta": 1.5}, r"delta=1\.5 must be a number in \[0, 1\)"),
        ((10, 5, 3), {"delta": 0.0, "level": 1.0}, r"level=1\.0 must be in \(0, 1\)"),
        ((10, 5, 3), {"delta": 0.0, "level": 0}, r"level=0 must be in \(0, 1\)"),
    ],
)
def test_bad_epsilon_arguments(args, kwargs, message):
    with pytest.raises(InvalidArgument, match=message):
        one_run_epsilon(*args, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"canaries": 0}, r"canaries=0 must be an integer in \[1, 1669\]"),
        ({"canaries": 1670}, r"canaries=1670 must be an integer in \[1, 1669\] \(the population"),
        ({"canaries": 10.0}, r"canaries=10\.0 must be an integer in \[1, 1669\]"),
        ({"guesses_in": -1}, "guesses_in=-1 must be a non-negative integer"),
        ({"guesses_out": 2.5}, r"guesses_out=2\.5 must be a non-negative integer"),
        ({"guesses_in": 60, "guesses_out": 50}, r"= 110 must be in \[1, canaries=100\]"),
        ({"guesses_in": 0, "guesses_out": 0}, r"= 0 must be in \[1, canaries=100\]"),
        ({"seed": -1}, "seed=-1 must be a non-negative integer"),
        ({"level": 1.0}, r"level=1\.0 must be in \(0, 1\)"),
        ({"delta": 1.0}, r"delta=1\.0 must be a number in \[0, 1\)"),
        ({"accountant": "moments"}, "accountant='moments' must be one of: rdp, pld"),
    ],
)
def test_bad_audit_arguments(kwargs, message):
    args = {"canaries": 100, "guesses_in": 10, "guesses_out": 10, "seed": 0, **kwargs}
    with pytest.raises(InvalidArgument, match=message):
        one_run_audit(Membership(), **args)


def test_only_membership_games_and_finite_models_are_audited():
    import games

    with pytest.raises(InvalidArgument, match="needs a membership game, got"):
        one_run_audit(games.GAMES.get("prf")(), canaries=10, guesses_in=1, guesses_out=1, seed=0)
    diverging = Membership(model="mlp", lr=1e6, epochs=5)
    with pytest.raises(InvalidArgument, match="the model diverged .* use a smaller lr"):
        one_run_audit(diverging, canaries=100, guesses_in=10, guesses_out=10, seed=0)


def test_the_scoring_adversary_is_one_protocol():
    from adversaries.privacy import Lira

    assert isinstance(Lira(), audit.ScoringAdversary)
    assert not isinstance(object(), audit.ScoringAdversary)
    assert audit.Scorer is audit.ScoringAdversary  # the old name
