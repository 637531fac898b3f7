"""Bound expressions: text from a proof file turned into sympy without executing anything.

The text is parsed with ``ast.parse(text, mode="eval")`` and the tree is walked against a
whitelist: numbers, declared names, ``+ - * / **``, unary minus, and calls to ``min``,
``max``, ``log``, ``exp`` and ``sqrt``. Any other node (attribute access, subscripts,
other calls, lambdas, comparisons, strings...) is refused with :class:`ProofError`
quoting the offending text. Nothing in the text is ever evaluated by Python.
"""

from __future__ import annotations

import ast
import decimal
import math
import time
import warnings
from collections.abc import Callable, Mapping
from fractions import Fraction
from functools import lru_cache
from typing import Any

import sympy

from proofs.errors import ProofError
from proofs.limits import MAX_BITS, bits_of_power

__all__ = ["FUNCTIONS", "compile_expression", "parse_expression"]

#: The functions an expression may call, with their sympy counterparts.
FUNCTIONS: Mapping[str, Callable[..., sympy.Expr]] = {
    "min": sympy.Min,
    "max": sympy.Max,
    "log": sympy.log,
    "exp": sympy.exp,
    "sqrt": sympy.sqrt,
}
# (fewest, most) arguments; log takes an optional base.
_ARITY = {"min": (2, 16), "max": (2, 16), "log": (1, 2), "exp": (1, 1), "sqrt": (1, 1)}
_ALLOWED = "numbers, declared names, + - * / **, unary minus, and min, max, log, exp, sqrt"

# Bounds are short formulas; the limits keep hostile text from costing time or memory.
MAX_LENGTH = 2000
MAX_DEPTH = 60
# sympy sorts out min and max by comparing every pair of arguments.
MAX_ARGUMENTS = _ARITY["min"][1]
# Seconds one expression may take to parse; checked at every node of its tree.
PARSE_SECONDS = 5.0
MAX_DECIMAL_EXPONENT = 1000

_OPERATORS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}

_REFUSED = {
    ast.Attribute: "attribute access",
    ast.Subscript: "a subscript",
    ast.Lambda: "a lambda",
    ast.Compare: "a comparison",
    ast.BoolOp: "a boolean operator",
    ast.IfExp: "a conditional expression",
    ast.NamedExpr: "an assignment expression",
    ast.Starred: "a starred expression",
    ast.JoinedStr: "an f-string",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "a slice",
}


