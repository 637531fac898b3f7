"""The symbolic check: does the theorem's bound cover the sum of the hops, over the whole domain?

For every value of the resources in the declared domain and every assumption advantage
in [0, 1], the claimed bound must be at least the sum of the hops' terms. Three deciders
are tried in turn:

1. sympy: ``simplify(claimed − chain)`` is 0 (proven equal), or sympy can tell its sign
   from what it knows of the symbols (integer, positive).
2. z3: the inequality's negation is put to z3 over the domain, with the resources as
   integers or reals. Powers with a symbolic exponent (``2**n``) become fresh variables
   tied to their exact values over the finite domain of the exponent; sqrt becomes a
   fresh s ≥ 0 with s² equal to its argument; other functions become fresh unconstrained
   variables (a relaxation, sound for proofs). Unsat is a proof; a model is re-checked
   exactly before it is reported as a counterexample.
3. Hypothesis searches the domain for a counterexample and reports the smallest it
   finds, checked exactly; finding none, the claim is reported undecided, with the
   number of samples it survived.

When the claim fails, the report says which hop's term the bound does not cover: it
compares each assumption's coefficient in the bound with the number of hops that cite
it, and checks the bound (with every advantage 0) against each statistical hop's term
alone and with one term left out.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping
from fractions import Fraction
from typing import Any, Literal

import attrs
import sympy

from oracles import InvalidArgument
from proofs.errors import ProofError
from proofs.limits import MAX_BITS, TIME_LIMIT, TooLarge, bits_of_power, check_bits, run
from proofs.model import Domain, Proof

__all__ = ["Decision", "Finding", "SymbolicReport", "check_symbolic", "decide"]

Status = Literal["proven", "refuted", "undecided", "unchecked"]

# Exponents ranging over more combinations than this are not enumerated for z3.
MAX_ENUMERATION = 2048
# A whole check may take this many steps' budgets.
TOTAL_STEPS = 10


@attrs.frozen(kw_only=True)
class Decision:
    """Whether ``lower ≤ upper`` holds over the domain, and how that was decided.

    Attributes:
        holds: True (proven), False (refuted by ``counterexample``), None (undecided).
        method: ``sympy``, ``z3``, ``hypothesis`` or ``none``.
        detail: one line on how.
        counterexample: values of every variable where it fails, when refuted.
        samples: points Hypothesis tried (0 when it was not needed).
    """

    holds: bool | None
    method: str
    detail: str
    counterexample: Mapping[str, Any] | None = attrs.field(default=None, hash=False)
    samples: int = 0


@attrs.frozen(kw_only=True)
class Finding:
    """A part of the chain that the claimed bound does not cover.

    Attributes:
        hops: the hops concerned, by index (from 1).
        term: their combined cost that is not covered.
        message: what is wrong, in words.
        counterexample: a point of the domain that shows it, if one was found.
    """

    hops: tuple[int, ...]
    term: sympy.Expr
    message: str
    counterexample: Mapping[str, Any] | None = attrs.field(default=None, hash=False)


@attrs.frozen(kw_only=True)
class SymbolicReport:
    """The result of :func:`check_symbolic`.

    Attributes:
        proof: the proof's name.
        status: ``proven`` (the bound covers the chain everywhere in the domain),
            ``refuted`` (a counterexample is given), ``undecided`` (no decider could
            tell; Hypothesis found no counterexample in ``samples`` points), or
            ``unchecked`` (the file gives no hops to check against).
        method: the decider that settled it, if any.
        claimed: the theorem's bound.
        chain: the sum of the hops' terms.
        difference: ``claimed − chain``, simplified.
        equal: whether the two are identical expressions (difference 0).
        detail: one line on how it was decided.
        counterexample: a point where the bound is below the chain, with both values.
        samples: points Hypothesis tried.
        findings: the hops whose terms the bound fails to cover.
    """

    proof: str
    status: Status
    method: str | None
    claimed: sympy.Expr
    chain: sympy.Expr
    difference: sympy.Expr
    equal: bool
    detail: str
    counterexample: Mapping[str, Any] | None = attrs.field(default=None, hash=False)
    samples: int = 0
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the bound is proven to cover the chain."""
        return self.status == "proven"

    def __str__(self) -> str:
        lines = [f"{self.proof}: {self.status}" + (f" ({self.method})" if self.method else "")]
        lines.append(f"  claimed bound: {self.claimed}")
        lines.append(f"  sum of hops:   {self.chain}")
        lines.append(f"  {self.detail}")
        if self.counterexample:
            lines.append(f"  counterexample: {_format_point(self.counterexample)}")
        for finding in self.findings:
            lines.append(f"  - {finding.message}")
        return "\n".join(lines)


