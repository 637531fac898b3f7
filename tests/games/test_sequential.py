"""Properties of the beta-mixture confidence sequences and the certify decision."""

from __future__ import annotations

import math
import re
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats
from strategies import counts, probabilities

from games.stats import plan
from games.stats.sequential import Certifier, ConfidenceSequence, certifier, decide, win_boundary
from games.stats.stopping import Runs, Stopping, expected_stopping, simulate
from oracles import InvalidArgument

FEW = settings(max_examples=25, deadline=None)


def crossing_probability(p: float, cert: Certifier, horizon: int, side: str) -> float:
    """Exactly: the chance that a run of Bernoulli(p) trials is decided ``side`` within ``horizon``.

    Dynamic programming over the win count of the runs still undecided.
    """
    most_below, least_above = cert.boundaries(horizon)
    return _absorbed(p, most_below, least_above, side)


def _absorbed(p: float, most_below: np.ndarray, least_above: np.ndarray, side: str) -> float:
    alive = np.array([1.0])
    absorbed = 0.0
    for n in range(1, len(most_below) + 1):
        step = np.zeros(n + 1)
        step[:-1] += alive * (1 - p)
        step[1:] += alive * p
        wins = np.arange(n + 1)
        below, above = wins <= most_below[n - 1], wins >= least_above[n - 1]
        absorbed += step[below if side == "below" else above].sum()
        step[below | above] = 0.0
        alive = step
    return absorbed


def expectation_of_mixture(cs: ConfidenceSequence, n: int, p: float, at: float) -> float:
    """E_p[M_n(at)], summed exactly over the binomial distribution of the win count."""
    wins = np.arange(n + 1)
    with np.errstate(divide="ignore"):
        log_terms = stats.binom.logpmf(wins, n, p) + cs._log_mixture(
            wins, np.full_like(wins, n), at
        )
    return float(np.exp(special.logsumexp(log_terms)))


# --- the mixture is a martingale -----------------------------------------------------


@FEW
@given(
    probabilities(0.01, 0.99),
    st.floats(0.05, 50),
    st.floats(0.05, 50),
    st.integers(1, 400),
    st.sampled_from([(0.0, 1.0), (0.0, 0.4), (0.3, 1.0), (0.2, 0.7)]),
)
def test_mixture_has_mean_one_under_the_truth(
    p: float, a: float, b: float, n: int, support: tuple[float, float]
) -> None:
    # For any prior (truncated or not), a mixture of likelihood ratios against the truth
    # has expectation exactly 1: the basis of Ville's inequality.
    low, high = support
    cs = ConfidenceSequence(alpha=0.05, a=a, b=b, low=low, high=high)
    assert expectation_of_mixture(cs, n, p, p) == pytest.approx(1.0, rel=1e-8)


@FEW
@given(probabilities(0.05, 0.95), st.floats(0.05, 0.95), st.integers(1, 300))
def test_one_sided_mixture_is_a_supermartingale_on_its_null(
    p_eps: float, fraction: float, n: int
) -> None:
    # Prior on [p_eps, 1]: expectation at most 1 for every truth at or below p_eps; and the
    # mirror image for the prior on [0, p_eps].
    above = ConfidenceSequence(alpha=0.05, a=p_eps * 50, b=(1 - p_eps) * 50, low=p_eps, high=1.0)
    below = ConfidenceSequence(alpha=0.05, a=p_eps * 50, b=(1 - p_eps) * 50, low=0.0, high=p_eps)
    assert expectation_of_mixture(above, n, p_eps * fraction, p_eps) <= 1 + 1e-9
    assert expectation_of_mixture(below, n, p_eps + (1 - p_eps) * (1 - fraction), p_eps) <= 1 + 1e-9


# --- the confidence sequence ---------------------------------------------------------


