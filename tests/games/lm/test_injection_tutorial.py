"""docs/prompt-injection.md runs as written: its files, Python blocks and `advantage` commands."""

from __future__ import annotations

import pathlib

from rundocs import blocks, commands, run_in, verdicts_shown

TUTORIAL = pathlib.Path(__file__).resolve().parents[3] / "docs" / "prompt-injection.md"


def test_the_tutorial_shows_every_verdict_and_the_leaky_check():
    assert verdicts_shown(TUTORIAL) == {"consistent", "algorithm", "assumption:in_marked_text"}
    checks = [a for _, body, _ in blocks(TUTORIAL) for a, _, _ in commands(body) if a[0] == "check"]
    assert any("defense=dataflow-leaky" in " ".join(a) for a in checks)


def test_the_tutorial_runs(tmp_path, monkeypatch, capsys):
    """No model needed: the agents are the scripted rule and a py-chat function."""
    run_in(TUTORIAL, tmp_path, monkeypatch, capsys, modules=("linewise",))
