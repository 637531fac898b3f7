"""The watermark proofs on the tiny model: kgw-soundness (kgw consistent, kgw-repeated blamed
on the algorithm) and unigram-unforgeable (green-list stealing breaks its assumption).

Trial counts are the smallest measured to decide at seed 0 (2 cores, shared)."""

from __future__ import annotations

import pytest
from lm_cases import needs_lm

import games.lm.forgery  # noqa: F401  (registers the forgery games for the checker)
import games.lm.watermark  # noqa: F401
import proofs
from adversaries.watermark import GreenListStealing, Human, ModelReply, Repetitive


@pytest.mark.parametrize(
    ("name", "assumptions"),
    [("kgw-soundness", []), ("unigram-unforgeable", ["green_hidden"])],
)
def test_the_files_add_up(name, assumptions):
    proof = proofs.load(name)
    assert proofs.check_symbolic(proof).status == "proven"
    assert [a.name for a in proof.assumptions] == assumptions


@needs_lm
def test_kgw_false_positives_are_consistent_with_the_binomial_tail(tiny):
    # Human-like text is flagged close to α (16 of 300 at α = 0.05): 300 trials decide.
    report = proofs.check_empirical(proofs.load("kgw-soundness"), Human(), trials=300, seed=0)
    assert report.verdicts == ("consistent",), report


@needs_lm
def test_kgw_repeated_on_repetitive_text_is_the_algorithm_s_fault(tiny):
    proof = proofs.load("kgw-soundness")
    report = proofs.check_empirical(
        proof, Repetitive(), params={"scheme": "kgw-repeated"}, trials=200, seed=0
    )
    assert report.verdicts == ("algorithm",), report
    # The same text against kgw (each repeated pair scored once) is never flagged.
    sound = proofs.check_empirical(proof, Repetitive(), trials=200, seed=0)
    assert sound.verdicts == ("consistent",) and sound.theorem.wins == 0, sound


@needs_lm
def test_green_list_stealing_breaks_the_hidden_green_list_assumption(tiny):
    report = proofs.check_empirical(
        proofs.load("unigram-unforgeable"), GreenListStealing(), trials=4, seed=0
    )
    assert report.verdicts == ("assumption:green_hidden",), report
    assert report.assumptions[0].violated


@needs_lm
def test_the_model_s_own_reply_breaks_nothing(tiny):
    report = proofs.check_empirical(
        proofs.load("unigram-unforgeable"), ModelReply(), trials=8, seed=0
    )
    assert report.verdicts == ("consistent",), report
    assert report.theorem.wins == 0 and not report.assumptions[0].violated
