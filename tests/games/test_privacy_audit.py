"""The DP audits' library: ε lower bounds, TPR at low FPR and the audit behind ``advantage audit``."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from privacy_cases import dp_game  # noqa: E402

import games  # noqa: E402
from adversaries.privacy import GradientCanary  # noqa: E402
from games.privacy import audit  # noqa: E402
from games.privacy.membership import Membership  # noqa: E402
from oracles import InvalidArgument  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def test_epsilon_lower_bound_is_zero_without_separation_and_grows_with_it():
    assert audit.epsilon_lower_bound(50, 100, 50, 100, delta=0) == 0.0
    weak = audit.epsilon_lower_bound(60, 100, 20, 100, delta=0)
    strong = audit.epsilon_lower_bound(90, 100, 5, 100, delta=0)
    assert 0 < weak < strong < math.log(90 / 5)
    more = audit.epsilon_lower_bound(900, 1000, 50, 1000, delta=0)
    assert more > strong  # more trials, tighter bound
    with pytest.raises(InvalidArgument, match=r"delta=1 must be a number in \[0, 1\)"):
        audit.epsilon_lower_bound(1, 2, 1, 2, delta=1)


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ((10, 10, 0, 0), "non_members=0 must be a positive integer"),
        ((0, 0, 1, 5), "members=0 must be a positive integer"),
        ((11, 10, 0, 5), r"true_pos=11 must be an integer in \[0, 10\]"),
        ((1, 10, -1, 5), r"false_pos=-1 must be an integer in \[0, 5\]"),
    ],
)
def test_epsilon_lower_bound_names_the_count_that_is_wrong(counts, message):
    with pytest.raises(InvalidArgument, match=message):
        audit.epsilon_lower_bound(*counts, delta=0.0)


def test_audit_bound_holds_for_a_mechanism_of_known_epsilon():
    # Scores from randomised response with ε = 1: member says 1 w.p. e/(1+e), non-member
    # w.p. 1/(1+e). No test can prove more than ε = 1.
    rng = np.random.default_rng(0)
    members = rng.integers(2, size=20_000).astype(bool)
    p = math.e / (1 + math.e)
    scores = np.where(members, rng.random(len(members)) < p, rng.random(len(members)) < 1 - p)
    result = audit.audit(scores.astype(float), members, delta=0, rng=rng)
    assert 0.8 < result.epsilon <= 1.0
    assert result.calibration + result.evaluation == len(scores)


def test_tpr_at_fpr():
    scores = np.array([0.0, 0.1, 0.2, 0.3, 1.0, 2.0, 3.0, 0.05])
    members = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    tpr, threshold = audit.tpr_at_fpr(scores, members, 0.0)
    assert tpr == 0.75 and threshold == 0.3
    with pytest.raises(InvalidArgument, match="both members and non-members"):
        audit.tpr_at_fpr(scores, np.ones(8), 0.1)


def test_audit_catches_the_missing_clipping_and_not_dp_sgd():
    attack = GradientCanary(calibration=32)
    found = {}
    for trainer in ("dp-sgd", "dp-sgd-noclip"):
        game = dp_game(trainer)
        scores, bits = audit.membership_scores(game, attack, trials=600, seed=5)
        found[trainer] = audit.audit(scores, bits, delta=1e-5, rng=np.random.default_rng(0))
        claimed = game.epsilon(1e-5)
    assert found["dp-sgd"].epsilon <= claimed
    assert found["dp-sgd-noclip"].epsilon > claimed, (found, claimed)


def test_the_advantage_is_the_one_advantage_run_reports():
    game = dp_game("dp-sgd-noclip")
    attack = GradientCanary(calibration=128)
    report = audit.run_audit(game, attack, trials=300, seed=3)
    played = games.estimate(game, attack, trials=300, seed=3, chunk_size=300)
    assert report.advantage["wins"] == played.wins and report.advantage["trials"] == 300


def test_games_and_adversaries_that_cannot_be_audited():
    with pytest.raises(InvalidArgument, match="gives no membership scores"):
        audit.run_audit(Membership(), games.ADVERSARIES.get("guess")(), trials=10, seed=0)
    with pytest.raises(InvalidArgument, match="needs a hidden-bit game with a batched path"):
        audit.run_audit(games.GAMES.get("prf")(), GradientCanary(), trials=10, seed=0)
