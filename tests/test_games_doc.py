"""docs/games.md runs as written: its search game file, its Python block and its commands,
with the figures its text states."""

from __future__ import annotations

import json
import pathlib
import re
import shlex
import sys

import pytest

from advantage.cli import main

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "games.md").read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC, flags=re.S)


def test_the_doc_explains_public_values_and_a_whole_search_game():
    assert 'oracles.public["bits"]' in DOC and "`secret`" in DOC
    game = _blocks("python")[0]
    assert game.startswith("# guess_tag.py\n")
    for part in ("games.Search", "def baseline", "def setup", "def finalize", "public=", "secret="):
        assert part in game, part


def test_the_search_game_runs_as_written(tmp_path, monkeypatch, capsys, user_imports):
    game, check = _blocks("python")
    (tmp_path / "guess_tag.py").write_text(game)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace: dict = {}
    exec(compile(check, "docs/games.md", "exec"), namespace)  # asserts the theory holds
    assert namespace["result"].baseline == 2**-8
    sys.modules.pop("guess_tag", None)  # the commands import it again, through --import
    capsys.readouterr()

    (commands,) = _blocks("bash")
    enumerate_, guess = (shlex.split(line)[1:] for line in commands.strip().splitlines())
    assert main([*enumerate_, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["ci_low"] <= 16 / 256 <= found["ci_high"]
    assert main([*guess, "--json"]) == 0
    trivial = json.loads(capsys.readouterr().out)
    assert trivial["ci_low"] <= 0 <= trivial["ci_high"]
    plan = ["plan", "guess-tag", "--import", "guess_tag.py", "--eps", "0.05", "--sims", "50"]
    assert main([*plan, "--json"]) == 0
    planned = json.loads(capsys.readouterr().out)
    assert planned["shape"] == "search" and planned["baseline"] == pytest.approx(2**-8)
