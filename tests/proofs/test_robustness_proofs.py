"""The robustness proofs: randomized smoothing as a theorem, gradient masking as a refuted claim."""

from __future__ import annotations

import pytest

import proofs

pytest.importorskip("torch")

from adversaries.robustness import Bpda, Eot, Pgd  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def check(name, adversary, trials, **params):
    return proofs.check_empirical(
        proofs.load(name), adversary, params=params, trials=trials, seed=0
    )


def test_both_files_add_up_and_loading_them_needs_no_torch(fresh_python):
    for name in ("randomized-smoothing", "gradient-masking"):
        assert proofs.check_symbolic(proofs.load(name)).status == "proven", name
    smoothing = proofs.load("randomized-smoothing")
    assert smoothing.assumptions == () and smoothing.bound_value({"alpha": 0.01}) == 0.01
    masking = proofs.load("gradient-masking")
    assert [a.name for a in masking.assumptions] == ["pgd_robust", "gradient_search"]
    assert {a.kind for a in masking.assumptions} == {"behavioural"}
    code = (
        "import sys, json, proofs\n"
        "for name in ('randomized-smoothing', 'gradient-masking'):\n"
        "    proofs.load(name).resource_values()\n"
        "print(json.dumps('torch' in sys.modules))\n"
    )
    assert fresh_python(code) is False


def test_smoothing_holds_against_pgd_and_eot():
    for adversary in (Pgd(), Eot(samples=4)):
        report = check("randomized-smoothing", adversary, 2000)
        assert report.verdicts == ("consistent",), report
        assert report.bound == 0.01 and report.high <= 0.01


def test_the_one_stage_bug_is_blamed_on_the_algorithm():
    report = check("randomized-smoothing", Pgd(), 400, defense="smoothing-one-stage")
    assert report.verdicts == ("algorithm",), report
    assert report.blamed_hops == (1,) and report.low > 0.2


def test_quantisation_looks_robust_to_pgd():
    report = check("gradient-masking", Pgd(), 300)
    assert report.verdicts == ("consistent",), report
    assert all(not a.violated for a in report.assumptions)


def test_bpda_refutes_the_assumption_about_attacks_not_the_algorithm():
    report = check("gradient-masking", Bpda(), 300)
    assert report.verdicts == ("assumption:gradient_search",), report
    gap = {a.name: a for a in report.assumptions}["gradient_search"]
    assert gap.low > 0.3 and not {a.name: a for a in report.assumptions}["pgd_robust"].violated


def test_an_undefended_model_fails_its_own_pgd_claim():
    report = check("gradient-masking", Pgd(), 200, defense="standard")
    assert "assumption:pgd_robust" in report.verdicts
