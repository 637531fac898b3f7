"""Where trained and converted models live: one cache directory, entries built once under a lock.

The root is ``$ADVANTAGE_CACHE`` when set, else the platform's user cache directory
(``platformdirs.user_cache_dir("advantage")``), with language models under ``lm/``. An
entry is a directory named by what it holds and a hash of everything it was built from
(``tiny-3f2a…``); :func:`build` writes it into a temporary sibling and renames it into
place under a file lock, so two processes (two pytest-xdist workers, say) that ask for the
same entry build it once, and a crash never leaves half an entry behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["ENV", "build", "digest", "entries", "has", "remove", "root"]

#: Environment variable that moves the cache (tests point it at a temporary directory).
ENV = "ADVANTAGE_CACHE"
_DONE = "entry.json"


def root() -> pathlib.Path:
    """The language-model cache directory (not created)."""
    base = os.environ.get(ENV)
    if not base:
        import platformdirs

        base = platformdirs.user_cache_dir("advantage")
    return pathlib.Path(base) / "lm"


def digest(*parts: Any) -> str:
    """A short hash of JSON-serialisable parts (the key of a cache entry)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _lock(path: pathlib.Path) -> Any:
    from filelock import FileLock

    return FileLock(str(path) + ".lock")


def has(name: str) -> bool:
    """Whether the entry ``name`` is built (without building it)."""
    return (root() / name / _DONE).exists()


def build(
    name: str, make: Callable[[pathlib.Path], Mapping[str, Any]], *, rebuild: bool = False
) -> pathlib.Path:
    """The entry ``name``, built by ``make(directory)`` if it is not there yet.

    ``make`` writes the entry's files into the directory it is given and returns a small
    JSON-serialisable description, stored beside them as ``entry.json``. ``rebuild``
    replaces an existing entry.
    """
    base = root()
    base.mkdir(parents=True, exist_ok=True)
    target = base / name
    with _lock(target):
        if (target / _DONE).exists() and not rebuild:
            return target
        work = pathlib.Path(tempfile.mkdtemp(prefix=f".{name}-", dir=base))
        try:
            info = dict(make(work))
            (work / _DONE).write_text(json.dumps({"name": name, **info}, indent=2, default=str))
            if target.exists():
                shutil.rmtree(target)
            work.rename(target)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    return target


def entries() -> Iterator[dict[str, Any]]:
    """Every complete entry's description, with its ``path`` and ``bytes`` on disk."""
    base = root()
    if not base.is_dir():
        return
    for path in sorted(base.iterdir()):
        done = path / _DONE
        if not path.is_dir() or not done.exists():
            continue
        try:
            info = json.loads(done.read_text())
        except (OSError, ValueError):
            info = {"name": path.name, "error": "entry.json cannot be read"}
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        yield {**info, "path": str(path), "bytes": size}


def remove(prefix: str = "") -> list[str]:
    """Delete the entries whose name starts with ``prefix`` (all when empty); their names."""
    base = root()
    if not base.is_dir():
        return []
    removed = []
    for path in sorted(base.iterdir()):
        # Hidden directories are entries being built by another process: left alone.
        if not path.is_dir() or path.name.startswith(".") or not path.name.startswith(prefix):
            continue
        with _lock(path):
            shutil.rmtree(path, ignore_errors=True)
        pathlib.Path(str(path) + ".lock").unlink(missing_ok=True)
        removed.append(path.name)
    return removed
