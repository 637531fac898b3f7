"""The batched trainers: equal to training alone, clipping that bounds, ε from the accountant."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from games.privacy import accounting, counter, data  # noqa: E402
from games.privacy.training import (  # noqa: E402
    DPSGD,
    SGD,
    DPSGDNoClip,
    _gradients,
    losses,
    make_trainer,
    network,
)
from oracles import InvalidArgument  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def small_task(seed: int = 0, size: int = 120, dims: int = 6, classes: int = 3) -> data.Dataset:
    rng = np.random.default_rng(seed)
    return data.load("gaussian", rng=rng, size=size, dims=dims, classes=classes, separation=2.0)


def subsets(n: int, models: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    masks = rng.random((models, n)) < 0.4
    masks[:, 0] = True
    return masks


# -- data ---------------------------------------------------------------------------------


def test_bundled_datasets_are_standardised():
    for name in ("digits", "breast-cancer"):
        ds = data.load(name)
        assert ds.X.dtype == np.float32 and ds.y.dtype == np.int64
        assert np.allclose(ds.X.mean(0), 0, atol=1e-4)
        std = ds.X.std(0)
        assert np.allclose(std[std > 0], 1, atol=1e-3)
        assert ds.classes == int(ds.y.max()) + 1


def test_gaussian_is_drawn_from_the_generator():
    a = small_task(3)
    b = small_task(3)
    c = small_task(4)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    assert a.X.shape == (120, 6) and set(np.unique(a.y)) <= {0, 1, 2}


def test_bad_dataset_arguments():
    with pytest.raises(
        InvalidArgument, match="dataset='mnist' must be one of: digits, breast-cancer, gaussian"
    ):
        data.load("mnist")
    with pytest.raises(InvalidArgument, match="rng must be"):
        data.load("gaussian")
    rng = np.random.default_rng(0)
    with pytest.raises(InvalidArgument, match="classes=1 must be an integer >= 2"):
        data.load("gaussian", rng=rng, classes=1)
    with pytest.raises(InvalidArgument, match="separation=-1"):
        data.load("gaussian", rng=rng, separation=-1)


# -- batched equals alone -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "sampling"),
    [
        ("sgd", "logreg", "fixed"),
        ("sgd", "mlp", "poisson"),
        ("dp-sgd", "logreg", "poisson"),
        ("dp-sgd", "mlp", "fixed"),
        ("dp-sgd", "mlp", "poisson"),
        ("dp-sgd-noclip", "mlp", "poisson"),
    ],
)
def test_batched_training_equals_training_each_model_alone(name, kind, sampling):
    ds = small_task()
    masks = subsets(ds.size, 5)
    seeds = [np.random.SeedSequence(10 + i) for i in range(5)]
    trainer = make_trainer(
        name,
        network=network(kind, width=8, depth=2),
        epochs=2,
        batch_size=8,
        lr=0.3,
        sampling=sampling,
    )
    together = trainer.train(ds.X, ds.y, masks, seeds)
    assert not together.diverged.any()
    for i in (0, 3):
        alone = trainer.train(ds.X, ds.y, masks[i : i + 1], seeds[i : i + 1])
        for a, b in zip(together.params, alone.params, strict=True):
            torch.testing.assert_close(a[i], b[0], rtol=1e-5, atol=1e-6)
    # Different seeds give different models: the equality above is not vacuous.
    assert not torch.allclose(together.params[0][0], together.params[0][1])


def test_models_with_more_records_take_more_steps_and_the_others_stand_still():
    ds = small_task()
    masks = np.zeros((2, ds.size), bool)
    masks[0, :16] = True
    masks[1, :17] = True
    trainer = SGD(network=network("logreg"), epochs=1, batch_size=8, lr=0.1)
    out = trainer.train(ds.X, ds.y, masks, [1, 2])
    assert list(out.steps) == [2, 3]
    alone = trainer.train(ds.X, ds.y, masks[:1], [1])
    torch.testing.assert_close(out.params[0][0], alone.params[0][0])
    # A nominal size fixes the schedule for neighbouring datasets.
    fixed = trainer.train(ds.X, ds.y, masks, [1, 2], size=16)
    assert list(fixed.steps) == [2, 2]


def test_training_learns():
    ds = small_task(size=200)
    masks = subsets(ds.size, 3)
    for trainer in (
        SGD(network=network("mlp", width=16), epochs=10, batch_size=16, lr=0.3),
        DPSGD(network=network("logreg"), epochs=10, batch_size=16, lr=0.5, noise_multiplier=0.5),
    ):
        out = trainer.train(ds.X, ds.y, masks, [0, 1, 2])
        pred = trainer.logits(out.params, ds.X).argmax(-1).numpy()
        accuracy = (pred == ds.y).mean(1)
        assert (accuracy > 0.8).all(), accuracy


# -- clipping -----------------------------------------------------------------------------


def _per_example_reference(params, xb, yb, clip):
    """Per-example gradients from torch.func, clipped one by one, then summed."""
    from torch.func import grad, vmap

    def loss(p, x, y):
        a = x
        layers = len(p) // 2
        for layer in range(layers):
            a = a @ p[2 * layer] + p[2 * layer + 1]
            if layer < layers - 1:
                a = torch.relu(a)
        return torch.nn.functional.cross_entropy(a[None], y[None])

    out = []
    for m in range(xb.shape[0]):
        single = tuple(q[m] for q in params)
        g = vmap(grad(loss), in_dims=(None, 0, 0))(single, xb[m], yb[m])
        flat = torch.cat([t.reshape(t.shape[0], -1) for t in g], 1)
        norms = flat.norm(dim=1)
        factor = (
            (clip / (norms + 1e-6)).clamp(max=1) if clip is not None else torch.ones_like(norms)
        )
        out.append([(t * factor.view(-1, *[1] * (t.dim() - 1))).sum(0) for t in g])
    return [torch.stack([o[j] for o in out]) for j in range(len(params))]


@pytest.mark.parametrize("kind", ["logreg", "mlp"])
def test_clipped_gradient_sum_matches_per_example_gradients_from_torch_func(kind):
    gen = torch.Generator().manual_seed(0)
    M, B, d, k = 3, 7, 5, 4
    sizes = network(kind, width=6, depth=2).sizes(d, k)
    params = []
    for a, b in zip(sizes, sizes[1:], strict=False):
        params += [torch.randn(M, a, b, generator=gen), torch.randn(M, b, generator=gen)]
    xb = torch.randn(M, B, d, generator=gen) * 3
    yb = torch.randint(k, (M, B), generator=gen)
    weight = torch.ones(M, B)
    for trainer, clip in (
        (DPSGD(max_grad_norm=0.5), 0.5),
        (DPSGDNoClip(max_grad_norm=0.5), None),
        (SGD(), None),
    ):
        inputs, deltas, _ = _gradients(params, xb, yb, weight, trainer)
        ours = [g for a, d in zip(inputs, deltas, strict=True) for g in (a.mT @ d, d.sum(1))]
        reference = _per_example_reference(params, xb, yb, clip)
        for a, b in zip(ours, reference, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


class _Silent(DPSGD):
    """DP-SGD with the noise switched off, to look at the clipped update alone."""

    def _noise(self) -> float:
        return 0.0


class _SilentNoClip(DPSGDNoClip):
    def _noise(self) -> float:
        return 0.0


def _one_step_change(trainer_cls, scale):
    """Norm of each model's parameter change after one step on one (scaled-up) record."""
    ds = small_task()
    X = ds.X.copy()
    X[0] *= scale
    masks = np.zeros((4, ds.size), bool)
    masks[:, 0] = True  # one record, one step, the whole batch
    trainer = trainer_cls(
        network=network("logreg"),
        epochs=1,
        batch_size=1,
        lr=1.0,
        max_grad_norm=0.1,
        sampling="fixed",
    )
    seeds = list(range(4))
    after = trainer.train(X, ds.y, masks, seeds, size=1)
    start = counter.init_params(trainer.network, ds.dims, ds.classes, counter.keys(seeds))
    change = torch.cat(
        [(a - b).reshape(4, -1) for a, b in zip(after.params, start, strict=True)], 1
    )
    return change.norm(dim=1)


