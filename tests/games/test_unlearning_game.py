"""The unlearning game: parameters, forget sets, the challenge, and both paths of every method."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from cheaters import wins_whatever_the_answer  # noqa: E402
from unlearning_cases import draw_of, noisy, small  # noqa: E402

import games  # noqa: E402
from games.base import REAL  # noqa: E402
from games.errors import TrialFailed  # noqa: E402
from games.unlearning import METHODS, Model, UnlearnedError, Unlearning  # noqa: E402
from oracles import BudgetExceeded, InvalidArgument  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


# -- parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Unlearning(forget_size=200), "forget_size=200 must be below training_size=128"),
        (lambda: Unlearning(forget_size=128), "forget_size=128 must be below training_size=128"),
        (lambda: Unlearning(forget_size=0), "forget_size=0 must be a positive integer"),
        (
            lambda: Unlearning(method="forget-it"),
            "method='forget-it' must be one of: retrain, sisa",
        ),
        (lambda: Unlearning(forget="oldest"), "forget='oldest' must be one of"),
        (lambda: Unlearning(training_size=569), "training_size=569 must be below the population"),
        (
            lambda: Unlearning(forget="class", forget_size=400, training_size=500),
            r"forget_size=400 exceeds the largest class of 'breast-cancer' \(357 records\)",
        ),
        (lambda: small(method="sisa", shards=64), "shards=64 must be at most training_size=48"),
        (lambda: noisy(l2=0.0), r"l2=0.0 must be > 0 for method='noisy-descent'"),
        (
            lambda: noisy(method="noisy-descent-weak", model="mlp"),
            "model='mlp': method='noisy-descent-weak'",
        ),
        (lambda: noisy(delta=1.0), r"delta=1.0 must be a number in \(0, 1\)"),
        (lambda: small().claim(), "method='finetune' makes no"),
        (
            lambda: small(method="gradient-ascent").advantage_bound(),
            "method='gradient-ascent' makes no claim",
        ),
    ],
)
def test_bad_arguments_name_the_argument(make, message):
    with pytest.raises(InvalidArgument, match=message):
        make()


def test_the_game_is_registered_and_batched():
    assert games.GAMES.get("unlearning") is Unlearning
    assert small().batched
    assert small(method="retrain").advantage_bound() == small(method="sisa").advantage_bound() == 0


def test_the_population_lies_in_the_unit_ball():
    for name in ("breast-cancer", "digits"):
        X = small(dataset=name).population().X
        norms = np.linalg.norm(X.astype(np.float64), axis=1)
        assert norms.max() <= 1 and np.mean(norms >= 1 - 1e-5) <= 0.11
        assert not X.flags.writeable


# -- forget sets --------------------------------------------------------------------------


@pytest.mark.parametrize("rule", ["random", "class", "outliers"])
def test_forget_sets_are_subsets_of_the_training_set(rule):
    game = small(forget=rule, forget_size=6)
    draw = draw_of(game, [1, 0] * 4)
    assert (draw.members.sum(1) == 48).all() and (draw.forget.sum(1) == 6).all()
    assert not (draw.forget & ~draw.members).any()
    pool = game.population()
    if rule == "class":
        for row in draw.forget:
            assert len(set(pool.y[row].tolist())) == 1
    if rule == "outliers":
        for members, forget in zip(draw.members, draw.forget, strict=True):
            X, y = pool.X[members].astype(np.float64), pool.y[members]
            means = np.stack([X[y == c].mean(0) for c in range(pool.classes)])
            far = np.linalg.norm(X - means[y], axis=1)
            chosen = forget[members]
            assert far[chosen].min() >= far[~chosen].max() - 1e-9


def test_a_class_too_small_fails_the_trial_not_the_run():
    game = Unlearning(dataset="digits", training_size=20, forget_size=15, forget="class")
    with pytest.raises(TrialFailed, match="no class of D has forget_size=15"):
        game.setup(REAL, np.random.default_rng(0))
    challenge = game.setup_batch(np.array([1, 0]), np.random.default_rng(0))
    assert challenge.failed.all()
    est = games.estimate(game, games.ADVERSARIES.get("guess")(), trials=4, seed=0)
    assert est.trials == 0 and est.errors == {"game-failed": 4}


# -- the challenge ------------------------------------------------------------------------


def test_the_adversary_sees_the_model_and_the_forget_set():
    game = small()
    challenge = game.setup(REAL, np.random.default_rng(1))
    x, y = challenge.public["forget"]
    assert x.shape == (4, 30) and y.shape == (4,)
    model = challenge.public["model"]
    assert isinstance(model, Model) and model.size == 1
    assert model.loss(x, y).shape == (1, 4) and model.logits(x).shape == (1, 4, 2)
    assert challenge.handles()["model"]() is model
    batch = game.setup_batch(np.array([1, 0, 1]), np.random.default_rng(1))
    x, y = batch.public["forget"]
    assert x.shape == (3, 4, 30) and y.shape == (3, 4)
    assert batch.public["model"].loss(x, y).shape == (3, 4)
    assert list(batch.failed) == [False] * 3


def test_setup_is_a_function_of_the_generator():
    for method in ("sisa", "noisy-descent"):
        game = noisy(method=method) if method == "noisy-descent" else small(method=method)
        a = game.setup(REAL, np.random.default_rng(5)).public["model"].params
        b = game.setup(REAL, np.random.default_rng(5)).public["model"].params
        for p, q in zip(a, b, strict=True):
            assert torch.equal(p, q)


def test_the_adversary_submits_the_forget_set_before_the_model():
    game = small(forget="adversary")
    challenge = game.setup(REAL, np.random.default_rng(0))
    assert "forget" not in challenge.public and "model" not in challenge.public
    handles = challenge.handles()
    with pytest.raises(InvalidArgument, match="submit the forget set"):
        handles["model"]()
    x = np.zeros((4, 30), np.float32)
    x[:, 0] = 2.0
    for bad, label, message in (
        (x, np.zeros(4, int), "unit ball"),
        (x / 2, np.full(4, 2), r"labels must be in \[0, 2\)"),
        (np.zeros((3, 30)), np.zeros(3, int), "forget set must be x"),
        (x * np.nan, np.zeros(4, int), "must be finite"),
    ):
        with pytest.raises(InvalidArgument, match=message):
            game.setup(REAL, np.random.default_rng(0)).handles()["submit"](bad, label)
    fresh = game.setup(REAL, np.random.default_rng(0)).handles()
    fresh["submit"](x / 2, np.ones(4, int))
    assert fresh["model"]().size == 1
    with pytest.raises(BudgetExceeded):
        fresh["submit"](x / 2, np.ones(4, int))


def test_simulate_needs_the_forget_set_in_adversary_mode():
    game = small(forget="adversary")
    with pytest.raises(InvalidArgument, match="give the forget sets"):
        game.simulate([1, 0], np.random.default_rng(0))
    x = np.full((4, 30), 0.1, np.float32)
    run = game.simulate([1, 0], np.random.default_rng(0), forget=(x, np.zeros(4, int)))
    pool = game.population()
    assert run.X.shape == (pool.size + 8, 30)
    assert (run.forget[:, pool.size :].sum(1) == 4).all() and (run.members.sum(1) == 48).all()


def test_every_method_runs_on_both_paths():
    guess = games.ADVERSARIES.get("guess")()
    for method in METHODS:
        game = noisy(method=method) if "noisy" in method else small(method=method)
        for batched in (True, False):
            est = games.estimate(game, guess, trials=4, seed=0, batched=batched)
            assert est.trials == 4 and not est.errors, (method, est)


# -- the utility game ---------------------------------------------------------------------


def test_unlearned_error_shows_what_forgetting_by_damage_costs():
    from adversaries.generic import Guess

    exact = games.estimate(UnlearnedError(method="retrain"), Guess(), trials=400, seed=0)
    pushed = UnlearnedError(method="gradient-ascent", unlearn_epochs=10, unlearn_lr=5.0)
    damaged = games.estimate(pushed, Guess(), trials=400, seed=0)
    assert exact.path == damaged.path == "batch" and exact.errors == damaged.errors == {}
    assert 0 < exact.ci_high < damaged.ci_low


def test_unlearned_errors_answer_is_not_read_on_either_path():
    game = UnlearnedError(training_size=48, forget_size=4, epochs=3, batch_size=16)
    wins_whatever_the_answer(game, trials=64, seed=3, batched=True)
    wins_whatever_the_answer(game, trials=12, seed=3, batched=False)
    with pytest.raises(InvalidArgument, match="forget='adversary': unlearned-error draws S"):
        UnlearnedError(forget="adversary")
    assert games.GAMES.get("unlearned-error") is UnlearnedError
    assert game.shape == "search" and game.baseline == 0
