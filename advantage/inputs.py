"""What `advantage report` reads: run logs and the `--json` outputs of the commands.

:func:`load` recognises a file's kind from its content (never from its name): a run log
starts with a spec line; a `--json` output is one JSON object whose keys say which command
wrote it. Anything else is refused with a one-line :class:`oracles.InvalidArgument`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from oracles import InvalidArgument

__all__ = ["KINDS", "Input", "kind_of", "load"]

#: The kinds of input, and the keys each must have (checked in this order: the first match
#: wins, so a kind whose keys include another's comes first).
KINDS: dict[str, tuple[str, ...]] = {
    "tour": ("rows", "family_level", "level"),
    "certify": ("decision", "eps", "alpha", "trials", "ci_low", "ci_high", "seed"),
    "sweep": ("points", "budget", "game", "adversary", "seed"),
    "audit": ("epsilon_lower", "tpr_at_fpr", "claimed", "advantage", "seed"),
    "one-run-audit": ("canaries", "guesses", "correct", "epsilon", "claimed_epsilon", "seed"),
    "check": ("proof",),
    "ensemble": ("adversaries", "correction", "game", "trials", "seed"),
    "run": ("game", "adversary", "trials", "wins", "advantage", "ci_low", "ci_high", "level"),
}
# Keys that identify a kind before its full key set is checked (to say what is missing).
_MARKS: dict[str, str] = {
    "tour": "family_level",
    "certify": "decision",
    "sweep": "points",
    "audit": "epsilon_lower",
    "one-run-audit": "canaries",
    "ensemble": "adversaries",
}

WHAT = "a run log or the --json output of run, certify, sweep, check, audit or tour"


@attrs.frozen(kw_only=True)
class Input:
    """One input of a report.

    Attributes:
        path: the file as given.
        kind: one of :data:`KINDS`, or ``run-log``.
        data: the JSON object (for a run log: the estimate it supports, as
            ``Estimate.to_json()``, plus its ``spec``).
    """

    path: str
    kind: str
    data: Mapping[str, Any]

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def version(self) -> str | None:
        """The package version that wrote the input, when it says."""
        if self.kind == "run-log":
            return self.data["spec"].get("versions", {}).get("advantage")
        value = self.data.get("version")
        return value if isinstance(value, str) else None

    @property
    def command(self) -> str | None:
        """The command that wrote the input, exactly as recorded, when it was recorded."""
        value = self.data.get("command")
        return value if isinstance(value, str) else None


def kind_of(data: Any) -> str | None:
    """The kind of a decoded `--json` output, or None when it is none of :data:`KINDS`."""
    if not isinstance(data, dict):
        return None
    for kind, keys in KINDS.items():
        if kind == "check":
            if "proof" in data and ("verdicts" in data or "symbolic" in data):
                return kind
            continue
        if all(key in data for key in keys):
            return kind
    return None


def _missing(data: dict[str, Any]) -> str | None:
    """For an object that carries a kind's mark but not all its keys: what it lacks."""
    for kind, mark in _MARKS.items():
        if mark in data:
            lacking = [key for key in KINDS[kind] if key not in data]
            return f"looks like {kind} output but lacks {', '.join(lacking)}"
    return None


def _run_log(path: str) -> Input:
    from advantage.run import read_log

    spec, estimate = read_log(path)
    return Input(path=path, kind="run-log", data={**estimate.to_json(), "spec": spec})


def load(path: str | Path) -> Input:
    """Read one input and recognise its kind.

    Raises:
        InvalidArgument: one line naming the file, when it is missing, unreadable, or not
            :data:`WHAT`.
    """
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidArgument(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else "not text"
        raise InvalidArgument(f"{path}: cannot be read ({reason})") from None
    refusal = f"{path}: not {WHAT}"
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise InvalidArgument(f"{path}: empty, not {WHAT}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if data is None:
        try:
            first = json.loads(lines[0])
        except json.JSONDecodeError:
            raise InvalidArgument(refusal) from None
        if isinstance(first, dict) and first.get("kind") == "spec":
            try:
                return _run_log(path)
            except InvalidArgument as error:
                raise InvalidArgument(f"{path}: {_oneline(str(error), path)}") from None
        raise InvalidArgument(refusal)
    if isinstance(data, dict) and data.get("kind") == "spec":  # a run log of one line
        try:
            return _run_log(path)
        except InvalidArgument as error:
            raise InvalidArgument(f"{path}: {_oneline(str(error), path)}") from None
    kind = kind_of(data)
    if kind is None:
        lacking = _missing(data) if isinstance(data, dict) else None
        raise InvalidArgument(f"{path}: {lacking}" if lacking else refusal)
    return Input(path=path, kind=kind, data=data)


def _oneline(message: str, path: str) -> str:
    """A run log's error on one line, without the path it already starts with."""
    text = " ".join(message.split())
    if text.startswith(path):
        text = text[len(path) :].lstrip(" ,:")
    return text
