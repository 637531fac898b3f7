"""What an empirical check plays: hop ends, the games and the reductions' B, built before play."""

from __future__ import annotations

import pathlib

import pytest

import proofs
from adversaries.crypto import EcbRepeat
from proofs import ProofError
from proofs.crypto.reductions import PRFFromCTR
from proofs.plan import Stated, endpoint, plan_check, stated_advantage

DATA = pathlib.Path(__file__).parent / "data"


# -- hop ends -------------------------------------------------------------------------------


def test_endpoint_names_a_registered_game():
    assert endpoint("G1: prp prf=blake2 n=12") == ("prp", {"prf": "blake2", "n": "12"})
    assert endpoint("ind-cpa") == ("ind-cpa", {})
    assert endpoint("G0: real CTR, left messages") is None
    assert endpoint("G2: no-such-game") is None
    assert endpoint("prp prf") is None


def test_stated_advantage_reads_an_exact_end():
    assert stated_advantage("G2: advantage 0, the classes coincide") == 0.0
    assert stated_advantage("advantage 0.25") == 0.25
    assert stated_advantage("G1: advantage -1") == -1.0
    assert stated_advantage("G2: advantage") is None
    assert stated_advantage("G2: advantage 2") is None  # no advantage exceeds 1
    assert stated_advantage("G2: no advantage 0") is None
    assert endpoint("G2: advantage 0, the classes coincide") is None


# -- the plan -------------------------------------------------------------------------------


def test_the_plan_builds_every_game_and_every_b_before_play():
    a = EcbRepeat()
    playing = plan_check(proofs.load("ctr-prf"), a, {"prf": "toy-linear", "queries": "24"})
    assert playing.overrides == {"prf": "toy-linear", "queries": 24}  # typed
    assert playing.params["prf"] == "toy-linear" and playing.params["rounds"] == 4  # defaults too
    assert playing.resources == {"q": 24, "m": 1, "n": 16}
    (prf,) = playing.assumptions
    # The override follows the PRF into the assumption game, with what B spends (q·m).
    assert prf.assumption.params["prf"] == "toy-linear"
    assert prf.game.describe()["prf"] == "toy-linear" and prf.game.describe()["queries"] == 24
    assert isinstance(prf.adversary, PRFFromCTR) and prf.adversary.adversary is a
    # No hop of ctr-prf names a registered game: G and H are all there is to play. An
    # assumption's hop says which assumption's row measures it; the statistical one says why.
    reasons = [(hop.source, hop.reason) for hop in playing.hops]
    assert reasons == [
        (None, "carried by the assumption prf, measured in its own row"),
        (
            None,
            "'G1: CTR over a random function, left messages' names no registered game "
            "(GAME key=value ...) nor states an advantage (advantage NUMBER)",
        ),
        (None, "carried by the assumption prf, measured in its own row"),
    ]
    assert playing.hop_games == () and playing.estimates == 2


def test_measured_hops_name_their_games_once():
    playing = plan_check(proofs.load(DATA / "switching-measured.toml"), None, {})
    first, second = playing.hops
    assert first.source == playing.theorem_key  # "G0: prf prf=feistel" is G itself
    (prp,) = playing.hop_games
    assert first.target == prp and prp[0] == "prp" and ("n", "12") in prp[1]  # n carried over
    assert second.source is None and playing.estimates == 3


def test_a_stated_end_needs_no_game():
    playing = plan_check(proofs.load(DATA / "stated.toml"), None, {})
    (hop,) = playing.hops
    assert hop.source == playing.theorem_key and hop.target == Stated(0.0)
    assert playing.estimates == 1


# -- what the reductions get, and what they may not do ----------------------------------------


def test_reductions_receive_the_effective_params(helpers, ctr_with):
    helpers.seen.clear()
    plan_check(
        ctr_with("empirical_helpers:recording"), None, {"n": "12", "scheme": "ctr-nonce-reuse"}
    )
    (params,) = helpers.seen
    assert params["n"] == 12 and params["scheme"] == "ctr-nonce-reuse"
    assert params["rounds"] == 4  # the game's defaults are part of the game as played


@pytest.mark.parametrize(
    ("reduction", "replace", "message"),
    [
        (
            "empirical_helpers:raising",
            {},
            r"assumptions\[1\]\.reduction: reduction 'empirical_helpers:raising' raised "
            "RuntimeError",
        ),
        (
            "empirical_helpers:joined",
            {},
            r"resolves to (posix|nt)path\.join, which is not defined in a module",
        ),
        (None, {'game = "prf"': 'game = "prff"'}, r"assumptions\[1\]\.game: unknown game 'prff'"),
        (
            None,
            {'game = "ind-cpa"': 'game = "ind-cpaa"'},
            r"theorem\.game: unknown game 'ind-cpaa'",
        ),
        ("proofs.crypto.nowhere:f", {}, "cannot import 'proofs.crypto.nowhere'"),
        ("proofs.crypto.reductions:nothing", {}, "has no function 'nothing'"),
    ],
)
def test_bad_games_and_reductions_are_proof_errors_before_play(
    helpers, ctr_with, reduction, replace, message
):
    proof = ctr_with(reduction or "proofs.crypto.reductions:prf_from_ctr", **replace)
    with pytest.raises(ProofError, match=message):
        plan_check(proof, None, {})
    with pytest.raises(ProofError, match=message):  # the check fails the same way
        proofs.check_empirical(proof, "guess", trials=10, seed=0)
