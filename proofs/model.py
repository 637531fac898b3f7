"""The records a proof file becomes: Proof, Theorem, Assumption, Hop, Domain and their parts.

Everything here is a frozen attrs record built by :mod:`proofs.format`; the methods only
read. The records carry what a checker needs: the theorem's game and bound, each
assumption's game, parameters, claimed bound and reduction path, each hop's kind and
term, and the domain of the resources over which the bound is claimed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Literal

import attrs
import sympy

from oracles import InvalidArgument
from proofs import resolve
from proofs.expressions import compile_expression
from proofs.quantities import get_quantity

__all__ = [
    "ADV_PREFIX",
    "Assumption",
    "Domain",
    "Expression",
    "Hop",
    "Proof",
    "Resource",
    "Theorem",
    "checked_proof",
]

ADV_PREFIX = "adv_"
HopKind = Literal["perfect", "assumption", "statistical"]


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Fraction):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise InvalidArgument(f"{name}={value!r} must be a number") from None
    return value  # type: ignore[return-value]


@attrs.frozen(kw_only=True)
class Expression:
    """A bound as written in the file and as parsed.

    Attributes:
        text: the expression's text in the file.
        expr: the sympy expression it parses to.
        where: ``file: key``, for messages.
    """

    text: str
    expr: sympy.Expr
    where: str = attrs.field(default="", eq=False, repr=False)

    @property
    def names(self) -> frozenset[str]:
        """The names it uses."""
        return frozenset(symbol.name for symbol in self.expr.free_symbols)

    def value(self, values: Mapping[str, Any]) -> float:
        """Its float value at ``values`` (name -> number); extra names are ignored.

        Computed by code sympy generates from the parsed tree, with math-module functions
        only. An overflow gives ``inf``.
        """
        try:
            return compile_expression(self.expr)(values)
        except KeyError as error:
            raise InvalidArgument(
                f"{self.where or self.text}: no value given for {error.args[0]} "
                f"(needed by {self.text!r})"
            ) from None

    def __str__(self) -> str:
        return self.text


@attrs.frozen(kw_only=True)
class Resource:
    """One resource of the domain: its type, its range and where its value comes from.

    Attributes:
        name: the name expressions use (``q``).
        type: ``"integer"`` or ``"real"``.
        low, high: the closed range (exact: ints or Fractions).
        step: integer resources take the values low, low + step, ... up to high.
        help: what it counts.
        param: the theorem game's parameter that gives its value, if any.
        quantity: the registered quantity function that computes it from the theorem's
            parameters, if any.
    """

    name: str
    type: Literal["integer", "real"]
    low: int | Fraction
    high: int | Fraction
    step: int = 1
    help: str = ""
    param: str | None = None
    quantity: str | None = None

    @property
    def symbol(self) -> sympy.Symbol:
        """The sympy symbol, with what sympy may assume about it (integer, positive)."""
        facts: dict[str, bool] = {"real": True}
        if self.type == "integer":
            facts["integer"] = True
        if self.low > 0:
            facts["positive"] = True
        elif self.low >= 0:
            facts["nonnegative"] = True
        return sympy.Symbol(self.name, **facts)

    def contains(self, value: Any) -> bool:
        """Whether ``value`` lies in the declared range (and on the step for integers)."""
        if isinstance(value, bool) or not isinstance(value, int | float | Fraction):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if not self.low <= value <= self.high:
            return False
        if self.type == "integer":
            return value == int(value) and (int(value) - int(self.low)) % self.step == 0
        return True

    def describe(self) -> str:
        """``q integer in [1, 1048576]``, for reports."""
        step = f" step {self.step}" if self.step != 1 else ""
        return f"{self.name} {self.type} in [{self.low}, {self.high}]{step}"


@attrs.frozen(kw_only=True)
class Domain:
    """The resources a bound ranges over; every advantage ``adv_NAME`` ranges over [0, 1]."""

    resources: tuple[Resource, ...] = ()

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def __getitem__(self, name: str) -> Resource:
        for resource in self.resources:
            if resource.name == name:
                return resource
        raise KeyError(
            f"no resource named {name!r}; the domain has: {', '.join(self.names) or 'none'}"
        )

    def __contains__(self, name: object) -> bool:
        return any(resource.name == name for resource in self.resources)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(resource.name for resource in self.resources)

    @property
    def symbols(self) -> dict[str, sympy.Symbol]:
        return {resource.name: resource.symbol for resource in self.resources}

    def check(self, values: Mapping[str, Any]) -> None:
        """Raise :class:`InvalidArgument` if a given resource value is outside its range."""
        for name, value in values.items():
            if name in self and not self[name].contains(value):
                raise InvalidArgument(
                    f"{name}={value!r} is outside the proof's domain: {self[name].describe()}"
                )


def adv_symbol(name: str) -> sympy.Symbol:
    """The symbol ``adv_NAME`` for an assumption's advantage, in [0, 1]."""
    return sympy.Symbol(ADV_PREFIX + name, nonnegative=True, real=True)


