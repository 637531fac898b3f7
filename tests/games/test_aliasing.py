"""An object shared by the adversary and the challenger must not move a trial's outcome:
every cheat in ``tests/alias_cheaters.py``, on every path the game plays."""

from __future__ import annotations

import numpy as np
import pytest
from alias_cheaters import (
    Denoises,
    EqualInsideObjects,
    LabelParity,
    Relabels,
    Rewrites,
    SaysYes,
    StallsLearning,
)
from cheaters import GuessTheSecret

import games
from adversaries.privacy import LossThreshold
from games.crypto.games import EufCMA
from games.privacy.membership import Membership
from games.synthetic import Lottery
from games.unlearning.games import Unlearning

PATHS = {
    "trial": {"batched": False},
    "batch": {"batched": True, "chunk_size": 256},
    "process": {"batched": False, "backend": "process", "workers": 2},
    "process-batch": {"batched": True, "backend": "process", "workers": 2, "chunk_size": 256},
    "isolate": {"isolate": True},
}
# A cache that one trial changes for the next is a process's own: the trial and batch paths
# show it (the process backend's workers run the same code), isolation shows the adversary's
# process apart. Training a model per trial on five paths took minutes of CI.
CACHE_PATHS = ["trial", "batch", "isolate"]


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


def _three_runs(game: games.Game, honest: object, cheat: object, path: str) -> list[int]:
    """Wins of the honest attack, the cheat, then the honest attack again, in one process."""
    # Four chunks of 256 on the batched path; the others train a model per trial.
    trials = 1024 if "batch" in path else 20 if path == "isolate" else 40
    runs = [
        games.estimate(game, adversary, trials=trials, seed=0, **PATHS[path])
        for adversary in (honest, cheat, honest)
    ]
    assert all(run.error_count == 0 for run in runs), [run.first_error for run in runs]
    return [run.wins for run in runs]


@pytest.mark.parametrize("path", CACHE_PATHS)
def test_the_trainer_in_a_white_box_membership_model_is_not_the_schemes(path: str) -> None:
    # The model reply held the trainer a module-level cache keeps: turning off its noise
    # and clipping trained every later trial and run without them (0.17 -> 0.50 and 0.86).
    game = Membership(
        trainer="dp-sgd", noise_multiplier=4, target="mislabeled", training_size=64, device="cpu"
    )
    honest, cheat, again = _three_runs(game, LossThreshold(), Denoises(), path)
    assert cheat == honest and again == honest, (honest, cheat, again)
    assert game.scheme().noise_multiplier == 4 and game.scheme().max_grad_norm == 1


@pytest.mark.parametrize("path", CACHE_PATHS)
def test_the_trainer_in_an_unlearning_model_is_not_the_schemes(path: str) -> None:
    # The model reply held the method's cached learning algorithm: stalling it left every
    # later ideal-world model untrained (0.0 -> 0.50 and 0.71).
    game = Unlearning(device="cpu")  # the game the engine plays: the same cached scheme
    honest, cheat, again = _three_runs(game, StallsLearning(stall=False), StallsLearning(), path)
    assert cheat == honest and again == honest, (honest, cheat, again)
    assert game.scheme().trainer.lr == 0.5


def test_the_public_games_scheme_is_a_copy() -> None:
    # game.scheme() (the public game's too) returned the cached scheme itself.
    for game in (Membership(trainer="dp-sgd"), Unlearning()):
        scheme = game.scheme()
        assert scheme == game.scheme() and scheme is not game.scheme()


@pytest.mark.parametrize("path", CACHE_PATHS)
def test_the_membership_population_the_game_returns_is_not_the_cached_one(path: str) -> None:
    # population() returned the record a module-level cache keeps: shuffling its labels
    # (its arrays made writeable again, or replaced on the frozen record) changed the
    # training sets of every later trial and run.
    game = Membership(
        trainer="dp-sgd", noise_multiplier=4, target="mislabeled", training_size=64, device="cpu"
    )
    honest, cheat, again = _three_runs(game, LossThreshold(), Relabels(LossThreshold()), path)
    assert cheat == honest and again == honest, (honest, cheat, again)


@pytest.mark.parametrize("path", CACHE_PATHS)
def test_the_unlearning_population_the_game_returns_is_not_the_cached_one(path: str) -> None:
    # The same, through the unlearning game's scaled population (its own cache).
    game = Unlearning(device="cpu")
    honest, cheat, again = _three_runs(game, LabelParity(), Relabels(LabelParity()), path)
    assert cheat == honest and again == honest, (honest, cheat, again)


@pytest.mark.parametrize("dataset", ["digits", "gaussian"])
def test_nothing_done_to_a_returned_population_changes_the_next(dataset: str) -> None:
    # The gaussian population's arrays were writeable; the bundled ones' could be made
    # writeable again; and the frozen record itself was the cached one.
    for game in (Membership(dataset=dataset), Unlearning(dataset=dataset)):
        pool = game.population()
        X, y = pool.X.copy(), pool.y.copy()
        for array in (pool.X, pool.y):
            with pytest.raises(ValueError):
                array.setflags(write=True)
            with pytest.raises(ValueError):
                array[0] = 0
        object.__setattr__(pool, "X", np.zeros_like(X))
        object.__setattr__(pool, "y", np.zeros_like(y))
        fresh = game.population()
        assert fresh is not pool
        assert np.array_equal(fresh.X, X) and np.array_equal(fresh.y, y)
