"""Limits on what a proof file can cost: every symbolic step ends within its time budget,
exact numbers stay under the size cap, and each failure is a ProofError naming the file,
the key and the limit (issue: expressions that hung or crashed the symbolic check)."""

from __future__ import annotations

import operator
import time

import pytest
import sympy

import proofs
from oracles import InvalidArgument
from proofs import ProofError, check_symbolic, decide_inequality, limits, loads
from proofs.limits import MAX_BITS

# Starting a fresh worker (after a budget killed one) imports sympy and z3 there: a few
# seconds on a loaded machine, on top of the budget itself.
SLACK = 20.0


def chain_file(bound: str, term: str, low: str = "1", high: str = "100", kind: str = "integer"):
    """A proof whose bound is `bound` and whose one statistical hop costs `term`."""
    return loads(
        f"""
[theorem]
game = "prf"
bound = "{bound}"

[domain]
n = {{ type = "{kind}", low = {low}, high = {high} }}

[[hops]]
from = "G0"
to = "G1"
by = "statistical {term}"
""",
        name="limits",
        path="limits.toml",
    )


@pytest.fixture(scope="module", autouse=True)
def warm():
    """Start the worker once, so that timings below measure the steps, not its start."""
    check_symbolic(chain_file("2", "1"))


def timed(call, *args, **kwargs):
    started = time.monotonic()
    try:
        return call(*args, **kwargs), time.monotonic() - started
    except ProofError as error:
        return error, time.monotonic() - started


def test_an_exponential_tower_is_stopped_at_its_time_budget():
    # mpmath computes ln 2 to millions of digits here: it hung for minutes before.
    error, seconds = timed(check_symbolic, chain_file("exp(exp(exp(exp(n))))", "1"), time_limit=2)
    assert isinstance(error, ProofError)
    assert error.file == "limits.toml" and error.key == "theorem.bound"
    assert "ran past its time budget of 2 s" in error.reason
    assert seconds < 2 + SLACK
    # The next check gets a fresh worker.
    assert check_symbolic(chain_file("2", "1")).status == "proven"


def test_a_polynomial_against_an_exponential_over_a_huge_domain_ends():
    # n**1000 against 2**n over n up to 2**64 hung before (2**(2**64) computed exactly).
    report, seconds = timed(check_symbolic, chain_file("n**1000", "2**n", low="0", high='"2**64"'))
    assert report.status == "refuted" and report.counterexample["n"] == 0
    assert seconds < 30 + SLACK


def test_a_search_that_meets_only_numbers_beyond_the_size_cap_says_so():
    # Every point of this domain is a counterexample too large to check exactly.
    with pytest.raises(
        ProofError,
        match=r"limits\.toml: theorem\.bound: the Hypothesis search for a counterexample: "
        r".*n\*\*1000 at n=\d+ would be a number of about .* bits "
        rf"\(the limit is {MAX_BITS} bits\)",
    ):
        check_symbolic(chain_file("n**1000", "2**n", low='"2**20"', high='"2**4000"'))


@pytest.mark.parametrize("kind", ["integer", "real"])
def test_powers_over_a_domain_up_to_2_4000_are_decided(kind):
    assert check_symbolic(chain_file("1", "2**n", high='"2**4000"', kind=kind)).status == (
        "refuted"
    )
    assert check_symbolic(chain_file("2**n", "2**(n-1)", high='"2**4000"')).status == "proven"


def test_a_constant_beyond_the_size_cap_is_refused_where_it_is_written():
    # exp(exp(exp(1000))) raised OverflowError from sympy's simplification before.
    with pytest.raises(
        ProofError,
        match=r"limits\.toml: hops\[1\]\.by: number 'exp\(exp\(1000\)\)' is too large: "
        rf"about 2\*\*2\.842E\+434, outside 2\*\*-{MAX_BITS} to 2\*\*{MAX_BITS}",
    ):
        chain_file("2**n", "exp(exp(exp(1000)))")
    with pytest.raises(ProofError, match=r"'exp\(-exp\(1000\)\)' is too small"):
        chain_file("exp(-exp(1000))", "0")


def test_the_size_cap_counts_the_bits_of_the_result():
    # 2**4097 has 4098 bits: it was refused as "more than 8192 bits".
    assert proofs.parse_expression("2**4097", {}) == sympy.Integer(2) ** 4097
    assert proofs.parse_expression("3**5000", {}) == sympy.Integer(3) ** 5000  # 7925 bits
    with pytest.raises(
        ProofError, match=r"'2\*\*8192' is too large: it would have about 8193 bits"
    ):
        proofs.parse_expression("2**8192", {})
    with pytest.raises(ProofError, match=r"'2\*\*4097\*2\*\*4097' is too large: 8195 bits"):
        proofs.parse_expression("2**4097*2**4097", {})


