"""The classic-cryptography games: oracles, batched ideal objects, and the engine's estimates."""

from __future__ import annotations

import math

import numpy as np
import pytest

import games
from adversaries.crypto import Birthday, EcbRepeat
from adversaries.generic import Guess
from games.base import Challenge
from games.crypto import (
    BatchRandomFunction,
    BatchRandomPermutation,
    Collision,
    EufCMA,
    IndCPA,
    PRFSecurity,
    PRGSecurity,
    PRPSecurity,
)
from games.errors import InvalidAnswer
from oracles import BudgetExceeded, InvalidArgument

BIT_GAMES = [
    *(
        IndCPA(scheme=s, prf=p)
        for s in ("ecb", "cbc", "ctr", "ctr-nonce-reuse")
        for p in ("blake2", "siphash", "toy-linear")
    ),
    PRFSecurity(prf="blake2"),
    PRFSecurity(prf="siphash"),
    PRFSecurity(prf="toy-linear"),
    PRPSecurity(),
    PRFSecurity(prf="feistel", rounds=1),
    PRGSecurity(prf="toy-linear"),
]


def contains_zero(estimate: games.Estimate) -> bool:
    return estimate.ci_low <= 0 <= estimate.ci_high


def overlap(a: games.Estimate, b: games.Estimate) -> bool:
    return a.ci_low <= b.ci_high and b.ci_low <= a.ci_high


# -- estimates ----------------------------------------------------------------------------


@pytest.mark.parametrize("batched", [False, True])
def test_ecb_repeat_breaks_ecb(batched: bool) -> None:
    estimate = games.estimate(
        IndCPA(scheme="ecb"), EcbRepeat(), trials=400, seed=1, batched=batched
    )
    assert estimate.ci_low > 0.95
    assert estimate.error_count == 0


@pytest.mark.parametrize("blocks", [1, 4])
def test_ecb_repeat_fails_against_ctr(blocks: int) -> None:
    estimate = games.estimate(IndCPA(scheme="ctr", blocks=blocks), EcbRepeat(), trials=400, seed=2)
    assert contains_zero(estimate)
    assert estimate.error_count == 0


@pytest.mark.parametrize("game", BIT_GAMES, ids=lambda g: f"{type(g).__name__}-{g.describe()}")
def test_guess_has_no_advantage(game: games.Game) -> None:
    for batched in (False, True):
        estimate = games.estimate(game, Guess(), trials=300, seed=3, batched=batched)
        assert contains_zero(estimate), estimate
        assert estimate.error_count == 0


def collision_probability(q: int, n: int) -> float:
    return 1 - math.exp(-q * (q - 1) / 2 ** (n + 1))


@pytest.mark.parametrize("q", [100, 300])
def test_birthday_matches_the_birthday_bound(q: int) -> None:
    game = Collision(n=16, queries=q)
    expected = collision_probability(q, 16)
    estimate = games.estimate(game, Birthday(), trials=2000, seed=4)
    assert estimate.path == "batch"
    assert estimate.ci_low + game.baseline <= expected <= estimate.ci_high + game.baseline
    assert estimate.queries["f"] == q * 2000


def test_birthday_per_trial_matches_the_bound_and_the_batch() -> None:
    game = Collision(n=16, queries=300)
    trial = games.estimate(game, Birthday(), trials=1000, seed=5, batched=False)
    batch = games.estimate(game, Birthday(), trials=1000, seed=5, batched=True)
    expected = collision_probability(300, 16)
    for estimate in (trial, batch):
        assert estimate.ci_low + game.baseline <= expected <= estimate.ci_high + game.baseline
    assert overlap(trial, batch)


def test_collision_baseline_and_a_fixed_pair() -> None:
    game = Collision(n=8, queries=4)
    assert game.baseline == 2**-8
    wins = [game.finalize(game.setup(np.random.default_rng(s)), (0, 1)) for s in range(2000)]
    assert 0 < sum(wins) < 40  # 2000 / 256 ≈ 8 expected
    assert not game.finalize(game.setup(np.random.default_rng(0)), (3, 3))


# -- oracles on the per-trial path --------------------------------------------------------


