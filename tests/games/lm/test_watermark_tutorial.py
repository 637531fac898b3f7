"""docs/watermarks.md runs as written: its Python block and `advantage` commands, in order."""

from __future__ import annotations

import pathlib
import sys

import pytest
from lm_cases import needs_lm
from rundocs import blocks, commands, run_document

ROOT = pathlib.Path(__file__).resolve().parents[3]
TUTORIAL = ROOT / "docs" / "watermarks.md"


def test_the_tutorial_shows_every_verdict():
    found = blocks(TUTORIAL)
    for verdict in ("consistent", "algorithm", "assumption:green_hidden"):
        assert any(f'"verdict: {verdict}"' in body for _, body, _ in found), verdict
    argv = [" ".join(a) for _, body, _ in found for a, _, _ in commands(body)]
    assert any(a.startswith("check exp-undetectable") for a in argv)
    assert any("scheme=kgw-repeated" in a for a in argv)


@needs_lm
@pytest.mark.slow
def test_the_tutorial_runs(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [*sys.path])
    run_document(TUTORIAL, tmp_path, capsys)
