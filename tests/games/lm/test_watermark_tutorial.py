"""docs/watermarks.md runs as written: its Python block and `advantage` commands, in order."""

from __future__ import annotations

import pathlib
import re
import sys

import pytest
from lm_cases import needs_lm
from rundocs import blocks, commands, run_document

DOC = pathlib.Path(__file__).resolve().parents[3] / "docs" / "watermarks.md"


def test_the_tutorial_shows_three_verdicts_and_the_prf_reduction():
    bodies = [body for _, body, _ in blocks(DOC)]
    shown = {v for body in bodies for v in re.findall(r'"verdict: ([\w:]+)"', body)}
    assert shown == {"consistent", "algorithm", "assumption:green_hidden"}
    checked = {argv[1] for body in bodies for argv, _, _ in commands(body) if argv[0] == "check"}
    assert checked == {"kgw-soundness", "exp-undetectable", "unigram-unforgeable"}


@needs_lm
@pytest.mark.slow
def test_the_tutorial_runs(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [*sys.path])
    run_document(DOC, tmp_path, capsys)
