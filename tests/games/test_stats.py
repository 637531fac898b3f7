"""Properties of the proportion, advantage and difference intervals, and of trial planning."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats
from strategies import counts, levels, probabilities

from games.stats import (
    METHODS,
    TWO_SAMPLE_METHODS,
    Plan,
    advantage_interval,
    binomial_bound,
    binomial_interval,
    difference_interval,
    percent,
    plan,
)
from oracles import InvalidArgument

FAST = settings(max_examples=150, deadline=None)
# Irrational-looking probabilities, so none sits exactly on an interval's end.
P_GRID = np.linspace(0.0007, 0.9993, 311)


def intervals(n: int, level: float, method: str) -> np.ndarray:
    """The interval for every possible count out of n, as an (n+1, 2) array."""
    return np.array([binomial_interval(k, n, level, method) for k in range(n + 1)])


def coverage(bounds: np.ndarray, n: int, p: np.ndarray) -> np.ndarray:
    """Exact coverage at each p: the binomial mass of the counts whose interval holds p."""
    pmf = stats.binom.pmf(np.arange(n + 1)[None, :], n, p[:, None])
    inside = (bounds[:, 0][None, :] <= p[:, None]) & (p[:, None] <= bounds[:, 1][None, :])
    return (pmf * inside).sum(axis=1)


# --- agreement with scipy ---------------------------------------------------------


@FAST
@given(counts(), levels(0.01, 0.9999))
def test_clopper_pearson_matches_scipy(count: tuple[int, int], level: float) -> None:
    k, n = count
    expected = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    low, high = binomial_interval(k, n, level)
    assert low == pytest.approx(expected.low, abs=1e-9)
    assert high == pytest.approx(expected.high, abs=1e-9)


@FAST
@given(counts(), levels(0.01, 0.9999))
def test_wilson_matches_scipy(count: tuple[int, int], level: float) -> None:
    k, n = count
    expected = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    low, high = binomial_interval(k, n, level, "wilson")
    assert low == pytest.approx(expected.low, abs=1e-9)
    assert high == pytest.approx(expected.high, abs=1e-9)


@pytest.mark.parametrize("k", [0, 1, 499_999, 1_000_000])
def test_clopper_pearson_matches_scipy_for_a_million_trials(k: int) -> None:
    expected = stats.binomtest(k, 1_000_000).proportion_ci(0.99, method="exact")
    low, high = binomial_interval(k, 1_000_000, 0.99)
    assert (low, high) == pytest.approx((expected.low, expected.high), abs=1e-9)


@FAST
@given(counts(), levels(0.01, 0.9999))
def test_hoeffding_is_the_clipped_formula(count: tuple[int, int], level: float) -> None:
    k, n = count
    half = math.sqrt(math.log(2 / (1 - level)) / (2 * n))
    low, high = binomial_interval(k, n, level, "hoeffding")
    assert low == pytest.approx(max(0.0, k / n - half), abs=1e-12)
    assert high == pytest.approx(min(1.0, k / n + half), abs=1e-12)


def test_clopper_pearson_edges_have_closed_forms() -> None:
    # k = 0: upper end solves (1 − p)^n = α/2; k = n: lower end solves p^n = α/2.
    n, alpha = 37, 0.05
    assert binomial_interval(0, n)[0] == 0.0
    assert binomial_interval(0, n)[1] == pytest.approx(1 - (alpha / 2) ** (1 / n), abs=1e-12)
    assert binomial_interval(n, n)[1] == 1.0
    assert binomial_interval(n, n)[0] == pytest.approx((alpha / 2) ** (1 / n), abs=1e-12)


# --- shape of the intervals ---------------------------------------------------------


@FAST
@given(counts(), levels(0.01, 0.9999), st.sampled_from(METHODS))
def test_interval_holds_the_estimate_inside_the_unit_interval(
    count: tuple[int, int], level: float, method: str
) -> None:
    k, n = count
    low, high = binomial_interval(k, n, level, method)
    assert 0.0 <= low <= k / n <= high <= 1.0
    assert low < high


@FAST
@given(counts(), levels(0.01, 0.99), levels(0.01, 0.99), st.sampled_from(METHODS))
def test_higher_level_gives_a_nested_wider_interval(
    count: tuple[int, int], level1: float, level2: float, method: str
) -> None:
    k, n = count
    lower, higher = sorted((level1, level2))
    narrow = binomial_interval(k, n, lower, method)
    wide = binomial_interval(k, n, higher, method)
    assert wide[0] <= narrow[0] + 1e-12
    assert narrow[1] <= wide[1] + 1e-12


@FAST
@given(counts(2_000), levels(0.5, 0.999), st.sampled_from(METHODS))
def test_one_sided_bound_is_the_two_sided_end_at_double_alpha(
    count: tuple[int, int], level: float, method: str
) -> None:
    k, n = count
    two_sided = binomial_interval(k, n, level, method)
    one_level = 1 - (1 - level) / 2
    assert binomial_bound(k, n, one_level, side="lower", method=method) == pytest.approx(
        two_sided[0], abs=1e-12
    )
    assert binomial_bound(k, n, one_level, side="upper", method=method) == pytest.approx(
        two_sided[1], abs=1e-12
    )
    # At the same level a one-sided bound is tighter than the two-sided interval's end.
    assert binomial_bound(k, n, level, side="upper", method=method) <= two_sided[1] + 1e-12
    assert binomial_bound(k, n, level, side="lower", method=method) >= two_sided[0] - 1e-12


@FAST
@given(counts(), levels(0.5, 0.999))
def test_one_sided_clopper_pearson_matches_scipy(count: tuple[int, int], level: float) -> None:
    k, n = count
    less = stats.binomtest(k, n, alternative="less").proportion_ci(level, method="exact")
    greater = stats.binomtest(k, n, alternative="greater").proportion_ci(level, method="exact")
    assert binomial_bound(k, n, level, side="upper") == pytest.approx(less.high, abs=1e-9)
    assert binomial_bound(k, n, level, side="lower") == pytest.approx(greater.low, abs=1e-9)


# --- coverage ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 5, 13, 40, 150])
@pytest.mark.parametrize("level", [0.8, 0.95])
@pytest.mark.parametrize("method", ["clopper-pearson", "hoeffding"])
def test_exact_coverage_is_at_least_the_level(n: int, level: float, method: str) -> None:
    assert coverage(intervals(n, level, method), n, P_GRID).min() >= level


@pytest.mark.parametrize("n", [3, 25, 120])
@pytest.mark.parametrize("level", [0.8, 0.95])
@pytest.mark.parametrize("side", ["upper", "lower"])
def test_exact_one_sided_clopper_pearson_coverage(n: int, level: float, side: str) -> None:
    bounds = np.array([binomial_bound(k, n, level, side=side) for k in range(n + 1)])
    holds = (
        bounds[None, :] >= P_GRID[:, None]
        if side == "upper"
        else bounds[None, :] <= P_GRID[:, None]
    )
    pmf = stats.binom.pmf(np.arange(n + 1)[None, :], n, P_GRID[:, None])
    assert (pmf * holds).sum(axis=1).min() >= level


@pytest.mark.parametrize("n", [10, 30, 100])
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_wilson_average_coverage_is_close_to_the_level(n: int, level: float) -> None:
    # Wilson is not exact: pointwise it dips below the level, but averaged over p it is
    # calibrated (Wald, by contrast, averages several points short at these sizes).
    average = coverage(intervals(n, level, "wilson"), n, P_GRID).mean()
    assert abs(average - level) < 0.015


def test_monte_carlo_coverage_of_clopper_pearson() -> None:
    rng = np.random.default_rng(20240611)
    n, p, level, reps = 60, 0.23, 0.9, 4000
    wins = rng.binomial(n, p, size=reps)
    table = intervals(n, level, "clopper-pearson")
    covered = np.mean((table[wins, 0] <= p) & (p <= table[wins, 1]))
    # Exact coverage here is ≥ 0.9; four standard errors below the level would be a bug.
    assert covered >= level - 4 * math.sqrt(level * (1 - level) / reps)
    assert covered == pytest.approx(coverage(table, n, np.array([p]))[0], abs=0.02)


# --- advantage ------------------------------------------------------------------------


@FAST
@given(counts(), levels(0.5, 0.999), st.sampled_from(METHODS))
def test_hidden_bit_advantage_maps_the_win_rate_interval(
    count: tuple[int, int], level: float, method: str
) -> None:
    k, n = count
    low, high = binomial_interval(k, n, level, method)
    adv = advantage_interval("hidden-bit", k, n, level, method)
    assert adv == pytest.approx((2 * low - 1, 2 * high - 1), abs=1e-12)
    assert -1.0 <= adv[0] <= 2 * k / n - 1 <= adv[1] <= 1.0
    assert advantage_interval("hidden-bit", k, n, level, method, baseline=0.5) == adv


@FAST
@given(counts(), probabilities(0.0, 0.99, open_=False))
def test_search_advantage_subtracts_the_baseline(count: tuple[int, int], baseline: float) -> None:
    k, n = count
    low, high = binomial_interval(k, n)
    adv = advantage_interval("search", k, n, baseline=baseline)
    assert adv == pytest.approx((low - baseline, high - baseline), abs=1e-12)


# --- two samples ----------------------------------------------------------------------


@FAST
@given(counts(500), counts(500), levels(0.5, 0.999))
def test_bonferroni_difference_is_built_from_half_level_intervals(
    real: tuple[int, int], ideal: tuple[int, int], level: float
) -> None:
    (k1, n1), (k0, n0) = real, ideal
    half = 1 - (1 - level) / 2
    l1, u1 = binomial_interval(k1, n1, half)
    l0, u0 = binomial_interval(k0, n0, half)
    low, high = difference_interval(k1, n1, k0, n0, level)
    assert (low, high) == pytest.approx((l1 - u0, u1 - l0), abs=1e-12)
    assert -1.0 <= low <= k1 / n1 - k0 / n0 <= high <= 1.0


@FAST
@given(counts(500), counts(500), levels(0.5, 0.999))
def test_newcombe_from_scipy_wilson_intervals(
    real: tuple[int, int], ideal: tuple[int, int], level: float
) -> None:
    (k1, n1), (k0, n0) = real, ideal
    w1 = stats.binomtest(k1, n1).proportion_ci(level, method="wilson")
    w0 = stats.binomtest(k0, n0).proportion_ci(level, method="wilson")
    p1, p0 = k1 / n1, k0 / n0
    expected_low = p1 - p0 - math.sqrt((p1 - w1.low) ** 2 + (w0.high - p0) ** 2)
    expected_high = p1 - p0 + math.sqrt((w1.high - p1) ** 2 + (p0 - w0.low) ** 2)
    low, high = difference_interval(k1, n1, k0, n0, level, method="newcombe")
    assert low == pytest.approx(max(-1.0, expected_low), abs=1e-9)
    assert high == pytest.approx(min(1.0, expected_high), abs=1e-9)
    assert low <= p1 - p0 <= high


@pytest.mark.parametrize("p_real, p_ideal", [(0.5, 0.5), (0.2, 0.7), (0.93, 0.05), (0.31, 0.36)])
def test_bonferroni_difference_exact_coverage(p_real: float, p_ideal: float) -> None:
    n1, n0, level = 23, 17, 0.9
    table = np.array(
        [
            [difference_interval(k1, n1, k0, n0, level) for k0 in range(n0 + 1)]
            for k1 in range(n1 + 1)
        ]
    )
    d = p_real - p_ideal
    inside = (table[..., 0] <= d) & (d <= table[..., 1])
    mass = np.outer(
        stats.binom.pmf(np.arange(n1 + 1), n1, p_real),
        stats.binom.pmf(np.arange(n0 + 1), n0, p_ideal),
    )
    assert (mass * inside).sum() >= level


@pytest.mark.parametrize("method, slack", [("bonferroni-clopper-pearson", 0.0), ("newcombe", 0.02)])
def test_difference_coverage_by_simulation(method: str, slack: float) -> None:
    rng = np.random.default_rng(7)
    n1, n0, p_real, p_ideal, level, reps = 80, 60, 0.62, 0.45, 0.9, 1500
    ones_real = rng.binomial(n1, p_real, size=reps)
    ones_ideal = rng.binomial(n0, p_ideal, size=reps)
    d = p_real - p_ideal
    hits = [
        low <= d <= high
        for low, high in (
            difference_interval(int(a), n1, int(b), n0, level, method)
            for a, b in zip(ones_real, ones_ideal, strict=True)
        )
    ]
    se = math.sqrt(level * (1 - level) / reps)
    assert np.mean(hits) >= level - slack - 4 * se


def test_newcombe_is_shorter_than_bonferroni_on_average() -> None:
    n = 50
    widths = {
        method: np.mean(
            [
                np.diff(difference_interval(k1, n, k0, n, 0.95, method))[0]
                for k1 in range(0, n + 1, 5)
                for k0 in range(0, n + 1, 5)
            ]
        )
        for method in TWO_SAMPLE_METHODS
    }
    assert widths["newcombe"] < widths["bonferroni-clopper-pearson"]


# --- planning -------------------------------------------------------------------------


def exact_power(n: int, p0: float, p1: float, level: float) -> tuple[float, int]:
    """Power of the one-sided exact test with n trials, and its critical count."""
    alpha = 1 - level
    counts_ = np.arange(n + 2)
    tail = stats.binom.sf(counts_ - 1, n, p0)  # Pr[X >= c]
    critical = int(counts_[np.argmax(tail <= alpha)])
    return float(stats.binom.sf(critical - 1, n, p1)), critical


@settings(max_examples=40, deadline=None)
@given(
    st.floats(0.02, 0.9),
    levels(0.8, 0.999),
    levels(0.5, 0.99),
    st.one_of(st.none(), st.floats(0.0, 0.9)),
)
def test_plan_reaches_its_power_exactly(
    eps: float, level: float, power: float, baseline: float | None
) -> None:
    shape = "hidden-bit" if baseline is None else "search"
    if baseline is not None and baseline + eps > 1:
        with pytest.raises(InvalidArgument, match="eps=.* must be at most 1 - baseline"):
            plan(eps, level, power, shape=shape, baseline=baseline)
        return
    result = plan(eps, level, power, shape=shape, baseline=baseline)
    assert isinstance(result, Plan)
    p0 = 0.5 if baseline is None else baseline
    p1 = p0 + (eps / 2 if baseline is None else eps)
    assert (result.p0, result.p1) == pytest.approx((p0, p1))
    achieved, critical = exact_power(result.trials, p0, p1, level)
    assert achieved >= power
    assert result.critical == critical
    # The test's size is honest: the critical count is rejected with probability <= 1 − level.
    assert stats.binom.sf(critical - 1, result.trials, p0) <= 1 - level


@pytest.mark.parametrize("eps", [0.1, 0.15, 0.3, 0.6])
@pytest.mark.parametrize("level, power", [(0.95, 0.9), (0.99, 0.8), (0.9, 0.5)])
@pytest.mark.parametrize("baseline", [None, 0.0, 0.2])
def test_plan_is_the_smallest_n_with_enough_power(
    eps: float, level: float, power: float, baseline: float | None
) -> None:
    shape = "hidden-bit" if baseline is None else "search"
    result = plan(eps, level, power, shape=shape, baseline=baseline)
    # Exact power is a sawtooth in n: check every smaller n, not just n − 1.
    smaller = [exact_power(n, result.p0, result.p1, level)[0] for n in range(1, result.trials)]
    assert all(achieved < power for achieved in smaller)


@pytest.mark.parametrize("eps", [0.01, 0.03, 0.1, 0.2])
@pytest.mark.parametrize("level, power", [(0.95, 0.9), (0.99, 0.8), (0.999, 0.99)])
def test_plan_is_close_to_the_normal_approximation(eps: float, level: float, power: float) -> None:
    result = plan(eps, level, power)
    z_a, z_b = special.ndtri(level), special.ndtri(power)
    p0, p1 = 0.5, 0.5 + eps / 2
    approx = ((z_a * math.sqrt(p0 * (1 - p0)) + z_b * math.sqrt(p1 * (1 - p1))) / (p1 - p0)) ** 2
    assert abs(result.trials - approx) <= 2 * math.sqrt(approx) + 2


@pytest.mark.parametrize("eps, power", [(0.01, 0.9), (0.05, 0.8), (0.3, 0.99)])
def test_plan_for_a_search_game_with_zero_baseline_has_a_closed_form(
    eps: float, power: float
) -> None:
    # Any win rejects advantage 0, so the power is 1 − (1 − eps)^n.
    result = plan(eps, 0.95, power, shape="search", baseline=0.0)
    assert result.critical == 1
    assert result.trials == math.ceil(math.log(1 - power) / math.log(1 - eps) - 1e-12)


def test_plan_records_its_inputs() -> None:
    result = plan(0.05)
    assert (result.eps, result.level, result.power, result.shape) == (0.05, 0.95, 0.9, "hidden-bit")
    assert result.method == "exact-binomial"
    assert plan(0.05, 0.99).trials > result.trials
    assert plan(0.05, power=0.95).trials > result.trials
    assert plan(0.1).trials < result.trials


# --- bad arguments --------------------------------------------------------------------


@pytest.mark.parametrize("trials", [0, -3, 2.5, True, "10", None])
def test_bad_trials(trials: object) -> None:
    with pytest.raises(InvalidArgument, match=f"trials={trials!r} must be a positive integer"):
        binomial_interval(0, trials)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="trials=.* must be a positive integer"):
        binomial_bound(0, trials)  # type: ignore[arg-type]


def test_error_message_for_zero_trials() -> None:
    with pytest.raises(InvalidArgument, match=r"^trials=0 must be a positive integer$"):
        binomial_interval(0, 0)


@pytest.mark.parametrize("successes", [-1, 11, 1.5, None, False])
def test_bad_successes(successes: object) -> None:
    with pytest.raises(InvalidArgument, match=r"successes=.* must be an integer in \[0, 10\]"):
        binomial_interval(successes, 10)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match=r"successes=.* must be an integer in \[0, 10\]"):
        advantage_interval("hidden-bit", successes, 10)  # type: ignore[arg-type]


@pytest.mark.parametrize("level", [0, 1, 1.5, -0.2, math.nan, "0.9", None])
def test_bad_level(level: object) -> None:
    pattern = re.escape(f"level={level!r} must be in (0, 1)")
    with pytest.raises(InvalidArgument, match=pattern):
        binomial_interval(3, 10, level)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match=pattern):
        binomial_bound(3, 10, level)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match=pattern):
        difference_interval(3, 10, 4, 10, level)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match=pattern):
        plan(0.1, level)  # type: ignore[arg-type]


def test_level_message() -> None:
    with pytest.raises(InvalidArgument, match=r"^level=1\.5 must be in \(0, 1\)$"):
        binomial_interval(3, 10, 1.5)


@pytest.mark.parametrize("method", ["wald", "", None, "Wilson"])
def test_bad_method_lists_the_allowed_ones(method: object) -> None:
    allowed = "clopper-pearson, wilson, hoeffding"
    with pytest.raises(
        InvalidArgument, match=re.escape(f"method={method!r} must be one of: {allowed}")
    ):
        binomial_interval(3, 10, method=method)  # type: ignore[arg-type]
    with pytest.raises(
        InvalidArgument, match=re.escape(f"method={method!r} must be one of: {allowed}")
    ):
        binomial_bound(3, 10, method=method)  # type: ignore[arg-type]
    with pytest.raises(
        InvalidArgument, match="method=.* must be one of: bonferroni-clopper-pearson, newcombe"
    ):
        difference_interval(3, 10, 4, 10, method=method)  # type: ignore[arg-type]


def test_bad_side() -> None:
    with pytest.raises(InvalidArgument, match="side='both' must be one of: upper, lower"):
        binomial_bound(3, 10, side="both")  # type: ignore[arg-type]


def test_bad_shape_and_baseline() -> None:
    with pytest.raises(
        InvalidArgument, match="shape='guess' must be one of: hidden-bit, real-vs-ideal, search"
    ):
        advantage_interval("guess", 3, 10)
    with pytest.raises(InvalidArgument, match="shape='real-vs-ideal' needs two win counts"):
        advantage_interval("real-vs-ideal", 3, 10)
    with pytest.raises(InvalidArgument, match="baseline=None must be given"):
        advantage_interval("search", 3, 10)
    with pytest.raises(InvalidArgument, match=re.escape("baseline=1.0 must be a number in [0, 1)")):
        advantage_interval("search", 3, 10, baseline=1.0)
    with pytest.raises(
        InvalidArgument, match=re.escape("baseline=-0.1 must be a number in [0, 1)")
    ):
        plan(0.1, shape="search", baseline=-0.1)
    with pytest.raises(
        InvalidArgument, match="baseline=0.25 must be None or 0.5 for a hidden-bit game"
    ):
        advantage_interval("hidden-bit", 3, 10, baseline=0.25)
    # A real-vs-ideal trial's world is a fair coin: its win rate is (1 + advantage)/2, as for a
    # hidden bit, so it is planned the same way.
    assert plan(0.1, shape="real-vs-ideal").trials == plan(0.1, shape="hidden-bit").trials


@pytest.mark.parametrize(
    "args, name",
    [
        ((3, 0, 4, 10), "trials_real"),
        ((3, 10, 4, -1), "trials_ideal"),
        ((11, 10, 4, 10), "ones_real"),
        ((3, 10, -1, 10), "ones_ideal"),
    ],
)
def test_bad_difference_counts(args: tuple[int, int, int, int], name: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^{name}="):
        difference_interval(*args)


@pytest.mark.parametrize("eps", [0, 1, -0.1, 2, math.nan])
def test_bad_eps(eps: float) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(f"eps={eps!r} must be in (0, 1)")):
        plan(eps)


@pytest.mark.parametrize("power", [0, 1, 1.2])
def test_bad_power(power: float) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(f"power={power!r} must be in (0, 1)")):
        plan(0.1, power=power)


def test_eps_beyond_the_search_baseline() -> None:
    with pytest.raises(InvalidArgument, match="eps=0.5 must be at most 1 - baseline = 0.3"):
        plan(0.5, shape="search", baseline=0.7)


# -- a weighted rate over strata (behaviours played on their own trials) -------------------


@FAST
@given(st.lists(st.tuples(st.integers(1, 200), probabilities()), min_size=1, max_size=5), levels())
def test_stratified_interval_holds_its_rate_within_the_unit_interval(strata, level):
    from games.stats import stratified_interval

    trials = [n for n, _ in strata]
    successes = [round(p * n) for n, p in strata]
    rate, low, high = stratified_interval(successes, trials, level=level)
    assert 0 <= low <= rate <= high <= 1
    assert rate == pytest.approx(np.mean([k / n for k, n in zip(successes, trials, strict=True)]))


def test_one_stratum_is_clopper_pearson():
    from games.stats import stratified_interval

    for k, n in ((0, 10), (3, 10), (10, 10), (17, 250)):
        _, low, high = stratified_interval([k], [n], level=0.9)
        assert (low, high) == pytest.approx(binomial_interval(k, n, 0.9))


def test_stratified_interval_covers_the_weighted_rate():
    # Conservative by the union bound: over many draws the interval holds the true weighted
    # rate at least at its level (simulated here for rates near 0, in the middle and near 1).
    from games.stats import stratified_interval

    rng = np.random.default_rng(0)
    rates, trials, weights = [0.02, 0.5, 0.93], [40, 25, 60], [1.0, 2.0, 1.0]
    truth = np.dot(rates, weights) / sum(weights)
    draws = rng.binomial(trials, rates, size=(2000, 3))
    covered = [
        low <= truth <= high
        for _, low, high in (stratified_interval(d, trials, weights, 0.9) for d in draws.tolist())
    ]
    assert np.mean(covered) >= 0.9


def test_weights_move_the_rate_and_zero_weight_strata_do_not():
    from games.stats import stratified_interval

    assert stratified_interval([0, 10], [10, 10], [3, 1])[0] == pytest.approx(0.25)
    rate, low, high = stratified_interval([4, 10], [10, 10], [1, 0])
    assert rate == pytest.approx(0.4) and low < 0.4 < high < 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([], []), "must be non-empty and of one length"),
        (([1, 2], [3]), "must be non-empty and of one length"),
        (([4], [3]), r"successes\[0\]=4"),
        (([1], [0]), r"trials\[0\]=0"),
        (([1, 1], [3, 3], [1, -1]), "must be 2 finite non-negative numbers"),
        (([1, 1], [3, 3], [0, 0]), "not all 0"),
        (("ab", "cd"), "sequences of integers"),
    ],
)
def test_stratified_interval_refuses_bad_input(args, message):
    from games.stats import stratified_interval

    with pytest.raises(InvalidArgument, match=message):
        stratified_interval(*args)


@pytest.mark.parametrize("baseline", [0.0, 0.3])
def test_a_tally_with_no_trials_gives_every_advantage_the_shape_allows(baseline):
    from games.engine.records import Tally
    from games.stats.shapes import HIDDEN_BIT, SEARCH

    nothing = Tally(ranges=())
    assert SEARCH.interval(nothing, 0.95, "clopper-pearson", baseline)[:2] == (
        -baseline,
        1 - baseline,
    )
    assert HIDDEN_BIT.interval(nothing, 0.95, "clopper-pearson", 0.0)[:2] == (-1.0, 1.0)


@FAST
@given(st.floats(0, 1))
def test_a_level_is_printed_never_above_itself(level: float) -> None:
    shown = float(percent(level).removesuffix("%")) / 100
    assert shown <= level + 1e-12 and level - shown < 1e-4


@pytest.mark.parametrize(
    ("level", "text"),
    [
        (0.95, "95%"),
        (0.999, "99.9%"),
        (0.975, "97.5%"),
        (1 - 0.05 / 3, "98.33%"),
        (1 - 1e-12, "99.99%"),
    ],
)
def test_a_level_keeps_the_digits_it_needs(level: float, text: str) -> None:
    assert percent(level) == text
