"""Deciding ``lower ≤ upper`` over a proof's domain: sympy, then z3, then a Hypothesis search.

For every value of the resources in the declared domain and every assumption advantage
in [0, 1], :func:`decide_inequality` decides whether ``lower ≤ upper``. Three deciders
are tried in turn:

1. sympy: ``simplify(upper − lower)`` is 0 (proven equal), or sympy can tell its sign
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

Every step runs under the budgets of a :class:`Steps` (:mod:`proofs.limits`).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import attrs
import sympy

from oracles import checks
from proofs import exact
from proofs.errors import ProofError
from proofs.exact import Variable, negative_at
from proofs.limits import MAX_BITS, TIME_LIMIT, TooLarge, bits_of_power, run
from proofs.model import Domain

__all__ = [
    "MAX_ENUMERATION",
    "TOTAL_STEPS",
    "Decision",
    "Steps",
    "decide_inequality",
    "decide_within",
]

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


# -- sympy -----------------------------------------------------------------------------


def _by_sympy(difference: sympy.Expr, variables: Mapping[str, Variable]) -> Decision | None:
    """Proven or refuted from what sympy knows of the symbols alone, or None."""
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
        point = {name: v.lowest for name, v in variables.items()}
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

    def __init__(self, z3: Any, variables: Mapping[str, Variable], integers: bool) -> None:
        self.z3 = z3
        self.variables = variables
        self.vars: dict[str, Any] = {}
        self.terms: dict[str, Any] = {}
        self.constraints: list[Any] = []
        self.cache: dict[sympy.Expr, Any] = {}
        self.relaxed = False
        self.fresh = 0
        # Square roots: their bases, and the constraints that define them, kept apart (a
        # root's definition excludes the points where its base is negative, so they are
        # checked to be none before it is used).
        self.roots: list[Any] = []
        self.root_constraints: list[Any] = []
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
            root, radicand = self.new("sqrt"), self.term(base)
            self.roots.append(radicand)
            self.root_constraints += [root >= 0, root * root == radicand]
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
    lower: sympy.Expr, upper: sympy.Expr, variables: Mapping[str, Variable], timeout_ms: int
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
        if builder.roots:
            # A square root of a negative number somewhere in the domain: not a real bound
            # there, and z3's definition of the root would skip those points. Let the
            # Hypothesis search evaluate them.
            negative = z3.Solver()
            negative.set(timeout=timeout_ms)
            negative.add(*builder.constraints)
            negative.add(z3.Or(*[radicand < 0 for radicand in builder.roots]))
            if negative.check() != z3.unsat:
                return None
        solver = z3.Solver()
        solver.set(timeout=timeout_ms)
        solver.add(*builder.constraints, *builder.root_constraints)
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
                refuted = point is not None and negative_at(difference, point)
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


def _strategy(variables: Mapping[str, Variable]) -> Any:
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
    difference: sympy.Expr, variables: Mapping[str, Variable], samples: int
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
            return bool(negative_at(difference, point))
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


# -- the steps' budgets, and the deciders in turn ----------------------------------------


@attrs.frozen(kw_only=True)
class Steps:
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

    @classmethod
    def checked(
        cls, *, samples: Any, timeout_ms: Any, time_limit: Any, file: str, key: str
    ) -> Steps:
        """The budgets of a new check, its arguments checked (``samples=0 must be ...``)."""
        return cls(
            samples=checks.positive("samples", samples),
            timeout_ms=checks.positive("timeout_ms", timeout_ms),
            time_limit=checks.number("time_limit", time_limit, 0, None, open_low=True),
            file=file,
            key=key,
        )

    def at(self, key: str) -> Steps:
        """The same budgets (and the same start) for the expressions at ``key``."""
        return attrs.evolve(self, key=key, started=self.started)

    def run(self, function: Any, *args: Any, what: str, seconds: float | None = None) -> Any:
        """``function(*args)`` in the worker, under ``seconds`` (default ``time_limit``)."""
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


def _simplify(expr: sympy.Expr) -> sympy.Expr:
    return sympy.simplify(expr)


def decide_within(
    lower: sympy.Expr, upper: sympy.Expr, domain: Domain, steps: Steps
) -> tuple[Decision, sympy.Expr]:
    """Whether ``lower ≤ upper`` over the domain, each step under ``steps``; and
    ``upper − lower`` simplified."""
    lower, upper = sympy.sympify(lower), sympy.sympify(upper)
    difference = steps.run(_simplify, upper - lower, what="sympy's simplification")
    ranges = exact.variables(domain, upper - lower)
    decision = steps.run(_by_sympy, difference, ranges, what="sympy's sign check")
    if decision is None:
        decision = steps.run(
            _by_z3,
            lower,
            upper,
            ranges,
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
            ranges,
            steps.samples,
            what="the Hypothesis search for a counterexample",
        )
    if decision.counterexample is not None:
        point = dict(decision.counterexample)
        # Variables that cancelled out may take any value: show their lowest.
        for name, v in exact.variables(domain, upper + lower).items():
            point.setdefault(name, v.lowest)
        point["claimed"], point["chain"] = steps.run(
            exact.values_at, upper, lower, point, what="the evaluation of the counterexample"
        )
        decision = attrs.evolve(decision, counterexample=point)
    return decision, difference


def decide_inequality(
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
    steps = Steps.checked(
        samples=samples, timeout_ms=timeout_ms, time_limit=time_limit, file=file, key=key
    )
    return decide_within(lower, upper, domain, steps)[0]