class _Builder:
    """Walks a parsed tree, building sympy for whitelisted nodes and refusing the rest."""

    def __init__(self, text: str, symbols: Mapping[str, sympy.Symbol], file: str, key: str) -> None:
        self.text = text
        self.symbols = symbols
        self.file = file
        self.key = key
        self.started = time.monotonic()

    def fail(self, reason: str) -> ProofError:
        return ProofError(reason, file=self.file, key=self.key)

    def segment(self, node: ast.AST) -> str:
        try:
            found = ast.get_source_segment(self.text, node)
        except Exception:  # a hostile position never hides the refusal itself
            found = None
        if found is None:
            try:
                found = ast.unparse(node)
            except Exception:
                found = type(node).__name__
        return found if len(found) <= 80 else found[:77] + "..."

    def refuse(self, node: ast.AST, what: str) -> ProofError:
        return self.fail(
            f"{what} is not allowed in a bound expression: {self.segment(node)!r} "
            f"(allowed: {_ALLOWED})"
        )

    def build(self, node: ast.AST, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail(f"expression {self.text!r} is nested more than {MAX_DEPTH} deep")
        if time.monotonic() - self.started > PARSE_SECONDS:
            raise self.fail(
                f"parsing {_short(self.text)!r} ran past its time budget of {PARSE_SECONDS:g} s"
            )
        result = self._build(node, depth + 1)
        _check_size(result, self, node)
        _check_constant(result, self, node)
        return result

    def _build(self, node: ast.AST, depth: int) -> Any:
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            operator = _OPERATORS.get(type(node.op))
            if operator is None:
                if isinstance(node.op, ast.BitXor):
                    raise self.refuse(node, "'^' (bitwise xor; write ** for a power)")
                raise self.refuse(node, f"the operator {type(node.op).__name__}")
            left = self.build(node.left, depth)
            right = self.build(node.right, depth)
            if isinstance(node.op, ast.Pow):
                _check_power(left, right, self, node)
            return operator(left, right)
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub):
                raise self.refuse(node, f"the unary operator {type(node.op).__name__}")
            return -self.build(node.operand, depth)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        what = _REFUSED.get(type(node), f"a {type(node).__name__} node")
        raise self.refuse(node, what)

    def constant(self, node: ast.Constant) -> Any:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise self.refuse(node, f"the constant {value!r}")
        if isinstance(value, int):
            return sympy.Integer(value)
        if isinstance(value, float):
            # Exact from the literal's text, so 0.1 means 1/10 and not the nearest double.
            literal = ast.get_source_segment(self.text, node) or repr(value)
            try:
                number = decimal.Decimal(literal)
            except decimal.InvalidOperation:
                number = decimal.Decimal(repr(value))
            if not number.is_finite() or abs(number.adjusted()) > MAX_DECIMAL_EXPONENT:
                raise self.fail(
                    f"number {literal!r} is out of range (|exponent| <= {MAX_DECIMAL_EXPONENT})"
                )
            return sympy.Rational(Fraction(number))
        kind = {str: "a string", bytes: "a bytes literal", complex: "an imaginary number"}
        raise self.refuse(node, kind.get(type(value), f"the constant {value!r}"))

    def name(self, node: ast.Name) -> sympy.Symbol:
        if node.id in FUNCTIONS:
            raise self.fail(f"function {node.id!r} must be called, as in {node.id}(...)")
        symbol = self.symbols.get(node.id)
        if symbol is None:
            declared = ", ".join(sorted(self.symbols)) or "none"
            raise self.fail(
                f"undeclared name {node.id!r} in {self.text!r}; declared names: {declared}"
            )
        return symbol

    def call(self, node: ast.Call, depth: int) -> Any:
        if not isinstance(node.func, ast.Name):
            raise self.refuse(node, "a call to something other than min, max, log, exp, sqrt")
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.refuse(node, f"a call to {name!r}")
        if node.keywords:
            raise self.refuse(node, f"a keyword argument to {name}")
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            raise self.refuse(node, f"a starred argument to {name}")
        fewest, most = _ARITY[name]
        count = len(node.args)
        if count < fewest or (most is not None and count > most):
            wanted = (
                f"{fewest}"
                if fewest == most
                else f"{fewest} to {most}"
                if most
                else f"at least {fewest}"
            )
            raise self.fail(
                f"{name} takes {wanted} argument{'s' if wanted != '1' else ''}, got {count}: "
                f"{self.segment(node)!r}"
            )
        args = [self.build(arg, depth) for arg in node.args]
        if name in ("min", "max"):
            # min(min(a, b), c) becomes one min of a, b, c: count what it will compare.
            kind = sympy.Min if name == "min" else sympy.Max
            terms = sum(len(arg.args) if isinstance(arg, kind) else 1 for arg in args)
            if terms > MAX_ARGUMENTS:
                raise self.fail(
                    f"{name} of {terms} terms in all, nested {name}s included: "
                    f"{self.segment(node)!r} (at most {MAX_ARGUMENTS})"
                )
        return FUNCTIONS[name](*args)


def _check_power(base: Any, exponent: Any, builder: _Builder, node: ast.AST) -> None:
    # sympy computes rational powers exactly; 10**10**10 would never finish.
    if isinstance(base, sympy.Rational) and isinstance(exponent, sympy.Rational):
        size = bits_of_power(base, exponent)
        if size > MAX_BITS:
            raise builder.fail(
                f"number {builder.segment(node)!r} is too large: it would have about "
                f"{size:.4g} bits (the limit is {MAX_BITS} bits)"
            )


def _check_size(value: Any, builder: _Builder, node: ast.AST) -> None:
    if not isinstance(value, sympy.Basic):
        return
    for atom in value.atoms(sympy.Rational):
        size = max(abs(int(atom.p)).bit_length(), abs(int(atom.q)).bit_length())
        if size > MAX_BITS:
            raise builder.fail(
                f"number in {builder.segment(node)!r} is too large: {size} bits "
                f"(the limit is {MAX_BITS} bits)"
            )