def handles(game: games.Game, hidden: int | None = 1, seed: int = 0) -> tuple[Challenge, object]:
    rng = np.random.default_rng(seed)
    challenge = game.setup(rng) if hidden is None else game.setup(hidden, rng)  # type: ignore[attr-defined]
    return challenge, challenge.handles()


def test_ind_cpa_lr_encrypts_the_chosen_message() -> None:
    game = IndCPA(scheme="ctr", n=32, blocks=3)
    for b in (0, 1):
        challenge, oracles = handles(game, b)
        c = oracles["encrypt"]([1, 2], [3, 4])
        assert c.shape == (3,)
        assert oracles.public["scheme"] == "ctr" and oracles.public["blocks"] == 3
    one = handles(game, 0)[1]["encrypt"](5, 6)  # an int is a one-block message
    assert one.shape == (2,)


def test_64_bit_blocks_on_either_side_of_2_63_are_one_message_on_both_paths() -> None:
    # numpy turns [1, 2**63] into float64: the per-trial path refused a valid message.
    game = IndCPA(scheme="ctr", n=64, blocks=2)
    m0, m1 = [1, 1 << 63], [(1 << 64) - 1, 0]
    replies = []
    for batched in (False, True):
        rng = np.random.default_rng(0)
        if batched:
            oracles = game.setup_batch(np.array([0]), rng).handles()
            replies.append(oracles["encrypt"](np.array([m0], np.uint64), np.array([m1], np.uint64)))
        else:
            replies.append(handles(game, 0)[1]["encrypt"](m0, m1))
    assert replies[0].shape == (3,) and replies[1].shape == (1, 3)
    with pytest.raises(InvalidArgument, match=r"must hold integers in \[0, 2\*\*64\)"):
        handles(game, 0)[1]["encrypt"]([1, 1 << 64], m1)


def test_ind_cpa_rejects_bad_messages() -> None:
    oracles = handles(IndCPA(scheme="cbc", n=16, blocks=2))[1]
    with pytest.raises(InvalidArgument, match="same length"):
        oracles["encrypt"]([1, 2], [1])
    with pytest.raises(InvalidArgument, match="3 blocks; it must have 1 to 2"):
        oracles["encrypt"]([1, 2, 3], [1, 2, 3])
    with pytest.raises(InvalidArgument, match=r"m1 holds 65536, outside \[0, 2\*\*16\)"):
        oracles["encrypt"]([1], [1 << 16])
    with pytest.raises(InvalidArgument, match="m0=.* must hold integers"):
        oracles["encrypt"]([-1], [1])


def test_prf_oracle_answers_one_point_per_query() -> None:
    for world in (0, 1):
        oracles = handles(PRFSecurity(n=16, queries=2), world)[1]
        assert oracles["f"](7) == oracles["f"](7)
        with pytest.raises(BudgetExceeded):
            oracles["f"](8)
        with pytest.raises(InvalidArgument, match="must be an integer"):
            handles(PRFSecurity(n=16), world)[1]["f"]([1, 2])


def test_prp_real_world_is_the_feistel_cipher() -> None:
    oracles = handles(PRPSecurity(n=8, rounds=1, queries=256), 1)[1]
    # One Feistel round moves the right half to the left untouched.
    assert all(oracles["f"](x) >> 4 == x & 0xF for x in range(0, 256, 7))


def test_prg_real_output_of_toy_linear_is_affine() -> None:
    game = PRGSecurity(prf="toy-linear", n=24, blocks=8)
    out = handles(game, 1)[0].public["output"]
    assert out.shape == (8,)
    assert out[3] == out[0] ^ out[1] ^ out[2]
    batch = game.setup_batch(np.ones(50, np.int64), np.random.default_rng(0)).public["output"]
    assert (batch[:, 3] == batch[:, 0] ^ batch[:, 1] ^ batch[:, 2]).all()


