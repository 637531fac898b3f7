"""Watermark forgery on the tiny model: the trivial forger, green-list stealing against
unigram and kgw, the copy check, the key kept from the adversary, and bad requests."""

from __future__ import annotations

import numpy as np
import pytest
from lm_cases import needs_lm

import games
from adversaries.watermark import BigramStealing, GreenListStealing, ModelReply
from games.lm.forgery import Forgery, GreenListHidden, copies
from games.lm.watermark import scheme
from oracles import InvalidArgument

pytestmark = needs_lm


def test_copies():
    replies = [(1, 2, 3, 4, 5, 6)]
    assert copies((9, 2, 3, 4, 8), replies, 3)
    assert not copies((9, 2, 3, 8, 4, 5), replies, 3)
    assert copies((3, 4), replies, 3)  # shorter than the window, inside a reply
    assert not copies((), replies, 3)


def test_the_model_s_own_reply_is_not_a_forgery(tiny):
    result = games.estimate(Forgery(), ModelReply(), trials=6, seed=1)
    assert result.wins == 0 and result.error_count == 0, result


def test_stealing_forges_unigram(tiny):
    result = games.estimate(Forgery(queries=8), GreenListStealing(), trials=6, seed=1)
    assert result.wins == 6 and result.ci_low > 0.5, result


def test_stealing_unigram_frequencies_fails_against_kgw(tiny):
    # With h = 1 a token is green after a fraction γ of contexts: token frequencies say
    # little (measured: 1 win in 20 trials with 32 queries, seed 3).
    kgw = games.estimate(Forgery(scheme="kgw", queries=8), GreenListStealing(), trials=4, seed=1)
    assert kgw.wins <= 1 and kgw.ci_low <= 0, kgw


def test_stealing_pairs_forges_kgw(tiny):
    # Pairs seen under the watermark and never in the model's own replies are mostly green
    # after their context: 8 queries suffice (measured 4 of 4, and 6 of 6 with 32 queries).
    result = games.estimate(Forgery(scheme="kgw", queries=8), BigramStealing(), trials=4, seed=1)
    assert result.wins >= 3 and result.ci_low > 0 and result.error_count == 0, result


class CopyTwoReplies:
    """Asks twice and hands back a reply the model gave: refused as a copy."""

    def __call__(self, oracles, rng):
        first, _ = oracles["generate"](list(oracles.public["requests"][:2]))
        return first


def test_a_copied_reply_is_refused(tiny):
    result = games.estimate(Forgery(queries=2, length=16), CopyTwoReplies(), trials=2, seed=1)
    assert result.wins == 0 and result.error_count == 2, result
    assert "copy" in (result.first_error or "")
    # The assumption game does not check copies: a copied reply is flagged there.
    hidden = games.estimate(
        GreenListHidden(queries=2, length=16), CopyTwoReplies(), trials=2, seed=1
    )
    assert hidden.error_count == 0, hidden


class AskTheTarget:
    def __call__(self, oracles, rng):
        return oracles["generate"](oracles.public["prompt"])


def test_the_target_prompt_may_not_be_asked(tiny):
    result = games.estimate(Forgery(queries=2, length=8), AskTheTarget(), trials=1, seed=1)
    assert result.error_count == 1 and "target" in (result.first_error or ""), result


class LooksForTheKey:
    """Cheats as far as it can: searches the public values and the oracle handle for a key,
    finds none, and writes text that is all green under a key of its own."""

    def __call__(self, oracles, rng):
        public = oracles.public
        handle = oracles["generate"]
        visible = [*public.values(), *(getattr(handle, a, None) for a in dir(handle))]
        assert not any(isinstance(v, np.ndarray) and v.dtype == np.uint64 for v in visible)
        assert "key" not in public and "secret" not in public
        mark = scheme(public["scheme"], gamma=public["gamma"], prf=public["prf"])
        key = mark.keygen(rng)
        tokens = np.arange(public["vocab"])
        green = tokens[mark.green(key, np.zeros((len(tokens), 0), np.int64), tokens, len(tokens))]
        return tuple(int(t) for t in green[:48])


def test_the_key_never_reaches_the_forger(tiny):
    result = games.estimate(Forgery(queries=1), LooksForTheKey(), trials=6, seed=2)
    assert result.wins == 0 and result.error_count == 0, result


class BadRequests:
    def __init__(self, requests):
        self.requests = requests

    def __call__(self, oracles, rng):
        oracles["generate"](self.requests)


@pytest.mark.parametrize(
    ("requests", "match"), [(5, "string"), ([], "non-empty"), (["x" * 500], "at most")]
)
def test_bad_requests_are_refused(tiny, requests, match):
    result = games.estimate(Forgery(queries=2, length=8), BadRequests(requests), trials=1, seed=1)
    assert result.error_count == 1 and match in (result.first_error or ""), result


def test_a_batch_costs_one_query_per_request(tiny):
    result = games.estimate(
        Forgery(queries=2, length=8), BadRequests(["a", "b", "c"]), trials=1, seed=1
    )
    assert result.error_count == 1 and "budget of 2" in (result.first_error or ""), result


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Forgery(queries=-1), "queries"),
        (lambda: Forgery(window=0), "window"),
        (lambda: Forgery(scheme="rot13"), "scheme"),
        (lambda: GreenListHidden(gamma=2), "gamma"),
        (lambda: GreenListStealing(length=0), "length"),
        (lambda: BigramStealing(avoid=1), "avoid"),
    ],
)
def test_bad_parameters_are_refused(build, match):
    with pytest.raises(InvalidArgument, match=match):
        build()
