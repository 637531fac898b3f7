"""An object shared by the adversary and the challenger must not move a trial's outcome:
every cheat in ``tests/alias_cheaters.py``, on every path the game plays."""

from __future__ import annotations

import pytest
from alias_cheaters import EqualInsideObjects, Rewrites, SaysYes
from cheaters import GuessTheSecret

import games
from games.crypto.games import EufCMA
from games.synthetic import Lottery

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


@pytest.mark.parametrize("path", list(PATHS))
def test_an_array_of_objects_is_rebuilt_of_inert_values(path: str) -> None:
    # Its int subclass, equal to everything, was compared with the secret by its own __eq__.
    trials = 20 if path == "isolate" else 512
    result = games.estimate(
        GuessTheSecret(), EqualInsideObjects(), trials=trials, seed=0, **PATHS[path]
    )
    assert result.wins <= 2, result  # a guess of 7 hits a 16-bit secret 1 time in 65,536
    # An array of objects is no plain data: an isolated adversary cannot send it at all.
    assert result.error_count == (trials if path == "isolate" else 0), result.first_error


@pytest.mark.parametrize("path", list(PATHS))
def test_the_lottery_takes_integers_only(path: str) -> None:
    # It compared any answer with its secret, so an object equal to everything won.
    trials = 20 if path == "isolate" else 512
    result = games.estimate(Lottery(p=0.0), SaysYes(), trials=trials, seed=0, **PATHS[path])
    assert result.wins == 0 and result.error_count == trials, result
    if path != "isolate":  # isolated, the object never leaves the adversary's process
        assert result.errors == {"invalid-answer": trials}, result.errors
