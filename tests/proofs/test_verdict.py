"""Judging: the verdicts follow the intervals, magnitudes, and the trial suggestion's search."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import proofs
from games.engine import Tally, estimate_from
from proofs.plan import AssumptionPlay, CheckPlan, HopPlay
from proofs.verdict import Family, PlanEstimates, judge, magnitude, smallest

RESOURCES = {"q": 8, "m": 1, "n": 16}


@pytest.fixture(scope="module")
def ctr():
    return proofs.load("ctr-prf")


def _estimate(shape, wins, trials, worlds=None, level=0.975, errors=None):
    spec = {
        "game": "g",
        "params": {},
        "adversary": "a",
        "adversary_params": {},
        "shape": shape,
        "baseline": 0.5 if shape == "hidden-bit" else 0.0,
        "seed": 0,
        "batched": False,
    }
    real, ideal = worlds or ((0, 0), (0, 0))
    tally = Tally(
        ranges=((0, trials),), trials=trials, wins=wins, real=real, ideal=ideal, errors=errors or {}
    )
    return estimate_from(spec, tally, level=level)


def _judge(proof, theorem, b):
    """The ctr-prf check at q=8, m=1, n=16 with these two estimates (no hop measured)."""
    playing = CheckPlan(
        proof=proof,
        adversary=None,
        game=None,
        params={},
        overrides={},
        resources=RESOURCES,
        assumptions=(AssumptionPlay(assumption=proof.assumptions[0], game=None, adversary=None),),
        hops=tuple(HopPlay(hop=hop, reason="not playable") for hop in proof.hops),
    )
    family = Family(trials=400, seed=0, level=0.95, intervals=2, method="clopper-pearson")
    return judge(playing, PlanEstimates(theorem=theorem, assumptions=(b,)), family)


@settings(max_examples=80, deadline=None)
@given(
    wins=st.integers(0, 400),
    real=st.integers(0, 200),
    ideal=st.integers(0, 200),
)
def test_verdicts_follow_the_intervals(ctr, wins, real, ideal):
    theorem = _estimate("hidden-bit", wins, 400)
    b = _estimate("real-vs-ideal", real + 200 - ideal, 400, worlds=((200, real), (200, ideal)))
    report = _judge(ctr, theorem, b)
    magnitude_g = abs(theorem.advantage)
    assert report.low <= magnitude_g <= report.high
    upper_b = max(abs(b.ci_low), abs(b.ci_high))
    assert report.bound == pytest.approx(2 * min(1, upper_b) + 8**2 / 2**16)
    assert ("algorithm" in report.verdicts) == (report.low > report.bound)
    low_b = max(0, b.ci_low, -b.ci_high)
    assert ("assumption:prf" in report.verdicts) == (low_b > 8 / 2**128)
    blamed = "algorithm" in report.verdicts or "assumption:prf" in report.verdicts
    assert report.blames == blamed  # what the command's exit status follows
    if blamed:
        assert not {"consistent", "inconclusive"} & set(report.verdicts)
    else:
        assert len(report.verdicts) == 1
        consistent = report.high <= report.bound < 1
        assert report.verdicts == (("consistent",) if consistent else ("inconclusive",))
        if consistent:
            assert report.trials_needed is None
    json.dumps(report.to_json())


def test_a_flipped_answer_counts_unless_trials_were_lost():
    wrong = _estimate("hidden-bit", 10, 400)  # reliably wrong: Adv ≈ −0.95
    value, low, high = magnitude(wrong)
    assert value == pytest.approx(-wrong.advantage) and low == pytest.approx(-wrong.ci_high)
    lost = _estimate("hidden-bit", 10, 400, errors={"invalid-answer": 390})
    value, low, high = magnitude(lost)
    assert value == 0 and low == 0 and high == pytest.approx(-lost.ci_low)
    search = _estimate("search", 0, 400)
    assert magnitude(search)[:2] == (0, 0)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 10**6), st.integers(1, 50))
def test_smallest_finds_the_threshold(threshold, start):
    found = smallest(lambda n: n >= threshold, start)
    assert found == max(threshold, start)