def test_euf_cma_judges_forgeries() -> None:
    game = EufCMA(mac="hmac", n=16, blocks=2)
    challenge, oracles = handles(game, None)
    key = challenge.secret[0]
    t = oracles["tag"]([1, 2])
    assert not game.finalize(challenge, ([1, 2], t))  # a queried message is no forgery
    genuine = game._scheme().tag(key, np.array([5, 6], np.uint64))
    assert game.finalize(challenge, ([5, 6], genuine))
    assert not game.finalize(challenge, ([5, 6], genuine ^ 1))
    assert not game.finalize(challenge, ([5, 6, 7], 0))  # outside the fixed-length message space
    with pytest.raises(InvalidArgument, match="signs exactly 2"):
        oracles["tag"]([1])
    with pytest.raises(InvalidAnswer):
        game.finalize(challenge, 17)
    with pytest.raises(InvalidAnswer):
        game.finalize(challenge, ([1, 2], -1))


def test_euf_cma_variable_length_and_prf_mac() -> None:
    oracles = handles(EufCMA(mac="cbc-mac", variable_length=True), None)[1]
    assert isinstance(oracles["tag"]([1]), int) and isinstance(oracles["tag"]([1, 2, 3]), int)
    game = EufCMA(mac="prf-mac", blocks=3)
    assert game.describe()["blocks"] == 3
    oracles = handles(game, None)[1]
    assert oracles.public["blocks"] == 1
    with pytest.raises(InvalidArgument, match="prf-mac here signs exactly 1"):
        oracles["tag"]([1, 2])
    assert game.baseline == 2**-16


# -- the batched path ---------------------------------------------------------------------


def test_batched_oracles_take_one_row_per_trial() -> None:
    rng = np.random.default_rng(0)
    challenge = IndCPA(scheme="ecb", blocks=2).setup_batch(np.array([0, 1, 1]), rng)
    encrypt = challenge.handles()["encrypt"]
    m0 = np.array([[1, 1], [1, 1], [1, 1]], np.uint64)
    m1 = np.array([[1, 2], [1, 2], [1, 2]], np.uint64)
    c = encrypt(m0, m1)
    assert c.shape == (3, 2)
    assert (c[:, 0] == c[:, 1]).tolist() == [True, False, False]
    assert encrypt.queries == 1
    with pytest.raises(InvalidArgument, match=r"must have shape \(3, L\)"):
        encrypt(m0[:2], m1[:2])
    f = PRFSecurity().setup_batch(np.array([1, 0]), rng).handles()["f"]
    with pytest.raises(InvalidArgument, match=r"must have shape \(2,\): one point per trial"):
        f(np.zeros((2, 3), np.uint64))


def test_euf_cma_batched_finalize() -> None:
    game = EufCMA(mac="prf-mac", n=16)
    rng = np.random.default_rng(1)
    challenge = game.setup_batch(3, rng)
    tag = challenge.handles()["tag"]
    m = np.array([1, 2, 3], np.uint64)
    t = tag(m)
    keys = challenge.secret[0]
    assert not game.finalize_batch(challenge, (m, t)).any()  # queried
    fresh = np.array([[9], [9], [9]], np.uint64)
    genuine = game._scheme().tag(keys, fresh)
    assert game.finalize_batch(challenge, (fresh, genuine)).all()
    assert not game.finalize_batch(challenge, (fresh, genuine ^ np.uint64(1))).any()
    with pytest.raises(InvalidAnswer):
        game.finalize_batch(challenge, "nonsense")


class FixedAnswers:
    """A batched adversary that queries nothing and answers ``make(size)`` for the batch."""

    def __init__(self, make: object) -> None:
        self.make = make

    def __call__(self, oracles: object, rng: np.random.Generator) -> object:
        raise AssertionError("played on the batched path only")

    def batch(self, oracles: object, rng: np.random.Generator, size: int) -> object:
        return self.make(size)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("game", "make"),
    [
        (Collision(n=16), lambda size: np.array([[0, 1]], np.uint64)),  # one pair for all
        (Collision(n=16), lambda size: np.zeros((size + 1, 2), np.uint64)),
        (Collision(n=16), lambda size: np.zeros((size, 3), np.uint64)),
        (EufCMA(n=16), lambda size: (np.zeros((1, 1), np.uint64), np.zeros(size, np.uint64))),
        (EufCMA(n=16), lambda size: (np.zeros((size, 1), np.uint64), np.zeros(1, np.uint64))),
    ],
    ids=["collision-one-row", "collision-extra-row", "collision-three-columns", "euf-m", "euf-t"],
)
def test_a_batched_answer_of_the_wrong_shape_loses_the_batch(game: games.Game, make) -> None:
    # A wrong number of rows escaped the run as InvalidArgument instead of losing the batch.
    result = games.estimate(game, FixedAnswers(make), trials=100, seed=0, batched=True)
    assert result.wins == 0 and result.errors == {"invalid-answer": 100}, result.first_error


