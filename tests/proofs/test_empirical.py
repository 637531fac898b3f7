"""The empirical check: the verdicts, the Bonferroni family, the trial suggestion, blame."""

from __future__ import annotations

import json
import pathlib
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import proofs
from adversaries.crypto import NonceReuse
from games.crypto import IndCPA
from games.engine import Tally, estimate, estimate_from
from oracles import InvalidArgument
from proofs import ProofError, check_empirical
from proofs.empirical import _judge, _smallest, endpoint, stated_advantage

DATA = pathlib.Path(__file__).parent / "data"
TRIALS = 600

REPORT_KEYS = {
    "proof",
    "verdict",
    "verdicts",
    "reasons",
    "adversary",
    "adversary_params",
    "params",
    "overrides",
    "resources",
    "trials",
    "seed",
    "level",
    "interval_level",
    "intervals_count",
    "correction",
    "method",
    "bound",
    "intervals",
    "hops",
    "trials_needed",
    "blamed_hops",
}
INTERVAL_KEYS = {
    "what",
    "role",
    "name",
    "game",
    "params",
    "adversary",
    "estimate",
    "ci_low",
    "ci_high",
    "level",
    "method",
    "trials",
    "threshold",
    "threshold_text",
    "violated",
}


@pytest.fixture(scope="module")
def ctr():
    return proofs.load("ctr-prf")


@pytest.fixture(scope="module")
def helpers(tmp_path_factory):
    """A module outside the project holding reductions that misbehave, given as --import."""
    root = tmp_path_factory.mktemp("helpers")
    (root / "empirical_helpers.py").write_text(
        textwrap.dedent(
            """
            from os.path import join as joined
            from proofs.crypto.reductions import prf_from_ctr

            seen = []

            def recording(adversary, params):
                seen.append(dict(params))
                return prf_from_ctr(adversary, params)

            def raising(adversary, params):
                raise RuntimeError("the simulation is not written yet")

            def failing(adversary, params):
                def b(oracles, rng):
                    raise ValueError("B cannot answer")
                return b
            """
        )
    )
    # What --import does: a proof file may then name reductions in it.
    yield proofs.import_user(str(root / "empirical_helpers.py"))


def ctr_with(reduction: str, **replace: str) -> proofs.Proof:
    text = (pathlib.Path(proofs.catalogue()["ctr-prf"])).read_text()
    text = text.replace('"proofs.crypto.reductions:prf_from_ctr"', f'"{reduction}"')
    for old, new in replace.items():
        text = text.replace(old, new)
    return proofs.loads(text, name="ctr-test")


# -- the three verdicts -------------------------------------------------------------------


@pytest.mark.parametrize("adversary", ["guess", "ecb-repeat"])
def test_ctr_over_blake2_is_consistent(ctr, adversary):
    report = check_empirical(ctr, adversary, trials=TRIALS, seed=0)
    assert report.verdicts == ("consistent",)
    assert report.high <= report.bound < 1
    assert not any(check.violated for check in report.assumptions)


def test_planted_nonce_reuse_bug_blames_the_algorithm(ctr):
    report = check_empirical(
        ctr, "nonce-reuse", params={"scheme": "ctr-nonce-reuse"}, trials=TRIALS, seed=0
    )
    assert report.verdicts == ("algorithm",)
    assert report.low > 0.95 and report.low > report.bound
    (prf,) = report.assumptions
    # B simulates CTR as the proof describes it, with fresh nonces: A gains nothing, and the
    # assumption game is still blake2 (the file's assumption has no scheme to override).
    assert prf.params["prf"] == "blake2" and not prf.violated and prf.low == 0
    assert report.params["scheme"] == "ctr-nonce-reuse"
    assert "no reading of the assumptions explains" in report.reasons[0]
    assert "No hop could be measured" in report.reasons[1]


