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
from collections.abc import Mapping
from fractions import Fraction
from typing import Any, Literal

import attrs
import sympy

from proofs.model import Domain, Proof

__all__ = ["Decision", "Finding", "SymbolicReport", "check_symbolic", "decide"]

Status = Literal["proven", "refuted", "undecided", "unchecked"]

# Exponents ranging over more combinations than this are not enumerated for z3.
MAX_ENUMERATION = 2048


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
    if isinstance(value, Fraction | sympy.Rational) and not float(value).is_integer():
        return f"{float(value):.6g}"
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
    mapping = {}
    for symbol in expr.free_symbols:
        value = point[symbol.name]
        if isinstance(value, Fraction):
            mapping[symbol] = sympy.Rational(value.numerator, value.denominator)
        else:
            mapping[symbol] = sympy.sympify(value)
    return expr.xreplace(mapping)


def _negative_at(difference: sympy.Expr, point: Mapping[str, Any]) -> bool | None:
    """Whether ``difference`` is negative at ``point``, decided exactly where possible."""
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
            if point is not None and _negative_at(difference, point):
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
        return bool(_negative_at(difference, point))

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


def decide(
    lower: sympy.Expr,
    upper: sympy.Expr,
    domain: Domain,
    *,
    samples: int = 300,
    timeout_ms: int = 3000,
) -> Decision:
    """Decide whether ``lower ≤ upper`` for every point of the domain (advantages in [0, 1]).

    Args:
        samples: the most points Hypothesis tries when sympy and z3 cannot decide.
        timeout_ms: z3's time limit per query.
    """
    lower, upper = sympy.sympify(lower), sympy.sympify(upper)
    difference = sympy.simplify(upper - lower)
    variables = _variables(domain, upper - lower)
    decision = _by_sympy(difference, variables)
    if decision is None:
        decision = _by_z3(lower, upper, variables, timeout_ms)
    if decision is None:
        decision = _by_hypothesis(difference, variables, samples)
    if decision.counterexample is not None:
        point = dict(decision.counterexample)
        # Variables that cancelled out may take any value: show their lowest.
        for name, v in _variables(domain, upper + lower).items():
            point.setdefault(name, int(v.low) if v.integer else v.low)
        point["claimed"] = float(_substitute(upper, point).evalf(30))
        point["chain"] = float(_substitute(lower, point).evalf(30))
        decision = attrs.evolve(decision, counterexample=point)
    return decision


def _coefficient(expr: sympy.Expr, symbol: sympy.Symbol) -> sympy.Expr | None:
    """The coefficient of ``symbol`` in ``expr`` if ``expr`` is linear in it, else None."""
    slope = sympy.simplify(sympy.diff(expr, symbol))
    return None if slope.has(symbol) else slope


def _findings(
    proof: Proof, claimed: sympy.Expr, samples: int, timeout_ms: int
) -> tuple[Finding, ...]:
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
        covered = _coefficient(claimed, assumption.symbol)
        if covered is None or covered.free_symbols & advantages:
            linear = False
            continue
        decision = decide(needed, covered, domain, samples=samples, timeout_ms=timeout_ms)
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
        decision = decide(hop.total, base, domain, samples=samples, timeout_ms=timeout_ms)
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
        together = decide(total, base, domain, samples=samples, timeout_ms=timeout_ms)
        if together.holds is False:
            fixes = []
            for hop in statistical:
                rest = total - hop.total
                if decide(rest, base, domain, samples=samples, timeout_ms=timeout_ms).holds:
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
            if decide(
                chain - hop.total, claimed, domain, samples=samples, timeout_ms=timeout_ms
            ).holds:
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


def check_symbolic(proof: Proof, *, samples: int = 300, timeout_ms: int = 3000) -> SymbolicReport:
    """Check that the theorem's bound covers the sum of the hops over the whole domain.

    Args:
        proof: a loaded proof (:func:`proofs.load`).
        samples: the most points Hypothesis tries per question when sympy and z3 cannot
            decide it.
        timeout_ms: z3's time limit per query.

    Returns:
        A :class:`SymbolicReport`; when the bound is refuted its ``findings`` name the
        hops whose terms the bound does not cover.
    """
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
    difference = sympy.simplify(claimed - chain)
    decision = decide(chain, claimed, proof.domain, samples=samples, timeout_ms=timeout_ms)
    status: Status = {True: "proven", False: "refuted", None: "undecided"}[decision.holds]  # type: ignore[assignment]
    findings: tuple[Finding, ...] = ()
    if decision.holds is False:
        findings = _findings(proof, claimed, samples, timeout_ms)
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