@FEW
@given(counts(100_000), st.floats(0.001, 0.5), st.floats(0.1, 1000), probabilities(0.01, 0.99))
def test_interval_holds_the_estimate_and_its_ends_solve_the_threshold(
    count: tuple[int, int], alpha: float, concentration: float, centre: float
) -> None:
    k, n = count
    cs = ConfidenceSequence(alpha=alpha, a=centre * concentration, b=(1 - centre) * concentration)
    low, high = cs.interval(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0
    threshold = math.log(1 / alpha)
    for end in (low, high):
        if 0.0 < end < 1.0:
            # The end is a float: rounding it moves the evidence by its slope times the
            # rounding error, which is large when 1 − end is tiny.
            slope = abs(k / end - (n - k) / (1 - end))
            rounding = 4 * sys.float_info.epsilon * end * slope
            assert cs.log_mixture(k, n, end) == pytest.approx(threshold, abs=1e-6 + rounding)
    # Inside the interval the evidence is below the threshold, outside above it.
    assert cs.log_mixture(k, n, k / n) < threshold
    if low > 1e-9:
        assert cs.log_mixture(k, n, low * (1 - 1e-6)) > threshold
    if high < 1 - 1e-9:
        assert cs.log_mixture(k, n, high + (1 - high) * 1e-6) > threshold


@FEW
@given(counts(5_000), st.floats(0.001, 0.3), st.floats(0.001, 0.3))
def test_smaller_alpha_gives_a_wider_interval(
    count: tuple[int, int], alpha1: float, alpha2: float
) -> None:
    k, n = count
    small, large = sorted((alpha1, alpha2))
    wide = ConfidenceSequence(alpha=small, a=2.0, b=2.0).interval(k, n)
    narrow = ConfidenceSequence(alpha=large, a=2.0, b=2.0).interval(k, n)
    assert wide[0] <= narrow[0] + 1e-12
    assert narrow[1] <= wide[1] + 1e-12


def test_confidence_sequence_is_wider_than_a_fixed_n_interval() -> None:
    # Validity at every n at once costs width relative to Clopper–Pearson at one n.
    from games.stats import binomial_interval

    cs = ConfidenceSequence(alpha=0.05, a=10.0, b=10.0)
    for k, n in [(3, 10), (480, 1000), (51_000, 100_000)]:
        low, high = cs.interval(k, n)
        cp_low, cp_high = binomial_interval(k, n, 0.95)
        assert low < cp_low and cp_high < high


@pytest.mark.parametrize("p, a, b", [(0.5, 5.0, 5.0), (0.1, 0.5, 4.5), (0.83, 30.0, 10.0)])
def test_two_sided_sequence_exact_time_uniform_coverage(p: float, a: float, b: float) -> None:
    # The chance that the truth is ever outside the sequence in the first 400 trials.
    alpha, horizon = 0.2, 400
    cs = ConfidenceSequence(alpha=alpha, a=a, b=b)
    threshold = math.log(1 / alpha)
    alive, missed = np.array([1.0]), 0.0
    for n in range(1, horizon + 1):
        step = np.zeros(n + 1)
        step[:-1] += alive * (1 - p)
        step[1:] += alive * p
        wins = np.arange(n + 1)
        with np.errstate(divide="ignore"):
            out = cs._log_mixture(wins, np.full_like(wins, n), p) >= threshold
        missed += step[out].sum()
        step[out] = 0.0
        alive = step
    assert missed <= alpha


# --- the certify decision --------------------------------------------------------------


@settings(max_examples=12, deadline=None)
@given(
    st.floats(0.05, 0.6),
    st.floats(0.05, 0.4),
    st.one_of(st.none(), st.floats(0.0, 0.3)),
    st.floats(0.0, 1.0),
)
def test_exact_wrong_decision_chance_is_at_most_alpha(
    eps: float, alpha: float, baseline: float | None, where: float
) -> None:
    # Exact, by dynamic programming over 1500 trials: a truth at or below the boundary is
    # called "above", or a truth above it "below", with probability at most alpha.
    shape = "hidden-bit" if baseline is None else "search"
    cert = certifier(eps, alpha=alpha, shape=shape, baseline=baseline)
    most_below, least_above = cert.boundaries(1500)
    p_eps = cert.p_eps
    assert _absorbed(p_eps, most_below, least_above, "above") <= alpha
    assert _absorbed(p_eps * where, most_below, least_above, "above") <= alpha
    assert _absorbed(p_eps + (1 - p_eps) * where * 0.5, most_below, least_above, "below") <= alpha


def test_peeking_at_clopper_pearson_would_break_the_level() -> None:
    # The same exact computation flags a procedure that is not anytime-valid: stopping the
    # first time a fixed-n one-sided Clopper–Pearson bound clears the boundary.
    p_eps, alpha, horizon = 0.55, 0.05, 1500
    n = np.arange(1, horizon + 1)
    least_above = stats.binom.isf(alpha, n, p_eps).astype(np.int64) + 1
    never = np.full(horizon, -1)
    assert _absorbed(p_eps, never, least_above, "above") > 3 * alpha
    # ...while the confidence sequence keeps it.
    assert crossing_probability(p_eps, certifier(0.1, alpha=alpha), horizon, "above") <= alpha


@pytest.mark.parametrize(
    "shape, baseline, eps", [("hidden-bit", None, 0.1), ("search", 0.0, 0.05), ("search", 0.3, 0.1)]
)
@pytest.mark.parametrize("offset", [-0.1, 0.1])
def test_simulated_wrong_decision_rate_near_the_boundary(
    shape: str, baseline: float | None, eps: float, offset: float
) -> None:
    # True advantage just inside (eps·0.9) and just outside (eps·1.1) the boundary: 400 runs.
    alpha, sims = 0.1, 400
    stopping = expected_stopping(
        eps, eps * (1 + offset), alpha, shape, baseline, sims=sims, max_trials=5_000, rng=11
    )
    assert stopping.below + stopping.above + stopping.undecided == pytest.approx(1.0)
    assert stopping.wrong <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / sims)
    assert stopping.wrong == (stopping.above if offset < 0 else stopping.below)


