"""Deciding ``lower ≤ upper`` over a domain on its own (:func:`proofs.decide_inequality`)."""

from __future__ import annotations

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import proofs
from proofs import decide_inequality
from proofs.model import Domain, Resource

DOMAIN = Domain(resources=(Resource(name="k", type="integer", low=1, high=1000),))
k = sympy.Symbol("k", integer=True, positive=True)


@settings(max_examples=40, deadline=None)
@given(st.integers(-5, 5), st.integers(-5, 5), st.integers(-20, 20))
def test_decide_is_right_on_linear_claims(a, b, c):
    # a·k ≤ b·k + c over k in [1, 1000] holds iff it holds at both ends (it is linear).
    truth = all(a * v <= b * v + c for v in (1, 1000))
    decision = decide_inequality(a * k, b * k + c, DOMAIN)
    assert decision.holds is truth
    if not truth:
        value = decision.counterexample.get("k", 1)  # absent when k cancels out
        assert a * value > b * value + c


def test_decide_counterexample_carries_both_sides():
    decision = decide_inequality(k**2, 10 * k, DOMAIN)
    assert decision.holds is False
    point = decision.counterexample
    assert (
        point["k"] > 10
        and point["chain"] == point["k"] ** 2
        and point["claimed"] == 10 * point["k"]
    )


def test_the_old_name_still_decides():
    assert proofs.decide is decide_inequality
    from proofs.symbolic import decide

    assert decide is decide_inequality
