"""Running a Markdown document as written: its files, Python blocks and `advantage` commands.

Shared by the tests of docs/tutorial.md, docs/robustness.md and docs/jailbreak.md. A command's trailing comment
may say `exit N` (the exit status it must have; 0 otherwise) and `prints "TEXT"` (text its
standard output must contain, whitespace collapsed). A block preceded by
`<!-- file: NAME -->` is written to NAME in the working directory.
"""

from __future__ import annotations

import pathlib
import re
import shlex

from advantage.cli import main

BLOCK = re.compile(
    r"(?:<!-- file: (?P<file>[\w.-]+) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)```", re.S
)


def blocks(path: pathlib.Path) -> list[tuple[str, str, str | None]]:
    """(language, body, file name) of every fenced block, in order."""
    text = path.read_text(encoding="utf-8")
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


def run_document(path: pathlib.Path, directory: pathlib.Path, capsys) -> None:
    """Run every block of ``path`` in order, in ``directory`` (the caller's cwd)."""
    namespace: dict = {"__name__": path.stem}
    for index, (lang, body, file) in enumerate(blocks(path)):
        if file:  # a file the commands read (a proof, a module for --import)
            (directory / file).write_text(body, encoding="utf-8")
        elif lang == "python":
            exec(compile(body, f"{path.name} (block {index + 1})", "exec"), namespace)
        elif lang == "bash":
            for argv, status, printed in commands(body):
                capsys.readouterr()
                got = main(argv)
                out = capsys.readouterr()
                assert got == status, f"advantage {' '.join(argv)}: exit {got}\n{out.err}"
                if printed:
                    assert printed in " ".join(out.out.split()), f"advantage {' '.join(argv)}"


def verdicts_shown(path: pathlib.Path) -> set[str]:
    """The verdicts the document's commands expect (``prints "verdict: V"``)."""
    return {
        printed.removeprefix("verdict: ")
        for _, body, _ in blocks(path)
        for _, _, printed in commands(body)
        if printed and printed.startswith("verdict: ")
    }


def run_in(path: pathlib.Path, directory: pathlib.Path, monkeypatch, capsys, modules=()) -> None:
    """:func:`run_document` in ``directory``, forgetting the modules it imports (``modules``)."""
    import sys

    monkeypatch.chdir(directory)
    monkeypatch.setattr(sys, "path", [*sys.path])
    try:
        run_document(path, directory, capsys)
    finally:
        for name in modules:
            sys.modules.pop(name, None)
