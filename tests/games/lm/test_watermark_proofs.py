"""The watermark proofs on the tiny model: kgw-soundness (kgw consistent, kgw-repeated blamed
on the algorithm) and unigram-unforgeable (green-list stealing breaks its assumption).

Trial counts are the smallest measured to decide at seed 0 (2 cores, shared)."""

from __future__ import annotations

import numpy as np
import pytest
from lm_cases import needs_lm

import games
import games.lm.forgery  # noqa: F401  (registers the forgery games for the checker)
import games.lm.watermark  # noqa: F401
import proofs
from adversaries.watermark import (
    GreenListStealing,
    Human,
    ModelReply,
    RepeatedContinuation,
    Repetitive,
)
from games.crypto.games import PRFSecurity
from games.crypto.primitives import get_prf
from games.lm.watermark import Undetectable, scheme
from oracles import Oracle, Oracles
from proofs.lm.reductions import prf_from_undetectable


@pytest.mark.parametrize(
    ("name", "assumptions"),
    [
        ("kgw-soundness", []),
        ("unigram-unforgeable", ["green_hidden"]),
        ("exp-undetectable", ["prf"]),
    ],
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


@needs_lm
@pytest.mark.parametrize("name", ["exp", "exp-reused"])
def test_the_scheme_over_the_prf_s_function_is_the_scheme(tiny, name):
    # What B runs over a PRF-game oracle equals the scheme under the key when the oracle is
    # the PRF: the real world of watermark-undetectable, token for token.
    mark = scheme(name)
    key = mark.keygen(np.random.default_rng(0))
    prf = get_prf(mark.prf, 64, 64)
    prompt = [tiny.encode("Tell me a story about an owl.")]
    with_key = mark.generate(tiny, key, prompt, max_new_tokens=24, rng=np.random.default_rng(1))
    over_f = mark.generate(
        tiny,
        lambda points: prf.evaluate(key, points),
        prompt,
        max_new_tokens=24,
        rng=np.random.default_rng(1),
    )
    assert with_key == over_f


@needs_lm
def test_the_prf_reduction_plays_the_prf_game(tiny):
    b = prf_from_undetectable(RepeatedContinuation(), {"scheme": "exp-reused", "length": 8})
    result = games.estimate(PRFSecurity(n=64, queries=8 * 768), b, trials=2, seed=0)
    assert result.trials == 2 and result.error_count == 0, result


def fixed_reply(reply):
    return Oracles({"generate": Oracle(lambda request: reply, name="generate")}, {"h": 1})


def test_repeated_continuation_reads_loops():
    rng = np.random.default_rng(0)
    assert RepeatedContinuation()(fixed_reply((1, 2, 3) * 6), rng) == 1
    assert RepeatedContinuation()(fixed_reply(tuple(range(40))), rng) == 0
    # Repeated contexts with new continuations each time: not a loop.
    assert RepeatedContinuation()(fixed_reply((1, 2, 1, 3, 1, 4, 1, 5, 1, 6)), rng) == 0


# exp-undetectable on real cases, one query of 32 tokens from the 64 most likely: B reads
# 64 uniforms a token from its PRF oracle (not 768), a trial's worth in a tenth of a second.
SMALL = {"queries": 1, "length": 32, "top_k": 64}


@needs_lm
def test_exp_with_one_query_blames_nothing(tiny):
    # exp samples a repeated context afresh: reading loops in one reply gains nothing, and
    # B (the same attack over the PRF game's oracle) breaks no PRF. With one query the bound
    # is Adv_prf(B), and B runs A in the same two worlds: both intervals measure one
    # quantity near 0, so the verdict is consistent or, when A's upper end happens to pass
    # B's, inconclusive; never a blame. (The consistent verdict played robustly, by an
    # attack that never answers real against exp, is in test_watermark_likelihood.py.)
    for seed in (0, 1, 2):
        report = proofs.check_empirical(
            proofs.load("exp-undetectable"),
            RepeatedContinuation(),
            params=SMALL,
            trials=40,
            seed=seed,
        )
        assert report.verdicts in (("consistent",), ("inconclusive",)), report
        assert not report.assumptions[0].violated and not report.violated, report


@needs_lm
def test_top_k_cuts_both_worlds_alike(tiny):
    # With one candidate a token, the watermarked reply and the model's are both greedy.
    game = Undetectable(scheme="exp", length=16, top_k=1)
    replies = []
    for world in (0, 1):
        challenge = game.setup(world, np.random.default_rng(world))
        replies.append(challenge.oracles["generate"]("Tell me a story about a fox."))
    assert replies[0] == replies[1]


@needs_lm
def test_a_top_k_over_the_vocabulary_keeps_the_whole_vocabulary_in_both_worlds(tiny):
    # The tiny model has 768 tokens: top_k=1000 cuts nothing, in the real world as in the
    # ideal one (the real world's exp scheme crashed, a loss scored in real trials only).
    replies = {}
    for top_k in (None, 1000):
        game = Undetectable(scheme="exp", top_k=top_k, length=4)
        for world in (0, 1):
            challenge = game.setup(world, np.random.default_rng(world))
            replies[top_k, world] = challenge.oracles["generate"]("Tell me a story about a fox.")
    assert all(len(reply) == 4 for reply in replies.values()), replies
    assert replies[1000, 0] == replies[None, 0] and replies[1000, 1] == replies[None, 1]
