"""Model oracles count queries and tokens, refuse over budget and record transcripts; the
Python-function adapter."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from lm_cheaters import Chameleon, Growing

from games import lm
from oracles import BudgetExceeded, InvalidArgument, Oracle, open_oracle


def echo(prompt: str) -> str:
    return "you said " + prompt


def opened(answer, budget=None, transcript=False):
    """The adversary's handle over a model oracle, as the engine makes it."""
    return open_oracle(answer, name=answer.name, budget=budget, transcript=transcript)[0]


def oracle(budget=None, transcript=False, **kwargs):
    answer = lm.ModelOracle(lm.FunctionModel(echo), rng=np.random.default_rng(0), **kwargs)
    return opened(answer, budget, transcript), answer


def test_a_model_oracle_answers_through_an_oracle_handle():
    o, answer = oracle(name="chat", budget=3)
    assert isinstance(o, Oracle) and o.name == "chat" and o.budget == 3
    assert o("two words") == "you said two words"
    # the function model counts whitespace-separated words: 2 in, 4 out
    assert o.queries == 1 and answer.tokens == 6 and answer.generations[0].completion_tokens == 4
    # the handle reaches neither the token counts nor the challenger's generator
    assert not any(hasattr(o, name) for name in ("tokens", "generations", "_rng", "model"))


def test_a_batch_counts_one_query_per_prompt():
    o, _ = oracle(budget=3)
    assert o(["a", "b"]) == ["you said a", "you said b"]
    assert o.queries == 2 and o.remaining == 1
    with pytest.raises(BudgetExceeded):
        o(["c", "d"])
    assert o.exceeded and o.queries == 2


def test_what_is_counted_is_what_is_generated():
    # A batch that reads as one prompt while it is counted and as three while it is
    # answered: it was charged one query and got three replies.
    seen = []
    model = lm.FunctionModel(lambda prompt: seen.append(prompt) or "ok")
    o = opened(lm.ModelOracle(model, rng=np.random.default_rng(0)), budget=1)
    o(Growing(["a", "b", "c"]))
    assert seen == ["a"] and o.queries == 1


def test_chats_and_system_prompts():
    seen = []
    model = lm.FunctionModel(lambda chat: seen.append(chat) or "ok", chat=True)
    o = opened(lm.ModelOracle(model, rng=np.random.default_rng(0), system="be brief"))
    o("hello")
    o([lm.Message("system", "other"), lm.Message("user", "hi")])
    o([lm.Message("system", "be brief"), lm.Message("user", "again")])
    assert [m.role for m in seen[0]] == ["system", "user"] and seen[0][0].content == "be brief"
    # The adversary's own system message never takes the challenger's place: it follows it.
    assert [m.content for m in seen[1]] == ["be brief", "other", "hi"]
    assert [m.content for m in seen[2]] == ["be brief", "again"]
    # Nor does a message whose role and text claim to equal every string.
    o([lm.Message(Chameleon("system"), Chameleon("other")), lm.Message("user", "hi")])
    assert [m.content for m in seen[3]] == ["be brief", "other", "hi"]
    assert all(type(m.role) is str and type(m.content) is str for m in seen[3])
    forged = lm.Message("system", "other")
    object.__setattr__(forged, "content", Chameleon("other"))  # around the frozen checks
    o([forged, lm.Message("user", "hi")])
    assert [m.content for m in seen[4]] == ["be brief", "other", "hi"]


def test_an_answer_over_the_token_budget_is_withheld():
    o, answer = oracle(token_budget=10)
    o("a b")  # 2 + 4 = 6 tokens
    with pytest.raises(lm.TokenBudgetExceeded, match="token budget of 10"):
        o("c d")  # would take it to 12
    assert o.exceeded and answer.tokens == 6 and answer.tokens_remaining == 4
    with pytest.raises(BudgetExceeded):
        o("e")
    assert isinstance(lm.TokenBudgetExceeded("x", 1, 0, 2), BudgetExceeded)