@FEW
@given(st.integers(1, 5_000), st.floats(0.0, 1.0), st.sampled_from([0.02, 0.1, 0.3, 0.5]))
def test_decide_agrees_with_the_bounds_and_the_thresholds(
    n: int, fraction: float, eps: float
) -> None:
    cert = certifier(eps, alpha=0.05)
    most_below, least_above = cert.boundaries(n)
    centre = round(n * cert.p_eps)
    for k in {
        0,
        n,
        round(fraction * n),
        most_below[-1],
        most_below[-1] + 1,
        least_above[-1] - 1,
        least_above[-1],
        centre,
    }:
        if not 0 <= k <= n:
            continue
        decision = cert.decide(int(k), n)
        expected = (
            "below" if k <= most_below[-1] else "above" if k >= least_above[-1] else "undecided"
        )
        assert decision == expected
        low, high = cert.bounds(int(k), n)
        if decision == "below":
            assert high <= cert.p_eps + 1e-9
        elif decision == "above":
            assert low > cert.p_eps - 1e-9
        else:
            assert low <= cert.p_eps + 1e-9 and high >= cert.p_eps - 1e-9
        assert decide(int(k), n, p_eps=cert.p_eps, alpha=0.05, prior=cert) == decision


def test_decide_with_explicit_and_default_priors() -> None:
    p_eps = win_boundary(0.1)
    assert decide(0, 1, p_eps=p_eps, alpha=0.05) == "undecided"
    assert decide(2_000, 10_000, p_eps=p_eps, alpha=0.05) == "below"
    assert decide(9_000, 10_000, p_eps=p_eps, alpha=0.05) == "above"
    assert decide(2_000, 10_000, p_eps=p_eps, alpha=0.05, prior=(1.0, 1.0)) == "below"
    assert decide(5_500, 10_000, p_eps=p_eps, alpha=0.05, prior=(1.0, 1.0)) == "undecided"
    # A search game with a zero baseline: no wins in a few hundred trials settles it.
    assert decide(0, 400, p_eps=0.01, alpha=0.05) == "below"


