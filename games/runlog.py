"""Run logs: one JSON line describing the run, then one line per finished chunk.

A chunk's line is written (and flushed to disk) only after the chunk is complete, so a run
killed at any moment loses at most the chunks in flight. On resume a torn last line is cut
off, the spec must match the run being resumed, and only the missing trials are played.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import attrs
import numpy as np

from games.engine import Tally, describe_adversary, plain
from games.registry import name_of
from oracles import InvalidArgument

__all__ = ["FORMAT", "RunLog", "read", "spec_of"]

FORMAT = 1
# What must agree for a log to continue a run: the same trials would be played.
IDENTITY = ("game", "params", "adversary", "adversary_params", "seed", "batched", "chunk_size")


def spec_of(
    game: Any,
    adversary: Any,
    *,
    trials: int,
    seed: int,
    batched: bool,
    chunk_size: int | None,
    level: float = 0.95,
    method: str = "clopper-pearson",
) -> dict[str, Any]:
    """The spec line of a run: what was played, with which seed, by which software."""
    from importlib import metadata

    try:
        version = metadata.version("advantage")
    except metadata.PackageNotFoundError:
        version = "unknown"
    adversary_name, adversary_params = describe_adversary(adversary)
    return {
        "kind": "spec",
        "format": FORMAT,
        "game": name_of(game),
        "params": plain(game.describe()),
        "shape": game.shape,
        "baseline": float(game.baseline),
        "adversary": adversary_name,
        "adversary_params": plain(adversary_params),
        "seed": int(seed),
        "trials": int(trials),
        "level": level,  # how the run was reported; `show` may report it otherwise
        "method": method,
        "batched": bool(batched),
        # The batched path's randomness depends on chunk bounds; the per-trial path's does not.
        "chunk_size": chunk_size if batched else None,
        "versions": {
            "advantage": version,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
    }


@attrs.define
class RunLog:
    """An open run log that chunks are appended to."""

    path: Path
    spec: dict[str, Any]
    tallies: list[Tally]
    _file: IO[str]

    @classmethod
    def open(cls, path: Path, spec: dict[str, Any], *, resume: bool) -> RunLog:
        if path.exists() and path.stat().st_size > 0:
            if not resume:
                raise InvalidArgument(
                    f"log {path} already holds a run: pass --resume to continue it, or choose "
                    "another path"
                )
            old, tallies, keep = _read(path)
            mismatched = [key for key in IDENTITY if old.get(key) != spec.get(key)]
            if mismatched:
                detail = "; ".join(
                    f"{k}: log has {old.get(k)!r}, run has {spec.get(k)!r}" for k in mismatched
                )
                raise InvalidArgument(
                    f"cannot resume {path}: it records a different run ({detail})"
                )
            with path.open("r+") as handle:
                handle.truncate(keep)  # drop a torn last line
            handle = path.open("a")
        else:
            tallies = []
            handle = path.open("w")
            handle.write(json.dumps(spec) + "\n")
            _sync(handle)
        return cls(path, spec, tallies, handle)

    def missing(self, trials: int) -> list[tuple[int, int]]:
        """The ranges of ``[0, trials)`` that no logged chunk covers."""
        todo, at = [], 0
        for start, stop in sorted(r for t in self.tallies for r in t.ranges):
            if start > at:
                todo.append((at, min(start, trials)))
            at = max(at, stop)
        if at < trials:
            todo.append((at, trials))
        return [(a, b) for a, b in todo if a < b]

    def append(self, tally: Tally) -> None:
        self._file.write(json.dumps({"kind": "chunk", **tally.to_json()}) + "\n")
        _sync(self._file)
        self.tallies.append(tally)

    def close(self) -> None:
        self._file.close()


def _sync(handle: IO[str]) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _read(path: Path) -> tuple[dict[str, Any], list[Tally], int]:
    """The spec, the complete chunks, and the byte length of the intact part of the file."""
    data = path.read_bytes()
    lines = data.split(b"\n")
    # A line without its newline at the end of the file was being written when the run died.
    complete = lines[:-1]
    if not complete:
        raise InvalidArgument(f"{path} is not a run log: it has no complete spec line")
    try:
        spec = json.loads(complete[0])
    except json.JSONDecodeError:
        raise InvalidArgument(f"{path} is not a run log: its first line is not JSON") from None
    if not isinstance(spec, Mapping) or spec.get("kind") != "spec":
        raise InvalidArgument(f"{path} is not a run log: its first line is not a spec")
    if spec.get("format") != FORMAT:
        raise InvalidArgument(
            f"{path} has log format {spec.get('format')!r}; this version reads {FORMAT}"
        )
    tallies, keep = [], len(complete[0]) + 1
    seen: set[tuple[int, int]] = set()
    for number, line in enumerate(complete[1:], start=2):
        try:
            record = json.loads(line)
            tally = Tally.from_json(record)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            if number == len(complete):
                break  # a damaged last line is a torn write; it is replayed
            raise InvalidArgument(f"{path}, line {number}: not a chunk record") from None
        overlap = [r for r in tally.ranges if any(a < r[1] and r[0] < b for a, b in seen)]
        if overlap:
            raise InvalidArgument(f"{path}, line {number}: trials {overlap} are logged twice")
        seen.update(tally.ranges)
        tallies.append(tally)
        keep += len(line) + 1
    return dict(spec), tallies, keep


def read(path: str | Path) -> tuple[dict[str, Any], Tally]:
    """A log's spec and the sum of its complete chunks (for `advantage show`)."""
    path = Path(path)
    if not path.exists():
        raise InvalidArgument(f"no run log at {path}")
    spec, tallies, _ = _read(path)
    total = Tally(ranges=())
    for tally in tallies:
        total = total + tally
    return spec, total
