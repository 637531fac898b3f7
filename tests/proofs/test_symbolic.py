"""The symbolic check: sympy, z3 and Hypothesis deciders, and naming the uncovered hop."""

from __future__ import annotations

import pathlib

import pytest
import sympy

import proofs
from oracles import InvalidArgument
from proofs import check_symbolic, load, loads

DATA = pathlib.Path(__file__).parent / "data"

TEMPLATE = """
[theorem]
game = "prp"
bound = "{bound}"

[domain]
q = {{ type = "integer", low = 1, high = "{q_high}" }}
n = {{ type = "integer", low = 8, high = 64, step = 2 }}
x = {{ type = "real", low = 0, high = 10 }}

[[assumptions]]
name = "prf"
game = "prf"
claim = "0"
reduction = "proofs.crypto.reductions:prf_from_feistel"

[[hops]]
from = "G0"
to = "G1"
by = "assumption prf"
count = 3

[[hops]]
from = "G1"
to = "G2"
by = "statistical {first}"

[[hops]]
from = "G2"
to = "G3"
by = "statistical {second}"
"""


def proof(bound, first, second="0", q_high="2**20"):
    return loads(TEMPLATE.format(bound=bound, first=first, second=second, q_high=q_high), name="t")


@pytest.mark.parametrize(
    "name", ["ctr-prf", "hybrid-lr", "luby-rackoff", "prf-mac", "prp-prf-switching"]
)
def test_shipped_proofs_are_proven(name):
    report = check_symbolic(load(name))
    assert report.status == "proven" and report.ok, str(report)
    assert report.method == "sympy"
    assert report.findings == ()
    assert report.counterexample is None


def test_equal_bounds_are_reported_equal():
    report = check_symbolic(load("luby-rackoff"))
    assert report.equal and report.difference == 0
    report = check_symbolic(load("ctr-prf"))  # m·q²/2^n covers m·q(q−1)/2^n strictly
    assert not report.equal and report.difference == sympy.sympify(
        "m*q/2**n", locals=load("ctr-prf").symbols
    )


def test_broken_fixture_names_the_uncovered_hop():
    report = check_symbolic(load(DATA / "ctr-prf-broken.toml"))
    assert report.status == "refuted" and not report.ok
    point = report.counterexample
    assert point is not None and point["claimed"] < point["chain"]
    assert point["q"] >= 2  # with one query there is nothing to overlap
    (finding,) = report.findings
    assert finding.hops == (2,)
    assert "hop 2" in finding.message and "m*q*(q - 1)/2**n" in finding.message
    assert "hop 2" in str(report)


def test_missing_assumption_term_is_named_by_its_hops():
    text = (
        (DATA / "ctr-prf-broken.toml")
        .read_text()
        .replace('bound = "2*adv_prf"', 'bound = "adv_prf + m*q**2 / 2**n"')
    )
    report = check_symbolic(loads(text, name="one-prf"))
    assert report.status == "refuted"
    (finding,) = report.findings
    assert finding.hops == (1, 3)
    assert "assumption 'prf' is cited by hops 1, 3" in finding.message
    assert "covers only 1·adv_prf" in finding.message


