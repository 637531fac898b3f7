"""The safe expression parser: whitelist, refusals, and agreement with a reference evaluation."""

from __future__ import annotations

import builtins
import math
import re
from fractions import Fraction

import mpmath
import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from proofs import ProofError, parse_expression
from proofs.expressions import MAX_LENGTH, compile_expression
from proofs.limits import MAX_BITS

q = sympy.Symbol("q", integer=True, positive=True)
n = sympy.Symbol("n", integer=True, positive=True)
a = sympy.Symbol("adv_prf", nonnegative=True, real=True)
SYMBOLS = {"q": q, "n": n, "adv_prf": a}


def parse(text, symbols=SYMBOLS, **where):
    return parse_expression(text, symbols, **where)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2*adv_prf + q**2 / 2**n", 2 * a + q**2 / 2**n),
        ("q*(q - 1) / 2**(n + 1)", q * (q - 1) / 2 ** (n + 1)),
        ("-q + 3", 3 - q),
        ("min(q, 2**n)", sympy.Min(q, 2**n)),
        ("max(q, n, 1)", sympy.Max(q, n, 1)),
        ("log(q)", sympy.log(q)),
        ("log(q, 2)", sympy.log(q, 2)),
        ("exp(-n)", sympy.exp(-n)),
        ("sqrt(q)", sympy.sqrt(q)),
        ("0.1", sympy.Rational(1, 10)),
        ("1e-3 * q", q / 1000),
        ("1_000", sympy.Integer(1000)),
        ("0x10", sympy.Integer(16)),
        ("2**-128", sympy.Rational(1, 2**128)),
        (7, sympy.Integer(7)),
        (0.25, sympy.Rational(1, 4)),
    ],
)
def test_whitelisted_expressions_parse_to_sympy(text, expected):
    assert sympy.simplify(parse(text) - expected) == 0


def test_float_literals_are_exact_decimals():
    # 0.1 + 0.2 is exactly 3/10, not the double nearest to it.
    assert parse("0.1 + 0.2") == sympy.Rational(3, 10)


@pytest.mark.parametrize(
    ("text", "offending"),
    [
        ("__import__('os').system('x')", "__import__('os').system('x')"),
        ("a.b", "a.b"),
        ("q.real", "q.real"),
        ("x[0]", "x[0]"),
        ("f(x)", "f(x)"),
        ("lambda: 1", "lambda: 1"),
        ("q < 1", "q < 1"),
        ("'text'", "'text'"),
        ("b'x'", "b'x'"),
        ("q if n else q", "q if n else q"),
        ("[q]", "[q]"),
        ("(q, n)", "(q, n)"),
        ("{q: 1}", "{q: 1}"),
        ("q ^ 2", "q ^ 2"),
        ("q % 2", "q % 2"),
        ("q // 2", "q // 2"),
        ("+q", "+q"),
        ("not q", "not q"),
        ("q and n", "q and n"),
        ("(q := 2)", "q := 2"),
        ("f'{q}'", "f'{q}'"),
        ("[x for x in q]", "[x for x in q]"),
        ("min(q, key=n)", "min(q, key=n)"),
        ("max(*q)", "max(*q)"),
        ("True", "True"),
        ("None", "None"),
        ("...", "..."),
        ("2j", "2j"),
        ("q.__class__.__mro__", "q.__class__.__mro__"),
        ("exec('1')", "exec('1')"),
        ("eval('1')", "eval('1')"),
        ("(lambda: 0)()", "(lambda: 0)()"),
    ],
)
def test_unsafe_or_unknown_syntax_is_refused_naming_the_text(text, offending):
    with pytest.raises(ProofError, match=re.escape(repr(offending)[1:-1])) as error:
        parse(text, file="bad.toml", key="theorem.bound")
    assert str(error.value).startswith("bad.toml: theorem.bound: ")
    assert error.value.file == "bad.toml"
    assert error.value.key == "theorem.bound"


def test_undeclared_name_is_named_with_the_declared_ones():
    with pytest.raises(ProofError, match=r"undeclared name 'qq'.*declared names: adv_prf, n, q"):
        parse("qq**2 / 2**n", file="x.toml", key="hops[2].by")