def test_linear_prf_breaks_the_assumption_not_the_algorithm(ctr):
    report = check_empirical(
        ctr, "linear-prf", params={"prf": "toy-linear", "queries": "24"}, trials=TRIALS, seed=0
    )
    assert report.verdicts == ("assumption:prf",)
    (prf,) = report.assumptions
    # The override follows the PRF into the assumption game: the same instantiation.
    assert prf.params["prf"] == "toy-linear" and prf.params["queries"] == 24
    assert prf.low > prf.claim_value and 0.3 < prf.estimate.advantage < 0.7
    assert report.resources == {"q": 24, "m": 1, "n": 16}


def test_a_reliably_wrong_adversary_is_blamed_too(ctr):
    def flipped(oracles, rng):
        return 1 - NonceReuse()(oracles, rng)

    report = check_empirical(ctr, flipped, params={"scheme": "ctr-nonce-reuse"}, trials=300, seed=2)
    assert report.theorem.advantage < -0.95
    assert report.verdicts == ("algorithm",)


def test_algorithm_and_assumption_together():
    # With the theorem's bound as 0 and the PRF toy-linear, both parts are blamed at once.
    proof = ctr_with(
        "proofs.crypto.reductions:prf_from_ctr",
        **{'bound = "2*adv_prf + m*q**2 / 2**n"': 'bound = "adv_prf / 4"'},
    )
    report = check_empirical(
        proof, "linear-prf", params={"prf": "toy-linear", "queries": 24}, trials=TRIALS, seed=0
    )
    assert report.verdicts == ("algorithm", "assumption:prf")
    assert report.verdict == "algorithm, assumption:prf"


# -- the family level ---------------------------------------------------------------------


def test_bonferroni_over_every_interval(ctr):
    report = check_empirical(ctr, "guess", trials=200, seed=1, level=0.9)
    assert report.intervals == 2
    assert report.interval_level == pytest.approx(1 - 0.1 / 2)
    assert {row["level"] for row in report.rows()} == {report.interval_level}
    assert "Bonferroni over 2 intervals" in report.correction
    assert "family level 90%" in report.correction


def test_theorem_estimate_is_the_run_of_the_same_seed(ctr):
    report = check_empirical(ctr, "ecb-repeat", trials=300, seed=5)
    from adversaries.crypto import EcbRepeat

    alone = estimate(
        IndCPA(**ctr.theorem.params), EcbRepeat(), trials=300, seed=5, level=report.interval_level
    )
    assert (alone.wins, alone.ci_low, alone.ci_high) == (
        report.theorem.wins,
        report.theorem.ci_low,
        report.theorem.ci_high,
    )
    again = check_empirical(ctr, "ecb-repeat", trials=300, seed=5)
    assert again.to_json() | {"intervals": None} == report.to_json() | {"intervals": None}
    assert [r["ci_low"] for r in again.rows()] == [r["ci_low"] for r in report.rows()]


# -- inconclusive -------------------------------------------------------------------------


def test_too_few_trials_is_inconclusive_with_a_suggestion_that_decides(ctr):
    params = {"scheme": "ctr-nonce-reuse"}
    report = check_empirical(ctr, "nonce-reuse", params=params, trials=20, seed=0)
    assert report.verdicts == ("inconclusive",)
    assert report.bound >= 1  # the bound at the upper ends says nothing yet
    assert report.trials_needed is not None and 20 < report.trials_needed < 2000
    assert f"about {report.trials_needed} trials" in report.reasons[-1]
    decided = [
        check_empirical(
            ctr, "nonce-reuse", params=params, trials=report.trials_needed, seed=s
        ).verdicts
        for s in (1, 2, 3)
    ]
    assert decided.count(("algorithm",)) >= 2


def test_inconclusive_consistent_side_suggests_more_trials(ctr):
    report = check_empirical(ctr, "guess", trials=20, seed=0)
    assert report.verdicts == ("inconclusive",)
    assert report.trials_needed is not None and report.trials_needed > 20


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 10**6), st.integers(1, 50))
def test_smallest_finds_the_threshold(threshold, start):
    found = _smallest(lambda n: n >= threshold, start)
    assert found == max(threshold, start)


