"""A defense's cost as a game: injection-task-failure (a win is a failed benign task)."""

from __future__ import annotations

import pytest

import games
from adversaries import injection as attacks
from games.lm import agents
from games.lm.injection import TaskFailure, utility


@pytest.mark.parametrize("defense", agents.DEFENSES)
def test_the_failure_rate_is_one_minus_utility(defense):
    estimate = games.estimate(
        TaskFailure(defense=defense), attacks.NoInjection(), trials=20, seed=1
    )
    measured = utility("scripted", defense, trials=20, seed=1)
    assert estimate.error_count == 0
    assert estimate.wins == measured.trials - measured.successes == 0


class Claims:
    """Answers that it failed the task: the answer is not read."""

    def __call__(self, oracles, rng):
        assert set(oracles.public) == {"defense", "agent"}
        return True


def test_the_adversary_cannot_make_the_agent_fail():
    assert games.GAMES.get("injection-task-failure") is TaskFailure
    estimate = games.estimate(TaskFailure(defense="dataflow"), Claims(), trials=10, seed=0)
    assert estimate.wins == 0 and estimate.error_count == 0


@pytest.mark.parametrize("defense", agents.DEFENSES)
def test_dataflow_pays_on_a_task_that_needs_data_in_a_sink(defense):
    """tidy: the benign email names a real draft; only the sound policy refuses to delete it."""
    measured = utility("scripted", defense, trials=10, seed=0, task="tidy")
    assert measured.successes == (0 if defense == "dataflow" else 10)
    failed = games.estimate(
        TaskFailure(defense=defense, task="tidy"), attacks.NoInjection(), trials=10, seed=0
    )
    assert failed.wins == 10 - measured.successes
    with pytest.raises(games.InvalidArgument, match="task='chores'"):
        utility("scripted", defense, task="chores")
