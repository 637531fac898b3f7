"""Attacks on the classic-cryptography games: each breaks its target and nothing sound."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import games
from adversaries.crypto import (
    AffineLearner,
    BatchAffineLearner,
    Birthday,
    CBCMacExtension,
    EcbRepeat,
    LinearPRF,
    NonceReuse,
    PRPPRFSwitch,
    block_pairs,
)
from games.crypto import EufCMA, IndCPA, PRFSecurity, PRGSecurity, PRPSecurity, encryption_scheme
from games.crypto import ToyLinearPRF as ToyLinear
from games.registry import ADVERSARIES
from oracles import InvalidArgument, Oracle, Oracles


def contains_zero(estimate: games.Estimate) -> bool:
    return estimate.ci_low <= 0 <= estimate.ci_high


def overlap(a: games.Estimate, b: games.Estimate) -> bool:
    return a.ci_low <= b.ci_high and b.ci_low <= a.ci_high


def both_paths(
    game: games.Game, adversary: object, trials: int, seed: int
) -> tuple[games.Estimate, games.Estimate]:
    trial = games.estimate(game, adversary, trials=trials, seed=seed, batched=False)  # type: ignore[arg-type]
    batch = games.estimate(game, adversary, trials=trials, seed=seed, batched=True)  # type: ignore[arg-type]
    assert trial.path == "trial" and batch.path == "batch"
    assert trial.error_count == 0 and batch.error_count == 0, (trial.first_error, batch.first_error)
    assert overlap(trial, batch)
    return trial, batch


# -- IND-CPA ------------------------------------------------------------------------------


def test_nonce_reuse_breaks_only_the_reused_nonce() -> None:
    for estimate in both_paths(IndCPA(scheme="ctr-nonce-reuse"), NonceReuse(), 300, 1):
        assert estimate.ci_low > 0.95
    for scheme in ("ctr", "cbc"):
        for estimate in both_paths(IndCPA(scheme=scheme), NonceReuse(), 300, 2):
            assert contains_zero(estimate)


def test_ecb_repeat_per_trial_and_batched_agree_on_one_block_messages() -> None:
    for estimate in both_paths(IndCPA(scheme="ecb", blocks=1), EcbRepeat(), 300, 3):
        assert estimate.ci_low > 0.95
        assert estimate.queries["encrypt"] == 600


@pytest.mark.parametrize("scheme", ["ctr", "ecb", "cbc"])
def test_linear_prf_breaks_ind_cpa_over_toy_linear(scheme: str) -> None:
    game = IndCPA(scheme=scheme, prf="toy-linear", n=16, queries=32, blocks=4)
    for estimate in both_paths(game, LinearPRF(), 300, 4):
        assert estimate.ci_low > 0.95


@pytest.mark.parametrize(
    ("scheme", "prf"), [("ctr", "blake2"), ("cbc", "blake2"), ("ctr", "siphash")]
)
def test_linear_prf_learns_nothing_from_a_real_prf(scheme: str, prf: str) -> None:
    game = IndCPA(scheme=scheme, prf=prf, n=16, queries=8, blocks=4)
    for estimate in both_paths(game, LinearPRF(), 300, 5):
        assert contains_zero(estimate)


def test_linear_prf_needs_only_the_encrypt_oracle_and_n() -> None:
    # The view a reduction gives it: an encrypt oracle (CTR over its own function) and n.
    scheme = encryption_scheme("ctr", n=16, prf="toy-linear")
    wins = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        key, b = scheme.keygen(rng), seed % 2

        def encrypt(
            m0: object,
            m1: object,
            key: np.ndarray = key,
            b: int = b,
            rng: np.random.Generator = rng,
        ) -> np.ndarray:
            return scheme.enc(key, np.atleast_1d(np.asarray(m1 if b else m0, np.uint64)), rng)

        handles = Oracles({"encrypt": Oracle(encrypt, name="encrypt", budget=40)}, {"n": 16})
        wins += LinearPRF()(handles, np.random.default_rng(1000 + seed)) == b
    assert wins == 40


# -- PRF, PRG, PRP ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [8, 32, 64])
def test_linear_prf_breaks_the_toy_prf(n: int) -> None:
    game = PRFSecurity(prf="toy-linear", n=n, queries=n + 2)
    for estimate in both_paths(game, LinearPRF(), 400, 6):
        assert estimate.ci_low > 0.9
        assert estimate.queries["f"] == 400 * (n + 2)


@pytest.mark.parametrize("prf", ["blake2", "siphash"])
def test_linear_prf_against_a_real_prf_and_a_small_budget(prf: str) -> None:
    for estimate in both_paths(PRFSecurity(prf=prf, n=16, queries=20), LinearPRF(), 300, 7):
        assert contains_zero(estimate)
    # Four queries suffice: three points and a fourth in their affine span.
    for estimate in both_paths(PRFSecurity(prf="toy-linear", queries=4), LinearPRF(), 300, 8):
        assert estimate.ci_low > 0.9
    for estimate in both_paths(PRFSecurity(prf="toy-linear", queries=3), LinearPRF(), 300, 8):
        assert contains_zero(estimate)


def test_linear_prf_breaks_the_toy_prg() -> None:
    for estimate in both_paths(PRGSecurity(prf="toy-linear", n=24, blocks=4), LinearPRF(), 300, 9):
        assert estimate.ci_low > 0.9
    for estimate in both_paths(PRGSecurity(prf="blake2", n=24, blocks=16), LinearPRF(), 300, 9):
        assert contains_zero(estimate)


def test_prp_prf_switch_sees_the_birthday_term() -> None:
    q, n = 300, 16
    expected = 1 - math.exp(-q * (q - 1) / 2 ** (n + 1))
    game = PRFSecurity(prf="feistel", n=n, queries=q)
    estimate = games.estimate(game, PRPPRFSwitch(), trials=1000, seed=10)
    assert estimate.ci_low <= expected <= estimate.ci_high
    assert contains_zero(
        games.estimate(PRPSecurity(n=n, queries=q), PRPPRFSwitch(), trials=1000, seed=10)
    )


def test_prp_prf_switch_paths_agree() -> None:
    both_paths(PRFSecurity(prf="feistel", n=12, queries=64), PRPPRFSwitch(), 400, 11)


# -- MACs and collisions ------------------------------------------------------------------


@pytest.mark.parametrize("blocks", [1, 3])
def test_cbc_mac_extension_needs_variable_length(blocks: int) -> None:
    forgeable = EufCMA(mac="cbc-mac", blocks=blocks, variable_length=True)
    for estimate in both_paths(forgeable, CBCMacExtension(), 300, 12):
        assert estimate.ci_low > 0.95
    fixed = EufCMA(mac="cbc-mac", blocks=blocks, variable_length=False)
    for estimate in both_paths(fixed, CBCMacExtension(), 300, 12):
        assert estimate.wins == 0 and contains_zero(estimate)


def test_cbc_mac_extension_fails_against_hmac() -> None:
    for estimate in both_paths(
        EufCMA(mac="hmac", variable_length=True), CBCMacExtension(), 300, 13
    ):
        assert estimate.wins == 0


def test_birthday_with_fewer_queries_than_the_budget() -> None:
    from games.crypto import Collision

    game = Collision(n=12, queries=1000)
    q = 40
    expected = 1 - math.exp(-q * (q - 1) / 2**13)
    trial, batch = both_paths(game, Birthday(q=q), 1000, 14)
    for estimate in (trial, batch):
        assert estimate.ci_low + game.baseline <= expected <= estimate.ci_high + game.baseline
    assert batch.queries["f"] == q * 1000
    assert trial.queries["f"] <= q * 1000


# -- the affine learners ------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(n=st.integers(8, 64), points=st.integers(1, 70), seed=st.integers(0, 2**32 - 1))
def test_affine_learners_predict_exactly_the_span(n: int, points: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    f = ToyLinear(in_bits=n, out_bits=n)
    keys = f.keygen(rng, 3)
    xs = rng.integers(0, 1 << n, size=(3, points), dtype=np.uint64)
    ys = f(keys, xs)
    batch = BatchAffineLearner(n, 3)
    singles = [AffineLearner(n) for _ in range(3)]
    for j in range(points):
        batch.add(xs[:, j], ys[:, j])
        for i, learner in enumerate(singles):
            learner.add(int(xs[i, j]), int(ys[i, j]))
    assert batch.rank.tolist() == [learner.rank for learner in singles]
    assert all(learner.rank <= min(n, points - 1) for learner in singles)
    z = rng.integers(0, 1 << n, size=3, dtype=np.uint64)
    predicted, ok = batch.predict(z)
    for i, learner in enumerate(singles):
        single = learner.predict(int(z[i]))
        assert (single is not None) == bool(ok[i])
        if single is not None:
            assert single == predicted[i] == f(keys[i], int(z[i]))
        # Points of the span are predicted right, whatever the rank.
        if learner.rank >= 1:
            inside = learner.span_point(rng)
            assert learner.predict(inside) == f(keys[i], inside)
    if points >= n + 8:
        assert ok.all()  # full rank is all but certain
    inside = batch.span_points(rng)
    predicted, ok = batch.predict(inside)
    assert ok.all()
    assert np.array_equal(predicted, f(keys, inside))


def test_block_pairs_recover_the_block_function() -> None:
    rng = np.random.default_rng(0)
    for name in ("ecb", "cbc", "ctr"):
        scheme = encryption_scheme(name, n=16, prf="toy-linear")
        key = scheme.keygen(rng)
        m = rng.integers(0, 1 << 16, size=4, dtype=np.uint64)
        inputs, outputs = block_pairs(name, m, scheme.enc(key, m, rng), 16)
        block = scheme.cipher.encrypt if name != "ctr" else scheme.function  # type: ignore[union-attr]
        assert [block(key, int(x)) for x in inputs] == outputs.tolist()


# -- registration and parameters ----------------------------------------------------------


def test_registered_with_their_games() -> None:
    expected = {
        "ecb-repeat": ("ind-cpa",),
        "nonce-reuse": ("ind-cpa",),
        "linear-prf": ("prf", "prg", "ind-cpa"),
        "cbc-mac-extension": ("euf-cma",),
        "birthday": ("collision",),
        "prp-prf-switch": ("prf", "prp"),
    }
    for name, plays in expected.items():
        entry = ADVERSARIES.entry(name)
        assert entry.games == plays
        assert entry.summary


@pytest.mark.parametrize(
    "make", [lambda: Birthday(q=0), lambda: PRPPRFSwitch(q=-3), lambda: LinearPRF(points=True)]
)
def test_bad_adversary_parameters(make: object) -> None:
    with pytest.raises(InvalidArgument, match="must be None .* or a positive integer"):
        make()  # type: ignore[operator]
