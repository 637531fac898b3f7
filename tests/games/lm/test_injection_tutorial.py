"""docs/prompt-injection.md runs as written: its files, Python blocks and `advantage` commands."""

from __future__ import annotations

import pathlib
import sys

from rundocs import blocks, commands, run_document

ROOT = pathlib.Path(__file__).resolve().parents[3]
TUTORIAL = ROOT / "docs" / "prompt-injection.md"


def test_the_tutorial_shows_every_verdict():
    found = blocks(TUTORIAL)
    for verdict in ("consistent", "algorithm", "assumption:in_marked_text"):
        assert any(f'"verdict: {verdict}"' in body for _, body, _ in found), verdict
    argv = [" ".join(a) for _, body, _ in found for a, _, _ in commands(body)]
    assert any("defense=dataflow-leaky" in a and a.startswith("check") for a in argv)


def test_the_tutorial_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [*sys.path])
    try:
        run_document(TUTORIAL, tmp_path, capsys)
    finally:
        sys.modules.pop("linewise", None)