def test_no_declared_names_says_so():
    with pytest.raises(ProofError, match="declared names: none"):
        parse("q", {})


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("q +", "not a valid expression"),
        ("q\x00", "not a valid expression"),
        ("1/0", "undefined"),
        ("log(0)", "undefined"),
        ("sqrt(-1)", "not a real number"),
        ("10**10**10", "too large"),
        ("(2**4000)**4000", "too large"),
        ("1e99999", "out of range"),
        ("min(q)", "min takes 2 to 16 arguments, got 1"),
        ("exp(q, n)", "exp takes 1 argument, got 2"),
        ("log(q, 2, 3)", "log takes 1 to 2 arguments, got 3"),
        ("log", "must be called"),
        ("q" + "+q" * MAX_LENGTH, "characters long"),
        ("-" * 200 + "q", "nested"),
        ("(" * 300 + "q" + ")" * 300, "not a valid expression|nested"),
        ("q ** 2 ** 2 ** 2 ** 2 ** 2 ** 2 ** 2", "too large|nested"),
    ],
)
def test_malformed_or_undefined_expressions_raise_proof_error(text, reason):
    with pytest.raises(ProofError, match=reason):
        parse(text)


@pytest.mark.parametrize("value", [None, True, [1], {"a": 1}, float("inf"), float("nan")])
def test_non_expression_values_raise_proof_error(value):
    with pytest.raises(ProofError, match="expected an expression|not finite"):
        parse(value, file="f.toml", key="assumptions[1].claim")


def test_compiled_expression_matches_sympy():
    expr = parse("2*adv_prf + min(q, 2**n) / sqrt(q) + log(q + 1)")
    value = compile_expression(expr)({"q": 9, "n": 2, "adv_prf": 0.25})
    assert value == pytest.approx(0.5 + 4 / 3 + math.log(10))
    with pytest.raises(KeyError, match="adv_prf"):
        compile_expression(expr)({"q": 9, "n": 2})


# -- random strings: parse into sympy or raise ProofError, never anything else -----------

PROBE = "__advantage_probe__"
TOKENS = [
    "q",
    "n",
    "adv_prf",
    "x",
    "1",
    "2",
    "0.5",
    "1e3",
    "+",
    "-",
    "*",
    "/",
    "**",
    "(",
    ")",
    ",",
    " ",
    "min",
    "max",
    "log",
    "exp",
    "sqrt",
    ".",
    "[",
    "]",
    "'",
    "lambda",
    ":",
    "<",
    "if",
    "else",
    "__import__",
    "os",
    "system",
    "^",
    "%",
    "//",
    "not",
    "and",
    "j",
    "=",
    "{",
    "}",
    "@",
    "~",
    "|",
    "&",
    "0x",
    "_",
    "e",
    f"{PROBE}()",
    "eval",
    "open",
    "\\",
    "\n",
]


@pytest.fixture()
def probe():
    """A builtin that records any call: a parser that executed text would trip it."""
    calls = []
    setattr(builtins, PROBE, lambda *args: calls.append(args))
    try:
        yield calls
    finally:
        delattr(builtins, PROBE)


def _parse_or_refuse(text):
    try:
        result = parse(text)
    except ProofError:
        return None
    assert isinstance(result, sympy.Basic)
    return result


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join))
def test_random_token_strings_parse_or_raise_proof_error(probe, text):
    _parse_or_refuse(text)
    assert probe == []


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=40))
def test_random_text_parses_or_raises_proof_error(probe, text):
    _parse_or_refuse(text)
    assert probe == []


# -- random trees from the grammar: parse and agree with a reference evaluation ---------

VALUES = {"q": 6, "n": 3, "adv_prf": Fraction(1, 3)}
FLOATS = ["0.5", "1.25", "2.0", "1e-3", "3.75"]

leaves = st.one_of(
    st.integers(0, 20).map(lambda k: ("int", k)),
    st.sampled_from(FLOATS).map(lambda f: ("float", f)),
    st.sampled_from(sorted(VALUES)).map(lambda name: ("name", name)),
)


