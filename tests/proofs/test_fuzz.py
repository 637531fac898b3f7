"""Hostile input to the proof loader and the expression parser: only clean errors, quickly.

Random bytes, random TOML documents (random ones and mutations of a valid proof) and
random expression strings go to ``proofs.load``, ``proofs.loads`` and
``proofs.parse_expression``. Each must return or raise ``ProofError`` /
``InvalidArgument`` within a time limit per example; an expression that parses must
also evaluate to a float. ``ADVANTAGE_FUZZ_SCALE=50`` multiplies the number of examples
for a deeper run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
import sympy
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import proofs
from games.engine.sweep import toml_value
from oracles import InvalidArgument
from proofs import ProofError

# Seconds one example may take; what the loader and the parser need is milliseconds.
LIMIT = 10.0
CLEAN = (ProofError, InvalidArgument)
SCALE = int(os.environ.get("ADVANTAGE_FUZZ_SCALE", "1"))
FUZZ = settings(
    max_examples=60 * SCALE,
    deadline=None,  # the limit below interrupts a hang, which a deadline cannot
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@contextlib.contextmanager
def within(seconds: float = LIMIT):
    """Fail (rather than hang) when the body takes longer than ``seconds``."""
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def stop(signum, frame):
        raise AssertionError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def clean(call, *args, **kwargs) -> Any:
    """The call's result, or None when it raised a clean error; anything else fails."""
    with within():
        try:
            return call(*args, **kwargs)
        except CLEAN:
            return None


# -- random bytes -------------------------------------------------------------------------

FOLDER = Path(tempfile.mkdtemp(prefix="proof-fuzz-"))


@FUZZ
@given(st.binary(max_size=3000))
@example(b"\xff\xfe[theorem]")
@example(b"[theorem]\x00")
@example(b"a = " + b"[" * 600 + b"]" * 600)
def test_random_bytes(data):
    path = FOLDER / "fuzz.toml"
    path.write_bytes(data)
    clean(proofs.load, path)
    clean(proofs.loads, data.decode("utf-8", "replace"), name="fuzz")


# -- random TOML documents ------------------------------------------------------------------


def document(tables: dict[str, Any]) -> str:
    """A document: plain keys first, then [tables] and [[arrays of tables]]."""
    head, body = [], []
    for name, value in tables.items():
        if isinstance(value, dict):
            body.append(f"[{json.dumps(name)}]")
            body += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()]
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                body.append(f"[[{json.dumps(name)}]]")
                body += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in item.items()]
        else:
            head.append(f"{json.dumps(name)} = {toml_value(value)}")
    return "\n".join(head + body) + "\n"


VALID = {
    "proof": {"title": "CTR from a PRF", "references": ["a paper"]},
    "theorem": {
        "game": "ind-cpa",
        "params": {"scheme": "ctr", "n": 16, "queries": 8},
        "bound": "2*adv_prf + q**2 / 2**n",
    },
    "domain": {
        "q": {"type": "integer", "low": 1, "high": "2**20", "param": "queries"},
        "n": {"type": "integer", "low": 8, "high": 64, "step": 2, "param": "n"},
        "eps": {"type": "real", "low": 0, "high": "1/2", "quantity": "dp_epsilon"},
    },
    "assumptions": [
        {
            "name": "prf",
            "game": "prf",
            "params": {"prf": "blake2"},
            "claim": "q / 2**n",
            "reduction": "proofs.crypto.reductions:prf_from_ctr",
            "resources": {"queries": "q", "n": "n"},
        }
    ],
    "hops": [
        {"from": "G0", "to": "G1", "by": "assumption prf"},
        {"from": "G1", "to": "G2", "by": "statistical q**2 / 2**n", "count": "1"},
        {"from": "G2", "to": "G3", "by": "assumption prf"},
    ],
}

KEYS = st.sampled_from(
    [
        "theorem",
        "bound",
        "game",
        "params",
        "domain",
        "type",
        "low",
        "high",
        "step",
        "by",
        "from",
        "to",
        "count",
        "claim",
        "reduction",
        "resources",
        "quantity",
        "param",
        "name",
        "hops",
        "assumptions",
        "kind",
    ]
) | st.text(max_size=12)

