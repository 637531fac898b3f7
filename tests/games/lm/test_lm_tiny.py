"""The tiny model: deterministic training by seed, the cache (shared, locked, keyed), and
loading through the same path as any hf: checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import attrs
import pytest
from lm_cases import needs_lm

from games import lm
from games.lm import cache, tiny
from oracles import InvalidArgument

# A configuration small enough to train in seconds: the code path of the real one.
SMALL = tiny.TinyConfig(
    hidden=32, layers=1, heads=2, intermediate=64, vocab=300, copy_steps=3, steps=4, batch=4
)


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV, str(tmp_path))
    return tmp_path / "lm"


@needs_lm
def test_training_is_deterministic_by_seed(tmp_path, torch_threads):
    a = tiny.train(0, tmp_path / "a", SMALL)
    b = tiny.train(0, tmp_path / "b", SMALL)
    c = tiny.train(1, tmp_path / "c", SMALL)
    assert a["weights"] == b["weights"] != c["weights"]
    assert a["steps"] == SMALL.copy_steps + SMALL.steps and a["parameters"] > 0
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (
        tmp_path / "b" / "model.safetensors"
    ).read_bytes()


@needs_lm
def test_training_leaves_torch_global_random_state_alone(tmp_path, torch_threads):
    import torch

    state = torch.get_rng_state()
    tiny.train(0, tmp_path / "a", SMALL)
    assert torch.equal(state, torch.get_rng_state())


@needs_lm
def test_the_cache_is_shared_and_locked(tmp_cache, tmp_path):
    # Two processes ask for the same model at once: one trains it, the other waits for it.
    log = tmp_path / "trained.log"
    script = textwrap.dedent(
        f"""
        import sys
        from games.lm import tiny
        config = tiny.TinyConfig(**{json.dumps({k: getattr(SMALL, k) for k in ("hidden", "layers", "heads", "intermediate", "vocab", "copy_steps", "steps", "batch")})})
        def log(step, total, loss):
            if step == total:
                with open({str(log)!r}, "a") as f:
                    f.write("trained\\n")
        print(tiny.path(0, config, log=log))
        """
    )
    env = {**os.environ, cache.ENV: str(tmp_cache.parent), "OMP_NUM_THREADS": "1"}
    runs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    paths = [run.communicate(timeout=600)[0].strip() for run in runs]
    assert all(run.returncode == 0 for run in runs)
    assert paths[0] == paths[1] and log.read_text() == "trained\n"
    entries = list(cache.entries())
    assert [e["name"] for e in entries] == [os.path.basename(paths[0])]
    assert entries[0]["kind"] == "tiny" and entries[0]["seed"] == 0 and entries[0]["bytes"] > 0
    # A cached model is reused, not trained again.
    assert str(tiny.path(0, SMALL)) == paths[0] and log.read_text() == "trained\n"


def test_cache_names_are_keyed_by_seed_and_config():
    names = {tiny.cache_name(0), tiny.cache_name(1), tiny.cache_name(0, SMALL)}
    assert len(names) == 3 and all(n.startswith("tiny-s") for n in names)
    assert tiny.cache_name(0) == tiny.cache_name(0)


def test_a_failed_build_leaves_nothing(tmp_cache):
    def fail(directory):
        (directory / "half").write_text("x")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        cache.build("broken", fail)
    assert list(cache.entries()) == []
    assert not any(p.is_dir() for p in tmp_cache.iterdir())


def test_cache_remove_by_prefix(tmp_cache):
    for name, kind in (("tiny-s0-a", "tiny"), ("tiny-s1-b", "tiny"), ("smollm2-c", "smollm2")):
        cache.build(name, lambda d, kind=kind: {"kind": kind})
    assert [e["name"] for e in cache.entries()] == ["smollm2-c", "tiny-s0-a", "tiny-s1-b"]
    assert cache.remove("tiny") == ["tiny-s0-a", "tiny-s1-b"]
    assert [e["name"] for e in cache.entries()] == ["smollm2-c"]
    assert cache.remove() == ["smollm2-c"] and list(cache.entries()) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hidden": 0}, "hidden=0 must be a positive integer"),
        ({"steps": -1}, "steps=-1 must be a non-negative integer"),
        ({"lr": 2.0}, r"lr=2.0 must be in \(0, 1\)"),
        ({"hidden": 30, "heads": 4}, "hidden=30 must be a multiple of heads=4"),
    ],
)
def test_bad_configs(kwargs, message):
    with pytest.raises(InvalidArgument, match=message):
        tiny.TinyConfig(**kwargs)


def test_bad_seeds():
    with pytest.raises(InvalidArgument, match="seed=-1 must be a non-negative integer"):
        tiny.cache_name(-1)


def test_the_tiny_model_loads_like_any_checkpoint(tiny, capfd):
    from transformers.utils import logging as transformers_logging

    path = lm.tiny.path(0)
    capfd.readouterr()
    same = lm.load(f"hf:{path}", fresh=True)
    # quietly (transformers' own progress bar would cut into a run's progress lines), and
    # with transformers' setting as it was
    assert capfd.readouterr().err == ""
    assert transformers_logging.is_progress_bar_enabled()
    assert isinstance(same, lm.TransformersModel) and same.spec == f"hf:{path}"
    assert lm.tiny.weights_hash(same.module) == lm.tiny.weights_hash(tiny.module)
    info = json.loads((path / "entry.json").read_text())
    assert info["weights"] == lm.tiny.weights_hash(tiny.module)
    assert lm.load("tiny:0") is tiny and lm.load("tiny") is tiny


def test_tiny_0_ships_and_is_what_the_code_trains_on(tiny):
    """The shipped checkpoint is the one its entry describes, of the current configuration,
    corpus and tokenizer: a change to any of them without shipping again is caught here."""
    assert lm.tiny.path(0) == lm.tiny.SHIPPED and lm.tiny.trained(0)
    entry = json.loads((lm.tiny.SHIPPED / "entry.json").read_text())
    assert entry["weights"] == lm.tiny.weights_hash(tiny.module)
    assert entry["config"] == attrs.asdict(lm.tiny.DEFAULT)
    assert entry["corpus_version"] == lm.corpus.CORPUS_VERSION
    shipped = json.loads((lm.tiny.SHIPPED / "tokenizer.json").read_text())
    trained = json.loads(lm.tiny._bpe(lm.tiny.DEFAULT.vocab))
    assert shipped["model"] == trained["model"]
    assert tiny.module.config.hidden_size == lm.tiny.DEFAULT.hidden


def test_only_seed_0_with_the_default_config_and_corpus_ships(monkeypatch):
    assert tiny.shipped(0) == tiny.SHIPPED
    assert tiny.shipped(1) is None and tiny.shipped(0, SMALL) is None
    monkeypatch.setattr(lm.corpus, "CORPUS_VERSION", lm.corpus.CORPUS_VERSION + 1)
    assert tiny.shipped(0) is None  # a changed corpus trains again instead


def test_rebuilding_seed_0_trains_into_the_cache_and_keeps_the_shipped_one(
    tmp_cache, monkeypatch, capsys
):
    from advantage.cli import main

    def fake(seed, directory, config=tiny.DEFAULT, *, log=None):  # training is slow: its record
        directory.mkdir(parents=True, exist_ok=True)
        return {
            "kind": "tiny", "seed": seed, "parameters": 1, "steps": 1, "final_loss": 0.5,
            "weights": "0" * 16, "seconds": 0.1,
        }  # fmt: skip

    monkeypatch.setattr(tiny, "train", fake)
    monkeypatch.setattr("advantage.lm._require_runtime", lambda: None)
    assert main(["lm", "train", "--seed", "0", "--rebuild"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "(cached)" in out and "not the shipped tiny:0's weights" in out
    assert tiny.path(0) == tiny.SHIPPED and tiny.trained(0)
    assert tiny.path(0, rebuild=True).parent == tmp_cache
    assert main(["lm", "train", "--seed", "0"]) == 0
    assert "(shipped with the package)" in capsys.readouterr().out
