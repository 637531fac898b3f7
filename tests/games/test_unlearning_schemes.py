"""The unlearning schemes: retrain, SISA, finetuning, gradient ascent and noisy descent's theorem."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

torch = pytest.importorskip("torch")

from unlearning_cases import draw_of, noisy, small  # noqa: E402

from games.base import IDEAL, REAL  # noqa: E402
from games.privacy.training import SGD, network  # noqa: E402
from games.unlearning import Model, NoisyDescent, gaussian_epsilon  # noqa: E402
from oracles import InvalidArgument  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


# -- the schemes --------------------------------------------------------------------------


def _fits(game, worlds, seed=0):
    """A's fit, U's fit of the real trials, and the draw, without publication."""
    draw = draw_of(game, worlds, seed)
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


def test_sisa_publishes_a_shard_that_s_emptied_as_one_never_trained():
    # A on D \ S never trains a shard left empty and gives it zero parameters; publishing
    # the stale fit (on records of S alone) told the worlds apart at +0.58.
    game = small(method="sisa", training_size=16, forget_size=4, shards=8)
    fit, after, draw = _fits(game, [REAL] * 6)
    emptied = (fit.masks & draw.forget[:, None, :]).any(2) & ~after.masks.any(2)
    assert emptied.any()
    for p in after.params:
        per_shard = p.view(6, 8, -1)
        assert not per_shard[torch.as_tensor(emptied)].any()
        assert per_shard[torch.as_tensor(after.masks.any(2))].any()


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
    draw = draw_of(game, worlds, seed=3)
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
        draw = draw_of(game, [REAL] * 64)
        scheme = game.scheme()
        pool = game.population()
        fit = scheme.learn(pool.X, pool.y, draw.members, draw.bases, "cpu")
        published = scheme.publish(fit, draw.bases, "cpu")
        noise = torch.cat(
            [(p - q).reshape(64, -1) for p, q in zip(published.params, fit.params, strict=True)], 1
        )
        assert noise.std().item() == pytest.approx(0.5 * scale, rel=0.05)
        assert abs(noise.mean().item()) < 0.05 * scale
