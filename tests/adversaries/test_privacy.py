"""Membership attacks against SGD and DP-SGD: large advantages without DP, within the bound with it."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from privacy_cases import dp_game  # noqa: E402

import games  # noqa: E402
from adversaries.generic import Guess  # noqa: E402
from adversaries.privacy import GradientCanary, Lira, LossThreshold, best_threshold  # noqa: E402
from games.privacy.membership import Membership  # noqa: E402

DELTA = 1e-5


pytestmark = pytest.mark.usefixtures("one_thread")


def sgd_game(**kw):
    base = {"training_size": 48, "epochs": 8, "batch_size": 16, "lr": 0.5, "target": "mislabeled"}
    return Membership(**{**base, **kw})


def test_the_trivial_adversary_has_no_advantage():
    est = games.estimate(sgd_game(), Guess(), trials=300, seed=0)
    assert est.ci_low <= 0 <= est.ci_high
    assert est.path == "batch"


@pytest.mark.parametrize(
    "attack", [Lira(shadows=16, calibration=64), LossThreshold(calibration=64)]
)
def test_sgd_leaks_a_mislabeled_canary(attack):
    est = games.estimate(sgd_game(), attack, trials=200, seed=1)
    assert est.ci_low > 0.6, est


def test_lira_works_through_black_box_queries():
    game = sgd_game(access="black-box", queries=2)
    est = games.estimate(game, Lira(shadows=16, calibration=64), trials=100, seed=2)
    assert est.ci_low > 0.5, est
    assert est.queries["logits"] == 100 and est.queries["loss"] == 0


def test_per_trial_path_plays_the_same_attack():
    est = games.estimate(
        sgd_game(), Lira(shadows=16, calibration=64), trials=12, seed=3, batched=False
    )
    assert est.path == "trial" and est.error_count == 0
    assert est.wins >= 10


def test_dp_sgd_stays_within_its_claimed_bound():
    game = dp_game("dp-sgd")
    bound = game.advantage_bound(DELTA)
    assert 0.3 < bound < 0.7
    est = games.estimate(game, GradientCanary(calibration=128), trials=400, seed=4)
    assert est.error_count == 0
    assert est.ci_low <= bound, (est, bound)


def test_dp_sgd_without_clipping_breaks_its_claimed_bound():
    game = dp_game("dp-sgd-noclip")
    bound = game.advantage_bound(DELTA)
    assert bound == dp_game("dp-sgd").advantage_bound(DELTA)  # it claims the same ε
    est = games.estimate(game, GradientCanary(calibration=128), trials=400, seed=4)
    assert est.ci_low > bound, (est, bound)


def test_attacks_report_their_offline_models():
    game = sgd_game()
    assert Lira(shadows=16, calibration=64).resources(game) == {
        "shadow-models": 16,
        "calibration-models": 64,
    }
    assert LossThreshold(threshold=0.5).resources(game) == {}
    assert GradientCanary(calibration=32).resources(game) == {"calibration-models": 32}


def test_gradient_canary_points_where_the_data_does_not_vary():
    game = sgd_game()
    x, y = GradientCanary(scale=2.0).canary(game.population())
    X = game.population().X
    assert np.var(X @ (x / np.linalg.norm(x))) < 1e-3 * np.var(X, axis=0).sum()
    assert 0 <= y < game.population().classes


def test_best_threshold_separates_when_it_can():
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    bits = np.array([0, 0, 0, 1, 1, 1])
    t = best_threshold(scores, bits)
    assert 0.3 < t < 0.7
    assert best_threshold(scores, 1 - bits) < 0.1 or best_threshold(scores, 1 - bits) > 0.9
