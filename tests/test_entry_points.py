"""Every entry point in setup.cfg loads, under the name its decorator registers."""

from __future__ import annotations

import configparser
import importlib
import inspect
import pathlib
import re

import pytest

from games.registry import ADVERSARIES, GAMES

ROOT = pathlib.Path(__file__).resolve().parent.parent
REGISTRIES = {"advantage.games": GAMES, "advantage.adversaries": ADVERSARIES}


def _declared() -> list[tuple[str, str, str]]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    out = []
    for group, lines in config["options.entry_points"].items():
        if not group.startswith("advantage."):
            continue
        for line in lines.strip().splitlines():
            name, _, target = (part.strip() for part in line.partition("="))
            out.append((group, name, target))
    return out


DECLARED = _declared()


def test_setup_cfg_declares_games_and_adversaries():
    groups = {group for group, _, _ in DECLARED}
    assert {"advantage.games", "advantage.adversaries"} <= groups
    assert groups <= {*REGISTRIES, "advantage.proofs", "advantage.quantities"}


@pytest.mark.parametrize(("group", "name", "target"), DECLARED, ids=[d[1] for d in DECLARED])
def test_each_entry_point_loads_under_its_registered_name(group, name, target):
    if group == "advantage.proofs":  # a package of proof files
        assert importlib.import_module(target).__path__
        return
    module, _, attribute = target.partition(":")
    if module.split(".")[1] in {"privacy", "representations", "unlearning"}:
        pytest.importorskip("torch")
    cls = getattr(importlib.import_module(module), attribute)
    registry = REGISTRIES.get(group)
    if registry is None:  # advantage.quantities: a function
        assert callable(cls)
        return
    # Importing the module ran its decorator: the entry now holds the class itself, under
    # the same name. A decorator with another name leaves the entry point's text here.
    entry = registry.entry(name)
    assert entry.target is cls, f"{target} registers as {registry.name_of(cls)!r}, not {name!r}"
    registered = [e.name for e in registry.entries() if e.target is cls]
    assert registered == [name]


@pytest.mark.parametrize(
    ("group", "name"),
    [(g, n) for g, n, _ in DECLARED if g in REGISTRIES],
    ids=[d[1] for d in DECLARED if d[0] in REGISTRIES],
)
def test_each_summary_is_the_whole_first_paragraph_of_its_docstring(group, name):
    entry = REGISTRIES[group].entry(name)
    summary = entry.summary
    if summary.startswith("unavailable: needs"):
        pytest.skip(summary)
    first = re.split(r"\n\s*\n", inspect.cleandoc(entry.load().__doc__ or ""))[0]
    # `advantage list` shows this as a description: never a sentence cut at a line break.
    assert summary == " ".join(first.split())
    assert summary.endswith((".", "?", "!", ")")), summary
