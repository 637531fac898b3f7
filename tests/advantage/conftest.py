"""What the command-line tests share: running `advantage` in-process and reading its output."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from advantage.cli import main


class Cli:
    """`advantage` run in this process, its output read through pytest's ``capsys``."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def json(self, *argv: str, status: int = 0) -> Any:
        """The one JSON object that ``advantage ARGV --json`` prints (checked: one line)."""
        self.capsys.readouterr()
        assert main([*argv, "--json"]) == status
        out = self.capsys.readouterr().out
        assert out.count("\n") == 1, "--json prints exactly one line"
        return json.loads(out)

    def out(self, *argv: str, status: int = 0) -> str:
        """What ``advantage ARGV`` prints on stdout, whitespace collapsed."""
        self.capsys.readouterr()
        got = main(list(argv))
        captured = self.capsys.readouterr()
        assert got == status, captured.err
        return " ".join(captured.out.split())

    def fails(self, *argv: str, match: str) -> str:
        """``advantage ARGV`` exits 2 with one error that matches ``match``; its text."""
        self.capsys.readouterr()
        assert main(list(argv)) == 2
        err = " ".join(self.capsys.readouterr().err.split())
        assert re.search(match, err), err
        return err


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)