def _check_constant(value: Any, builder: _Builder, node: ast.AST) -> None:
    """Refuse a constant that is not a real number, or whose size is beyond 2**±MAX_BITS.

    Every part of it passed this check already, so its size is estimated from its parts'
    values without evaluating it (exp(exp(4632)) would take seconds to evaluate); only a
    constant of acceptable size is evaluated, to see that it is real. Left alone, a
    constant like exp(exp(1000)) would later send mpmath after astronomically many digits,
    and one like log(log(log(2))) (complex) makes each enclosing log slower to build.
    """
    if not isinstance(value, sympy.Basic) or isinstance(value, sympy.Rational):
        return
    if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise builder.fail(f"{builder.segment(node)!r} is undefined (a division by zero?)")
    if not value.is_number:
        return
    try:
        size = _log2_size(value)
        if size is not None and abs(size) > MAX_BITS:
            raise builder.fail(
                f"number {builder.segment(node)!r} is too {'large' if size > 0 else 'small'}: "
                f"about 2**{size.evalf(4)}, outside 2**-{MAX_BITS} to 2**{MAX_BITS} (numbers "
                f"are limited to {MAX_BITS} bits)"
            )
        approx = value.evalf(15)
    except ProofError:
        raise
    except (ArithmeticError, ValueError, TypeError, RecursionError) as error:
        raise builder.fail(
            f"{builder.segment(node)!r} cannot be evaluated: {type(error).__name__}: {error}"
        ) from None
    if not approx.is_Float and approx != 0:
        raise builder.fail(
            f"{builder.segment(node)!r} is not a real number (a root or log of a negative number?)"
        )


_LOG2_E = sympy.Float(1 / math.log(2), 20)


def _log2_size(value: sympy.Expr) -> sympy.Float | None:
    """About log2 |value| for a constant, from its parts' values; None where unknown.

    Only parts whose own size is acceptable are ever evaluated, so this is cheap even when
    ``value`` itself is astronomically large or small.
    """
    if isinstance(value, sympy.Rational):
        if value == 0:
            return None
        p, q = abs(int(value.p)), abs(int(value.q))
        return sympy.Float(math.log2(p) - math.log2(q), 15)
    if isinstance(value, sympy.exp) or (isinstance(value, sympy.Pow) and value.base.is_number):
        base, exponent = (sympy.E, value.args[0]) if isinstance(value, sympy.exp) else value.args
        if not _small(exponent) or not _small(base):
            return None
        e, b = exponent.evalf(15), base.evalf(15)
        if not (e.is_Float and b.is_Float) or b <= 0:
            return None
        return e * (_LOG2_E if base == sympy.E else sympy.log(b, 2).evalf(15))
    if isinstance(value, sympy.Mul):
        sizes = [_log2_size(arg) for arg in value.args]
        return None if any(s is None for s in sizes) else sympy.Add(*sizes)
    if isinstance(value, sympy.Add | sympy.Min | sympy.Max):
        sizes = [_log2_size(arg) for arg in value.args]
        return None if any(s is None for s in sizes) else sympy.Max(*sizes)
    approx = value.evalf(15)  # log, sqrt of acceptable parts, pi...: never huge
    return sympy.log(abs(approx), 2).evalf(15) if approx.is_Float and approx != 0 else None


def _small(value: sympy.Expr) -> bool:
    size = _log2_size(value)
    return size is not None and abs(size) <= MAX_BITS


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def _undefined(value: sympy.Expr) -> bool:
    if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I):
        return True
    if value.is_number:
        return value.is_extended_real is False or value.is_finite is False
    return False


