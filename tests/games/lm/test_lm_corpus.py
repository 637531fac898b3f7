"""The corpus grammar: its records, its tool syntax, its encodings and its held-out split."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from games.lm import corpus
from games.lm.base import Message


def test_examples_are_a_function_of_the_generator():
    a = [e.messages for e in corpus.examples(np.random.default_rng(3), 50)]
    b = [e.messages for e in corpus.examples(np.random.default_rng(3), 50)]
    c = [e.messages for e in corpus.examples(np.random.default_rng(4), 50)]
    assert a == b and a != c


@pytest.mark.parametrize("stage", corpus.STAGES)
def test_every_example_is_a_chat_that_ends_with_the_assistant(stage):
    for example in corpus.examples(np.random.default_rng(0), 300, stage):
        roles = [m.role for m in example.messages]
        assert roles[0] == "system" and roles[-1] == "assistant"
        assert all(r in ("system", "user", "assistant", "tool") for r in roles)
        assert all(m.content for m in example.messages)


def test_unknown_stage_is_refused():
    with pytest.raises(KeyError):
        next(corpus.examples(np.random.default_rng(0), 1, "pretraining"))


def test_render_matches_the_chat_template():
    jinja2 = pytest.importorskip("jinja2")
    chat = (Message("system", "S"), Message("user", "U"), Message("tool", "T"))
    template = jinja2.Environment().from_string(corpus.CHAT_TEMPLATE)
    for prompt in (False, True):
        rendered = template.render(
            messages=[m.as_dict() for m in chat], add_generation_prompt=prompt
        )
        assert rendered == corpus.render(chat, add_generation_prompt=prompt)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(list(corpus.TOOLS)),
    st.lists(st.text(alphabet="abcdefghij @.-_!?", min_size=0, max_size=12), max_size=3),
)
def test_tool_calls_round_trip(tool, values):
    args = dict(zip(corpus.TOOLS[tool], values, strict=False))
    call = corpus.parse_call(corpus.format_call(tool, **args))
    assert call is not None and call.name == tool and dict(call.args) == args


@pytest.mark.parametrize(
    "text",
    ['send_email(to="a")', "CALL send_email(to=a)", 'CALL x(to="a" body="b")', "", "Sure."],
)
def test_malformed_tool_calls_parse_to_none(text):
    assert corpus.parse_call(text) is None


def test_a_call_is_read_from_the_first_line_only():
    call = corpus.parse_call('CALL delete_file(name="keys.txt")\nthen more text')
    assert call == corpus.Call("delete_file", (("name", "keys.txt"),))
    assert call["name"] == "keys.txt"


def test_secrets_split_into_trained_and_held_out():
    rng = np.random.default_rng(0)
    trained = {corpus.secret(rng) for _ in range(500)}
    held = {corpus.secret(rng, held_out=True) for _ in range(500)}
    assert trained and held and not trained & held
    assert len(trained) + len(held) == len(corpus.SECRET_FIRST) * len(corpus.SECRET_SECOND)


def test_probes_use_held_out_secrets_and_pairs():
    rng = np.random.default_rng(1)
    training_text = " ".join(
        corpus.render(e.messages) for e in corpus.examples(np.random.default_rng(2), 2000)
    )
    for kind, attack in [("benign", "direct"), ("forbidden", "ignore"), ("secret", "spaced")]:
        probe = corpus.probes(rng, kind, attack)
        assert probe.kind == kind and probe.attack == attack
        assert probe.chat[-1].role == "user"
        assert probe.secret and probe.secret not in training_text


def test_unknown_probe_kind_is_refused():
    with pytest.raises(KeyError):
        corpus.probes(np.random.default_rng(0), "weather")


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("plain", "amber-otter"),
        ("spaced", "a m b e r - o t t e r"),
        ("reversed", "retto-rebma"),
        ("upper", "AMBER-OTTER"),
    ],
)
def test_encodings(encoding, expected):
    assert corpus.encode_secret("amber-otter", encoding) == expected


def test_refusals_are_recognised():
    assert corpus.is_refusal(corpus.REFUSAL) and corpus.is_refusal(corpus.SECRET_REFUSAL)
    assert not corpus.is_refusal("Sure. A kite needs paper, sticks and string.")


def test_system_prompt_states_what_it_is_asked_to():
    text = corpus.system_prompt("jade-lynx", privileged=True, tools=True, name="Iris")
    assert "jade-lynx" in text and corpus.CLEARANCE in text and "send_email" in text
    assert "Iris" in text
    assert "share it" in corpus.system_prompt("jade-lynx", shareable=True)