def test_a_single_example_moves_dp_sgd_by_at_most_lr_times_the_clipping_norm():
    norms = _one_step_change(_Silent, scale=5.0)
    assert (norms <= 0.1 * (1 + 1e-4)).all(), norms
    assert (norms > 0.09).all()  # the example's gradient was larger: it was clipped to C


def test_the_noclip_trainer_does_not_clip():
    norms = _one_step_change(_SilentNoClip, scale=5.0)
    assert (norms > 1.0).all(), norms


# -- divergence ---------------------------------------------------------------------------


def test_diverged_models_are_reported_per_model():
    ds = small_task()
    X = ds.X.copy()
    X[5] = 1e30
    masks = np.zeros((3, ds.size), bool)
    masks[:, 10:40] = True
    masks[1, 5] = True  # only model 1 trains on the overflowing record
    trainer = SGD(network=network("mlp", width=8), epochs=3, batch_size=64, lr=1.0)
    out = trainer.train(X, ds.y, masks, [0, 1, 2])
    assert out.diverged.dtype == bool
    assert list(out.diverged) == [False, True, False]
    assert torch.isfinite(out.params[0][0]).all()


# -- ε ------------------------------------------------------------------------------------


HAS_DP_ACCOUNTING = importlib.util.find_spec("dp_accounting") is not None


