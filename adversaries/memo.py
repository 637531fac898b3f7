"""Memoising an adversary's costly preparation (shadow models, calibration runs).

An attack such as LiRA trains its shadow models once for a game and reuses them in every
trial; the key names the attack, its knobs and the game, all frozen and hashable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["cached"]

_CACHE: dict[Any, Any] = {}
_LOCK = threading.Lock()
_LIMIT = 64


def cached(key: Any, compute: Callable[[], Any]) -> Any:
    """``compute()``, or its value from an earlier call with the same key."""
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    value = compute()  # outside the lock: preparations may take minutes
    with _LOCK:
        if len(_CACHE) >= _LIMIT:
            _CACHE.clear()
        _CACHE[key] = value
    return value
