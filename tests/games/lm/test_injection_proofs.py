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
        ("dataflow", "planner_blind", "prompt-injection-changes"),
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


@pytest.mark.parametrize(
    "attack", [attacks.Direct(), attacks.ToolKnowledge(), attacks.AdaptiveSearch()]
)
def test_dataflow_against_any_attack_is_consistent(attack):
    report = check("dataflow", attack)
    assert report.verdicts == ("consistent",), report
    assert report.theorem.wins == 0 and report.assumptions[0].violated is False


def test_the_leaky_interpreter_is_the_algorithms_fault_at_the_sink_hop():
    report = check("dataflow", attacks.AdaptiveSearch(), defense="dataflow-leaky")
    assert report.verdicts == ("algorithm",), report
    assert report.blamed_hops == (3,) and "taint reaches the sink" in report.hops[2].source
    assert not report.assumptions[0].violated  # the planner stayed blind: the interpreter leaked


def test_a_planner_that_reads_the_data_breaks_planner_blind():
    """The assumption is measured, not taken: with no defense, the agent acts on the email."""
    report = check("dataflow", attacks.Direct(), defense="none")
    assert "assumption:planner_blind" in report.verdicts, report
