"""Attacks on unlearning: nothing against exact methods, a clear advantage against heuristic
ones, and the noisy-descent proof that holds for the real method and catches the weak one."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import games  # noqa: E402
import proofs  # noqa: E402
from adversaries.generic import Guess  # noqa: E402
from adversaries.unlearning import LossGap, ULira, canaries, confidence, statistic  # noqa: E402
from games.unlearning import Unlearning  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def game(**kw):
    base = {"training_size": 64, "forget_size": 6, "epochs": 6, "batch_size": 16}
    return Unlearning(**{**base, **kw})


LIRA = ULira(shadows=128)
GAP = LossGap(calibration=128)


def test_the_trivial_adversary_has_no_advantage():
    est = games.estimate(game(), Guess(), trials=400, seed=0)
    assert est.ci_low <= 0 <= est.ci_high
    assert est.path == "batch"


@pytest.mark.parametrize("method", ["retrain", "sisa"])
@pytest.mark.parametrize("attack", [LIRA, GAP], ids=["u-lira", "loss-gap"])
def test_exact_methods_leave_nothing_to_find(method, attack):
    est = games.estimate(game(method=method), attack, trials=400, seed=1)
    assert est.ci_low <= 0 <= est.ci_high, est
    assert est.resources["shadow-runs"] == 128


@pytest.mark.parametrize("method", ["finetune", "gradient-ascent"])
def test_heuristic_methods_are_detected(method):
    heuristic = game(method=method, unlearn_epochs=3, unlearn_lr=1.0)
    est = games.estimate(heuristic, LIRA, trials=400, seed=2)
    assert est.ci_low > 0.4, est


def test_loss_gap_sees_gradient_ascent_overshoot():
    # Ascent pushes S's loss above that of records the model never saw.
    overshoot = game(method="gradient-ascent", unlearn_epochs=3, unlearn_lr=1.0)
    est = games.estimate(overshoot, GAP, trials=400, seed=3)
    assert est.ci_low > 0.05, est
    assert GAP.rule(overshoot).sign == -1.0


def test_batched_and_per_trial_paths_agree():
    g = game(method="finetune", forget="class")
    batch = games.estimate(g, LIRA, trials=96, seed=4, batched=True)
    alone = games.estimate(g, LIRA, trials=96, seed=4, batched=False)
    assert batch.path == "batch" and alone.path == "trial"
    assert batch.ci_low <= alone.ci_high and alone.ci_low <= batch.ci_high, (batch, alone)
    assert min(batch.ci_low, alone.ci_low) > 0


def test_the_attacks_submit_a_canary_when_they_choose_the_forget_set():
    g = game(forget="adversary", method="finetune")
    x, y = canaries(g)
    assert x.shape == (6, 30) and (y == y[0]).all()
    assert np.linalg.norm(x, axis=1).max() <= 1
    pool = g.population()
    # Along the least-variance direction: the population barely moves along it.
    assert np.var(pool.X @ x[0]) < 0.01 * np.var(pool.X @ pool.X[0] / np.linalg.norm(pool.X[0]))
    for attack in (LIRA, GAP):
        est = games.estimate(g, attack, trials=32, seed=5, batched=False)
        assert est.queries["submit"] == 32 and not est.errors


def test_statistic_cancels_the_bias():
    g = game(method="retrain")
    run = g.simulate([1, 0], np.random.default_rng(0))
    pool = g.population()
    stats = statistic(run.model, pool.X[:5], pool.y[:5])
    assert stats.shape == (2, 5)
    origin = statistic(run.model, np.zeros((1, 30)), pool.y[:1])
    np.testing.assert_allclose(origin, 0, atol=1e-6)
    logits = run.model.logits(pool.X[:5])
    p = torch.softmax(torch.as_tensor(logits, dtype=torch.float64), -1).numpy()
    py = np.take_along_axis(p, np.broadcast_to(pool.y[:5], (2, 5))[..., None], -1)[..., 0]
    np.testing.assert_allclose(confidence(logits, pool.y[:5]), np.log(py / (1 - py)), rtol=1e-5)


# -- the noisy-descent proof ----------------------------------------------------------------


def _check(method: str):
    check = getattr(proofs, "check_empirical", None)
    if check is None:
        pytest.skip("proofs.check_empirical is not available")
    proof = proofs.load("noisy-descent")
    return check(proof, ULira(shadows=256), trials=512, seed=0, params={"method": method})


@pytest.mark.slow
def test_noisy_descent_is_consistent_with_its_claim():
    report = _check("noisy-descent")
    assert report.verdicts == ("consistent",), str(report)
    assert report.high < report.bound


@pytest.mark.slow
def test_noisy_descent_with_a_tenth_of_the_noise_blames_the_algorithm():
    report = _check("noisy-descent-weak")
    assert report.verdicts == ("algorithm",), str(report)
    assert report.low > report.bound


def test_the_proof_claims_what_the_game_computes():
    proof = proofs.load("noisy-descent")
    values = proof.resource_values()
    g = Unlearning(**proof.theorem.params)
    assert values["eps"] == pytest.approx(g.epsilon()) and values["delta"] == g.delta
    assert proof.bound_value(values) == pytest.approx(g.advantage_bound())
    assert 0.3 < g.advantage_bound() < 0.6
    assert proofs.check_symbolic(proof).status == "proven"
    weak = proof.resource_values(params={"method": "noisy-descent-weak"})
    assert weak == values
