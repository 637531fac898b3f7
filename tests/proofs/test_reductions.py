"""The crypto reductions: each B simulates A's game around its own oracle as the proof says."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from games.engine import isolation
from oracles import InvalidArgument, Oracle, Oracles, RandomFunction
from proofs import load
from proofs.crypto import reductions


def handles(function, name="f", budget=None, **public):
    return Oracles({name: Oracle(function, name=name, budget=budget)}, public)


def reads_the_plaintext(oracles, rng):
    """Wins whenever the keystream is zero: the ciphertext body is the chosen message."""
    ciphertext = oracles["encrypt"](0, 1)
    return int(ciphertext[1]) & 1


def test_every_shipped_reduction_resolves_to_a_documented_function():
    for name in ("ctr-prf", "prf-mac", "luby-rackoff", "prp-prf-switching", "hybrid-lr"):
        for assumption in load(name).assumptions:
            function = assumption.resolve_reduction()
            assert function.__doc__ and function.__module__ == "proofs.crypto.reductions"


def test_ctr_reduction_halves_the_advantage():
    b = reductions.prf_from_ctr(reads_the_plaintext, {"n": 8, "queries": 1})
    # A broken PRF (always 0): A reads b off the ciphertext, so B always answers "real".
    real = [b(handles(lambda x: 0), np.random.default_rng(seed)) for seed in range(40)]
    assert real == [1] * 40
    # A random function: A guesses blindly, so B answers 1 half the time.
    ideal = [
        b(handles(RandomFunction(8, rng=np.random.default_rng(seed))), np.random.default_rng(seed))
        for seed in range(200)
    ]
    assert 60 < sum(ideal) < 140


def test_ctr_reduction_builds_ciphertexts_with_a_nonce_and_budget():
    seen = []

    def adversary(oracles, rng):
        seen.append(oracles["encrypt"]([1, 2, 3], [1, 2, 3]))
        with pytest.raises(Exception, match="budget"):
            oracles["encrypt"](1, 1)
        return 0

    b = reductions.prf_from_ctr(adversary, {"n": 8, "queries": 1})
    queried = []
    b(handles(lambda x: queried.append(x) or 0), np.random.default_rng(1))
    (ciphertext,) = seen
    nonce = int(ciphertext[0])
    assert list(ciphertext[1:]) == [1, 2, 3]
    assert queried == [(nonce + i) % 256 for i in range(3)]


def test_mac_reduction_checks_the_forgery_with_its_oracle():
    def forger(message, tag):
        def play(oracles, rng):
            oracles["tag"](1)
            return message, tag

        return play

    b = lambda forge: reductions.prf_from_mac(forge, {"n": 8, "queries": 2})  # noqa: E731
    identity = lambda: handles(lambda x: x)  # noqa: E731
    rng = np.random.default_rng(0)
    assert b(forger(2, 2))(identity(), rng) == 1  # a fresh message with the right tag
    assert b(forger(2, 3))(identity(), rng) == 0  # a wrong tag
    assert b(forger(1, 1))(identity(), rng) == 0  # a message it asked about
    assert b(lambda oracles, rng: "nonsense")(identity(), rng) == 0


def test_feistel_reduction_is_a_permutation_whatever_round_is_planted():
    class Stub:
        def keygen(self, rng):
            return int(rng.integers(16))

        def __call__(self, key, x):
            return (x * 7 + key) % 16

    def all_distinct(oracles, rng):
        outputs = {oracles["f"](x) for x in range(256)}
        return int(len(outputs) == 256)

    b = reductions.PRFFromFeistel(adversary=all_distinct, n=8, make_prf=lambda name, bits: Stub())
    for seed in range(6):
        oracle = RandomFunction(4, rng=np.random.default_rng(seed))
        assert b(handles(oracle), np.random.default_rng(seed)) == 1


def test_renamed_reduction_hands_a_over_its_oracle():
    def adversary(oracles, rng):
        return oracles["f"](3)

    b = reductions.prp_as_prf(adversary, {})
    assert b(handles(lambda x: x + 1, name="permute"), np.random.default_rng(0)) == 4


def test_hybrid_reduction_forwards_exactly_one_challenge():
    calls = []

    def lr(m0, m1):
        calls.append((m0, m1))
        return 0

    def adversary(oracles, rng):
        for j in range(5):
            oracles["encrypt"](j, 100 + j)
        return 1

    b = reductions.single_challenge_from_many(adversary, {"queries": 5})
    for seed in range(10):
        calls.clear()
        assert b(handles(lr, name="encrypt"), np.random.default_rng(seed)) == 1
        challenges = [j for j, (m0, m1) in enumerate(calls) if m0 != m1]
        assert len(challenges) == 1
        (i,) = challenges
        assert calls[:i] == [(100 + j, 100 + j) for j in range(i)]
        assert calls[i + 1 :] == [(j, j) for j in range(i + 1, 5)]


def test_reductions_are_replayable_from_the_seed():
    b = reductions.prf_from_ctr(lambda oracles, rng: int(rng.integers(2)), {"n": 8})
    first = [b(handles(lambda x: 0), np.random.default_rng(seed)) for seed in range(20)]
    again = [b(handles(lambda x: 0), np.random.default_rng(seed)) for seed in range(20)]
    assert first == again


@pytest.mark.parametrize(
    "factory",
    [
        reductions.prf_from_ctr,
        reductions.prf_from_mac,
        reductions.prf_from_feistel,
        reductions.prp_as_prf,
        reductions.single_challenge_from_many,
    ],
)
def test_reductions_adversaries_pickle_and_keep_public_read_only(factory):
    # --isolate and the process backend send B to another process by pickling it.
    b = factory("ecb-repeat", {"n": 8, "queries": 2})
    copy = pickle.loads(pickle.dumps(b))
    assert copy == b and dict(copy.public) == {"n": 8, "queries": 2}
    with pytest.raises(TypeError):
        copy.public["n"] = 4  # type: ignore[index]
    assert isolation._immutable(copy)  # a fresh B per trial stays a cheap shallow copy


@pytest.mark.parametrize(
    ("factory", "params", "message"),
    [
        (reductions.prf_from_ctr, {}, "must set 'n'"),
        (reductions.prf_from_mac, {"queries": 2}, "must set 'n'"),
        (reductions.prf_from_feistel, {"n": 9}, "n=9 must be even"),
        (
            reductions.single_challenge_from_many,
            {"queries": 0},
            "queries=0 must be a positive integer",
        ),
        (reductions.single_challenge_from_many, {}, "must set 'queries'"),
    ],
)
def test_reductions_refuse_bad_theorem_parameters(factory, params, message):
    with pytest.raises(InvalidArgument, match=message):
        factory(lambda oracles, rng: 0, params)


def test_reduction_needs_the_oracle_it_names():
    oracles = Oracles({"a": Oracle(lambda x: x, name="a"), "b": Oracle(lambda x: x, name="b")})
    b = reductions.prp_as_prf(lambda o, rng: 0, {})
    with pytest.raises(InvalidArgument, match="offers oracles a, b; the reduction needs 'f'"):
        b(oracles, np.random.default_rng(0))


# -- against the crypto games -------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["ctr-prf", "hybrid-lr", "luby-rackoff", "prf-mac", "prp-prf-switching"]
)
def test_shipped_games_and_assumption_games_construct(name):
    from games.crypto.games import EufCMA, IndCPA, PRFSecurity, PRPSecurity

    classes = {"ind-cpa": IndCPA, "euf-cma": EufCMA, "prf": PRFSecurity, "prp": PRPSecurity}
    proof = load(name)
    classes[proof.theorem.game](**proof.theorem.params)
    resources = proof.resource_values()
    for assumption in proof.assumptions:
        classes[assumption.game](**assumption.game_params(resources))
    # The domain's corners are valid games too, so the bound is claimed where it can be played.
    for corner in ("low", "high"):
        values = {r.name: getattr(r, corner) for r in proof.domain}
        for assumption in proof.assumptions:
            params = assumption.game_params(values)
            params["queries"] = min(params.get("queries", 1), 64)
            classes[assumption.game](**params)


def test_ctr_reduction_turns_a_ctr_break_into_a_prf_break():
    import games
    from adversaries.crypto import LinearPRF
    from games.crypto.games import IndCPA, PRFSecurity

    proof = load("ctr-prf")
    params = {**proof.theorem.params, "prf": "toy-linear", "queries": 80}
    resources = proof.resource_values(params=params)
    (assumption,) = proof.assumptions
    a = LinearPRF()
    b = assumption.resolve_reduction()(a, params)
    against_a = games.estimate(IndCPA(**params), a, trials=100, seed=3)
    game = PRFSecurity(**{**assumption.game_params(resources), "prf": "toy-linear"})
    against_b = games.estimate(game, b, trials=200, seed=3)
    assert against_a.advantage > 0.9
    # B wins half of what A wins (the factor 2 of the bound), and the bound holds.
    assert 0.3 < against_b.advantage < 0.7
    # As a checker would: A's lower end never exceeds the bound at B's upper end.
    assert against_a.ci_low <= proof.bound_value({**resources, "adv_prf": against_b.ci_high})
    secure = PRFSecurity(**assumption.game_params(resources))
    assert abs(games.estimate(secure, b, trials=200, seed=3).advantage) < 0.25