@attrs.frozen(kw_only=True)
class Theorem:
    """What is claimed: a game, its parameters, and the bound on any adversary's advantage.

    Attributes:
        game: the game's registered name (``ind-cpa``).
        params: its parameters, as plain values.
        bound: the claimed bound, over resources and assumption advantages ``adv_NAME``.
        statement: the theorem in words.
    """

    game: str
    params: Mapping[str, Any] = attrs.field(factory=dict, converter=_freeze, hash=False)
    bound: Expression
    statement: str = ""


@attrs.frozen(kw_only=True)
class Assumption:
    """A named game with a claimed bound, and the reduction that builds its adversary.

    Attributes:
        name: the name hops and bounds use (``prf``; the advantage is ``adv_prf``).
        game: the assumption game's registered name.
        params: its parameters.
        claim: the claimed bound on any adversary's advantage, over the theorem's resources.
        reduction: ``module:function`` building B from A, resolved only on demand.
        kind: ``standard`` (a cryptographic assumption) or ``behavioural`` (about a model).
        resources: what B spends, as expressions over the theorem's resources, keyed by
            the assumption game's parameter names (``queries = "q*m"``).
        description: the assumption in words.
    """

    name: str
    game: str
    params: Mapping[str, Any] = attrs.field(factory=dict, converter=_freeze, hash=False)
    claim: Expression
    reduction: str
    kind: Literal["standard", "behavioural"] = "standard"
    resources: Mapping[str, Expression] = attrs.field(factory=dict, converter=_freeze, hash=False)
    description: str = ""
    file: str = attrs.field(default="<string>", eq=False, repr=False)
    key: str = attrs.field(default="assumptions[1]", eq=False, repr=False)

    @property
    def symbol(self) -> sympy.Symbol:
        """The symbol ``adv_NAME`` that stands for this assumption's advantage."""
        return adv_symbol(self.name)

    @property
    def variable(self) -> str:
        """``adv_NAME``."""
        return ADV_PREFIX + self.name

    def claim_value(self, resources: Mapping[str, Any]) -> float:
        """The claimed bound at the given resource values."""
        return self.claim.value(resources)

    def game_params(self, resources: Mapping[str, Any]) -> dict[str, Any]:
        """The assumption game's parameters: ``params`` plus what B spends at ``resources``.

        Values that come out whole are given as ints (budgets are counts).
        """
        out = dict(self.params)
        for name, expression in self.resources.items():
            value = expression.value(resources)
            out[name] = int(value) if math.isfinite(value) and value == int(value) else value
        return out

    def resolve_reduction(self) -> Callable[..., Any]:
        """Import the reduction function, ``reduction(adversary, theorem_params) -> B``.

        Only from the modules a proof file may name (:mod:`proofs.resolve`).

        Raises:
            ProofError: the path leads outside them, the module does not import, or it
                has no such callable.
        """
        return resolve.reduction(self.reduction, file=self.file, key=f"{self.key}.reduction")


@attrs.frozen(kw_only=True)
class Hop:
    """One step of the chain of games, with its justification and its cost.

    Attributes:
        index: its place in the chain, from 1.
        source, target: the games it goes between, as named in the file.
        kind: ``perfect`` (the two games are identical to the adversary), ``assumption``
            (they differ by an adversary against an assumption) or ``statistical``
            (they differ by at most an explicit term).
        assumption: the assumption's name for an ``assumption`` hop.
        term: the cost of one step: 0, ``adv_NAME`` or the statistical expression.
        count: how many such steps (a hybrid argument over q messages has count ``q``).
        note: the justification in words.
    """

    index: int
    source: str
    target: str
    kind: HopKind
    term: Expression
    count: Expression
    assumption: str | None = None
    note: str = ""
    file: str = attrs.field(default="<string>", eq=False, repr=False)

    @property
    def key(self) -> str:
        return f"hops[{self.index}]"

    @property
    def total(self) -> sympy.Expr:
        """What the hop adds to the chain: count × term."""
        return sympy.Mul(self.count.expr, self.term.expr)

    @property
    def by(self) -> str:
        """The justification as written: ``perfect``, ``assumption prf``, ``statistical ...``."""
        if self.kind == "perfect":
            return "perfect"
        if self.kind == "assumption":
            return f"assumption {self.assumption}"
        return f"statistical {self.term.text}"

    @property
    def label(self) -> str:
        """``hop 2 (G1 → G2)``."""
        return f"hop {self.index} ({self.source} → {self.target})"

    def value(self, values: Mapping[str, Any]) -> float:
        """count × term at the given values."""
        return self.count.value(values) * self.term.value(values) if self.kind != "perfect" else 0.0


