"""Text watermarks on the tiny model: detection, soundness (kgw against its planted bug),
removal, the key kept from the adversary, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from lm_cases import needs_lm

import games
from adversaries.generic import Guess
from adversaries.watermark import (
    Human,
    Paraphrase,
    Repetitive,
    SameRequest,
    Substitute,
    Unchanged,
    _within_budget,
)
from games.lm import watermark
from games.lm.watermark import (
    Removal,
    Soundness,
    Undetectable,
    Watermark,
    edit_distance,
    scheme,
)
from oracles import InvalidArgument

pytestmark = needs_lm

VOCAB = 300


def test_detector_scores_each_repeated_pair_once():
    key = scheme("kgw").keygen(np.random.default_rng(0))
    text = [7] * 64
    assert scheme("kgw").detect(key, text, VOCAB).scored == 1
    assert scheme("unigram").detect(key, text, VOCAB).scored == 1
    assert scheme("kgw-repeated").detect(key, text, VOCAB).scored == 63


def test_detector_on_short_text_flags_nothing_and_refuses_empty_text():
    key = scheme("kgw").keygen(np.random.default_rng(0))
    result = scheme("kgw").detect(key, [3], VOCAB)
    assert result.scored == 0 and result.p_value == 1.0 and not result.flagged
    for name in ("kgw", "unigram", "exp"):
        with pytest.raises(InvalidArgument, match="the text is empty: detect the token ids"):
            scheme(name).detect(key, [], VOCAB)


class Silent:
    def __call__(self, oracles, rng):
        return ()


def test_soundness_refuses_empty_text_as_the_adversary_s_loss(tiny):
    result = games.estimate(Soundness(), Silent(), trials=2, seed=0)
    assert result.wins == 0 and result.error_count == 2, result
    assert "the text is empty" in (result.first_error or ""), result


class OtherTokenizer:
    """A model of the same vocabulary size whose tokenizer maps ids to other tokens."""

    class tokenizer:
        @staticmethod
        def get_vocab():
            return {f"t{i}": i for i in range(768)}

    vocab_size = 768


def test_a_tokenizer_mismatch_is_refused(tiny):
    mark = scheme("kgw")
    key = mark.keygen(np.random.default_rng(0), tiny)
    prompt = [tiny.encode("Tell me a story about a fox.")]
    (reply,) = mark.generate(tiny, key, prompt, max_new_tokens=16, rng=np.random.default_rng(1))
    assert mark.detect(key, reply, tiny).scored > 0  # the generating model's tokenizer
    assert mark.detect(key, reply, tiny.vocab_size).scored > 0
    for vocab in (OtherTokenizer(), 49152):
        with pytest.raises(InvalidArgument, match="tokenizer mismatch: .* detect with the model"):
            mark.detect(key, reply, vocab)
    with pytest.raises(InvalidArgument, match="tokenizer mismatch"):
        mark.generate(OtherTokenizer(), key, prompt, max_new_tokens=4, rng=np.random.default_rng(1))
    with pytest.raises(InvalidArgument, match="another model's tokenizer wrote it"):
        mark.detect(key, [*reply, 5000], tiny.vocab_size)


def test_p_value_is_the_exact_binomial_tail():
    from scipy import stats

    mark = scheme("unigram")
    key = mark.keygen(np.random.default_rng(1))
    tokens = np.arange(VOCAB)
    green = mark.green(key, np.zeros((VOCAB, 0), np.int64), tokens, VOCAB)
    text = list(tokens[green][:20])
    result = mark.detect(key, text, VOCAB)
    assert result.green == result.scored == 20
    assert result.p_value == pytest.approx(stats.binom.sf(19, 20, mark.gamma))
    assert result.flagged


def test_green_fraction_is_gamma():
    mark = scheme("kgw", gamma=0.3)
    key = mark.keygen(np.random.default_rng(2))
    rng = np.random.default_rng(3)
    contexts = rng.integers(VOCAB, size=(20000, 1))
    tokens = rng.integers(VOCAB, size=20000)
    assert mark.green(key, contexts, tokens, VOCAB).mean() == pytest.approx(0.3, abs=0.015)


@pytest.mark.parametrize("name", ["kgw", "exp"])
def test_marked_text_is_detected_and_unmarked_is_not(tiny, name):
    mark = scheme(name)
    key = mark.keygen(np.random.default_rng(4))
    prompts = [tiny.encode(f"Tell me a story about a {s}.") for s in ("fox", "dragon", "owl")]
    stops = set(tiny.stop_ids)
    rng = np.random.default_rng(5)
    marked = mark.generate(tiny, key, prompts, max_new_tokens=48, rng=rng)
    plain = tiny.sample(prompts, max_new_tokens=48, temperature=1.0, rng=rng)
    # A reply that ends early has few scored tokens and a small z: the batch as a whole
    # must stand out, and no unmarked reply may be flagged.
    marked_z = [
        mark.detect(key, [t for t in ids if t not in stops], tiny.vocab_size).z for ids in marked
    ]
    plain_z = []
    for ids in plain:
        result = mark.detect(key, [t for t in ids if t not in stops], tiny.vocab_size)
        assert not result.flagged, result
        plain_z.append(result.z)
    assert max(marked_z) > 4 and np.mean(marked_z) > np.mean(plain_z) + 2, (marked_z, plain_z)


def test_soundness_holds_at_alpha_for_kgw(tiny):
    for adversary in (Human(), Repetitive()):
        result = games.estimate(Soundness(), adversary, trials=40, seed=1)
        assert result.ci_low <= 0 and result.win_rate <= 0.1, result


def test_kgw_repeated_is_unsound_on_repetitive_text(tiny):
    result = games.estimate(Soundness(scheme="kgw-repeated"), Repetitive(), trials=60, seed=1)
    assert result.ci_low > 0, result
    # The trivial adversary (human-like text, few repeats) stays near the baseline.
    human = games.estimate(Soundness(scheme="kgw-repeated"), Human(), trials=40, seed=1)
    assert human.ci_low <= 0, human


class GuessedKey:
    """Cheats as far as public values allow: draws a key of its own and writes text that is all
    green under it (the real key never reaches it, so the text is green at rate γ only)."""

    def __call__(self, oracles, rng):
        public = oracles.public
        assert not any(isinstance(v, np.ndarray) for v in public.values())
        mark = scheme(public["scheme"], gamma=public["gamma"], prf=public["prf"])
        key = mark.keygen(rng)
        vocab = public["vocab"]
        text = [int(rng.integers(vocab))]
        while len(text) < 48:
            tokens = np.arange(vocab)
            contexts = np.full((vocab, mark.h), text[-1])
            green = tokens[mark.green(key, contexts, tokens, vocab)]
            text.append(int(rng.choice(green)))
        return text


def test_the_key_never_reaches_the_adversary(tiny):
    setup = Soundness().setup(np.random.default_rng(0))
    assert "key" not in setup.public and "key" in setup.secret
    result = games.estimate(Soundness(), GuessedKey(), trials=30, seed=2)
    assert result.ci_low <= 0, result


def test_removal_trivial_adversary_never_wins(tiny):
    result = games.estimate(Removal(length=32), Unchanged(), trials=3, seed=1)
    assert result.trials == 3 and result.wins == 0, result


def test_removal_by_substitution_wins_with_a_large_budget(tiny):
    result = games.estimate(Removal(length=32, budget=1.0), Substitute(), trials=3, seed=1)
    assert result.wins >= 2, result


@pytest.mark.parametrize("name", ["kgw", "unigram"])
def test_removal_by_paraphrase(tiny, name):
    # The unwatermarked model writes its own reply to the same request (the tiny model's
    # rewrite). Measured at seed 0, 8 trials of 32 tokens (2 cores, shared): with the whole
    # text as budget 8/8 removed against kgw and unigram alike; cut to a quarter of the
    # tokens, 3/8 (kgw) and 5/8 (unigram). The unchanged text: 0 (above).
    attack = Paraphrase(instruction="{request}")
    result = games.estimate(Removal(scheme=name, length=32, budget=1.0), attack, trials=4, seed=0)
    assert result.error_count == 0 and result.wins >= 3, result


def test_a_rewrite_is_cut_to_the_edit_budget():
    text = (1, 2, 3, 4, 5, 6)
    assert _within_budget(text, (1, 2, 9, 4, 5, 6), 1) == (1, 2, 9, 4, 5, 6)
    cut = _within_budget(text, (7, 8, 9, 10, 11, 12, 13, 14), 2)
    assert cut == (7, 8, 3, 4, 5, 6) and edit_distance(text, cut) == 2
    assert _within_budget(text, (), 3) == text


class TooManyEdits:
    def __call__(self, oracles, rng):
        return tuple(reversed(oracles.public["text"])) + (0,) * 40


def test_removal_refuses_an_answer_outside_the_edit_budget(tiny):
    result = games.estimate(Removal(length=16), TooManyEdits(), trials=1, seed=1)
    assert result.wins == 0 and result.error_count == 1, result
    assert "edits" in (result.first_error or "")


def test_edit_distance():
    assert edit_distance([1, 2, 3], [1, 2, 3]) == 0
    assert edit_distance([1, 2, 3], [1, 3]) == 1
    assert edit_distance([1, 2, 3], [4, 2, 3, 5]) == 2


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Soundness(scheme="rot13"), "scheme"),
        (lambda: Soundness(gamma=1.5), "gamma=1.5 is the green fraction"),
        (lambda: Soundness(gamma=0), "strictly between 0 and 1"),
        (lambda: Removal(gamma=1), "strictly between 0 and 1"),
        (lambda: Undetectable(gamma=-0.5), "strictly between 0 and 1"),
        (lambda: scheme("kgw", gamma=1.0), "strictly between 0 and 1"),
        (lambda: Watermark(gamma=float("nan")), "strictly between 0 and 1"),
        (lambda: Soundness(alpha=-0.1), "alpha"),
        (lambda: Soundness(prf="md5"), "prf"),
        (lambda: Removal(budget=2), "budget"),
        (lambda: Removal(length=0), "length"),
        (lambda: Watermark(h=-1), "h"),
        (lambda: scheme("nope"), "scheme"),
        (lambda: Undetectable(queries=0), "queries"),
        (lambda: Undetectable(scheme="kgw2"), "scheme"),
        (lambda: Repetitive(length=1), "length"),
        (lambda: Substitute(fraction=3), "fraction"),
        (lambda: Paraphrase(temperature=-1), "temperature"),
    ],
)
def test_bad_parameters_are_refused(build, match):
    with pytest.raises(InvalidArgument, match=match) as error:
        build()
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("text", "match"),
    [("a story", "not a string"), ([[1, 2]], "flat"), ([1, 10**6], "outside"), ([1.5], "flat")],
)
def test_bad_text_is_refused(text, match):
    key = scheme("kgw").keygen(np.random.default_rng(0))
    with pytest.raises(games.InvalidAnswer, match=match):
        scheme("kgw").detect(key, text, VOCAB)


def test_exp_is_undetectable_by_repetition_and_exp_reused_is_not(tiny):
    # exp-reused answers the same request with the same reply every time: the attack's known
    # advantage is 1 (the model sampling on its own repeats a whole reply almost never).
    game = Undetectable(scheme="exp-reused", length=24)
    reused = games.estimate(game, SameRequest(), trials=12, seed=1)
    assert reused.advantage == 1.0, reused
    # exp falls back to the model at its first repeated context, so its replies part ways.
    sound = games.estimate(Undetectable(scheme="exp"), SameRequest(), trials=8, seed=1)
    assert sound.ci_low <= 0 and sound.advantage < 0.5, sound


def test_undetectable_guess_has_no_advantage(tiny):
    result = games.estimate(Undetectable(length=8), Guess(), trials=20, seed=1)
    assert result.ci_low <= 0 <= result.ci_high, result


class BadRequest:
    def __call__(self, oracles, rng):
        oracles["generate"](5)
        return 1


def test_undetectable_refuses_a_request_that_is_not_a_string(tiny):
    result = games.estimate(Undetectable(length=8), BadRequest(), trials=2, seed=1)
    assert result.error_count == 2 and "request" in (result.first_error or ""), result


def test_scheme_names():
    assert watermark.SCHEMES == ("kgw", "unigram", "kgw-repeated", "exp", "exp-reused")