def _estimate(shape, wins, trials, worlds=None, level=0.975):
    spec = {
        "game": "g",
        "params": {},
        "adversary": "a",
        "adversary_params": {},
        "shape": shape,
        "baseline": 0.5 if shape == "hidden-bit" else 0.0,
        "seed": 0,
        "batched": False,
    }
    real, ideal = worlds or ((0, 0), (0, 0))
    tally = Tally(ranges=((0, trials),), trials=trials, wins=wins, real=real, ideal=ideal)
    return estimate_from(spec, tally, level=level)


@settings(max_examples=80, deadline=None)
@given(
    wins=st.integers(0, 400),
    real=st.integers(0, 200),
    ideal=st.integers(0, 200),
)
def test_verdicts_follow_the_intervals(ctr, wins, real, ideal):
    theorem = _estimate("hidden-bit", wins, 400)
    b = _estimate("real-vs-ideal", real + 200 - ideal, 400, worlds=((200, real), (200, ideal)))
    resources = {"q": 8, "m": 1, "n": 16}
    report = _judge(
        ctr,
        "a",
        {},
        {},
        resources,
        theorem,
        [(ctr.assumptions[0], b)],
        [(hop, None, None, "not playable") for hop in ctr.hops],
        {},
        trials=400,
        seed=0,
        level=0.95,
        each=0.975,
        count=2,
        method="clopper-pearson",
    )
    magnitude = abs(theorem.advantage)
    assert report.low <= magnitude <= report.high
    upper_b = max(abs(b.ci_low), abs(b.ci_high))
    assert report.bound == pytest.approx(2 * min(1, upper_b) + 8**2 / 2**16)
    assert ("algorithm" in report.verdicts) == (report.low > report.bound)
    low_b = max(0, b.ci_low, -b.ci_high)
    assert ("assumption:prf" in report.verdicts) == (low_b > 8 / 2**128)
    blamed = "algorithm" in report.verdicts or "assumption:prf" in report.verdicts
    if blamed:
        assert not {"consistent", "inconclusive"} & set(report.verdicts)
    else:
        assert len(report.verdicts) == 1
        consistent = report.high <= report.bound < 1
        assert report.verdicts == (("consistent",) if consistent else ("inconclusive",))
    json.dumps(report.to_json())


# -- hops ---------------------------------------------------------------------------------


def test_endpoint_names_a_registered_game():
    assert endpoint("G1: prp prf=blake2 n=12") == ("prp", {"prf": "blake2", "n": "12"})
    assert endpoint("ind-cpa") == ("ind-cpa", {})
    assert endpoint("G0: real CTR, left messages") is None
    assert endpoint("G2: no-such-game") is None
    assert endpoint("prp prf") is None


def test_measured_hop_within_its_allowance_is_consistent():
    proof = proofs.load(DATA / "switching-measured.toml")
    report = check_empirical(proof, "prp-prf-switch", trials=400, seed=0)
    assert report.verdicts == ("consistent",)
    assert report.intervals == 3  # the theorem, B, and A in the prp game
    first, second = report.hops
    assert first.measured and not first.violated
    assert first.gap_low > 0.1 and first.gap_high <= 1  # the switching gap is real, and allowed
    assert first.target_estimate.game == "prp" and first.target_estimate.params["n"] == 12
    assert not second.measured and "names no registered game" in second.reason
    assert [row["role"] for row in report.rows()] == ["theorem", "assumption", "hop-game"]


def test_hop_claimed_perfect_is_named():
    proof = proofs.load(DATA / "switching-perfect.toml")
    assert proofs.check_symbolic(proof).status == "proven"  # the arithmetic is fine
    report = check_empirical(proof, "prp-prf-switch", trials=400, seed=0)
    assert report.verdicts == ("algorithm",)
    assert report.blamed_hops == (1,)
    assert any("hop 1" in reason and "[perfect]" in reason for reason in report.reasons)
    data = report.to_json()
    assert data["hops"][0]["violated"] and data["hops"][0]["measured"]
    assert data["hops"][1]["gap"] is None


