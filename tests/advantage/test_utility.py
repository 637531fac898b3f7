"""`advantage run --utility`: a defense's cost on honest input, next to the attack's advantage."""

import json

import pytest

import games
from advantage.report import write_report
from adversaries.generic import Constant
from games.lm.injection import PromptInjection
from games.registry import GAMES, cost_of, parameters
from games.robustness.clean import CleanError
from games.robustness.games import Evasion

# Each game of a defense and the game that measures that defense on honest input.
COSTS = {
    "evasion": "clean-error",
    "membership": "held-out-error",
    "unlearning": "unlearned-error",
    "jailbreak": "benign-refusal",
    "prompt-injection": "injection-task-failure",
    "prompt-injection-changes": "injection-task-failure",
}

# The scripted agent with the dataflow defense refuses the tidy task's draft (utility 0);
# with the sandwich defense it does every inbox task (utility 1): the tour's known values.
REFUSES = ("-p", "defense=dataflow", "-p", "task=tidy")
DOES = ("-p", "defense=sandwich",)  # fmt: skip
RUN = ("run", "prompt-injection", "--adversary", "no-injection", "--trials", "20", "--seed", "5")


def test_every_game_of_a_defense_names_a_cost_game_that_builds_from_its_parameters():
    named = {
        entry.name: entry.load().cost_game
        for entry in GAMES.entries()
        if getattr(entry.load(), "cost_game", None)
    }
    assert named.items() >= COSTS.items()
    for name, cost in named.items():
        made = cost_of(GAMES.get(name)())
        assert type(made) is GAMES.get(cost)
        assert made.cost_game is None  # a cost game is its own measure


def test_the_cost_game_takes_the_defense_and_leaves_out_what_plays_no_part():
    game = Evasion(defense="quantize", eps=0.2, access="labels", queries=50)
    cost = cost_of(game)
    assert isinstance(cost, CleanError)
    assert cost.defense == "quantize" and cost.eps == 0.2
    assert "access" not in parameters(CleanError)  # held there: the attack's alone
    shared = parameters(CleanError).keys() & parameters(Evasion).keys()
    assert {k: getattr(cost, k) for k in shared} == {k: getattr(game, k) for k in shared}


def test_a_game_without_a_defense_has_no_cost_game(cli):
    with pytest.raises(games.InvalidArgument, match="has no cost game"):
        cost_of(GAMES.get("otp")())
    cli.fails("run", "otp", "--adversary", "guess", "--utility", match="otp has no cost game")


def test_utility_with_a_log_is_refused_before_anything_is_played(cli, tmp_path):
    log = str(tmp_path / "run.jsonl")
    cli.fails(*RUN, "--utility", "--log", log, match="injection-task-failure, which --log")
    assert not (tmp_path / "run.jsonl").exists()


@pytest.mark.parametrize(("defense", "utility"), [(REFUSES, 0.0), (DOES, 1.0)])
def test_the_utility_is_one_minus_the_cost_games_rate_on_the_same_trials(cli, defense, utility):
    data = cli.json(*RUN, *defense, "--utility")
    measured = data["utility"]
    assert measured["utility"] == utility
    assert measured["ci_low"] <= utility <= measured["ci_high"]
    # Clopper–Pearson for 0 of 20 (or 20 of 20): 1 − 0.025^(1/20) wide
    assert measured["ci_high"] - measured["ci_low"] == pytest.approx(1 - 0.025 ** (1 / 20))
    cost = measured["cost"]
    assert cost["game"] == "injection-task-failure" and cost["seed"] == data["seed"]
    assert cost["trials"] == data["trials"] == 20
    # The same figure as the cost game played on its own, with the run's seed.
    game = PromptInjection(**data["params"])
    alone = games.estimate(cost_of(game), Constant(), trials=20, seed=data["seed"])
    assert measured["utility"] == 1 - alone.win_rate
    assert (measured["ci_low"], measured["ci_high"]) == (1 - alone.ci_high, 1 - alone.ci_low)


def test_the_table_puts_the_utility_under_the_advantage(cli):
    out = cli.out(*RUN, *REFUSES, "--utility")
    assert out.index("advantage") < out.index("utility 0.0000 [0.0000, 0.1684]")
    assert "injection-task-failure: 20 of 20 honest trials failed" in out
    plain = cli.out(*RUN, *REFUSES)
    assert "utility" not in plain


def test_several_adversaries_share_one_utility(cli):
    data = cli.json(*RUN[:3], "direct-injection", *RUN[2:], *DOES, "--utility")
    assert len(data["adversaries"]) == 2 and data["utility"]["utility"] == 1.0


def test_the_report_shows_the_utility_and_reproduces_it(cli, tmp_path):
    data = cli.json(*RUN, *REFUSES, "--utility")
    del data["command"]  # the page then writes the command from the record
    path = tmp_path / "run.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    page = write_report([str(path)], tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<th>cost game</th>" in page and "20 of 20 honest trials failed" in page
    assert "--seed 5 --utility" in page