def test_values_are_computed_in_floats():
    # 2**n at n = 2**4000 was computed exactly, for ever, by the empirical check.
    n = sympy.Symbol("n", integer=True, positive=True)
    expression = proofs.Expression(text="2**n", expr=proofs.parse_expression("2**n", {"n": n}))
    value, seconds = timed(expression.value, {"n": 2**4000})
    assert value == float("inf") and seconds < 5
    log = proofs.Expression(text="log(n)", expr=proofs.parse_expression("log(n)", {"n": n}))
    assert log.value({"n": -1}) != log.value({"n": -1})  # nan, not a math domain error


def test_a_toml_array_nested_600_deep_is_a_proof_error():
    # It raised RecursionError before.
    text = "[theorem]\ngame = 'prf'\nbound = '1'\nparams = { x = " + "[" * 600 + "]" * 600 + " }\n"
    with pytest.raises(ProofError, match=r"deep\.toml: <toml>: .*nested more than 32 deep"):
        loads(text, name="deep", path="deep.toml")
    text = "[theorem]\ngame = 'prf'\nbound = '1'\nparams = { x = " + "[" * 40 + "]" * 40 + " }\n"
    with pytest.raises(ProofError, match=r"deep\.toml: theorem\.params\.x: .*nested more than 32"):
        loads(text, name="deep", path="deep.toml")


def test_a_file_too_large_is_refused(tmp_path):
    path = tmp_path / "big.toml"
    path.write_text("# " + "x" * (5 << 20))
    with pytest.raises(ProofError, match=r"big\.toml: <document>: the file is larger than"):
        proofs.load(path)


def test_min_and_max_take_at_most_16_terms_nested_ones_included():
    # sympy compares every pair of terms that it cannot order: (i+1)*n for a real n.
    n = {"n": sympy.Symbol("n", real=True)}
    terms = [f"{i + 1}*n" for i in range(17)]
    assert proofs.parse_expression(f"min({', '.join(terms[:16])})", n) is not None
    with pytest.raises(ProofError, match="min takes 2 to 16 arguments, got 17"):
        proofs.parse_expression(f"min({', '.join(terms)})", n)
    nested = "min(" * 16 + "n" + "".join(f", {term})" for term in terms[1:])
    with pytest.raises(ProofError, match="min of 17 terms in all, nested mins included"):
        proofs.parse_expression(nested, n)


def test_decide_names_its_file_and_key_and_checks_its_budget():
    n = sympy.Symbol("n", integer=True, positive=True)
    domain = chain_file("1", "1", low='"2**20"', high='"2**4000"').domain
    with pytest.raises(ProofError, match=r"mine\.toml: hops\[3\]\.by: the Hypothesis search"):
        decide_inequality(2**n, n**1000, domain, file="mine.toml", key="hops[3].by", samples=20)
    with pytest.raises(InvalidArgument, match=r"time_limit=0 must be a number in \(0, inf\)"):
        decide_inequality(n, n, domain, time_limit=0)
    with pytest.raises(InvalidArgument, match=r"samples=0 must be a positive integer"):
        check_symbolic(chain_file("1", "1"), samples=0)


def test_no_step_starts_once_the_whole_check_is_over_its_budget():
    from proofs.deciders import TOTAL_STEPS, Steps

    steps = Steps(
        samples=10,
        timeout_ms=100,
        time_limit=1.0,
        file="f.toml",
        key="theorem.bound",
        started=time.monotonic() - TOTAL_STEPS - 1,
    )
    with pytest.raises(
        ProofError,
        match=rf"f\.toml: hops\[2\]\.by: the symbolic check ran past its total time budget of "
        rf"{TOTAL_STEPS} s \({TOTAL_STEPS} × time_limit\) before z3",
    ):
        steps.at("hops[2].by").run(print, what="z3")


def test_the_worker_never_imports_from_the_directory_it_starts_in(tmp_path, monkeypatch):
    # A folder of proof files often has a proofs/ of its own: the worker must not run it.
    marker = tmp_path / "ran"
    planted = tmp_path / "proofs"
    planted.mkdir()
    (planted / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (tmp_path / "sympy.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.chdir(tmp_path)
    worker = limits._Worker()
    try:
        assert worker.call(operator.add, (2, 3), SLACK) == 5
    finally:
        worker.stop()
    assert not marker.exists()