@pytest.mark.parametrize(
    "accountant",
    [
        "rdp",
        pytest.param(
            "pld",
            marks=pytest.mark.skipif(
                not HAS_DP_ACCOUNTING, reason="the PLD accountant needs dp-accounting"
            ),
        ),
    ],
)
def test_epsilon_falls_as_noise_grows_and_rises_with_epochs(accountant):
    eps = [
        DPSGD(noise_multiplier=s, epochs=2, batch_size=32).epsilon(1e-5, 256, accountant=accountant)
        for s in ((0.7, 1.0, 2.0, 4.0) if accountant == "rdp" else (1.0, 2.0, 4.0))
    ]
    assert all(a > b > 0 for a, b in zip(eps, eps[1:], strict=False)), eps
    longer = DPSGD(noise_multiplier=1.0, epochs=8, batch_size=32).epsilon(
        1e-5, 256, accountant=accountant
    )
    assert longer > eps[1]


def test_epsilon_needs_poisson_sampling_and_valid_arguments():
    with pytest.raises(InvalidArgument, match="sampling='fixed' has no accountant"):
        DPSGD(sampling="fixed").epsilon(1e-5, 100)
    with pytest.raises(InvalidArgument, match="delta=2 must be in"):
        DPSGD().epsilon(2, 100)
    with pytest.raises(InvalidArgument, match="accountant='moments' must be one of"):
        DPSGD().epsilon(1e-5, 100, accountant="moments")
    with pytest.raises(InvalidArgument, match="size=0 must be a positive integer"):
        DPSGD().epsilon(1e-5, 0)
    assert accounting.available() in {"dp-accounting", "opacus"}


def test_noclip_claims_the_same_epsilon_as_dp_sgd():
    claim = DPSGD(noise_multiplier=1.5).epsilon(1e-5, 128)
    assert DPSGDNoClip(noise_multiplier=1.5).epsilon(1e-5, 128) == claim


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"noise_multiplier": 0.0}, r"noise_multiplier=0\.0 must be a number in \(0, inf\)"),
        ({"noise_multiplier": -1.0}, "noise_multiplier=-1.0 must be"),
        ({"max_grad_norm": 0.0}, r"max_grad_norm=0\.0 must be a number in \(0, inf\)"),
        ({"lr": 0.0}, r"lr=0\.0 must be a number in \(0, inf\)"),
        ({"lr": float("nan")}, "lr=nan must be"),
        ({"epochs": 0}, "epochs=0 must be a positive integer"),
        ({"batch_size": 0}, "batch_size=0 must be a positive integer"),
        ({"sampling": "shuffle"}, "sampling='shuffle' must be one of: poisson, fixed"),
    ],
)
def test_bad_trainer_arguments(kwargs, message):
    with pytest.raises(InvalidArgument, match=message):
        make_trainer("dp-sgd", **kwargs)


