"""Run logs: one JSON line describing the run, then one line per finished chunk.

A chunk's line is written (and flushed to disk) only after the chunk is complete, so a run
killed at any moment loses at most the chunks in flight. On resume a torn last line is cut
off, the spec must match the run being resumed, and only the missing trials are played.

A log is checked whenever it is read: every line carries ``chain``, a BLAKE2b hash of the
line before it and of its own content, so an edited, inserted or reordered line breaks the
chain and is named by number; every chunk's counts must be possible (``0 ≤ wins ≤ trials``,
trials = the chunk's range less its challenger failures, ranges in order and inside the
run, no trial twice). The chain catches edits, not forgers: anyone can recompute it, so a
log is evidence of what a run printed, not a signature. While a run writes its log it holds
an exclusive lock on it, so a second ``--resume`` of the same log is refused.

A per-trial run may be extended by resuming it with more trials (trial *i* is the same trial
whatever the run's length): an ``extend`` line records the new length. A batched run may
only be extended from a multiple of its chunk size, since a batch's coins depend on its
bounds.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import attrs
import numpy as np

from games.engine.records import ERROR_KINDS, Tally, describe_adversary, plain
from games.registry import name_of
from oracles import InvalidArgument

try:
    import fcntl
except ImportError:  # not POSIX: no lock, and the docs say so
    fcntl = None  # type: ignore[assignment]

__all__ = ["FORMAT", "RunLog", "RunLogError", "logged_seed", "played", "read", "spec_of"]

FORMAT = 2
# What must agree for a log to continue a run: the same trials would be played, under the
# same rules (an adversary in its own process cannot read what an in-process one can, and
# a trial timeout turns slow trials into losses).
IDENTITY = (
    "game", "params", "adversary", "adversary_params", "seed", "batched", "chunk_size",
    "isolate", "trial_timeout",
)  # fmt: skip
# What a log written before a key was recorded was played with: the run's default.
_BEFORE = {"isolate": False, "trial_timeout": None}
# How the run was reported: a resumed run reports as its log says (`show` may report otherwise).
REPORTED = ("level", "method")
PLAYED = ("game", "params", "adversary", "adversary_params")
SHAPES = ("hidden-bit", "real-vs-ideal", "search")
_GENESIS = b"advantage run log"
# How every spec line starts (``spec_of`` puts "kind" first), and the longest a spec line's
# torn start may be: a run's parameters are small.
_SPEC_START = b'{"kind": "spec"'
_HEAD = 1 << 20


class RunLogError(InvalidArgument):
    """A run log that cannot be used: missing, unreadable, edited, impossible, or in use."""


@functools.cache
def _version() -> str:
    """This package's installed version: read once, as reading the metadata costs about a
    millisecond, which every run (``estimate`` builds a spec even without a log) paid."""
    from importlib import metadata

    try:
        return metadata.version("advantage")
    except metadata.PackageNotFoundError:
        return "unknown"


def played(spec: Mapping[str, Any]) -> dict[str, Any]:
    """What a record of the run says was played: the game and the adversary, each with its
    parameters, and the seed (the fields every record of a run starts from)."""
    return {key: spec[key] for key in PLAYED} | {"seed": int(spec["seed"])}


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
    isolate: bool = False,
    trial_timeout: float | None = None,
) -> dict[str, Any]:
    """The spec line of a run: what was played, with which seed, under which rules, by
    which software."""
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
        "isolate": bool(isolate),
        "trial_timeout": None if trial_timeout is None else float(trial_timeout),
        "versions": {
            "advantage": _version(),
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
    }


def _body(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


def _link(previous: bytes, record: Mapping[str, Any]) -> str:
    return hashlib.blake2b(previous + _body(record), digest_size=16).hexdigest()


def _line(previous: bytes, record: Mapping[str, Any]) -> tuple[str, bytes]:
    """The text of a log line for ``record``, and the chain value the next line starts from."""
    chain = _link(previous, record)
    return json.dumps({**record, "chain": chain}) + "\n", chain.encode()


def _path(log: str | Path) -> Path:
    if not str(log).strip():
        raise RunLogError("log='' must be a file path")
    return Path(log)


def _oserror(path: Path, error: OSError) -> RunLogError:
    why = error.strerror or type(error).__name__
    return RunLogError(f"cannot use the run log {path}: {why}")


@attrs.define
class RunLog:
    """An open run log that chunks are appended to (locked while it is open)."""

    path: Path
    spec: dict[str, Any]
    tallies: list[Tally]
    _file: IO[str]
    _chain: bytes

    @classmethod
    def open(cls, path: str | Path, spec: dict[str, Any], *, resume: bool) -> RunLog:
        """Start a log at ``path``, or continue the run it records (``resume``)."""
        path = _path(path)
        try:
            return cls._open(path, spec, resume)
        except OSError as error:
            raise _oserror(path, error) from None

    @classmethod
    def _open(cls, path: Path, spec: dict[str, Any], resume: bool) -> RunLog:
        if path.is_dir():
            raise RunLogError(f"the run log {path} is a directory; give a file path")
        if not path.parent.is_dir():
            raise RunLogError(f"cannot write the run log {path}: no directory {path.parent}")
        if not resume:
            return cls._start(path, spec)
        if not path.exists() or _unstarted(path):
            raise RunLogError(
                f"cannot resume {path}: it holds no run yet; drop --resume to start the run in it"
            )
        handle = path.open("r+")
        _lock(handle, path)
        try:
            # As bytes, as `read` parses them: a torn line may end inside a character, and
            # the offsets below are byte offsets.
            contents = _parse(path, bytes(handle.buffer.read()))
            old = contents.spec
            _check_same_run(path, old, spec)
            handle.seek(contents.keep)
            handle.truncate()  # drop a torn last line
            chain = contents.chain
            logged, wanted = old["trials"], spec["trials"]
            if wanted != logged:
                _check_extension(path, old, logged, wanted)
                text, chain = _line(chain, {"kind": "extend", "trials": wanted})
                handle.write(text)
                _sync(handle)
        except BaseException:
            handle.close()
            raise
        return cls(path, {**old, "trials": wanted}, contents.tallies, handle, chain)

    @classmethod
    def _start(cls, path: Path, spec: dict[str, Any]) -> RunLog:
        """A new log at ``path``: a missing or empty file, or one whose spec line was cut
        short (the run died before it logged anything, so nothing counted is lost)."""
        handle = path.open("a+")  # not "w": nothing is cut before the lock is held
        _lock(handle, path)
        try:
            if not _unstarted(path):
                with path.open("rb") as peek:
                    ours = peek.read(len(_SPEC_START)) == _SPEC_START
                raise RunLogError(
                    f"log {path} already holds a run: pass --resume to continue it, or choose "
                    "another path"
                    if ours
                    else f"{path} is not a run log (its first line is no run's spec); choose "
                    "another path for the log, or delete the file"
                )
            if path.is_file():
                handle.truncate(0)
            text, chain = _line(_GENESIS, spec)
            handle.write(text)
            _sync(handle)
        except BaseException:
            handle.close()
            raise
        return cls(path, spec, [], handle, chain)

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
        text, self._chain = _line(self._chain, {"kind": "chunk", **tally.to_json()})
        try:
            self._file.write(text)
            _sync(self._file)
        except OSError as error:
            raise _oserror(self.path, error) from None
        self.tallies.append(tally)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()


def _unstarted(path: Path) -> bool:
    """Whether the file at ``path`` holds no run: it is empty, or holds only the start of a
    spec line (a run that died while writing its first line, before any trial was logged).
    A file whose one line merely lacks its newline, or that is not a log, holds something."""
    if not path.is_file():  # a device such as /dev/null: written to as before
        return path.stat().st_size == 0
    with path.open("rb") as file:
        head = file.read(_HEAD + 1)
    if b"\n" in head or len(head) > _HEAD:
        return False
    return _SPEC_START.startswith(head) or head.startswith(_SPEC_START)


def _check_same_run(path: Path, old: Mapping[str, Any], spec: Mapping[str, Any]) -> None:
    """Refuse to continue a log whose trials were played otherwise, or reported otherwise."""

    def logged(key: str) -> Any:
        return old.get(key, _BEFORE.get(key))

    mismatched = [key for key in IDENTITY if logged(key) != spec.get(key)]
    if mismatched:
        detail = "; ".join(
            f"{k}: log has {logged(k)!r}, run has {spec.get(k)!r}" for k in mismatched
        )
        raise RunLogError(
            f"cannot resume {path}: it records a different run ({detail}); resume with the "
            "log's settings, or start a new log"
        )
    for key in REPORTED:
        if old.get(key) != spec.get(key):
            raise RunLogError(
                f"cannot resume {path} with {key}={spec.get(key)!r}: its run reports at "
                f"{key}={old.get(key)!r}; resume with --{key} {old.get(key)}, and see the "
                f"result at another {key} with `advantage show {path} --{key} {spec.get(key)}`"
            )


def _check_extension(path: Path, spec: Mapping[str, Any], logged: int, wanted: int) -> None:
    if wanted < logged:
        raise RunLogError(
            f"cannot resume {path} with trials={wanted}: it records a run of {logged} trials; "
            "resume with at least that many"
        )
    size = spec.get("chunk_size")
    if spec.get("batched") and size and logged % size:
        raise RunLogError(
            f"cannot extend {path} from {logged} to {wanted} trials: its batches of {size} "
            f"trials would not be those of a {wanted}-trial run; resume with trials={logged}, "
            "or start a new log"
        )


def _lock(handle: IO[str], path: Path) -> None:
    if fcntl is None:
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise RunLogError(
            f"the run log {path} is in use by another run; wait for it to finish or choose "
            "another log"
        ) from None


def _sync(handle: IO[str]) -> None:
    handle.flush()
    os.fsync(handle.fileno())


@attrs.frozen
class _Contents:
    spec: dict[str, Any]
    tallies: list[Tally]
    keep: int  # bytes of the intact part of the file
    chain: bytes


def _parse(path: Path, data: bytes) -> _Contents:
    """The spec (with any extension), the chunks, the intact length and the chain's end."""
    lines = data.split(b"\n")
    # A line without its newline at the end of the file was being written when the run died.
    complete = lines[:-1]
    if not complete:
        if _SPEC_START.startswith(data) or data.startswith(_SPEC_START):
            raise RunLogError(
                f"{path} holds no run yet: its run stopped while writing its first line, "
                "before any trial was logged; a run with --log (no --resume) starts afresh in it"
            )
        raise RunLogError(f"{path} is not a run log: it has no complete spec line")
    try:
        spec = json.loads(complete[0])
    except (ValueError, RecursionError):
        raise RunLogError(f"{path} is not a run log: its first line is not JSON") from None
    if not isinstance(spec, dict) or spec.get("kind") != "spec":
        raise RunLogError(f"{path} is not a run log: its first line is not a spec")
    if spec.get("format") != FORMAT:
        raise RunLogError(
            f"{path} has log format {spec.get('format')!r}; this version reads {FORMAT}"
            " (hash-chained logs); rerun to make a new log"
        )
    chain = _verify(path, 1, _GENESIS, spec)
    _check_spec(path, spec)
    trials = spec["trials"]
    tallies: list[Tally] = []
    keep = len(complete[0]) + 1
    seen: list[tuple[int, int]] = []
    for number, line in enumerate(complete[1:], start=2):
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            if number == len(complete):
                break  # a damaged last line is a torn write; it is replayed
            raise RunLogError(f"{path}, line {number}: not JSON") from None
        chain = _verify(path, number, chain, record)
        if record.get("kind") == "extend":
            extended = record.get("trials")
            if not _count(extended) or extended <= trials:
                raise RunLogError(f"{path}, line {number}: an extension must add trials")
            trials = extended
        else:
            tally = _tally(path, number, record, spec["shape"], trials)
            for start, stop in tally.ranges:
                if any(a < stop and start < b for a, b in seen):
                    raise RunLogError(
                        f"{path}, line {number}: trials {start}-{stop - 1} are logged twice"
                    )
                seen.append((start, stop))
            tallies.append(tally)
        keep += len(line) + 1
    return _Contents({**spec, "trials": trials}, tallies, keep, chain)


