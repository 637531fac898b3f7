"""`advantage lm`: train, info, clear and behaviour from the command line."""

from __future__ import annotations

import importlib.util
import json

import pytest

from advantage.cli import main
from games.lm import cache

LM = all(importlib.util.find_spec(m) for m in ("torch", "transformers", "tokenizers"))


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV, str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("command", [[], ["train"], ["info"], ["clear"], ["behaviour"]])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["lm", *command, "--help"])
    assert exit_.value.code == 0 and "usage: advantage lm" in capsys.readouterr().out


def test_info_lists_the_cache_and_runtimes(tmp_cache, capsys):
    cache.build("tiny-s3-abc", lambda d: {"kind": "tiny", "seed": 3, "parameters": 10})
    assert main(["lm", "info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in data["entries"]] == ["tiny-s3-abc"]
    assert data["cache"] == str(tmp_cache / "lm")
    assert set(data["runtimes"]) >= {"transformers", "llamacpp", "openai", "smollm2 weights"}
    assert main(["lm", "info"]) == 0
    out = capsys.readouterr().out
    assert "tiny-s3-abc" in out and "llamacpp:" in out


def test_clear(tmp_cache, capsys):
    for name in ("tiny-s0-a", "smollm2-b"):
        cache.build(name, lambda d: {})
    assert main(["lm", "clear", "tiny", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["removed"] == ["tiny-s0-a"]
    assert main(["lm", "clear"]) == 0
    assert "removed 1 cached model(s): smollm2-b" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["lm", "train", "--seed", "-2"], "--seed -2 must be a non-negative integer"),
        (["lm", "behaviour", "--seeds", "a,b"], "--seeds 'a,b' must be comma-separated"),
        (["lm", "behaviour", "--trials", "0"], "--trials 0 must be a positive integer"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    if not LM:
        pytest.skip("needs the lm extra")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.skipif(not LM, reason="needs the lm extra: pip install -e '.[lm]'")
def test_train_and_behaviour_on_the_shared_model(capsys):
    import torch

    from games.lm import tiny

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["lm", "train", "--json"]) == 0
        entry = json.loads(capsys.readouterr().out)
        assert entry["kind"] == "tiny" and entry["seed"] == 0
        assert entry["path"] == str(tiny.SHIPPED) and "shipped_weights" not in entry
        assert main(["lm", "behaviour", "--trials", "3", "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        rows = data["seeds"]["0"]
        assert data["method"] == "clopper-pearson" and len(rows) == 13
        assert all(r["trials"] == 3 and r["low"] <= r["successes"] / 3 <= r["high"] for r in rows)
    finally:
        torch.set_num_threads(threads)
