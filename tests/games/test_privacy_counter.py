"""Counter-based draws: SplitMix64 as specified, independent of the chunk, the row length and
the device, with the distributions they claim."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from games.privacy import counter, data  # noqa: E402
from games.privacy.training import make_trainer, network  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")

MASK = (1 << 64) - 1


def splitmix(key: int, stream: int, step: int, j: int) -> int:
    """The j-th 64-bit output of a (key, stream, step) row, in plain Python integers."""

    def mix(x: int) -> int:
        x &= MASK
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
        return x ^ (x >> 31)

    gamma = 0x9E3779B97F4A7C15
    start = mix(key + mix((step * 4 + stream + 1) * gamma))
    return mix(start + (j + 1) * gamma)


def test_words_are_splitmix64_halves():
    keys = counter.keys([0, 1, np.random.SeedSequence(5), 2**100])
    got = counter.words(keys, counter.BATCH, 7, 9)
    assert got.dtype == torch.int32 and got.shape == (4, 9)
    for i in range(4):
        key = int(keys[i]) & MASK
        for j in range(9):
            expected = (splitmix(key, counter.BATCH, 7, j // 2) >> (32 * (j % 2))) & 0xFFFFFFFF
            assert int(got[i, j]) & 0xFFFFFFFF == expected


def test_a_models_key_is_its_seed_sequences_second_word():
    sequence = np.random.SeedSequence(42)
    word = sequence.generate_state(2, np.uint64)[1]
    assert int(counter.keys([sequence])[0]) & MASK == int(word)
    assert int(counter.keys([42])[0]) == int(counter.keys([sequence])[0])


def test_a_row_does_not_depend_on_its_length_its_neighbours_or_its_step():
    keys = counter.keys(range(6))
    long = counter.words(keys, counter.BATCH, 3, 101)
    assert torch.equal(counter.words(keys, counter.BATCH, 3, 10), long[:, :10])
    assert torch.equal(counter.words(keys[[4, 1]], counter.BATCH, 3, 101), long[[4, 1]])
    assert not torch.equal(counter.words(keys, counter.BATCH, 4, 101), long)
    assert not torch.equal(counter.words(keys, counter.NOISE, 3, 101), long)
    normals = counter.normal(keys, counter.NOISE, 3, 11)
    assert torch.equal(counter.normal(keys[2:3], counter.NOISE, 3, 11), normals[2:3])


def test_draws_have_their_distributions():
    keys = counter.keys(range(200))
    words = counter.words(keys, counter.BATCH, 0, 2000).double() / 2**32 + 0.5
    assert abs(words.mean().item() - 0.5) < 0.005
    assert abs(words.var().item() - 1 / 12) < 0.002
    bits = (counter.words(keys, counter.BATCH, 0, 2000).long() & 1).double()
    assert abs(bits.mean().item() - 0.5) < 0.005  # the low bits too
    z = counter.normal(keys, counter.NOISE, 5, 2001).double()
    assert z.shape == (200, 2001) and torch.isfinite(z).all()
    assert abs(z.mean().item()) < 0.01 and abs(z.std().item() - 1) < 0.01
    assert abs((z.abs() > 1.96).double().mean().item() - 0.05) < 0.003
    # Neighbouring Gaussians (one output's two halves) are uncorrelated.
    pairs = z[:, :2000].reshape(-1, 2)
    assert abs((pairs[:, 0] * pairs[:, 1]).mean().item()) < 0.01
    u = counter.uniform(keys, counter.INIT, 0, 1000)
    assert u.min() >= -1 and u.max() <= 1 and abs(u.mean().item()) < 0.01


def test_a_model_trains_the_same_in_any_chunk():
    rng = np.random.default_rng(0)
    ds = data.load("gaussian", rng=rng, size=150, dims=5, classes=3)
    masks = rng.random((6, ds.size)) < 0.3
    masks[3, :] = rng.random(ds.size) < 0.6  # the widest model: others are padded
    seeds = [np.random.SeedSequence(100 + i) for i in range(6)]
    for name, sampling in (("sgd", "fixed"), ("dp-sgd", "poisson")):
        trainer = make_trainer(
            name, network=network("mlp", width=8), epochs=2, batch_size=8, sampling=sampling
        )
        everyone = trainer.train(ds.X, ds.y, masks, seeds, size=60)
        # Model 1 in another chunk, with other neighbours, at another position, with no
        # padding of its own (it is the widest there) or a lot of it. Its draws are the same
        # bits; only the order of a sum over a batch may change with the chunk's padding.
        for chunk in ([4, 1], [1], [3, 5, 1]):
            other = trainer.train(ds.X, ds.y, masks[chunk], [seeds[i] for i in chunk], size=60)
            at = chunk.index(1)
            for a, b in zip(everyone.params, other.params, strict=True):
                torch.testing.assert_close(a[1], b[at], rtol=1e-5, atol=1e-6)


@pytest.mark.gpu
def test_cuda_draws_the_same_words_and_gaussians_to_float_tolerance():
    keys = counter.keys(range(64))
    cuda = keys.to("cuda")
    for stream, step in ((counter.BATCH, 0), (counter.NOISE, 12345)):
        cpu_words = counter.words(keys, stream, step, 999)
        assert torch.equal(counter.words(cuda, stream, step, 999).cpu(), cpu_words)
    torch.testing.assert_close(
        counter.normal(cuda, counter.NOISE, 3, 777).cpu(),
        counter.normal(keys, counter.NOISE, 3, 777),
        rtol=1e-5,
        atol=1e-5,
    )