def _verify(path: Path, number: int, previous: bytes, record: Any) -> bytes:
    if not isinstance(record, dict) or not isinstance(record.get("chain"), str):
        raise RunLogError(f"{path}, line {number}: not a log record (no chain)")
    given = record.pop("chain")
    if given != _link(previous, record):
        raise RunLogError(
            f"{path}, line {number}: the log was edited here (its hash chain breaks); "
            "a log is read only as its run wrote it"
        )
    return given.encode()


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_spec(path: Path, spec: Mapping[str, Any]) -> None:
    def bad(key: str, why: str) -> RunLogError:
        return RunLogError(f"{path}, line 1: {key}={spec.get(key)!r} {why}")

    for key in ("game", "adversary", "method"):
        if not isinstance(spec.get(key), str):
            raise bad(key, "must be a string")
    for key in ("params", "adversary_params"):
        if not isinstance(spec.get(key), dict):
            raise bad(key, "must be a table")
    if spec.get("shape") not in SHAPES:
        raise bad("shape", f"must be one of: {', '.join(SHAPES)}")
    baseline = spec.get("baseline")
    if not isinstance(baseline, int | float) or not 0 <= baseline <= 1:
        raise bad("baseline", "must be a number in [0, 1]")
    if spec["shape"] != "search" and baseline != 0.5:
        raise bad("baseline", f"must be 0.5 for a {spec['shape']} game")
    if not _count(spec.get("seed")):
        raise bad("seed", "must be a non-negative integer")
    if not _count(spec.get("trials")) or spec["trials"] == 0:
        raise bad("trials", "must be a positive integer")
    if not isinstance(spec.get("batched"), bool):
        raise bad("batched", "must be true or false")
    size = spec.get("chunk_size")
    if size is not None and (not _count(size) or size == 0):
        raise bad("chunk_size", "must be a positive integer or null")
    level = spec.get("level")
    if not isinstance(level, int | float) or not 0 < level < 1:
        raise bad("level", "must be in (0, 1)")
    if not isinstance(spec.get("isolate", False), bool):
        raise bad("isolate", "must be true or false")
    timeout = spec.get("trial_timeout")
    if timeout is not None and (
        not isinstance(timeout, int | float) or isinstance(timeout, bool) or not timeout > 0
    ):
        raise bad("trial_timeout", "must be a positive number of seconds or null")