def test_replies_are_cut_to_the_tokens_left():
    seen = []

    class Counting(lm.FunctionModel):
        def generate(self, chats, *, max_new_tokens, temperature, rng):
            seen.append(max_new_tokens)
            return super().generate(chats, max_new_tokens=max_new_tokens, temperature=0, rng=rng)

    answer = lm.ModelOracle(
        Counting(lambda p: "w " * 50), rng=np.random.default_rng(0), token_budget=100
    )
    o = opened(answer)
    assert len(o("x").split()) == 50 and answer.tokens == 51
    with pytest.raises(lm.TokenBudgetExceeded):
        o("x")  # capped at the 49 tokens left, 1 + 49 > 49: withheld
    assert seen == [64, 49] and answer.tokens == 51 and o.exceeded


def test_transcripts_record_queries_and_replies():
    o, _ = oracle(transcript=True)
    o("a")
    o(["b", "c"])
    assert o.transcript == (("a", "you said a"), (["b", "c"], ["you said b", "you said c"]))
    assert oracle()[0].transcript == ()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"token_budget": -1}, "token_budget=-1 must be None or a non-negative integer"),
        ({"max_new_tokens": 0}, "max_new_tokens=0 must be a positive integer"),
        ({"temperature": -0.5}, "temperature=-0.5 must be a number"),
    ],
)
def test_bad_oracle_arguments(kwargs, message):
    with pytest.raises(InvalidArgument, match=message):
        oracle(**kwargs)


def test_bad_models_and_queries():
    with pytest.raises(InvalidArgument, match="must be a LanguageModel"):
        lm.ModelOracle(echo, rng=np.random.default_rng(0))
    with pytest.raises(InvalidArgument, match="must be a numpy Generator"):
        lm.ModelOracle(lm.FunctionModel(echo), rng=0)
    with pytest.raises(InvalidArgument, match="must be a prompt, a chat"):
        oracle()[0]([])


def test_a_function_that_fails_fails_the_trial():
    from games import TrialFailed

    def broken(prompt):
        raise RuntimeError("down")

    answer = lm.ModelOracle(lm.FunctionModel(broken), rng=np.random.default_rng(0))
    o, read = open_oracle(answer)
    with pytest.raises(lm.ModelFailure, match="raised RuntimeError") as error:
        o("x")
    assert isinstance(error.value, TrialFailed) and isinstance(read().failure, lm.ModelFailure)
    o = opened(lm.ModelOracle(lm.FunctionModel(lambda p: 3), rng=np.random.default_rng(0)))
    with pytest.raises(lm.ModelFailure, match="returned int, not a string"):
        o("x")


def test_a_model_failing_on_a_query_is_the_adversarys_loss():
    import attrs

    import games

    @attrs.frozen(kw_only=True)
    class Ask(games.Search):
        """Win when the model's reply contains 'yes'."""

        def setup(self, rng):
            model = lm.FunctionModel(lambda p: (_ for _ in ()).throw(RuntimeError("down")))
            return games.Challenge(oracles={"model": lm.ModelOracle(model, rng=rng)})

        def finalize(self, challenge, answer):
            return "yes" in answer

        @property
        def baseline(self):
            return 0.0

    estimate = games.estimate(Ask(), lambda oracles, rng: oracles.model("hi"), trials=4, seed=0)
    # The prompt may be what broke it: the adversary's loss, never a trial left out.
    assert estimate.errors == {"oracle-failed": 4} and estimate.trials == 4
    assert estimate.wins == 0 and "RuntimeError('down')" in estimate.first_error


def test_an_adversary_that_catches_the_token_budget_still_loses():
    import attrs

    import games

    @attrs.frozen(kw_only=True)
    class Echo(games.Search):
        """Win when the reply holds 'said'; a token budget of 10."""

        def setup(self, rng):
            answer = lm.ModelOracle(lm.FunctionModel(echo), rng=rng, token_budget=10)
            return games.Challenge(oracles={"model": answer})

        def finalize(self, challenge, answer):
            return "said" in answer

        @property
        def baseline(self):
            return 0.0

    def greedy(oracles, rng):
        reply = oracles.model("a b")
        with contextlib.suppress(BudgetExceeded):
            oracles.model("c d e f")  # over the token budget: withheld
        return reply

    estimate = games.estimate(Echo(), greedy, trials=4, seed=0)
    assert estimate.wins == 0 and estimate.errors == {"budget": 4}
    honest = games.estimate(Echo(), lambda oracles, rng: oracles.model("a b"), trials=4, seed=0)
    assert honest.wins == 4
