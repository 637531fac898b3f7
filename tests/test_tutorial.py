"""docs/tutorial.md runs as written: its files, Python blocks and `advantage` commands, in order.

A command's trailing comment may say `exit N` (the exit status it must have; 0 otherwise)
and `prints "TEXT"` (text its standard output must contain, whitespace collapsed); see
``tests/rundocs.py``.
"""

from __future__ import annotations

import pathlib

import pytest
from rundocs import blocks, commands, run_document

ROOT = pathlib.Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"


def test_tutorial_has_every_step():
    found = blocks(TUTORIAL)
    langs = [lang for lang, _, _ in found]
    assert langs.count("python") >= 3 and langs.count("bash") >= 6 and langs.count("toml") == 2
    argv = [" ".join(a) for _, body, _ in found for a, _, _ in commands(body)]
    for verdict in ("consistent", "algorithm", "assumption:prf", "inconclusive"):
        assert any(f'"verdict: {verdict}"' in body for _, body, _ in found), verdict
    assert any(a.startswith("check my-ctr.toml --symbolic") for a in argv)
    assert any(a.startswith("explain ") for a in argv) and any(a.startswith("run ") for a in argv)


@pytest.mark.slow
def test_tutorial_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run_document(TUTORIAL, tmp_path, capsys)