STATED = """
[theorem]
game = "prf"
params = { prf = "blake2", n = 16, queries = 18 }
bound = "q / 2**n"

[domain]
q = { type = "integer", low = 1, high = 1024, param = "queries" }
n = { type = "integer", low = 8, high = 64, param = "n" }

[[hops]]
from = "G0: prf"
to = "G1: advantage 0, the real world is a random function too"
by = "statistical q / 2**n"
"""


def test_stated_advantage_reads_an_exact_end():
    assert stated_advantage("G2: advantage 0, the classes coincide") == 0.0
    assert stated_advantage("advantage 0.25") == 0.25
    assert stated_advantage("G1: advantage -1") == -1.0
    assert stated_advantage("G2: advantage") is None
    assert stated_advantage("G2: advantage 2") is None  # no advantage exceeds 1
    assert stated_advantage("G2: no advantage 0") is None
    assert endpoint("G2: advantage 0, the classes coincide") is None


def test_hop_to_a_stated_advantage_is_measured_from_one_game():
    proof = proofs.loads(STATED, name="stated")
    report = check_empirical(proof, "linear-prf", trials=400, seed=0)
    # blake2 gives linear-prf nothing, though too few trials to show it is under 18/2^16.
    assert report.verdicts == ("inconclusive",) and report.intervals == 1
    (hop,) = report.hops
    assert hop.measured and not hop.violated and hop.target_estimate is None
    assert hop.source_estimate is report.theorem
    assert hop.gap_high == pytest.approx(max(abs(report.theorem.ci_low), report.theorem.ci_high))
    broken = check_empirical(proof, "linear-prf", params={"prf": "toy-linear"}, trials=400, seed=0)
    assert broken.verdicts == ("algorithm",) and broken.blamed_hops == (1,)
    (hop,) = broken.hops
    assert hop.gap_low == pytest.approx(broken.theorem.ci_low) and hop.gap_low > 0.9
    assert broken.to_json()["hops"][0]["measured"]


# -- output -------------------------------------------------------------------------------


def test_json_has_every_key(ctr):
    report = check_empirical(ctr, "guess", trials=100, seed=0)
    data = json.loads(json.dumps(report.to_json()))
    assert set(data) >= REPORT_KEYS
    assert set(data["bound"]) == {"text", "value", "at_estimates", "max_advantage"}
    assert [row["role"] for row in data["intervals"]] == ["theorem", "assumption"]
    for row in data["intervals"]:
        assert set(row) >= INTERVAL_KEYS
    assert data["intervals"][1]["reduction"] == "proofs.crypto.reductions:prf_from_ctr"
    assert len(data["hops"]) == 3 and not any(hop["measured"] for hop in data["hops"])
    assert data["correction"] == "bonferroni" and data["intervals_count"] == 2
    assert "consistent" in str(report) or "inconclusive" in str(report)


# -- parameters and bad input ---------------------------------------------------------------


def test_reductions_receive_the_effective_params(helpers):
    proof = ctr_with("empirical_helpers:recording")
    helpers.seen.clear()
    check_empirical(
        proof, "guess", params={"n": "12", "scheme": "ctr-nonce-reuse"}, trials=50, seed=0
    )
    (params,) = helpers.seen
    assert params["n"] == 12 and params["scheme"] == "ctr-nonce-reuse"
    assert params["rounds"] == 4  # the game's defaults are part of the game as played


def test_reduction_that_raises_is_a_proof_error(helpers):
    proof = ctr_with("empirical_helpers:raising")
    with pytest.raises(
        ProofError,
        match=r"assumptions\[1\]\.reduction: reduction 'empirical_helpers:raising' raised RuntimeError",
    ):
        check_empirical(proof, "guess", trials=10, seed=0)