def _format_point(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={_show(value)}" for name, value in point.items())


def _show(value: Any) -> str:
    if isinstance(value, Fraction | sympy.Rational) and value != int(value):
        try:
            return f"{float(value):.6g}"
        except OverflowError:
            return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


# -- the variables: resources and advantages -------------------------------------------


@attrs.frozen(kw_only=True)
class _Variable:
    name: str
    integer: bool
    low: Fraction
    high: Fraction
    step: int = 1

    def values(self) -> range:
        return range(int(self.low), int(self.high) + 1, self.step)


def _variables(domain: Domain, expr: sympy.Expr) -> dict[str, _Variable]:
    """The variables ``expr`` uses, with their ranges (advantages in [0, 1])."""
    out: dict[str, _Variable] = {}
    for symbol in sorted(expr.free_symbols, key=lambda s: s.name):
        name = symbol.name
        if name in domain:
            r = domain[name]
            out[name] = _Variable(
                name=name,
                integer=r.type == "integer",
                low=Fraction(r.low),
                high=Fraction(r.high),
                step=r.step,
            )
        else:  # adv_NAME
            out[name] = _Variable(name=name, integer=False, low=Fraction(0), high=Fraction(1))
    return out


def _substitute(expr: sympy.Expr, point: Mapping[str, Any]) -> sympy.Expr:
    """``expr`` at ``point``, exactly.

    Raises:
        TooLarge: an exact number on the way would pass MAX_BITS bits (``2**n`` at
            ``n = 2**64`` is refused before it is computed, not after).
    """
    mapping: dict[sympy.Basic, sympy.Basic] = {}
    for symbol in expr.free_symbols:
        value = point[symbol.name]
        if isinstance(value, Fraction):
            mapping[symbol] = sympy.Rational(value.numerator, value.denominator)
        else:
            mapping[symbol] = sympy.sympify(value)
    return _rebuild(expr, mapping, point)


def _rebuild(
    expr: sympy.Basic, mapping: Mapping[sympy.Basic, sympy.Basic], point: Mapping[str, Any]
) -> sympy.Basic:
    if expr in mapping:
        return mapping[expr]
    if not expr.args:
        return expr
    args = [_rebuild(arg, mapping, point) for arg in expr.args]
    if isinstance(expr, sympy.Pow):
        base, exponent = args
        if isinstance(base, sympy.Rational) and isinstance(exponent, sympy.Rational):
            size = bits_of_power(base, exponent)
            if size > MAX_BITS:
                raise TooLarge(
                    f"{expr} at {_where(expr, point)} would be a number of about {size:.4g} "
                    f"bits (the limit is {MAX_BITS} bits)"
                )
    value = expr.func(*args)
    check_bits(value, f"{expr} at {_where(expr, point)}")
    return value


def _where(expr: sympy.Basic, point: Mapping[str, Any]) -> str:
    names = sorted(symbol.name for symbol in expr.free_symbols)
    return ", ".join(f"{name}={point[name]}" for name in names) or "a constant"


def _negative_at(difference: sympy.Expr, point: Mapping[str, Any]) -> bool | None:
    """Whether ``difference`` is negative at ``point``, decided exactly where possible.

    Raises TooLarge when deciding it exactly would need a number beyond MAX_BITS bits.
    """
    value = _substitute(difference, point)
    try:
        value = sympy.nsimplify(value) if value.has(sympy.Float) else value
        negative = value.is_negative
        if negative is None:
            number = value.evalf(60)
            if not number.is_number or not number.is_real:
                return None
            negative = bool(number < 0)
    except (TypeError, ValueError):
        return None
    return bool(negative)


# -- sympy -----------------------------------------------------------------------------


def _by_sympy(difference: sympy.Expr, variables: Mapping[str, _Variable]) -> Decision | None:
    if difference == 0:
        return Decision(
            holds=True, method="sympy", detail="proven equal: claimed − chain simplifies to 0"
        )
    if difference.is_nonnegative:
        return Decision(
            holds=True,
            method="sympy",
            detail=f"proven: claimed − chain = {difference} ≥ 0 for all values sympy admits",
        )
    if difference.is_negative:
        point = {name: v.low if not v.integer else int(v.low) for name, v in variables.items()}
        return Decision(
            holds=False,
            method="sympy",
            detail=f"refuted: claimed − chain = {difference} < 0 everywhere",
            counterexample=point,
        )
    return None


# -- z3 --------------------------------------------------------------------------------


class _Untranslatable(Exception):
    """The expression has a part z3 cannot take."""


class _Z3:
    """Builds z3 terms for sympy expressions over the domain's variables."""

    def __init__(self, z3: Any, variables: Mapping[str, _Variable], integers: bool) -> None:
        self.z3 = z3
        self.variables = variables
        self.vars: dict[str, Any] = {}
        self.terms: dict[str, Any] = {}
        self.constraints: list[Any] = []
        self.cache: dict[sympy.Expr, Any] = {}
        self.relaxed = False
        self.fresh = 0
        for name, v in variables.items():
            if v.integer and integers:
                var = z3.Int(name)
                self.terms[name] = z3.ToReal(var)
                self.constraints += [var >= int(v.low), var <= int(v.high)]
                if v.step > 1:
                    self.constraints.append((var - int(v.low)) % v.step == 0)
            else:
                var = z3.Real(name)
                self.terms[name] = var
                self.constraints += [var >= self.rational(v.low), var <= self.rational(v.high)]
            self.vars[name] = var

    def rational(self, value: Fraction | sympy.Rational) -> Any:
        value = (
            Fraction(int(value.numerator), int(value.denominator))
            if not isinstance(value, Fraction)
            else value
        )
        return self.z3.RealVal(f"{value.numerator}/{value.denominator}")

    def new(self, prefix: str) -> Any:
        self.fresh += 1
        return self.z3.Real(f"_{prefix}{self.fresh}")

    def term(self, expr: sympy.Expr) -> Any:
        if expr in self.cache:
            return self.cache[expr]
        out = self._term(expr)
        self.cache[expr] = out
        return out

    def _term(self, expr: sympy.Expr) -> Any:
        z3 = self.z3
        if isinstance(expr, sympy.Symbol):
            return self.terms[expr.name]
        if isinstance(expr, sympy.Rational):
            return self.rational(expr)
        if isinstance(expr, sympy.Float):
            return self.rational(sympy.Rational(expr))
        if isinstance(expr, sympy.Add):
            return z3.Sum([self.term(arg) for arg in expr.args])
        if isinstance(expr, sympy.Mul):
            return z3.Product([self.term(arg) for arg in expr.args])
        if isinstance(expr, sympy.Min | sympy.Max):
            args = [self.term(arg) for arg in expr.args]
            out = args[0]
            for arg in args[1:]:
                out = (
                    z3.If(arg < out, arg, out)
                    if isinstance(expr, sympy.Min)
                    else z3.If(arg > out, arg, out)
                )
            return out
        if isinstance(expr, sympy.Pow):
            return self.power(expr)
        if isinstance(expr, sympy.exp):
            value = self.new("exp")
            self.constraints.append(value > 0)
            self.relaxed = True
            return value
        if isinstance(expr, sympy.Function) or expr.is_number:
            # log, or a constant like log(2): an unconstrained stand-in, the same one for
            # every occurrence, keeps the check sound (a relaxation).
            value = self.new("f")
            if expr.is_number and expr.is_real:
                approx = sympy.Rational(expr.evalf(40))
                slack = abs(approx) / sympy.Integer(10) ** 30 + sympy.Rational(1, 10**60)
                self.constraints += [
                    value >= self.rational(approx - slack),
                    value <= self.rational(approx + slack),
                ]
            self.relaxed = True
            return value
        raise _Untranslatable(type(expr).__name__)

    def power(self, expr: sympy.Pow) -> Any:
        base, exponent = expr.args
        if isinstance(exponent, sympy.Integer):
            k = int(exponent)
            if abs(k) > 64:
                raise _Untranslatable("power")
            body = self.term(base)
            out = self.z3.Product([body] * abs(k)) if k else self.z3.RealVal(1)
            return out if k >= 0 else 1 / out
        if isinstance(exponent, sympy.Rational) and exponent.q == 2:
            root = self.new("sqrt")
            self.constraints += [root >= 0, root * root == self.term(base)]
            p = int(exponent.p)
            out = self.z3.Product([root] * abs(p)) if p else self.z3.RealVal(1)
            return out if p >= 0 else 1 / out
        if base.is_number and base.is_positive and not exponent.is_number:
            return self.exponential(base, exponent)
        raise _Untranslatable("power")

    def exponential(self, base: sympy.Expr, exponent: sympy.Expr) -> Any:
        """b**e for a symbolic e over integer variables: a fresh variable tied to its values."""
        names = sorted(symbol.name for symbol in exponent.free_symbols)
        ranges = []
        for name in names:
            v = self.variables[name]
            if not v.integer:
                raise _Untranslatable("power with a real exponent")
            ranges.append(v.values())
        if math.prod(len(r) for r in ranges) > MAX_ENUMERATION:
            raise _Untranslatable("power over too large a domain")
        value = self.new("pow")
        cases = []
        symbols = [sympy.Symbol(name) for name in names]
        plain = exponent.xreplace({s: sympy.Symbol(s.name) for s in exponent.free_symbols})
        for combo in itertools.product(*ranges):
            e = plain.xreplace(dict(zip(symbols, map(sympy.Integer, combo), strict=True)))
            if (
                isinstance(base, sympy.Rational)
                and isinstance(e, sympy.Rational)
                and bits_of_power(base, e) > MAX_BITS
            ):
                raise _Untranslatable("power beyond the size limit")
            exact = base**e
            at = [self.vars[name] == k for name, k in zip(names, combo, strict=True)]
            if isinstance(exact, sympy.Rational):
                cases.append(self.z3.And(*at, value == self.rational(exact)))
            else:
                approx = sympy.Rational(exact.evalf(40))
                slack = abs(approx) / sympy.Integer(10) ** 30
                self.relaxed = True
                cases.append(
                    self.z3.And(
                        *at,
                        value >= self.rational(approx - slack),
                        value <= self.rational(approx + slack),
                    )
                )
        self.constraints.append(self.z3.Or(*cases))
        return value


def _point_from_model(model: Any, builder: _Z3, z3: Any) -> dict[str, Any] | None:
    point: dict[str, Any] = {}
    for name, var in builder.vars.items():
        v = builder.variables[name]
        value = model.eval(var, model_completion=True)
        if z3.is_int_value(value):
            point[name] = value.as_long()
        elif z3.is_rational_value(value):
            point[name] = Fraction(value.numerator_as_long(), value.denominator_as_long())
        elif z3.is_algebraic_value(value):
            approx = value.approx(30)
            point[name] = Fraction(approx.numerator_as_long(), approx.denominator_as_long())
        else:
            return None
        if v.integer and isinstance(point[name], Fraction):
            if point[name].denominator != 1:
                return None
            point[name] = int(point[name])
    return point


def _by_z3(
    lower: sympy.Expr, upper: sympy.Expr, variables: Mapping[str, _Variable], timeout_ms: int
) -> Decision | None:
    try:
        import z3
    except ImportError:  # the check still runs, with sympy and Hypothesis only
        return None
    difference = upper - lower
    for integers in (True, False):
        try:
            builder = _Z3(z3, variables, integers)
            term = builder.term(sympy.expand(difference))
        except _Untranslatable:
            return None
        solver = z3.Solver()
        solver.set(timeout=timeout_ms)
        solver.add(*builder.constraints)
        solver.add(term < 0)
        result = solver.check()
        if result == z3.unsat:
            how = "integer resources" if integers else "resources relaxed to reals"
            relaxed = ", functions relaxed" if builder.relaxed else ""
            return Decision(
                holds=True, method="z3", detail=f"proven by z3 over the domain ({how}{relaxed})"
            )
        if result == z3.sat:
            point = _point_from_model(solver.model(), builder, z3)
            try:
                refuted = point is not None and _negative_at(difference, point)
            except TooLarge:
                refuted = False  # too large to confirm exactly: let Hypothesis look
            if point is not None and refuted:
                return Decision(
                    holds=False,
                    method="z3",
                    detail="refuted by z3: a point of the domain where the bound is below the chain",
                    counterexample=point,
                )
            return None  # a model of the relaxation only: let Hypothesis look
    return None


# -- Hypothesis ------------------------------------------------------------------------


def _on_step(low: int, step: int) -> Any:
    return lambda k: low + k * step


def _strategy(variables: Mapping[str, _Variable]) -> Any:
    from hypothesis import strategies as st

    parts = {}
    for name, v in variables.items():
        if v.integer:
            count = (int(v.high) - int(v.low)) // v.step
            low, step = int(v.low), v.step
            inner = st.integers(0, count).map(_on_step(low, step))
            parts[name] = st.one_of(st.sampled_from([int(v.low), low + count * step]), inner)
        else:
            inner = st.fractions(min_value=v.low, max_value=v.high, max_denominator=1 << 20)
            parts[name] = st.one_of(st.sampled_from([v.low, v.high]), inner)
    return st.fixed_dictionaries(parts)


def _mpf(value: Any) -> Any:
    import mpmath

    if isinstance(value, Fraction):
        return mpmath.mpf(value.numerator) / value.denominator
    return mpmath.mpf(value)


def _by_hypothesis(
    difference: sympy.Expr, variables: Mapping[str, _Variable], samples: int
) -> Decision:
    import mpmath
    from hypothesis import HealthCheck, find, settings
    from hypothesis.errors import NoSuchExample

    names = sorted(variables)
    symbols = [sympy.Symbol(name) for name in names]
    plain = difference.xreplace({s: sympy.Symbol(s.name) for s in difference.free_symbols})
    fast = sympy.lambdify(symbols, plain, modules="mpmath")
    tried = [0]
    beyond: list[str] = []  # points that look negative but are too large to check exactly

    def negative(point: Mapping[str, Any]) -> bool:
        tried[0] += 1
        try:
            with mpmath.workdps(60):
                args = [_mpf(point[name]) for name in names]
                value = fast(*args)
                if not isinstance(value, mpmath.mpf | int | float):
                    return False
                if value >= 0:
                    return False
        except (ArithmeticError, ValueError, TypeError):
            return False
        try:
            return bool(_negative_at(difference, point))
        except TooLarge as error:
            beyond.append(str(error))
            return False

    config = settings(
        max_examples=samples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    try:
        point = find(_strategy(variables), negative, settings=config)
    except NoSuchExample:
        if beyond:
            # A counterexample may lie where exact arithmetic is refused: say so, rather
            # than report a search that could not look there as undecided.
            raise TooLarge(
                f"{len(beyond)} of the {tried[0]} points the search tried could not be checked "
                f"exactly: {beyond[0]}"
            ) from None
        return Decision(
            holds=None,
            method="hypothesis",
            detail=f"undecided: no decider could prove it, and no counterexample in {tried[0]} samples",
            samples=tried[0],
        )
    return Decision(
        holds=False,
        method="hypothesis",
        detail=f"refuted: Hypothesis found a counterexample (after {tried[0]} samples, shrunk)",
        counterexample=dict(point),
        samples=tried[0],
    )


# -- putting it together ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _Steps:
    """How the steps of one check run: their budgets, and where their expressions come from.

    Every step runs in the worker process of :mod:`proofs.limits` under ``time_limit``
    seconds; a step that runs out of time, or needs a number beyond the size limit, ends
    the check with a ProofError naming ``file`` and ``key``. No step starts once the
    check as a whole has taken TOTAL_STEPS × ``time_limit`` (a file of a thousand hops,
    each slow, would otherwise take a thousand budgets).
    """

    samples: int
    timeout_ms: int
    time_limit: float
    file: str
    key: str
    started: float = attrs.field(factory=time.monotonic)

    def at(self, key: str) -> _Steps:
        return attrs.evolve(self, key=key, started=self.started)

    def run(self, function: Any, *args: Any, what: str, seconds: float | None = None) -> Any:
        total = TOTAL_STEPS * self.time_limit
        if time.monotonic() - self.started > total:
            raise ProofError(
                f"the symbolic check ran past its total time budget of {total:g} s "
                f"({TOTAL_STEPS} × time_limit) before {what}",
                file=self.file,
                key=self.key,
            )
        return run(
            function,
            *args,
            what=what,
            seconds=self.time_limit if seconds is None else seconds,
            file=self.file,
            key=self.key,
        )


def _steps(samples: Any, timeout_ms: Any, time_limit: Any, file: str, key: str) -> _Steps:
    for name, value in (("samples", samples), ("timeout_ms", timeout_ms)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidArgument(f"{name}={value!r} must be a positive integer")
    if (
        isinstance(time_limit, bool)
        or not isinstance(time_limit, int | float)
        or not 0 < time_limit < math.inf
    ):
        raise InvalidArgument(f"time_limit={time_limit!r} must be a number of seconds in (0, inf)")
    return _Steps(
        samples=samples, timeout_ms=timeout_ms, time_limit=float(time_limit), file=file, key=key
    )


def _simplify(expr: sympy.Expr) -> sympy.Expr:
    return sympy.simplify(expr)


def _values_at(
    upper: sympy.Expr, lower: sympy.Expr, point: Mapping[str, Any]
) -> tuple[float, float]:
    """Both sides at a counterexample, as floats (for the report)."""
    out = []
    for expr in (upper, lower):
        try:
            value = _substitute(expr, point)
        except TooLarge:  # the difference was checked exactly; one side alone may not be
            value = expr.evalf(30, subs={s: point[s.name] for s in expr.free_symbols})
        try:
            out.append(float(value.evalf(30)))
        except (OverflowError, TypeError):
            out.append(math.inf)
    return out[0], out[1]


def _decide(
    lower: sympy.Expr, upper: sympy.Expr, domain: Domain, steps: _Steps
) -> tuple[Decision, sympy.Expr]:
    """The decision, and ``upper − lower`` simplified."""
    lower, upper = sympy.sympify(lower), sympy.sympify(upper)
    difference = steps.run(_simplify, upper - lower, what="sympy's simplification")
    variables = _variables(domain, upper - lower)
    decision = steps.run(_by_sympy, difference, variables, what="sympy's sign check")
    if decision is None:
        decision = steps.run(
            _by_z3,
            lower,
            upper,
            variables,
            steps.timeout_ms,
            what="z3",
            # z3 stops itself after timeout_ms per query (two queries); the rest is the
            # translation.
            seconds=steps.time_limit + 2 * steps.timeout_ms / 1000,
        )
    if decision is None:
        decision = steps.run(
            _by_hypothesis,
            difference,
            variables,
            steps.samples,
            what="the Hypothesis search for a counterexample",
        )
    if decision.counterexample is not None:
        point = dict(decision.counterexample)
        # Variables that cancelled out may take any value: show their lowest.
        for name, v in _variables(domain, upper + lower).items():
            point.setdefault(name, int(v.low) if v.integer else v.low)
        point["claimed"], point["chain"] = steps.run(
            _values_at, upper, lower, point, what="the evaluation of the counterexample"
        )
        decision = attrs.evolve(decision, counterexample=point)
    return decision, difference


def decide(
    lower: sympy.Expr,
    upper: sympy.Expr,
    domain: Domain,
    *,
    samples: int = 300,
    timeout_ms: int = 3000,
    time_limit: float = TIME_LIMIT,
    file: str = "<expression>",
    key: str = "<expression>",
) -> Decision:
    """Decide whether ``lower ≤ upper`` for every point of the domain (advantages in [0, 1]).

    Args:
        samples: the most points Hypothesis tries when sympy and z3 cannot decide.
        timeout_ms: z3's time limit per query.
        time_limit: seconds each step (sympy's simplification, its sign check, z3, the
            Hypothesis search, the evaluation of a counterexample) may take.
        file, key: where the expressions come from, for messages.

    Raises:
        ProofError: a step ran past ``time_limit`` or needed an exact number beyond
            :data:`proofs.limits.MAX_BITS` bits; the message names file, key and limit.
    """
    steps = _steps(samples, timeout_ms, time_limit, file, key)
    return _decide(lower, upper, domain, steps)[0]


def _coefficient(expr: sympy.Expr, symbol: sympy.Symbol) -> sympy.Expr | None:
    """The coefficient of ``symbol`` in ``expr`` if ``expr`` is linear in it, else None."""
    slope = sympy.simplify(sympy.diff(expr, symbol))
    return None if slope.has(symbol) else slope


def _holds(lower: sympy.Expr, upper: sympy.Expr, domain: Domain, steps: _Steps) -> Decision:
    return _decide(lower, upper, domain, steps)[0]


def _findings(proof: Proof, claimed: sympy.Expr, steps: _Steps) -> tuple[Finding, ...]:
    findings: list[Finding] = []
    domain = proof.domain
    advantages = {a.symbol for a in proof.assumptions}
    zero = dict.fromkeys(advantages, sympy.Integer(0))
    linear = True

    # Each assumption: the bound must carry adv_NAME as many times as hops cite it.
    for assumption in proof.assumptions:
        cited = [
            hop
            for hop in proof.hops
            if hop.kind == "assumption" and hop.assumption == assumption.name
        ]
        if not cited:
            continue
        needed = sympy.Add(*(hop.count.expr for hop in cited))
        covered = steps.run(
            _coefficient,
            claimed,
            assumption.symbol,
            what=f"sympy's coefficient of {assumption.variable}",
        )
        if covered is None or covered.free_symbols & advantages:
            linear = False
            continue
        decision = _holds(needed, covered, domain, steps.at(f"{cited[0].key}.by"))
        if decision.holds is False:
            indices = tuple(hop.index for hop in cited)
            findings.append(
                Finding(
                    hops=indices,
                    term=sympy.Mul(needed, assumption.symbol),
                    message=(
                        f"assumption {assumption.name!r} is cited by hop{'s' if len(indices) > 1 else ''} "
                        f"{', '.join(map(str, indices))} ({needed}·{assumption.variable} in all) "
                        f"but the bound covers only {covered}·{assumption.variable}"
                    ),
                    counterexample=decision.counterexample,
                )
            )

    # The statistical hops: with every advantage 0 the bound must still cover them.
    statistical = [hop for hop in proof.hops if hop.kind == "statistical"]
    base = claimed.xreplace(zero)
    uncovered = []
    for hop in statistical:
        decision = _holds(hop.total, base, domain, steps.at(f"{hop.key}.by"))
        if decision.holds is False:
            uncovered.append(hop.index)
            findings.append(
                Finding(
                    hops=(hop.index,),
                    term=hop.total,
                    message=(
                        f"{hop.label}: its term {hop.total} is not covered by the bound "
                        f"(with every advantage 0 the bound is {base})"
                    ),
                    counterexample=decision.counterexample,
                )
            )
    if statistical and not uncovered:
        total = sympy.Add(*(hop.total for hop in statistical))
        together = _holds(total, base, domain, steps)
        if together.holds is False:
            fixes = []
            for hop in statistical:
                rest = total - hop.total
                if _holds(rest, base, domain, steps.at(f"{hop.key}.by")).holds:
                    fixes.append(hop)
            indices = tuple(hop.index for hop in (fixes or statistical))
            names = ", ".join(hop.label for hop in (fixes or statistical))
            findings.append(
                Finding(
                    hops=indices,
                    term=total,
                    message=(
                        "the bound covers each statistical term alone but not their sum; "
                        f"it would cover the chain without the term of: {names}"
                    ),
                    counterexample=together.counterexample,
                )
            )

    if not findings:
        # Nothing to pin on one kind of term: name the hops whose removal would fix it.
        chain = proof.chain
        culprits = []
        for hop in proof.hops:
            if hop.kind == "perfect":
                continue
            if _holds(chain - hop.total, claimed, domain, steps.at(f"{hop.key}.by")).holds:
                culprits.append(hop)
        if culprits:
            findings.append(
                Finding(
                    hops=tuple(hop.index for hop in culprits),
                    term=sympy.Add(*(hop.total for hop in culprits)),
                    message=(
                        "the bound falls short of the chain; it would cover it without the term of: "
                        + ", ".join(hop.label for hop in culprits)
                    ),
                )
            )
        elif not linear:
            findings.append(
                Finding(
                    hops=(),
                    term=chain,
                    message="the bound falls short of the chain; no single hop explains it",
                )
            )
    return tuple(findings)


def check_symbolic(
    proof: Proof,
    *,
    samples: int = 300,
    timeout_ms: int = 3000,
    time_limit: float = TIME_LIMIT,
) -> SymbolicReport:
    """Check that the theorem's bound covers the sum of the hops over the whole domain.

    Args:
        proof: a loaded proof (:func:`proofs.load`).
        samples: the most points Hypothesis tries per question when sympy and z3 cannot
            decide it.
        timeout_ms: z3's time limit per query.
        time_limit: seconds each step of the check may take (see :func:`decide`).

    Returns:
        A :class:`SymbolicReport`; when the bound is refuted its ``findings`` name the
        hops whose terms the bound does not cover.

    Raises:
        ProofError: a step ran past ``time_limit`` or needed an exact number beyond
            :data:`proofs.limits.MAX_BITS` bits; the message names the file, the key
            (``theorem.bound``, or the hop a finding is about) and the limit.
    """
    steps = _steps(samples, timeout_ms, time_limit, proof.file, "theorem.bound")
    claimed = proof.theorem.bound.expr
    chain = proof.chain
    if not proof.hops:
        return SymbolicReport(
            proof=proof.name,
            status="unchecked",
            method=None,
            claimed=claimed,
            chain=chain,
            difference=claimed,
            equal=False,
            detail="unchecked: the file gives no hops to check the bound against",
        )
    decision, difference = _decide(chain, claimed, proof.domain, steps)
    status: Status = {True: "proven", False: "refuted", None: "undecided"}[decision.holds]  # type: ignore[assignment]
    findings: tuple[Finding, ...] = ()
    if decision.holds is False:
        findings = _findings(proof, claimed, steps)
    return SymbolicReport(
        proof=proof.name,
        status=status,
        method=decision.method,
        claimed=claimed,
        chain=chain,
        difference=difference,
        equal=difference == 0,
        detail=decision.detail,
        counterexample=decision.counterexample,
        samples=decision.samples,
        findings=findings,
    )