def test_win_boundary() -> None:
    assert win_boundary(0.1) == pytest.approx(0.55)
    assert win_boundary(0.1, shape="search", baseline=0.25) == pytest.approx(0.35)
    assert win_boundary(0.01, shape="search", baseline=0.0) == pytest.approx(0.01)


# --- how soon it stops ---------------------------------------------------------------


def test_certifying_a_zero_advantage_is_close_to_the_fixed_n_plan() -> None:
    stopping = expected_stopping(0.1, 0.0, 0.05, sims=300, max_trials=20_000, rng=3)
    assert stopping.below > 0.99
    assert stopping.median <= 1.7 * plan(0.1).trials


def test_a_large_advantage_is_certified_above_quickly() -> None:
    stopping = expected_stopping(0.1, 0.5, 0.05, sims=300, max_trials=20_000, rng=4)
    assert stopping.above > 0.99
    assert stopping.median < 200


def test_a_search_game_that_never_wins_is_certified_in_under_500_trials() -> None:
    # With no wins the run is deterministic: it stops at the first n whose threshold allows 0.
    cert = certifier(0.01, shape="search", baseline=0.0)
    most_below, _ = cert.boundaries(2_000)
    first = int(np.argmax(most_below >= 0)) + 1
    assert first < 500
    runs = simulate(0.0, cert, sims=10, max_trials=2_000, rng=0)
    assert set(runs.decisions) == {"below"} and set(runs.trials) == {first}
    # Fixed-n two-sided Hoeffding would need about 18,000.
    assert math.log(2 / 0.05) / (2 * 0.01**2) > 18_000


def test_simulation_is_reproducible_and_counts_undecided_runs_at_the_cap() -> None:
    cert = certifier(0.1, alpha=0.05)
    first = simulate(0.55, cert, sims=50, max_trials=300, rng=np.random.default_rng(5))
    again = simulate(0.55, cert, sims=50, max_trials=300, rng=5)
    assert isinstance(first, Runs)
    assert np.array_equal(first.decisions, again.decisions)
    assert np.array_equal(first.trials, again.trials)
    undecided = first.decisions == "undecided"
    assert undecided.any() and np.all(first.trials[undecided] == 300)
    assert np.all(first.trials[~undecided] < 300) or not (~undecided).any()
    summary = expected_stopping(0.1, 0.1, 0.05, sims=50, max_trials=300, rng=5)
    assert isinstance(summary, Stopping)
    assert summary.median <= summary.max_trials and summary.quantile_90 <= summary.max_trials


def test_simulated_stopping_times_match_the_exact_computation() -> None:
    # The chance of being decided by n, from simulation and from dynamic programming.
    cert = certifier(0.2, alpha=0.1)
    p, horizon = 0.5, 300
    exact = crossing_probability(p, cert, horizon, "below") + crossing_probability(
        p, cert, horizon, "above"
    )
    runs = simulate(p, cert, sims=2_000, max_trials=horizon, rng=8)
    decided = np.mean(runs.decisions != "undecided")
    assert decided == pytest.approx(exact, abs=4 * math.sqrt(exact * (1 - exact) / 2_000))


# --- bad arguments ----------------------------------------------------------------------