def test_batch_random_function_is_consistent_per_trial() -> None:
    f = BatchRandomFunction(4, 8, rng=np.random.default_rng(0))
    x = np.array([1, 2, 3, 1], np.uint64)
    first = f(x)
    assert np.array_equal(f(x), first)
    assert np.array_equal(f(np.stack([x, x], 1)), np.stack([first, first], 1))
    many = f(np.tile(np.arange(256, dtype=np.uint64), (4, 1)))
    assert len({tuple(row) for row in many.tolist()}) == 4  # the trials are independent
    assert many[0, 1] == first[0]
    with pytest.raises(InvalidArgument, match="one row per trial"):
        f(np.zeros(3, np.uint64))


def test_batch_random_permutation_is_a_permutation_with_inverse() -> None:
    p = BatchRandomPermutation(5, 8, rng=np.random.default_rng(0))
    early = p.inverse(np.full(5, 17, np.uint64))
    images = np.concatenate(
        [
            p(np.arange(0, 128, dtype=np.uint64)[None].repeat(5, 0)),
            p(np.arange(128, 256, dtype=np.uint64)[None].repeat(5, 0)),
        ],
        axis=1,
    )
    for row in images:
        assert sorted(row.tolist()) == list(range(256))
    assert (images[np.arange(5), early.astype(np.int64)] == 17).all()
    assert np.array_equal(p.inverse(images[:, 10]), np.full(5, 10, np.uint64))


# -- bad parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda: IndCPA(scheme="ofb"),
            "scheme='ofb' must be one of: ecb, cbc, ctr, ctr-nonce-reuse",
        ),
        (lambda: IndCPA(n=7), r"n=7 must be an integer in \[8, 64\]"),
        (lambda: IndCPA(scheme="ecb", n=9), "n=9 must be even for a Feistel cipher"),
        (lambda: IndCPA(queries=0), "queries=0 must be a positive integer"),
        (lambda: IndCPA(blocks=0), r"blocks=0 must be an integer in \[1, 4096\]"),
        (lambda: IndCPA(prf="aes"), "prf='aes' must be one of: blake2, siphash, toy-linear"),
        (lambda: PRPSecurity(n=15), "n=15 must be even"),
        (lambda: PRPSecurity(rounds=0), r"rounds=0 must be an integer in \[1, 64\]"),
        (lambda: PRPSecurity(prp="aes"), "prp='aes' must be one of: feistel"),
        (lambda: PRFSecurity(prf="feistel", n=13), "n=13 must be even"),
        (
            lambda: PRFSecurity(prf="aes"),
            "prf='aes' must be one of: blake2, siphash, toy-linear, feistel",
        ),
        (lambda: PRFSecurity(n=65), r"n=65 must be an integer in \[8, 64\]"),
        (lambda: PRGSecurity(blocks=-1), "blocks=-1 must be"),
        (lambda: EufCMA(mac="pmac"), "mac='pmac' must be one of: prf-mac, cbc-mac, hmac"),
        (lambda: EufCMA(mac="cbc-mac", n=11), "n=11 must be even"),
        (lambda: Collision(n=4), r"n=4 must be an integer in \[8, 64\]"),
        (lambda: Collision(queries=0), "queries=0 must be a positive integer"),
    ],
)
def test_bad_parameters(make: object, match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        make()  # type: ignore[operator]


def test_odd_n_is_fine_without_a_feistel_cipher() -> None:
    assert IndCPA(scheme="ctr", n=9).n == 9
    assert EufCMA(mac="hmac", n=9).n == 9
