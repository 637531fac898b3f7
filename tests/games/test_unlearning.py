"""The unlearning game: parameters, forget sets, the schemes, and noisy descent's theorem."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

torch = pytest.importorskip("torch")

import games  # noqa: E402
from games.base import IDEAL, REAL, TrialFailed  # noqa: E402
from games.privacy.training import SGD, network  # noqa: E402
from games.unlearning import (  # noqa: E402
    METHODS,
    Model,
    NoisyDescent,
    Unlearning,
    gaussian_epsilon,
)
from oracles import BudgetExceeded, InvalidArgument  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def small(**kw):
    base = {"training_size": 48, "forget_size": 4, "epochs": 3, "batch_size": 16}
    return Unlearning(**{**base, **kw})


def noisy(**kw):
    base = {
        "method": "noisy-descent",
        "training_size": 48,
        "forget_size": 4,
        "epochs": 30,
        "unlearn_epochs": 2,
        "l2": 0.5,
        "noise": 0.1,
        "delta": 0.01,
    }
    return Unlearning(**{**base, **kw})


# -- parameters ---------------------------------------------------------------------------


def test_bad_arguments_name_the_argument():
    with pytest.raises(InvalidArgument, match="forget_size=200 must be below training_size=128"):
        Unlearning(forget_size=200)
    with pytest.raises(InvalidArgument, match="forget_size=128 must be below training_size=128"):
        Unlearning(forget_size=128)
    with pytest.raises(InvalidArgument, match="forget_size=0 must be a positive integer"):
        Unlearning(forget_size=0)
    with pytest.raises(InvalidArgument, match="method='forget-it' must be one of: retrain, sisa"):
        Unlearning(method="forget-it")
    with pytest.raises(InvalidArgument, match="forget='oldest' must be one of"):
        Unlearning(forget="oldest")
    with pytest.raises(InvalidArgument, match="training_size=569 must be below the population"):
        Unlearning(training_size=569)
    with pytest.raises(InvalidArgument, match="shards=64 must be at most training_size=48"):
        small(method="sisa", shards=64)
    with pytest.raises(InvalidArgument, match=r"l2=0.0 must be > 0 for method='noisy-descent'"):
        noisy(l2=0.0)
    with pytest.raises(InvalidArgument, match="model='mlp': method='noisy-descent-weak'"):
        noisy(method="noisy-descent-weak", model="mlp")
    with pytest.raises(InvalidArgument, match=r"delta=1.0 must be a number in \(0, 1\)"):
        noisy(delta=1.0)
    with pytest.raises(InvalidArgument, match="method='finetune' makes no"):
        small().claim()
    with pytest.raises(InvalidArgument, match="method='gradient-ascent' makes no claim"):
        small(method="gradient-ascent").advantage_bound()


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


def _draw(game, worlds, seed=0):
    return game._draw(np.asarray(worlds), np.random.default_rng(seed).spawn(len(worlds)))


@pytest.mark.parametrize("rule", ["random", "class", "outliers"])
def test_forget_sets_are_subsets_of_the_training_set(rule):
    game = small(forget=rule, forget_size=6)
    draw = _draw(game, [1, 0] * 4)
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


# -- the schemes --------------------------------------------------------------------------


def _fits(game, worlds, seed=0):
    """A's fit, U's fit of the real trials, and the draw, without publication."""
    draw = _draw(game, worlds, seed)
    pool = game.population()
    scheme = game.scheme()
    real = np.asarray(worlds) == REAL
    learn = draw.members & ~(draw.forget & ~real[:, None])
    fit = scheme.learn(pool.X, pool.y, learn, draw.bases, "cpu")
    trials = np.flatnonzero(real)
    after = scheme.unlearn(
        pool.X, pool.y, fit.take(trials), draw.forget[trials], draw.bases[trials], "cpu"
    )
    return fit, after, draw


def test_retrain_is_exactly_a_to_d_minus_s():
    game = small(method="retrain")
    fit, after, draw = _fits(game, [REAL])
    assert np.array_equal(after.masks[0, 0], draw.members[0] & ~draw.forget[0])
    assert np.array_equal(fit.masks[0, 0], draw.members[0])


def test_sisa_retrains_only_the_shards_the_forget_set_touched():
    game = small(method="sisa", shards=8, forget_size=2)
    fit, after, draw = _fits(game, [REAL, REAL, REAL])
    touched = (fit.masks & draw.forget[:, None, :]).any(2)
    assert touched.any() and (~touched).any()
    assert (fit.masks.sum(1) == draw.members).all()  # every record in exactly one shard
    assert not (after.masks & draw.forget[:, None, :]).any()
    before = fit.params[0].view(3, 8, *fit.params[0].shape[1:])
    now = after.params[0].view(3, 8, *after.params[0].shape[1:])
    for i in range(3):
        for j in range(8):
            same = torch.equal(before[i, j], now[i, j])
            assert same == (not touched[i, j])


def test_finetune_starts_from_the_trained_model_and_ascent_climbs_the_loss():
    pool = small().population()
    for method in ("finetune", "gradient-ascent"):
        game = small(method=method, unlearn_epochs=3)
        fit, after, draw = _fits(game, [REAL] * 6)
        x, y = pool.X, pool.y
        trainer = game.scheme().trainer
        before = Model(trainer=trainer, params=fit.params)
        now = Model(trainer=trainer, params=after.params)
        forget = draw.forget
        loss_before = np.array([before.loss(x[f], y[f])[i].mean() for i, f in enumerate(forget)])
        loss_after = np.array([now.loss(x[f], y[f])[i].mean() for i, f in enumerate(forget)])
        if method == "gradient-ascent":
            assert (loss_after > loss_before).all()
        # A fresh model has a loss near log 2 everywhere; both start from the fitted one.
        assert loss_before.mean() < 0.6 and loss_after.mean() < 1.5
        assert np.array_equal(after.masks[:, 0], draw.members & ~draw.forget)


def test_the_trainers_descent_is_gradient_descent_on_the_regularised_objective():
    # Full-batch descent with weight decay, from given parameters, against autograd.
    pool = small().population()
    X = torch.tensor(pool.X[:20])
    y = torch.tensor(pool.y[:20])
    masks = np.zeros((1, pool.size), bool)
    masks[0, :20] = True
    gen = torch.Generator().manual_seed(0)
    W = torch.randn(1, 30, 2, generator=gen) * 0.3
    b = torch.randn(1, 2, generator=gen) * 0.3
    lam, lr, n = 0.3, 0.7, 25
    for ascent in (False, True):
        trainer = SGD(
            network=network("logreg"),
            epochs=1,
            batch_size=n,
            lr=lr,
            sampling="poisson",
            weight_decay=lam,
            ascent=ascent,
        )
        out = trainer.train(pool.X, pool.y, masks, [0], size=n, init=(W, b)).params
        w, c = W[0].clone().requires_grad_(), b[0].clone().requires_grad_()
        data = torch.nn.functional.cross_entropy(X @ w + c, y, reduction="sum") / n
        (-data if ascent else data).backward()
        expected_w = w.detach() - lr * (w.grad + lam * w.detach())
        expected_b = c.detach() - lr * (c.grad + lam * c.detach())
        torch.testing.assert_close(out[0][0], expected_w, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(out[1][0], expected_b, rtol=1e-5, atol=1e-6)
    with pytest.raises(InvalidArgument, match="init has shapes"):
        trainer.train(pool.X, pool.y, masks, [0], init=(W[:, :3], b))


# -- noisy descent ------------------------------------------------------------------------


def _delta_of(eps, mu):
    return special.ndtr(mu / 2 - eps / mu) - math.exp(eps + special.log_ndtr(-mu / 2 - eps / mu))


@settings(max_examples=60, deadline=None)
@given(
    sensitivity=st.floats(1e-3, 10),
    sigma=st.floats(1e-2, 10),
    delta=st.floats(1e-9, 0.5),
)
def test_gaussian_epsilon_is_the_smallest_that_holds(sensitivity, sigma, delta):
    eps = gaussian_epsilon(sensitivity, sigma, delta)
    mu = sensitivity / sigma
    assert eps >= 0
    assert _delta_of(eps, mu) <= delta * (1 + 1e-6) + 1e-12
    if eps > 1e-9:
        assert _delta_of(eps * (1 - 1e-4), mu) > delta
    # The classical calibration σ = Δ·√(2 ln(1.25/δ))/ε is valid for ε ≤ 1: never tighter.
    classical = mu * math.sqrt(2 * math.log(1.25 / delta))
    if classical <= 1:
        assert eps <= classical + 1e-9
    # More noise, less ε.
    assert gaussian_epsilon(sensitivity, 2 * sigma, delta) <= eps + 1e-12


def test_gaussian_epsilon_edge_cases():
    assert gaussian_epsilon(0.0, 1.0, 1e-5) == 0.0
    with pytest.raises(InvalidArgument, match="sigma=0"):
        gaussian_epsilon(1.0, 0, 1e-5)


def test_the_claim_follows_the_theorem():
    game = noisy()
    scheme = game.scheme()
    assert isinstance(scheme, NoisyDescent)
    assert scheme.lipschitz == pytest.approx(2.0) and scheme.smoothness == pytest.approx(1.5)
    assert scheme.contraction == pytest.approx(0.5) and scheme.step == pytest.approx(1.0)
    moved = 4 * 2.0 / (0.5 * 48)
    assert scheme.sensitivity() == pytest.approx(0.25 * moved, rel=1e-6)
    eps, delta = game.claim()
    assert eps == pytest.approx(gaussian_epsilon(0.25 * moved, 0.1, 0.01)) and delta == 0.01
    bound = (math.exp(eps) - 1 + 0.02) / (math.exp(eps) + 1)
    assert game.advantage_bound() == pytest.approx(bound)
    # The weakened method claims exactly the same.
    assert noisy(method="noisy-descent-weak").claim() == (eps, delta)
    # More noise, smaller ε; more unlearning steps, smaller ε.
    assert noisy(noise=0.2).epsilon() < eps and noisy(unlearn_epochs=4).epsilon() < eps


@pytest.mark.parametrize("rule", ["random", "outliers", "adversary"])
def test_the_noiseless_worlds_are_within_the_sensitivity(rule):
    # The heart of the theorem: for every D and S, the two worlds' noiseless outputs lie
    # within Δ. Forget sets from the data, its outliers, and a far mislabeled canary.
    game = noisy(forget=rule, epochs=40)
    pool = game.population()
    worlds = np.array([REAL, IDEAL] * 6)
    draw = _draw(game, worlds, seed=3)
    # The same D and S and start in both worlds of each pair.
    for array in (draw.members, draw.forget):
        array[1::2] = array[0::2]
    draw.bases[1::2] = draw.bases[0::2]
    X, y = pool.X, pool.y
    if rule == "adversary":
        canary = np.zeros((6 * 4, 30), np.float32)
        canary[:, -1] = 1.0
        extra = np.concatenate([canary, canary])
        X = np.concatenate([X, extra]).astype(np.float32)
        y = np.concatenate([y, np.ones(len(extra), np.int64)])
        # Trial 2i+1 uses trial 2i's canary rows.
        for i in range(6):
            rows = pool.size + 2 * i * 4 + np.arange(4)
            draw.members[2 * i + 1, pool.size :] = False
            draw.forget[2 * i + 1, pool.size :] = False
            draw.members[2 * i + 1, rows] = draw.forget[2 * i + 1, rows] = True
    scheme = game.scheme()
    real = worlds == REAL
    learn = draw.members & ~(draw.forget & ~real[:, None])
    fit = scheme.learn(X, y, learn, draw.bases, "cpu")
    trials = np.flatnonzero(real)
    after = scheme.unlearn(X, y, fit.take(trials), draw.forget[trials], draw.bases[trials], "cpu")
    fit = fit.put(trials, after)
    flat = torch.cat([p.reshape(len(worlds), -1) for p in fit.params], 1).double()
    gaps = (flat[0::2] - flat[1::2]).norm(dim=1)
    bound = scheme.sensitivity()
    assert (gaps <= bound * (1 + 1e-4)).all(), (gaps, bound)
    assert gaps.max() > 0.1 * bound  # not vacuous: the worlds do differ


def test_publication_adds_the_claimed_noise_and_the_weak_method_a_tenth():
    for method, scale in (("noisy-descent", 1.0), ("noisy-descent-weak", 0.1)):
        game = noisy(method=method, noise=0.5)
        draw = _draw(game, [REAL] * 64)
        scheme = game.scheme()
        pool = game.population()
        fit = scheme.learn(pool.X, pool.y, draw.members, draw.bases, "cpu")
        published = scheme.publish(fit, draw.bases, "cpu")
        noise = torch.cat(
            [(p - q).reshape(64, -1) for p, q in zip(published.params, fit.params, strict=True)], 1
        )
        assert noise.std().item() == pytest.approx(0.5 * scale, rel=0.05)
        assert abs(noise.mean().item()) < 0.05 * scale


def test_every_method_runs_on_both_paths():
    guess = games.ADVERSARIES.get("guess")()
    for method in METHODS:
        game = noisy(method=method) if "noisy" in method else small(method=method)
        for batched in (True, False):
            est = games.estimate(game, guess, trials=4, seed=0, batched=batched)
            assert est.trials == 4 and not est.errors, (method, est)
