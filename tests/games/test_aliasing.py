"""An object shared by the adversary and the challenger must not move a trial's outcome:
every cheat in ``tests/alias_cheaters.py``, on every path the game plays."""

from __future__ import annotations

import pytest
from alias_cheaters import Rewrites

import games
from games.crypto.games import EufCMA

PATHS = {
    "trial": {"batched": False},
    "batch": {"batched": True, "chunk_size": 256},
    "process": {"batched": False, "backend": "process", "workers": 2},
    "process-batch": {"batched": True, "backend": "process", "workers": 2, "chunk_size": 256},
    "isolate": {"isolate": True},
}


@pytest.mark.parametrize("path", list(PATHS))
def test_changing_a_queried_message_afterwards_forges_nothing(path: str) -> None:
    # The batched challenger kept the query array as its record of the messages asked.
    trials = 20 if path == "isolate" else 512
    result = games.estimate(EufCMA(), Rewrites(), trials=trials, seed=0, **PATHS[path])
    assert result.wins == 0 and result.error_count == 0, result
