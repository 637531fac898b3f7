"""docs/tutorial.md runs as written: its files, Python blocks and `advantage` commands, in order.

A command's trailing comment may say `exit N` (the exit status it must have; 0 otherwise)
and `prints "TEXT"` (text its standard output must contain, whitespace collapsed).
"""

from __future__ import annotations

import pathlib
import re
import shlex

import pytest

from advantage.cli import main

ROOT = pathlib.Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"
BLOCK = re.compile(
    r"(?:<!-- file: (?P<file>[\w.-]+) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)```", re.S
)


def blocks() -> list[tuple[str, str, str | None]]:
    """(language, body, file name) of every fenced block, in order."""
    text = TUTORIAL.read_text(encoding="utf-8")
    return [(m["lang"], m["body"], m["file"]) for m in BLOCK.finditer(text)]


def commands(body: str) -> list[tuple[list[str], int, str | None]]:
    """The `advantage` lines of a bash block: argv, expected exit status, expected text."""
    out = []
    for line in body.splitlines():
        line = line.strip()
        if not line.startswith("advantage "):
            continue
        command, _, comment = line.partition("  #")
        status = re.search(r"\bexit (\d+)", comment)
        printed = re.search(r'prints "([^"]+)"', comment)
        out.append(
            (
                shlex.split(command)[1:],
                int(status.group(1)) if status else 0,
                printed.group(1) if printed else None,
            )
        )
    return out


def test_tutorial_has_every_step():
    langs = [lang for lang, _, _ in blocks()]
    assert langs.count("python") >= 3 and langs.count("bash") >= 6 and langs.count("toml") == 2
    argv = [" ".join(a) for _, body, _ in blocks() for a, _, _ in commands(body)]
    for verdict in ("consistent", "algorithm", "assumption:prf", "inconclusive"):
        assert any(f'"verdict: {verdict}"' in body for _, body, _ in blocks()), verdict
    assert any(a.startswith("check my-ctr.toml --symbolic") for a in argv)
    assert any(a.startswith("explain ") for a in argv) and any(a.startswith("run ") for a in argv)


@pytest.mark.slow
def test_tutorial_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "tutorial"}
    for index, (lang, body, file) in enumerate(blocks()):
        if lang == "toml" and file:
            (tmp_path / file).write_text(body, encoding="utf-8")
        elif lang == "python":
            exec(compile(body, f"docs/tutorial.md (block {index + 1})", "exec"), namespace)
        elif lang == "bash":
            for argv, status, printed in commands(body):
                capsys.readouterr()
                got = main(argv)
                out = capsys.readouterr()
                assert got == status, f"advantage {' '.join(argv)}: exit {got}\n{out.err}"
                if printed:
                    assert printed in " ".join(out.out.split()), f"advantage {' '.join(argv)}"