def test_z3_decides_what_sympy_cannot():
    # q(q−1)/2^(n/2) + q(q−1)/2^(n+1) ≤ q²/2^(n/2) holds exactly when q ≤ 2^(n/2+1) + 1.
    bound = "3*adv_prf + q**2 / 2**(n/2)"
    first, second = "q*(q - 1) / 2**(n/2)", "q*(q - 1) / 2**(n + 1)"
    holds = check_symbolic(proof(bound, first, second, q_high="33"))
    assert holds.status == "proven" and holds.method == "z3", str(holds)
    fails = check_symbolic(proof(bound, first, second, q_high="2**20"))
    assert fails.status == "refuted" and fails.method == "z3"
    point = fails.counterexample
    assert point["q"] > 2 ** (point["n"] // 2 + 1) + 1
    # Each statistical term alone is covered; only their sum is not.
    (finding,) = fails.findings
    assert "not their sum" in finding.message and finding.hops == (2, 3)


def test_z3_handles_sqrt_and_min():
    report = check_symbolic(
        proof("3*adv_prf + 1/100 + sqrt(q) / 2**n", "sqrt(q - 1) / 2**n", "1/100")
    )
    assert report.status == "proven" and report.method == "z3"
    report = check_symbolic(proof("3*adv_prf + min(q, 2**n) / 2**n", "q / 2**(n + 1)"))
    assert report.status == "refuted" and report.method == "z3"
    point = report.counterexample
    assert point["q"] > 2 ** (point["n"] + 1)


def test_a_hop_that_costs_less_than_nothing_refutes_a_chain_that_covers_the_bound():
    # The bound leaves out the first term, and a negative second term cancels it.
    report = check_symbolic(proof("3*adv_prf", "q**2 / 2**n", "-q**2 / 2**n"))
    assert report.status == "refuted" and "less than nothing" in report.detail
    (finding,) = report.findings
    assert finding.hops == (3,) and "term -q**2/2**n is below 0" in finding.message
    # A term negative only somewhere in the domain, found by the deciders.
    assert check_symbolic(proof("3*adv_prf + 1", "1", "q - 2")).status == "refuted"
    # Counts too: a hop taken a negative number of times cancels the others' cost.
    extra = '\n[[hops]]\nfrom = "G3"\nto = "G4"\nby = "assumption prf"\ncount = -1\n'
    text = TEMPLATE.format(bound="2*adv_prf", first="0", second="0", q_high="9") + extra
    cancelled = loads(text, name="t")
    report = check_symbolic(cancelled)
    assert report.status == "refuted" and report.findings[0].hops == (4,)
    assert "count -1 is below 0" in report.findings[0].message
    # Terms that are never negative stay proven.
    assert check_symbolic(proof("3*adv_prf + q / 2**n", "q / 2**n")).status == "proven"


def test_a_root_of_a_negative_number_is_never_proven_by_z3():
    # Over n in [-3, 3], sqrt(n) is not real for n < 0: z3's definition of the root would
    # skip those points and prove the bound over the rest.
    text = TEMPLATE.format(bound="3*adv_prf + 1/2 + sqrt(n)", first="1/2", second="0", q_high="9")
    text = text.replace("n = { type = \"integer\", low = 8, high = 64, step = 2 }",
                        "n = { type = \"integer\", low = -3, high = 3 }")  # fmt: skip
    report = check_symbolic(loads(text, name="t"))
    assert report.status != "proven" and report.method != "z3", str(report)


def test_hypothesis_finds_a_counterexample_where_z3_cannot_translate():
    # A power with a real exponent is beyond the z3 translation.
    report = check_symbolic(proof("3*adv_prf + 1/100", "2**x / 1000"))
    assert report.status == "refuted" and report.method == "hypothesis"
    assert report.samples > 0
    assert 2 ** report.counterexample["x"] / 1000 > 1 / 100
    assert report.findings[0].hops == (2,)


def test_undecided_claims_say_how_many_samples_they_survived():
    # sqrt(q) ≥ log(q) holds, but sympy cannot tell its sign and z3 sees log as opaque.
    report = check_symbolic(proof("3*adv_prf + sqrt(q)", "log(q)"), samples=50)
    assert report.status == "undecided" and report.method == "hypothesis"
    assert 0 < report.samples <= 50
    assert "no counterexample in" in report.detail
    assert report.findings == ()


def test_proof_without_hops_is_unchecked():
    text = TEMPLATE.format(bound="adv_prf", first="0", second="0", q_high="4")
    text = text[: text.index("[[hops]]")]
    report = check_symbolic(loads(text, name="no-hops"))
    assert report.status == "unchecked" and report.method is None and not report.ok


def test_perfect_and_repeated_hops():
    text = """
[theorem]
game = "ind-cpa"
bound = "q * adv_lr1"
[domain]
q = { type = "integer", low = 1, high = 100 }
[[assumptions]]
name = "lr1"
game = "ind-cpa"
claim = "0"
reduction = "proofs.crypto.reductions:single_challenge_from_many"
[[hops]]
from = "A"
to = "B"
by = "perfect"
[[hops]]
from = "B"
to = "C"
by = "assumption lr1"
count = "q - 1"
"""
    proven = check_symbolic(loads(text, name="hybrid"))
    assert proven.status == "proven"
    short = check_symbolic(
        loads(text.replace('"q * adv_lr1"', '"(q - 2) * adv_lr1"'), name="short")
    )
    assert short.status == "refuted"
    assert short.findings[0].hops == (2,)


def test_report_text_names_status_and_method():
    text = str(check_symbolic(load(DATA / "ctr-prf-broken.toml")))
    assert text.startswith("ctr-prf-broken: refuted (z3)")
    assert "counterexample:" in text and "claimed bound: 2*adv_prf" in text


def test_public_api_exports_the_checker():
    assert proofs.check_symbolic is check_symbolic
    assert {"SymbolicReport", "Finding", "Decision", "decide_inequality"} <= set(proofs.__all__)


def test_a_name_is_not_a_proof():
    with pytest.raises(
        InvalidArgument, match=r"proof='ctr-prf' must be a Proof \(see proofs.load\)"
    ):
        check_symbolic("ctr-prf")