def test_b_that_fails_its_trials_is_a_proof_error(helpers):
    proof = ctr_with("empirical_helpers:failing")
    with pytest.raises(
        ProofError,
        match=r"'empirical_helpers:failing': B failed in 10 of 10 trials .*B cannot answer",
    ):
        check_empirical(proof, "guess", trials=10, seed=0)


def test_reexported_standard_library_function_is_refused(helpers):
    proof = ctr_with("empirical_helpers:joined")
    with pytest.raises(
        ProofError, match=r"resolves to (posix|nt)path\.join, which is not defined in a module"
    ):
        check_empirical(proof, "guess", trials=10, seed=0)


def test_unknown_games_and_import_paths_are_proof_errors():
    with pytest.raises(ProofError, match=r"assumptions\[1\]\.game: unknown game 'prff'"):
        check_empirical(
            ctr_with("proofs.crypto.reductions:prf_from_ctr", **{'game = "prf"': 'game = "prff"'}),
            "guess",
            trials=10,
            seed=0,
        )
    with pytest.raises(ProofError, match=r"theorem\.game: unknown game 'ind-cpaa'"):
        check_empirical(
            ctr_with(
                "proofs.crypto.reductions:prf_from_ctr", **{'game = "ind-cpa"': 'game = "ind-cpaa"'}
            ),
            "guess",
            trials=10,
            seed=0,
        )
    with pytest.raises(ProofError, match="cannot import 'proofs.crypto.nowhere'"):
        check_empirical(ctr_with("proofs.crypto.nowhere:f"), "guess", trials=10, seed=0)
    with pytest.raises(ProofError, match="has no function 'nothing'"):
        check_empirical(ctr_with("proofs.crypto.reductions:nothing"), "guess", trials=10, seed=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trials": 0}, "trials=0 must be a positive integer"),
        ({"seed": -1}, "seed=-1 must be a non-negative integer"),
        ({"level": 1.5}, r"level=1.5 must be in \(0, 1\)"),
        ({"params": {"schem": "ecb"}}, "did you mean scheme"),
        ({"params": {"queries": "many"}}, "queries='many' must be an integer"),
        ({"params": {"n": "80"}}, "n=80 must be an integer in"),
        ({"params": {"scheme": "rot13"}}, "scheme='rot13' must be one of"),
        ({"colour": "red"}, "unknown option 'colour'"),
    ],
)
def test_bad_arguments(ctr, kwargs, message):
    arguments = {"trials": 10, "seed": 0, **kwargs}
    with pytest.raises(InvalidArgument, match=message):
        check_empirical(ctr, "guess", **arguments)


def test_progress_counts_every_game(ctr):
    seen = []
    check_empirical(
        ctr, "guess", trials=50, seed=0, progress=lambda done, total: seen.append((done, total))
    )
    assert seen[-1] == (100, 100) and all(total == 100 for _, total in seen)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_errors_are_losses_not_a_flipped_advantage():
    proof = proofs.loads(
        textwrap.dedent(
            """
            [theorem]
            game = "ind-cpa"
            params = { scheme = "ctr", n = 16, blocks = 1, queries = 8 }
            bound = "m*q**2 / 2**n"

            [domain]
            q = { type = "integer", low = 1, high = 64, param = "queries" }
            m = { type = "integer", low = 1, high = 4, param = "blocks" }
            n = { type = "integer", low = 8, high = 64, param = "n" }
            """
        ),
        name="no-assumptions",
    )

    def raises(oracles, rng):
        raise RuntimeError("not this game")

    def flipped(oracles, rng):
        return 1 - NonceReuse()(oracles, rng)

    failing = check_empirical(proof, raises, trials=100, seed=0)
    assert failing.theorem.advantage == -1 and failing.low == 0
    assert "algorithm" not in failing.verdicts and failing.intervals == 1
    assert any("lost 100 of 100 trials" in reason for reason in failing.reasons)
    wrong = check_empirical(
        proof, flipped, params={"scheme": "ctr-nonce-reuse"}, trials=100, seed=0
    )
    assert wrong.theorem.advantage == -1 and wrong.verdicts == ("algorithm",)
