import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oracles import InvalidArgument, RandomFunction, RandomPermutation


@given(st.integers(1, 64), st.lists(st.integers(0, 2**64 - 1), max_size=30), st.integers(0, 2**32))
def test_random_function_is_a_function_in_range(bits, points, seed):
    f = RandomFunction(bits, rng=np.random.default_rng(seed))
    points = [p % (1 << bits) for p in points]
    first = [f(p) for p in points]
    assert [f(p) for p in points] == first
    assert all(0 <= y < (1 << bits) for y in first)


@settings(max_examples=30)
@given(st.integers(1, 10), st.integers(0, 2**32))
def test_random_permutation_is_a_bijection_with_inverse(bits, seed):
    p = RandomPermutation(bits, rng=np.random.default_rng(seed))
    size = 1 << bits
    images = [p(x) for x in range(size)]
    assert sorted(images) == list(range(size))
    assert all(p.inverse(y) == x for x, y in enumerate(images))


def test_permutation_inverse_first_then_forward():
    p = RandomPermutation(4, rng=np.random.default_rng(1))
    pre = [p.inverse(y) for y in range(16)]
    assert sorted(pre) == list(range(16)) and all(p(x) == y for y, x in enumerate(pre))


def test_random_function_outputs_are_uniform():
    f = RandomFunction(12, 3, rng=np.random.default_rng(7))
    counts = np.bincount([f(x) for x in range(4096)], minlength=8)
    from scipy.stats import chisquare

    assert chisquare(counts).pvalue > 1e-4


def test_random_permutation_has_no_collisions_but_function_does():
    rng = np.random.default_rng(3)
    f, p = RandomFunction(8, rng=rng), RandomPermutation(8, rng=rng)
    assert len({f(x) for x in range(256)}) < 256  # a random function on 256 points collides
    assert len({p(x) for x in range(256)}) == 256


@pytest.mark.parametrize("bits", [0, 65, 2.0, True])
def test_bad_sizes(bits):
    with pytest.raises(InvalidArgument, match="must be an integer in \\[1, 64\\]"):
        RandomFunction(bits, rng=np.random.default_rng(0))
    with pytest.raises(InvalidArgument, match="bits="):
        RandomPermutation(bits, rng=np.random.default_rng(0))


def test_query_out_of_range():
    f = RandomFunction(4, rng=np.random.default_rng(0))
    with pytest.raises(InvalidArgument, match="query 16 must be an integer in \\[0, 2\\*\\*4\\)"):
        f(16)
