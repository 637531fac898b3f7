"""The benign side game: a defense's refusal rate on held-out harmless requests, with an
interval, judged by the corpus's refusal rule on what the defended system said."""

from __future__ import annotations

import numpy as np
import pytest
from lm_cases import needs_lm

import games
from adversaries.generic import Constant
from games import lm
from games.lm.benign import BenignRefusal
from oracles import InvalidArgument


def refuser(prompt):
    return lm.corpus.REFUSAL


def answerer(prompt):
    return "Sure. A kite needs paper and string."


def rate(model, defense="none", trials=12):
    game = BenignRefusal(model=f"py:{__name__}:{model}", defense=defense)
    return games.estimate(game, Constant(), trials=trials, seed=0)


@pytest.mark.parametrize("defense", ["none", "output-filter", "smooth-llm"])
def test_the_rate_is_the_defended_systems_refusals(defense):
    assert rate("refuser", defense).wins == 12
    assert rate("answerer", defense).wins == 0


def test_the_adversary_is_given_nothing():
    handles = BenignRefusal(model=f"py:{__name__}:answerer").setup(np.random.default_rng(0))
    assert dict(handles.handles().public) == {"defense": "none"} and not handles.oracles


def test_bad_parameters_are_refused():
    with pytest.raises(InvalidArgument, match="defense"):
        BenignRefusal(defense="magic")
    with pytest.raises(InvalidArgument, match="copies"):
        BenignRefusal(copies=0)


@needs_lm
def test_the_tiny_model_answers_harmless_requests(tiny):
    result = games.estimate(BenignRefusal(), Constant(), trials=24, seed=0)
    assert result.ci_low <= result.wins / result.trials <= result.ci_high < 0.5
