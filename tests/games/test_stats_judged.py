"""The Rogan–Gladen correction of a rate measured through a judge: exactness, bounds,
monotonicity, coverage by simulation, and the refusal to correct through a weak judge."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import probabilities

from games.stats import JudgeTooWeak, binomial_interval, rogan_gladen, rogan_gladen_interval
from oracles import InvalidArgument

FAST = settings(max_examples=150, deadline=None)


@FAST
@given(
    probabilities(open_=False),
    probabilities(0.55, 1.0, open_=False),
    probabilities(0.55, 1.0, open_=False),
)
def test_the_correction_inverts_the_judge(p, se, sp):
    apparent = p * se + (1 - p) * (1 - sp)
    assert rogan_gladen(apparent, se, sp) == pytest.approx(p, abs=1e-9)


@FAST
@given(probabilities(open_=False))
def test_a_perfect_judge_changes_nothing(q):
    assert rogan_gladen(q, 1.0, 1.0) == pytest.approx(q)


@FAST
@given(
    st.integers(1, 400),
    st.data(),
    st.integers(20, 300),
    st.integers(20, 300),
    probabilities(0.8, 1.0, open_=False),
    probabilities(0.8, 1.0, open_=False),
)
def test_interval_bounds_and_monotonicity(n, data, n_se, n_sp, se, sp):
    k = data.draw(st.integers(0, n))
    sensitivity = (round(se * n_se), n_se)
    specificity = (round(sp * n_sp), n_sp)
    try:
        estimate, low, high = rogan_gladen_interval(k, n, sensitivity, specificity)
    except JudgeTooWeak:
        return
    assert 0 <= low <= estimate <= high <= 1
    if k < n:
        _, low2, high2 = rogan_gladen_interval(k + 1, n, sensitivity, specificity)
        assert low2 >= low - 1e-12 and high2 >= high - 1e-12


def test_calibration_uncertainty_widens_the_interval():
    plain = binomial_interval(30, 200, 1 - 0.05 / 3)
    _, low, high = rogan_gladen_interval(30, 200, (10**6, 10**6), (10**6, 10**6))
    assert low == pytest.approx(plain[0], abs=1e-4) and high == pytest.approx(plain[1], abs=1e-4)
    _, low_small, high_small = rogan_gladen_interval(30, 200, (95, 100), (95, 100))
    assert low_small < low and high_small > high


@pytest.mark.slow
@pytest.mark.parametrize(
    ("p", "se", "sp", "n", "n_se", "n_sp"),
    [
        (0.3, 0.9, 0.85, 200, 100, 200),
        (0.05, 0.95, 0.9, 300, 60, 150),
        (0.7, 0.8, 0.95, 100, 150, 80),
        (0.0, 0.9, 0.9, 150, 100, 100),
    ],
)
def test_coverage_by_simulation(p, se, sp, n, n_se, n_sp):
    rng = np.random.default_rng(17)
    level, reps = 0.9, 1500
    apparent = p * se + (1 - p) * (1 - sp)
    k = rng.binomial(n, apparent, reps)
    k_se = rng.binomial(n_se, se, reps)
    k_sp = rng.binomial(n_sp, sp, reps)
    covered = refused = 0
    for a, b, c in zip(k, k_se, k_sp, strict=True):
        try:
            _, low, high = rogan_gladen_interval(int(a), n, (int(b), n_se), (int(c), n_sp), level)
        except JudgeTooWeak:
            refused += 1
            continue
        covered += low <= p <= high
    answered = reps - refused
    assert answered > reps * 0.9
    # Bonferroni over three exact intervals is conservative: coverage at least the level,
    # less a Monte Carlo allowance of three standard errors.
    assert covered / answered >= level - 3 * np.sqrt(level * (1 - level) / answered)


@pytest.mark.parametrize(
    ("sensitivity", "specificity"),
    [((50, 100), (50, 100)), ((5, 10), (6, 10)), ((100, 100), (0, 100)), ((60, 100), (45, 100))],
)
def test_a_weak_judge_gives_no_number(sensitivity, specificity):
    with pytest.raises(JudgeTooWeak, match="could explain any measured rate"):
        rogan_gladen_interval(40, 100, sensitivity, specificity)


def test_the_margin_is_stated():
    args = (40, 100, (90, 100), (90, 100))
    rogan_gladen_interval(*args, margin=0.05)
    with pytest.raises(JudgeTooWeak, match="margin 0.7"):
        rogan_gladen_interval(*args, margin=0.7)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((5, 0, (1, 2), (1, 2)), {}, "trials=0 must be a positive integer"),
        ((5, 4, (1, 2), (1, 2)), {}, r"positives=5 must be an integer in \[0, 4\]"),
        ((1, 4, (3, 2), (1, 2)), {}, r"sensitivity successes=3 must be an integer in \[0, 2\]"),
        ((1, 4, [1, 2], (1, 2)), {}, r"sensitivity=\[1, 2\] must be a pair"),
        ((1, 4, (1, 2), (1, 0)), {}, "specificity trials=0 must be a positive integer"),
        ((1, 4, (1, 2), (1, 2)), {"level": 1.0}, r"level=1.0 must be in \(0, 1\)"),
        ((1, 4, (1, 2), (1, 2)), {"margin": -0.1}, r"margin=-0.1 must be a number in \[0, 1\)"),
    ],
)
def test_bad_arguments(args, kwargs, message):
    with pytest.raises(InvalidArgument, match=message):
        rogan_gladen_interval(*args, **kwargs)


def test_bad_point_arguments():
    with pytest.raises(InvalidArgument, match=r"apparent=1.5 must be in \[0, 1\]"):
        rogan_gladen(1.5, 0.9, 0.9)
    with pytest.raises(JudgeTooWeak, match="must be positive"):
        rogan_gladen(0.5, 0.4, 0.5)