def test_bad_confidence_sequence_arguments() -> None:
    with pytest.raises(InvalidArgument, match=re.escape("alpha=0 must be in (0, 1)")):
        ConfidenceSequence(alpha=0, a=1.0, b=1.0)
    with pytest.raises(InvalidArgument, match="a=0.0 must be a positive number"):
        ConfidenceSequence(alpha=0.05, a=0.0, b=1.0)
    with pytest.raises(InvalidArgument, match="b=inf must be a positive number"):
        ConfidenceSequence(alpha=0.05, a=1.0, b=math.inf)
    with pytest.raises(InvalidArgument, match=re.escape("low=1.5 must be in [0, 1]")):
        ConfidenceSequence(alpha=0.05, a=1.0, b=1.0, low=1.5)
    with pytest.raises(InvalidArgument, match="low=0.5 must be less than high=0.5"):
        ConfidenceSequence(alpha=0.05, a=1.0, b=1.0, low=0.5, high=0.5)
    cs = ConfidenceSequence(alpha=0.05, a=1.0, b=1.0)
    with pytest.raises(InvalidArgument, match="trials=0 must be a positive integer"):
        cs.interval(0, 0)
    with pytest.raises(
        InvalidArgument, match=re.escape("successes=5 must be an integer in [0, 4]")
    ):
        cs.interval(5, 4)
    with pytest.raises(InvalidArgument, match=re.escape("p=1.2 must be in [0, 1]")):
        cs.log_mixture(1, 4, 1.2)


def test_bad_certify_arguments() -> None:
    with pytest.raises(InvalidArgument, match=re.escape("eps=0 must be in (0, 1)")):
        win_boundary(0)
    with pytest.raises(InvalidArgument, match="eps=0.5 must be less than 1 - baseline = 0.4"):
        win_boundary(0.5, shape="search", baseline=0.6)
    with pytest.raises(InvalidArgument, match="baseline=None must be given"):
        win_boundary(0.1, shape="search")
    assert certifier(0.1, shape="real-vs-ideal") == certifier(0.1, shape="hidden-bit")
    with pytest.raises(InvalidArgument, match=re.escape("alpha=1 must be in (0, 1)")):
        certifier(0.1, alpha=1)
    with pytest.raises(InvalidArgument, match=re.escape("p_eps=1.0 must be in (0, 1)")):
        decide(3, 10, p_eps=1.0, alpha=0.05)
    with pytest.raises(InvalidArgument, match=re.escape("alpha=-0.1 must be in (0, 1)")):
        decide(3, 10, p_eps=0.5, alpha=-0.1)
    with pytest.raises(InvalidArgument, match="successes=-1 must be an integer"):
        decide(-1, 10, p_eps=0.5, alpha=0.05)
    with pytest.raises(InvalidArgument, match="prior='flat' must be None"):
        decide(3, 10, p_eps=0.5, alpha=0.05, prior="flat")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="a=-1.0 must be a positive number"):
        decide(3, 10, p_eps=0.5, alpha=0.05, prior=(-1.0, 1.0))
    with pytest.raises(InvalidArgument, match="prior is a Certifier for p_eps=0.55"):
        decide(3, 10, p_eps=0.5, alpha=0.05, prior=certifier(0.1))
    with pytest.raises(InvalidArgument, match="max_trials=0 must be a positive integer"):
        certifier(0.1).boundaries(0)


def test_bad_simulation_arguments() -> None:
    cert = certifier(0.1)
    with pytest.raises(InvalidArgument, match=re.escape("p=-0.5 must be in [0, 1]")):
        simulate(-0.5, cert)
    with pytest.raises(InvalidArgument, match="sims=0 must be a positive integer"):
        simulate(0.5, cert, sims=0)
    with pytest.raises(InvalidArgument, match="max_trials=-2 must be a positive integer"):
        simulate(0.5, cert, max_trials=-2)
    with pytest.raises(InvalidArgument, match="rng=1.5 must be a numpy Generator"):
        simulate(0.5, cert, rng=1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="adv=1.5 gives win probability 1.25, outside"):
        expected_stopping(0.1, 1.5)
    with pytest.raises(InvalidArgument, match="adv='big' must be a number"):
        expected_stopping(0.1, "big")  # type: ignore[arg-type]
