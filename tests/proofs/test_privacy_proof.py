"""The dp-sgd proof: ε by a named quantity, no assumption, and the checker's verdicts."""

from __future__ import annotations

import math

import pytest

import proofs
from oracles import InvalidArgument

pytest.importorskip("torch")

from adversaries.privacy import GradientCanary  # noqa: E402
from games.privacy.membership import Membership, dp_advantage_bound  # noqa: E402
from proofs.privacy.quantities import DELTA, dp_sgd_epsilon  # noqa: E402

TRIALS = 400


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def proof():
    return proofs.load("dp-sgd")


def canary():
    return GradientCanary(calibration=128)


def test_the_file_has_no_assumption_and_its_bound_is_the_dp_region(proof):
    assert proof.assumptions == ()
    assert proof.theorem.game == "membership" and proof.theorem.params["trainer"] == "dp-sgd"
    for eps in (0.0, 0.5, 1.2, 4.0):
        assert proof.bound_value({"eps": eps, "delta": DELTA}) == pytest.approx(
            dp_advantage_bound(eps, DELTA)
        )
    report = proofs.check_symbolic(proof)
    assert report.status == "proven", report


def test_epsilon_comes_from_the_trainer_by_name_and_loading_needs_no_torch(fresh_python):
    # A fresh interpreter: the quantity is found from the file's package, and neither
    # `import proofs` nor loading the file imports torch; computing ε does.
    code = (
        "import sys, json, proofs\n"
        "proof = proofs.load('dp-sgd')\n"
        "before = 'torch' in sys.modules\n"
        "values = proof.resource_values()\n"
        "print(json.dumps({'before': before, 'after': 'torch' in sys.modules, **values}))\n"
    )
    found = fresh_python(code)
    assert found["before"] is False and found["after"] is True
    game = Membership(**proofs.load("dp-sgd").theorem.params)
    assert found["eps"] == pytest.approx(game.epsilon(DELTA))
    assert found["delta"] == DELTA
    assert proofs.get_quantity("dp_sgd_epsilon") is dp_sgd_epsilon


def test_epsilon_follows_the_parameters(proof):
    base = proof.resource_values()["eps"]
    noisier = proof.resource_values(params={"noise_multiplier": 6.0})["eps"]
    longer = proof.resource_values(params={"epochs": 8})["eps"]
    assert 0 < noisier < base < longer
    # The planted bug claims the ε of the algorithm it pretends to be.
    assert proof.resource_values(params={"trainer": "dp-sgd-noclip"})["eps"] == base


def test_a_trainer_without_a_claim_or_an_epsilon_outside_the_domain_is_refused(proof):
    with pytest.raises(InvalidArgument, match="trainer='sgd' makes no DP claim"):
        proof.resource_values(params={"trainer": "sgd"})
    with pytest.raises(InvalidArgument, match=r"eps=.* is outside the proof's domain"):
        proof.resource_values(params={"noise_multiplier": 0.1, "epochs": 50})
    with pytest.raises(InvalidArgument, match="trainer='sgd' makes no DP claim"):
        proofs.check_empirical(proof, canary(), params={"trainer": "sgd"}, trials=10, seed=0)


def test_dp_sgd_is_consistent_with_its_bound(proof):
    report = proofs.check_empirical(proof, canary(), trials=TRIALS, seed=0)
    assert report.verdicts == ("consistent",), report
    assert report.intervals == 1 and report.interval_level == pytest.approx(0.95)
    assert report.high <= report.bound < 1
    assert report.bound == pytest.approx(dp_advantage_bound(report.resources["eps"], DELTA))


def test_dp_sgd_without_clipping_is_blamed_on_the_algorithm(proof):
    report = proofs.check_empirical(
        proof, canary(), params={"trainer": "dp-sgd-noclip"}, trials=TRIALS, seed=0
    )
    assert report.verdicts == ("algorithm",), report
    assert report.low > report.bound
    assert report.params["trainer"] == "dp-sgd-noclip"
    # Same claimed ε as the correct trainer: nothing in the bound knows the bug.
    assert report.resources["eps"] == proof.resource_values()["eps"]
    assert not math.isnan(report.bound) and report.bound < 0.6


def test_the_command_line_exit_status_follows_the_verdict():
    from advantage.cli import main

    args = ["check", "dp-sgd", "--adversary", "gradient-canary", "-a", "calibration=128"]
    args += ["--trials", str(TRIALS), "--json"]
    assert main(args) == 0
    assert main([*args, "-p", "trainer=dp-sgd-noclip"]) == 1
    assert main([*args, "-p", "noise_multiplier=0"]) == 2
