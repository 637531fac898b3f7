"""docs/robustness.md runs as written: its Python blocks and `advantage` commands, in order."""

from __future__ import annotations

import pathlib

import pytest
from rundocs import blocks, commands, run_document

ROOT = pathlib.Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "robustness.md"


def test_the_tutorial_shows_both_attacks_and_every_verdict():
    found = blocks(TUTORIAL)
    argv = [" ".join(a) for _, body, _ in found for a, _, _ in commands(body)]
    assert any("--adversary pgd" in a and "defense=quantize" in a for a in argv)
    assert any("--adversary bpda" in a and "defense=quantize" in a for a in argv)
    for verdict in ("consistent", "assumption:gradient_search", "algorithm"):
        assert any(f'"verdict: {verdict}"' in body for _, body, _ in found), verdict


@pytest.mark.slow
def test_the_tutorial_runs(tmp_path, monkeypatch, capsys):
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.chdir(tmp_path)
    try:
        run_document(TUTORIAL, tmp_path, capsys)
    finally:
        torch.set_num_threads(threads)
