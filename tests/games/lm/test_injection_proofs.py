"""The delimiters and spotlighting proofs: each verdict on a real case, at small trial counts."""

from __future__ import annotations

import pytest

import games
import proofs
from adversaries import injection as attacks
from games.lm.injection import InjectionInBlock, InjectionInMarkedText

TRIALS = 12


def check(name, adversary, **params):
    proof = proofs.load(name)
    return proofs.check_empirical(proof, adversary, params=params, trials=TRIALS, seed=0)


@pytest.mark.parametrize(
    ("name", "assumption", "game"),
    [
        ("delimiters", "in_block", "injection-in-block"),
        ("spotlighting", "in_marked_text", "injection-in-marked-text"),
    ],
)
def test_the_files_add_up(name, assumption, game):
    proof = proofs.load(name)
    assert proofs.check_symbolic(proof).status == "proven"
    assert [a.name for a in proof.assumptions] == [assumption]
    assert proof.assumptions[0].game == game


def test_the_fixed_marker_is_the_algorithms_fault():
    report = check("delimiters", attacks.DelimiterEscape(), defense="delimiters-fixed")
    assert report.verdicts == ("algorithm",), report
    assert not report.assumptions[0].violated


@pytest.mark.parametrize("attack", [attacks.DelimiterEscape(), attacks.AdaptiveSearch()])
def test_random_escaped_delimiters_are_consistent(attack):
    report = check("delimiters", attack, queries=12)
    assert report.verdicts == ("consistent",), report


def test_spotlighting_on_the_scripted_agent_is_consistent():
    report = check("spotlighting", attacks.AdaptiveSearch(), queries=12)
    assert report.verdicts == ("consistent",), report


def test_the_assumption_games_keep_their_reference_defense():
    assert games.GAMES.get("injection-in-block") is InjectionInBlock
    assert games.GAMES.get("injection-in-marked-text") is InjectionInMarkedText
    with pytest.raises(games.InvalidArgument, match="defense='none'"):
        InjectionInBlock(defense="none")
    estimate = games.estimate(InjectionInBlock(), attacks.DelimiterEscape(), trials=6, seed=0)
    assert estimate.wins == 0