def _tally(path: Path, number: int, record: Mapping[str, Any], shape: str, trials: int) -> Tally:
    """A chunk's tally, if every count in it is possible."""

    def bad(why: str) -> RunLogError:
        return RunLogError(f"{path}, line {number}: impossible chunk: {why}")

    if record.get("kind") != "chunk":
        raise bad(f"kind={record.get('kind')!r} is not a chunk")
    try:
        tally = Tally.from_json(record)
    except (KeyError, TypeError, ValueError, IndexError, OverflowError):  # inf is no count
        raise bad("fields missing or of the wrong type") from None
    if not tally.ranges:
        raise bad("no trials")
    at = 0
    for pair in tally.ranges:
        if len(pair) != 2 or not all(_count(v) for v in pair):
            raise bad(f"range {list(pair)} is not two non-negative integers")
        start, stop = pair
        if not at <= start < stop <= trials:
            raise bad(
                f"range {start}-{stop} is empty, out of order or beyond the run's {trials} trials"
            )
        at = stop
    counts = {"wins": tally.wins, "trials": tally.trials, **tally.queries}
    counts |= {f"errors[{k}]": v for k, v in tally.errors.items()}
    for key, value in counts.items():
        if not _count(value):
            raise bad(f"{key}={value!r} is not a non-negative integer")
    unknown = set(tally.errors) - set(ERROR_KINDS)
    if unknown:
        raise bad(f"unknown error kinds {sorted(unknown)}")
    span = sum(b - a for a, b in tally.ranges)
    if tally.trials != span - tally.errors.get("game-failed", 0):
        raise bad(f"trials={tally.trials} is not its {span} trials less the challenger's failures")
    if tally.wins > tally.trials:
        raise bad(f"wins={tally.wins} exceeds trials={tally.trials}")
    lost = sum(v for k, v in tally.errors.items() if k != "game-failed")
    if lost > tally.trials:
        raise bad(f"{lost} lost trials exceed trials={tally.trials}")
    if len(tally.real) != 2 or len(tally.ideal) != 2:
        raise bad("the worlds' counts are not pairs")
    (rn, r1), (i_n, i1) = tally.real, tally.ideal
    if not all(_count(v) for v in (rn, r1, i_n, i1)) or r1 > rn or i1 > i_n:
        raise bad("the worlds' counts are not possible")
    if shape == "real-vs-ideal":
        if rn + i_n != tally.trials or tally.wins != r1 + i_n - i1:
            raise bad("the worlds' counts do not add up to the chunk's trials and wins")
    elif rn or i_n:
        raise bad(f"a {shape} game has no worlds")
    if (
        not isinstance(tally.seconds, float)
        or not math.isfinite(tally.seconds)
        or tally.seconds < 0
    ):
        raise bad("seconds is not a non-negative number")
    if tally.first_error is not None and not any(
        a <= tally.first_error[0] < b for a, b in tally.ranges
    ):
        raise bad("its first error is not one of its trials")
    return tally


def logged_seed(log: str | Path) -> int | None:
    """The seed of the run a log records: the only seed that can resume it. None where the
    file holds no run (resuming it is then refused as such)."""
    path = _path(log)
    try:
        if not path.is_file() or _unstarted(path):
            return None
    except OSError:
        return None  # opening the log says why it cannot be used
    return int(read(path)[0]["seed"])


def read(path: str | Path) -> tuple[dict[str, Any], Tally]:
    """A log's spec and the sum of its complete chunks (for `advantage show`)."""
    path = _path(path)
    try:
        if path.is_dir():
            raise RunLogError(f"{path} is a directory, not a run log")
        if not path.exists():
            raise RunLogError(f"no run log at {path}")
        contents = _parse(path, path.read_bytes())
    except OSError as error:
        raise _oserror(path, error) from None
    total = Tally(ranges=())
    for tally in contents.tallies:
        total = total + tally
    return contents.spec, total