@attrs.frozen(kw_only=True)
class Proof:
    """A proof file: theorem, assumptions, the chain of hops, and the resources' domain.

    Attributes:
        name: the catalogue name (the file's stem).
        path: the file it was read from, if any.
        title, description, references: what it is, in words.
        theorem: the claim.
        assumptions: what it rests on, in file order.
        hops: the chain of games, in order; empty when the file gives none.
        domain: the resources' ranges.
    """

    name: str
    path: str | None = None
    title: str = ""
    description: str = ""
    references: tuple[str, ...] = ()
    theorem: Theorem
    assumptions: tuple[Assumption, ...] = ()
    hops: tuple[Hop, ...] = ()
    domain: Domain = attrs.field(factory=Domain)

    @property
    def file(self) -> str:
        return self.path or self.name

    def assumption(self, name: str) -> Assumption:
        """The assumption called ``name``; KeyError naming the declared ones otherwise."""
        for assumption in self.assumptions:
            if assumption.name == name:
                return assumption
        declared = ", ".join(a.name for a in self.assumptions) or "none"
        raise KeyError(f"{self.name}: no assumption {name!r}; declared: {declared}")

    @property
    def symbols(self) -> dict[str, sympy.Symbol]:
        """Every name a bound may use: resources and ``adv_NAME`` for each assumption."""
        out = self.domain.symbols
        out.update({a.variable: a.symbol for a in self.assumptions})
        return out

    @property
    def chain(self) -> sympy.Expr:
        """The sum of the hops' costs: what the chain of games proves."""
        return sympy.Add(*(hop.total for hop in self.hops))

    def bound_value(self, values: Mapping[str, Any]) -> float:
        """The theorem's bound at ``values``: resources and ``adv_NAME`` by name.

        For an empirical check, pass measured resources and the upper ends of the
        assumption advantages' intervals.
        """
        return self.theorem.bound.value(values)

    def resource_values(
        self, params: Mapping[str, Any] | None = None, given: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Each resource's value for a play of the theorem's game.

        Args:
            params: game parameters overriding the theorem's own.
            given: resource values to use as they are.

        A resource without a given value is read from its game parameter (``param``) or
        computed by its quantity function (``quantity``). Raises :class:`InvalidArgument`
        for a resource with no value, or one outside the domain (the bound is not claimed
        there).
        """
        merged = {**self.theorem.params, **(params or {})}
        given = dict(given or {})
        unknown = sorted(set(given) - set(self.domain.names))
        if unknown:
            raise InvalidArgument(
                f"{self.name}: unknown resource {', '.join(unknown)}; "
                f"the domain has: {', '.join(self.domain.names) or 'none'}"
            )
        values: dict[str, Any] = {}
        for resource in self.domain:
            if resource.name in given:
                values[resource.name] = _number(given[resource.name], resource.name)
            elif resource.param is not None and resource.param in merged:
                values[resource.name] = _number(merged[resource.param], resource.param)
            elif resource.quantity is not None:
                package = self._package()
                function = get_quantity(resource.quantity, modules=package)
                values[resource.name] = _number(function(MappingProxyType(merged)), resource.name)
            else:
                source = (
                    f"the game parameter {resource.param!r} is not set"
                    if resource.param
                    else "give it, or name its source with param = or quantity ="
                )
                raise InvalidArgument(
                    f"{self.name}: resource {resource.name!r} has no value: {source}"
                )
        self.domain.check(values)
        return values

    def _package(self) -> tuple[str, ...]:
        # A proof file under proofs/<domain>/ may rely on quantities that proofs.<domain>
        # registers when imported.
        return resolve.domain_package(self.path)


def checked_proof(value: Any) -> Proof:
    """``value`` if it is a loaded proof; InvalidArgument (``proof=... must be a Proof``) if not."""
    if not isinstance(value, Proof):
        raise InvalidArgument(f"proof={value!r} must be a Proof (see proofs.load)")
    return value