def _extend(children):
    exponent = st.one_of(st.integers(-3, 3).map(lambda k: ("int", k)), st.just(("name", "n")))
    return st.one_of(
        st.tuples(st.just("bin"), st.sampled_from("+-*/"), children, children),
        st.tuples(st.just("pow"), children, exponent),
        st.tuples(st.just("neg"), children),
        st.tuples(st.just("call"), st.sampled_from(["log", "exp", "sqrt"]), children),
        st.tuples(st.just("call"), st.sampled_from(["min", "max"]), children, children),
        st.tuples(st.just("call"), st.just("log"), children, children),
    )


trees = st.recursive(leaves, _extend, max_leaves=12)


def render(tree):
    kind = tree[0]
    if kind == "int":
        return str(tree[1]) if tree[1] >= 0 else f"({tree[1]})"
    if kind in ("float", "name"):
        return tree[1]
    if kind == "bin":
        return f"({render(tree[2])}) {tree[1]} ({render(tree[3])})"
    if kind == "pow":
        return f"({render(tree[1])})**({render(tree[2])})"
    if kind == "neg":
        return f"-({render(tree[1])})"
    return f"{tree[1]}({', '.join(render(arg) for arg in tree[2:])})"


class Undefined(Exception):
    pass


def reference(tree):
    """An independent evaluation with mpmath at high precision; Undefined off the reals."""
    kind = tree[0]
    if kind == "int":
        return mpmath.mpf(tree[1])
    if kind == "float":
        return mpmath.mpf(tree[1])
    if kind == "name":
        value = VALUES[tree[1]]
        return (
            mpmath.mpf(value.numerator) / value.denominator
            if isinstance(value, Fraction)
            else mpmath.mpf(value)
        )
    args = [reference(arg) for arg in tree[2:]] if kind in ("bin", "call") else None
    try:
        if kind == "neg":
            out = -reference(tree[1])
        elif kind == "pow":
            base, exponent = reference(tree[1]), reference(tree[2])
            if base == 0 and exponent < 0:
                raise Undefined
            out = base**exponent
        elif kind == "bin":
            left, right = reference(tree[2]), reference(tree[3])
            if tree[1] == "/" and right == 0:
                raise Undefined
            out = {"+": left + right, "-": left - right, "*": left * right}.get(tree[1])
            if out is None:
                out = left / right
        else:
            name, args = tree[1], [reference(arg) for arg in tree[2:]]
            if name in ("log", "sqrt") and any(
                arg <= 0 if name == "log" else arg < 0 for arg in args
            ):
                raise Undefined
            if name == "log" and len(args) == 2 and args[1] == 1:
                raise Undefined
            function = {
                "log": mpmath.log,
                "exp": mpmath.exp,
                "sqrt": mpmath.sqrt,
                "min": min,
                "max": max,
            }[name]
            out = (
                function(*args) if name != "log" or len(args) == 1 else mpmath.log(args[0], args[1])
            )
    except (ZeroDivisionError, ValueError):
        raise Undefined from None
    if (
        not isinstance(out, mpmath.mpf)
        or not mpmath.isfinite(out)
        or abs(out) > mpmath.mpf(10) ** 60
        or 0 < abs(out) < mpmath.mpf(2) ** -MAX_BITS  # the parser's documented range
    ):
        raise Undefined
    return out


@settings(max_examples=250, deadline=None)
@given(trees)
def test_random_grammar_trees_parse_and_match_a_reference(tree):
    with mpmath.workdps(300):
        try:
            expected = reference(tree)
        except Undefined:
            assume(False)
        text = render(tree)
        parsed = parse(text)
        substituted = parsed.xreplace(
            {q: sympy.Integer(VALUES["q"]), n: sympy.Integer(VALUES["n"]), a: sympy.Rational(1, 3)}
        )
        got = mpmath.mpf(str(sympy.N(substituted, 80)))
        assert mpmath.almosteq(
            got, expected, rel_eps=mpmath.mpf(10) ** -40, abs_eps=mpmath.mpf(10) ** -40
        ), text