# Expression-like text: names a file declares, the functions, numbers near the limits.
ATOMS = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(
        [
            "0",
            "1",
            "2",
            "0.1",
            "1e400",
            "1e-400",
            "1.5e308",
            "2**4097",
            "2**8192",
            "3**6000",
            "10**2466",
            "q",
            "n",
            "m",
            "eps",
            "adv_prf",
            "x",
            "undeclared",
            "exp",
            "__import__",
            "inf",
            "nan",
            "True",
            "None",
            "'a'",
            "1j",
        ]
    ),
)


def _binary(parts: tuple[str, str, str]) -> str:
    return f"({parts[0]}{parts[1]}{parts[2]})"


def _call(parts: tuple[str, list[str]]) -> str:
    return f"{parts[0]}({', '.join(parts[1])})"


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(
            children,
            st.sampled_from(["+", "-", "*", "/", "**", "^", "//", "%", "<", " and ", ".", "@"]),
            children,
        ).map(_binary),
        st.tuples(
            st.sampled_from(["min", "max", "log", "exp", "sqrt", "abs", "eval", "getattr"]),
            st.lists(children, max_size=4),
        ).map(_call),
        children.map(lambda c: f"-{c}"),
        children.map(lambda c: f"exp(exp(exp(exp({c}))))"),
    )


EXPRESSIONS = st.recursive(ATOMS, _extend, max_leaves=24)
SCALARS = st.one_of(
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=30),
    EXPRESSIONS,
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=12,
)


@st.composite
def mutated(draw, value: Any = VALID) -> Any:
    """The valid proof with random parts replaced, dropped or added."""
    roll = draw(st.integers(0, 11))
    if roll == 0:
        return draw(VALUES)
    if isinstance(value, dict):
        out = {k: draw(mutated(v)) for k, v in value.items()}
        if roll == 1 and out:
            out.pop(draw(st.sampled_from(sorted(out))))
        elif roll == 2:
            out[draw(KEYS)] = draw(VALUES)
        return out
    if isinstance(value, list):
        out = [draw(mutated(v)) for v in value]
        if roll == 1 and out:
            out.pop(draw(st.integers(0, len(out) - 1)))
        elif roll == 2:
            out.append(draw(mutated(draw(st.sampled_from(value))) if value else VALUES))
        return out
    if isinstance(value, str) and roll in (3, 4):
        return draw(EXPRESSIONS)
    return value


def test_the_valid_document_loads():
    proof = proofs.loads(document(VALID), name="fuzz")
    assert proof.theorem.game == "ind-cpa" and len(proof.hops) == 3


@FUZZ
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_random_toml_documents(tables):
    clean(proofs.loads, document(tables), name="fuzz")


@settings(FUZZ, max_examples=120 * SCALE)
@given(mutated().map(lambda t: t if isinstance(t, dict) else {"theorem": t}))
def test_mutated_proofs(tables):
    clean(proofs.loads, document(tables), name="fuzz")


# -- random expressions -------------------------------------------------------------------

SYMBOLS = {
    "q": sympy.Symbol("q", integer=True, positive=True),
    "n": sympy.Symbol("n", integer=True, positive=True),
    "eps": sympy.Symbol("eps", real=True, nonnegative=True),
    "adv_prf": sympy.Symbol("adv_prf", real=True, nonnegative=True),
}
VALUES_AT = {"q": 2**20, "n": 2**4000, "eps": 0.5, "adv_prf": 1.0}


def parse_and_evaluate(text: Any) -> None:
    expr = proofs.parse_expression(text, SYMBOLS, file="fuzz.toml", key="theorem.bound")
    value = proofs.Expression(text=str(text), expr=expr).value(VALUES_AT)
    assert isinstance(value, float)


@settings(FUZZ, max_examples=150 * SCALE)
@given(EXPRESSIONS | st.text(max_size=200))
@example("exp(exp(exp(exp(n))))")
@example("n**1000 - 2**n")
@example("exp(exp(exp(1000)))")
@example("log(" * 59 + "2" + ")" * 59)
@example("min(" * 40 + "n" + ", q)" * 40)
@example("(" * 3000 + "1" + ")" * 3000)
@example("1" + "**1" * 600)
@example("-" * 1990 + "1")
def test_random_expressions(text):
    clean(parse_and_evaluate, text)


@pytest.mark.parametrize("value", [None, True, 1e400, float("nan"), b"1", [1], {"a": 1}])
def test_expressions_that_are_not_text(value):
    with pytest.raises(ProofError, match="fuzz.toml: theorem.bound: "):
        parse_and_evaluate(value)