def test_bad_names_and_shapes():
    with pytest.raises(
        InvalidArgument, match="trainer='adam' must be one of: sgd, dp-sgd, dp-sgd-noclip, opacus"
    ):
        make_trainer("adam")
    with pytest.raises(InvalidArgument, match="model='cnn' must be one of: logreg, mlp"):
        network("cnn")
    with pytest.raises(InvalidArgument, match="width=0 must be a positive integer"):
        network("mlp", width=0)
    ds = small_task()
    trainer = SGD()
    with pytest.raises(InvalidArgument, match="masks must be"):
        trainer.train(ds.X, ds.y, np.ones((2, 5), bool), [0, 1])
    with pytest.raises(InvalidArgument, match="at least one training record"):
        trainer.train(ds.X, ds.y, np.zeros((2, ds.size), bool), [0, 1])
    with pytest.raises(InvalidArgument, match="seeds has 1 entries for 2 models"):
        trainer.train(ds.X, ds.y, np.ones((2, ds.size), bool), [0])


def test_opacus_without_opacus_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "opacus", None)
    with pytest.raises(InvalidArgument, match=r"pip install -e '\.\[opacus\]'"):
        make_trainer("opacus")


def test_opacus_trainer_trains_like_dp_sgd():
    pytest.importorskip("opacus")
    ds = small_task(size=200)
    masks = subsets(ds.size, 2)
    common = {
        "network": network("logreg"),
        "epochs": 10,
        "batch_size": 16,
        "lr": 0.5,
        "noise_multiplier": 0.5,
        "max_grad_norm": 1.0,
    }
    theirs = make_trainer("opacus", **common).train(ds.X, ds.y, masks, [0, 1])
    ours = make_trainer("dp-sgd", **common).train(ds.X, ds.y, masks, [0, 1])
    assert list(theirs.steps) == list(ours.steps)
    loss_theirs = losses(theirs.params, ds.X, ds.y).mean().item()
    loss_ours = losses(ours.params, ds.X, ds.y).mean().item()
    assert abs(loss_theirs - loss_ours) < 0.25, (loss_theirs, loss_ours)


@pytest.mark.gpu
def test_gpu_training_matches_cpu():
    ds = small_task()
    masks = subsets(ds.size, 4)
    trainer = make_trainer("dp-sgd", network=network("mlp", width=8), epochs=2, batch_size=8)
    cpu = trainer.train(ds.X, ds.y, masks, [0, 1, 2, 3])
    gpu = trainer.train(ds.X, ds.y, masks, [0, 1, 2, 3], device="cuda")
    for a, b in zip(cpu.params, gpu.params, strict=True):
        torch.testing.assert_close(a, b.cpu(), rtol=1e-3, atol=1e-4)


def test_epsilon_falls_back_to_opacus_and_says_what_to_install(monkeypatch):
    pytest.importorskip("dp_accounting")
    pytest.importorskip("opacus")
    args = {"noise_multiplier": 1.3, "sample_rate": 0.05, "steps": 97, "delta": 1e-6}
    google = accounting.epsilon(**args)
    monkeypatch.setitem(sys.modules, "dp_accounting", None)
    assert accounting.available() == "opacus"
    meta = accounting.epsilon(**{**args, "steps": 98})  # a new point: not from the cache
    assert abs(meta - google) < 0.1 * google
    with pytest.raises(InvalidArgument, match="accountant='pld' needs dp-accounting"):
        accounting.epsilon(**{**args, "steps": 99}, accountant="pld")
    monkeypatch.setitem(sys.modules, "opacus", None)
    monkeypatch.setitem(sys.modules, "opacus.accountants", None)
    with pytest.raises(InvalidArgument, match="pip install dp-accounting"):
        accounting.epsilon(**{**args, "steps": 100})