def parse_expression(
    text: Any,
    symbols: Mapping[str, sympy.Symbol],
    *,
    file: str = "<expression>",
    key: str = "<expression>",
) -> sympy.Expr:
    """Turn a bound written in a proof file into a sympy expression, executing nothing.

    Args:
        text: the expression, e.g. ``"2*adv_prf + q**2 / 2**n"``; an int or float is
            taken as a constant.
        symbols: the declared names and the sympy symbols they stand for.
        file, key: where the text comes from, for error messages.

    Raises:
        ProofError: the text does not parse, uses anything outside the whitelist, names
            an undeclared name, or is undefined (a division by zero, say).
    """
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ProofError(
            f"expected an expression (a string or a number), got {type(text).__name__} {text!r}",
            file=file,
            key=key,
        )
    if isinstance(text, int | float):
        if isinstance(text, float) and not math.isfinite(text):
            raise ProofError(f"number {text!r} is not finite", file=file, key=key)
        text = repr(text)
    if len(text) > MAX_LENGTH:
        raise ProofError(
            f"expression is {len(text)} characters long (at most {MAX_LENGTH})", file=file, key=key
        )
    if not text.strip():
        raise ProofError("expression is empty", file=file, key=key)
    builder = _Builder(text, symbols, file, key)
    try:
        with warnings.catch_warnings():
            # "invalid decimal literal" and the like: the text is refused or accepted on
            # its own merits, without noise on stderr.
            warnings.simplefilter("ignore")
            tree = ast.parse(text.strip(), mode="eval")
        builder.text = text.strip()
    except SyntaxError as error:
        raise ProofError(
            f"{text!r} is not a valid expression: {error.msg}", file=file, key=key
        ) from None
    except (ValueError, RecursionError, MemoryError, OverflowError) as error:
        # Null bytes, absurd nesting or literals the parser itself rejects.
        raise ProofError(
            f"{text!r} is not a valid expression: {error}", file=file, key=key
        ) from None
    try:
        value = builder.build(tree.body)
    except ProofError:
        raise
    except RecursionError:
        raise ProofError(f"expression {text!r} is nested too deeply", file=file, key=key) from None
    except Exception as error:  # sympy refusing a combination (comparing zoo in min, say)
        raise ProofError(
            f"{text!r} cannot be turned into a bound: {type(error).__name__}: {error}",
            file=file,
            key=key,
        ) from None
    value = sympy.sympify(value)
    if _undefined(value):
        raise ProofError(
            f"{text!r} is undefined or not a real number (division by zero, log of zero, "
            "a root of a negative number...)",
            file=file,
            key=key,
        )
    return value


# Only math-module functions (plus the built-in min and max that sympy prints for
# Min and Max) are visible to the code sympy generates from a parsed expression.
def _namespace() -> dict[str, Any]:
    names = {name: getattr(math, name) for name in dir(math) if not name.startswith("_")}
    names.update({"min": min, "max": max, "Min": min, "Max": max, "math": math})
    return names


@lru_cache(maxsize=1024)
def _compiled(expr: sympy.Expr, names: tuple[str, ...]) -> Callable[..., Any]:
    symbols = [sympy.Symbol(name) for name in names]
    # Evaluate through plain symbols: the generated code depends only on names.
    plain = expr.xreplace({s: sympy.Symbol(s.name) for s in expr.free_symbols})
    return sympy.lambdify(symbols, plain, modules=[_namespace()], docstring_limit=0)


def compile_expression(expr: sympy.Expr) -> Callable[[Mapping[str, float]], float]:
    """A float-valued function of ``{name: value}`` for a parsed expression.

    The function is generated by sympy from the parsed tree (never from the file's text)
    and sees math-module functions only; it computes in floats, so its time does not
    depend on the values (an overflow gives ``inf``, an undefined value ``nan``). Raises
    ``KeyError`` naming a missing value.
    """
    names = tuple(sorted(s.name for s in expr.free_symbols))
    function = _compiled(expr, names)

    def evaluate(values: Mapping[str, float]) -> float:
        missing = [name for name in names if name not in values]
        if missing:
            raise KeyError(", ".join(missing))
        # In floats: with ints, 2**n at n = 2**4000 would be computed exactly, for ever.
        args = [_float(values[name]) for name in names]
        try:
            return float(function(*args))
        except OverflowError:
            return math.inf
        except (ZeroDivisionError, ValueError):  # 1/0, log(-1) (math domain error)
            return math.nan

    return evaluate


def _float(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:  # an int beyond the floats
        return math.inf if value > 0 else -math.inf
