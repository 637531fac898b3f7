"""Reading proof files (TOML) into :class:`~proofs.model.Proof` records, and the catalogue.

The format is described in ``proofs/README.md``. Every error is a :class:`ProofError`
naming the file and the key; nothing in a file is executed, and reduction paths are only
checked for shape and place here (:mod:`proofs.resolve`: they are imported when a checker
asks for them).
"""

from __future__ import annotations

import difflib
import importlib.util
import keyword
import re
import tomllib
from collections.abc import Mapping
from fractions import Fraction
from importlib import metadata
from os import PathLike
from pathlib import Path
from typing import Any, Literal, cast

import sympy

from oracles import InvalidArgument, checks
from proofs.errors import ProofError, UnknownProof
from proofs.expressions import FUNCTIONS, parse_expression
from proofs.model import (
    ADV_PREFIX,
    Assumption,
    Domain,
    Expression,
    Hop,
    HopKind,
    Proof,
    Resource,
    Theorem,
    adv_symbol,
)
from proofs.quantities import QUANTITY_NAME
from proofs.resolve import PROJECT_PACKAGES, check_path

__all__ = ["PROJECT_PACKAGES", "catalogue", "load", "loads"]

ROOT = Path(__file__).resolve().parent

# A proof file is a page of text; these keep a hostile one from costing time or memory.
MAX_SIZE = 1 << 20  # characters in a file
MAX_NESTING = 32  # arrays and inline tables inside each other

NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")  # proof and game names: ind-cpa
ASSUMPTION = re.compile(r"^[a-z][a-z0-9_]*$")  # assumption names become adv_NAME
IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")

_TOP = {"proof", "theorem", "domain", "assumptions", "hops"}
_PROOF = {"title", "description", "references"}
_THEOREM = {"game", "params", "bound", "statement"}
_RESOURCE = {"type", "low", "high", "step", "help", "param", "quantity"}
_ASSUMPTION = {"name", "game", "params", "claim", "reduction", "kind", "resources", "description"}
_HOP = {"from", "to", "by", "count", "note"}


class _Reader:
    """Checks one parsed TOML document and builds the records, naming file and key on error."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, reason: str) -> ProofError:
        return ProofError(reason, file=self.file, key=key)

    # -- small typed getters -------------------------------------------------------------

    def table(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table, got {type(value).__name__} {value!r}")
        return value

    def keys(self, table: Mapping[str, Any], allowed: set[str], key: str) -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            where = f"{key}." if key else ""
            close = difflib.get_close_matches(unknown[0], sorted(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise self.fail(
                f"{where}{unknown[0]}",
                f"unknown key {unknown[0]!r}{hint}; allowed here: {', '.join(sorted(allowed))}",
            )

    def required(self, table: Mapping[str, Any], name: str, key: str) -> Any:
        if name not in table:
            raise self.fail(f"{key}.{name}" if key else name, "is required but missing")
        return table[name]

    def text(
        self, value: Any, key: str, *, pattern: re.Pattern[str] | None = None, what: str = ""
    ) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {type(value).__name__} {value!r}")
        if pattern is not None and not pattern.match(value):
            raise self.fail(key, f"{value!r} must be {what}")
        return value

    def words(self, table: Mapping[str, Any], name: str, key: str) -> str:
        """An optional string (a title, a note, help): empty when absent."""
        return self.text(table.get(name, ""), f"{key}.{name}")

    def either(self, value: Any, key: str, first: str, second: str) -> str:
        """One of two words (``integer`` or ``real``)."""
        word = self.text(value, key)
        if word not in (first, second):
            raise self.fail(key, f"{word!r} must be {first!r} or {second!r}")
        return word

    def params(self, value: Any, key: str) -> dict[str, Any]:
        table = self.table(value, key)
        for name, item in table.items():
            if not IDENTIFIER.match(name):
                raise self.fail(f"{key}.{name}", f"parameter name {name!r} must be an identifier")
            if isinstance(item, dict):
                raise self.fail(
                    f"{key}.{name}", "a parameter value must be a plain value, not a table"
                )
        return dict(table)

    def expression(self, value: Any, key: str, symbols: Mapping[str, sympy.Symbol]) -> Expression:
        expr = parse_expression(value, symbols, file=self.file, key=key)
        text = value if isinstance(value, str) else repr(value)
        return Expression(text=text.strip(), expr=expr, where=f"{self.file}: {key}")

    def constant(self, value: Any, key: str) -> int | Fraction:
        expr = parse_expression(value, {}, file=self.file, key=key)
        if not isinstance(expr, sympy.Rational):
            raise self.fail(key, f"{value!r} must be a rational number, got {expr}")
        if expr.q == 1:
            return int(expr.p)
        return Fraction(int(expr.p), int(expr.q))

    # -- sections ------------------------------------------------------------------------

    def resource(self, name: str, value: Any) -> Resource:
        key = f"domain.{name}"
        if not IDENTIFIER.match(name) or keyword.iskeyword(name):
            raise self.fail(key, f"resource name {name!r} must be a Python identifier")
        if name.startswith(ADV_PREFIX):
            raise self.fail(
                key,
                f"resource name {name!r} must not start with {ADV_PREFIX!r} (kept for advantages)",
            )
        if name in FUNCTIONS:
            raise self.fail(
                key, f"resource name {name!r} is a function name ({', '.join(FUNCTIONS)})"
            )
        table = self.table(value, key)
        self.keys(table, _RESOURCE, key)
        kind = self.either(self.required(table, "type", key), f"{key}.type", "integer", "real")
        low = self.constant(self.required(table, "low", key), f"{key}.low")
        high = self.constant(self.required(table, "high", key), f"{key}.high")
        try:
            step = checks.positive("step", table.get("step", 1))
        except InvalidArgument as error:
            raise self.fail(f"{key}.step", str(error)) from None
        if kind == "integer":
            if not (isinstance(low, int) and isinstance(high, int)):
                raise self.fail(
                    key, f"an integer resource needs integer bounds, got [{low}, {high}]"
                )
            # The top of the range is the last value on the step.
            high = low + (high - low) // step * step if high >= low else high
        elif step != 1:
            raise self.fail(f"{key}.step", "step applies to integer resources only")
        if low > high:
            raise self.fail(key, f"empty range: low={low} > high={high}")
        param = table.get("param")
        if param is not None:
            self.text(param, f"{key}.param", pattern=IDENTIFIER, what="a game parameter name")
        quantity = table.get("quantity")
        if quantity is not None:
            self.text(
                quantity,
                f"{key}.quantity",
                pattern=QUANTITY_NAME,
                what="a quantity name (lower-case words joined by '_' or '-')",
            )
        return Resource(
            name=name,
            type=cast(Literal["integer", "real"], kind),
            low=low,
            high=high,
            step=step,
            help=self.words(table, "help", key),
            param=param,
            quantity=quantity,
        )

    def domain(self, value: Any) -> Domain:
        table = self.table(value, "domain")
        return Domain(resources=tuple(self.resource(name, item) for name, item in table.items()))

    def theorem(self, value: Any, symbols: Mapping[str, sympy.Symbol]) -> Theorem:
        table = self.table(value, "theorem")
        self.keys(table, _THEOREM, "theorem")
        game = self.text(
            self.required(table, "game", "theorem"),
            "theorem.game",
            pattern=NAME,
            what="a game name (lower-case words joined by hyphens)",
        )
        return Theorem(
            game=game,
            params=self.params(table.get("params", {}), "theorem.params"),
            bound=self.expression(
                self.required(table, "bound", "theorem"), "theorem.bound", symbols
            ),
            statement=self.words(table, "statement", "theorem"),
        )

    def reduction(self, value: Any, key: str) -> str:
        # Its shape and its place only (proofs.resolve); it is imported when a checker
        # asks for it.
        return check_path(self.text(value, key), file=self.file, key=key)

    def assumption(
        self, index: int, value: Any, resources: Mapping[str, sympy.Symbol]
    ) -> Assumption:
        key = f"assumptions[{index}]"
        table = self.table(value, key)
        self.keys(table, _ASSUMPTION, key)
        name = self.text(
            self.required(table, "name", key),
            f"{key}.name",
            pattern=ASSUMPTION,
            what="lower-case letters, digits and '_' starting with a letter (it becomes adv_NAME)",
        )
        game = self.text(
            self.required(table, "game", key),
            f"{key}.game",
            pattern=NAME,
            what="a game name (lower-case words joined by hyphens)",
        )
        return Assumption(
            name=name,
            game=game,
            params=self.params(table.get("params", {}), f"{key}.params"),
            claim=self.expression(self.required(table, "claim", key), f"{key}.claim", resources),
            reduction=self.reduction(self.required(table, "reduction", key), f"{key}.reduction"),
            kind=self.kind(table, key),
            resources=self.spends(table.get("resources", {}), f"{key}.resources", resources),
            description=self.words(table, "description", key),
            file=self.file,
            key=key,
        )

    def kind(self, table: Mapping[str, Any], key: str) -> Literal["standard", "behavioural"]:
        word = self.either(table.get("kind", "standard"), f"{key}.kind", "standard", "behavioural")
        return cast(Literal["standard", "behavioural"], word)

    def spends(
        self, value: Any, key: str, resources: Mapping[str, sympy.Symbol]
    ) -> dict[str, Expression]:
        """What B spends: the assumption game's parameters as expressions over the resources."""
        used = {}
        for param, text in self.table(value, key).items():
            if not IDENTIFIER.match(param):
                raise self.fail(f"{key}.{param}", f"{param!r} must be a game parameter name")
            used[param] = self.expression(text, f"{key}.{param}", resources)
        return used

    def hop(
        self,
        index: int,
        value: Any,
        assumptions: Mapping[str, Assumption],
        resources: Mapping[str, sympy.Symbol],
    ) -> Hop:
        key = f"hops[{index}]"
        table = self.table(value, key)
        self.keys(table, _HOP, key)
        source = self.text(self.required(table, "from", key), f"{key}.from")
        target = self.text(self.required(table, "to", key), f"{key}.to")
        by = self.text(self.required(table, "by", key), f"{key}.by").strip()
        word, _, rest = by.partition(" ")
        rest = rest.strip()
        where = f"{self.file}: {key}.by"
        assumption = None
        kind: HopKind
        if word == "perfect" and not rest:
            kind = "perfect"
            term = Expression(text="0", expr=sympy.Integer(0), where=where)
        elif word == "assumption":
            kind = "assumption"
            if rest not in assumptions:
                declared = ", ".join(assumptions) or "none"
                raise self.fail(
                    f"{key}.by",
                    f"hop cites unknown assumption {rest!r}; declared assumptions: {declared}",
                )
            assumption = rest
            term = Expression(text=ADV_PREFIX + rest, expr=adv_symbol(rest), where=where)
        elif word == "statistical":
            if not rest:
                raise self.fail(f"{key}.by", "'statistical' needs an expression: statistical EXPR")
            kind = "statistical"
            # A term may name declared advantages (adv_NAME): a step whose cost is a
            # function of an assumption's advantage, such as a binomial tail in it.
            advantages = {ADV_PREFIX + name: adv_symbol(name) for name in assumptions}
            term = self.expression(rest, f"{key}.by", {**resources, **advantages})
        else:
            raise self.fail(
                f"{key}.by",
                f"{by!r} must be 'perfect', 'assumption NAME' or 'statistical EXPR'",
            )
        return Hop(
            index=index,
            source=source,
            target=target,
            kind=kind,
            term=term,
            count=self.expression(table.get("count", 1), f"{key}.count", resources),
            assumption=assumption,
            note=self.words(table, "note", key),
            file=self.file,
        )

    def about(self, value: Any) -> dict[str, Any]:
        """The ``[proof]`` table: what the proof is, in words (title, description, references)."""
        meta = self.table(value, "proof")
        self.keys(meta, _PROOF, "proof")
        title = self.words(meta, "title", "proof")
        description = self.words(meta, "description", "proof")
        references = meta.get("references", [])
        if not isinstance(references, list):
            raise self.fail("proof.references", "must be an array of strings")
        references = tuple(
            self.text(item, f"proof.references[{i}]") for i, item in enumerate(references, 1)
        )
        return {"title": title, "description": description, "references": references}

    def assumptions(
        self, value: Any, resources: Mapping[str, sympy.Symbol]
    ) -> dict[str, Assumption]:
        if not isinstance(value, list):
            raise self.fail("assumptions", "must be an array of tables ([[assumptions]])")
        assumptions: dict[str, Assumption] = {}
        for index, item in enumerate(value, 1):
            assumption = self.assumption(index, item, resources)
            if assumption.name in assumptions:
                raise self.fail(
                    f"assumptions[{index}].name",
                    f"assumption {assumption.name!r} is declared twice",
                )
            assumptions[assumption.name] = assumption
        return assumptions

    def hops(
        self,
        value: Any,
        assumptions: Mapping[str, Assumption],
        resources: Mapping[str, sympy.Symbol],
    ) -> tuple[Hop, ...]:
        if not isinstance(value, list):
            raise self.fail("hops", "must be an array of tables ([[hops]])")
        hops = tuple(self.hop(i, item, assumptions, resources) for i, item in enumerate(value, 1))
        for previous, hop in zip(hops, hops[1:], strict=False):
            if previous.target != hop.source:
                raise self.fail(
                    f"hops[{hop.index}].from",
                    f"the chain is broken: hop {previous.index} ends at {previous.target!r} "
                    f"but hop {hop.index} starts from {hop.source!r}",
                )
        return hops

    def proof(self, document: Mapping[str, Any], name: str, path: str | None) -> Proof:
        self.keys(document, _TOP, "")
        about = self.about(document.get("proof", {}))
        domain = self.domain(document.get("domain", {}))
        resources = domain.symbols
        assumptions = self.assumptions(document.get("assumptions", []), resources)
        symbols = dict(resources)
        symbols.update({a.variable: a.symbol for a in assumptions.values()})
        theorem = self.theorem(self.required(document, "theorem", ""), symbols)
        return Proof(
            name=name,
            path=path,
            **about,
            theorem=theorem,
            assumptions=tuple(assumptions.values()),
            hops=self.hops(document.get("hops", []), assumptions, resources),
            domain=domain,
        )


def loads(text: str, *, name: str = "<string>", path: str | None = None) -> Proof:
    """Read a proof from TOML text.

    Args:
        name: the proof's name (also used in messages when ``path`` is None).
        path: the file the text came from, for messages.
    """
    file = path or name
    if not isinstance(text, str):
        raise ProofError(f"expected TOML text, got {type(text).__name__}", file=file)
    if len(text) > MAX_SIZE:
        raise ProofError(
            f"the file is {len(text)} characters long (at most {MAX_SIZE})", file=file, key="<toml>"
        )
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProofError(f"not valid TOML: {error}", file=file, key="<toml>") from None
    except RecursionError:
        raise ProofError(
            f"arrays or inline tables are nested more than {MAX_NESTING} deep "
            "(too deep for the TOML reader)",
            file=file,
            key="<toml>",
        ) from None
    _check_nesting(document, file)
    return _Reader(file).proof(document, name, path)


def _check_nesting(document: Mapping[str, Any], file: str) -> None:
    """Refuse values nested more than MAX_NESTING deep, naming where (before anything
    recursive, a repr in a message say, meets them)."""
    stack: list[tuple[Any, str, int]] = [(document, "", 0)]
    while stack:
        value, key, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ProofError(
                f"arrays or tables are nested more than {MAX_NESTING} deep",
                file=file,
                key=key or "<document>",
            )
        if isinstance(value, dict):
            for name, item in value.items():
                stack.append((item, f"{key}.{name}" if key else str(name), depth + 1))
        elif isinstance(value, list):
            # The key stops at the first array: a path of 30 indices helps nobody.
            stack.extend((item, key, depth + 1) for item in value)


def _roots() -> list[Path]:
    """Where proofs live: ``proofs/`` and each package named in the ``advantage.proofs``
    entry-point group (a third-party package that ships its own proof files)."""
    roots = [ROOT]
    for point in metadata.entry_points(group="advantage.proofs"):
        spec = importlib.util.find_spec(point.value)
        if spec is not None and spec.submodule_search_locations:
            roots.append(Path(next(iter(spec.submodule_search_locations))))
    return roots


def _catalogue_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    paths = [(root, path) for root in _roots() for path in sorted(root.rglob("*.toml"))]
    for root, path in paths:
        if any(part.startswith((".", "_")) for part in path.relative_to(root).parts):
            continue
        name = path.stem
        if not NAME.match(name):
            raise ProofError(
                "a shipped proof's name must be lower-case words joined by hyphens",
                file=str(path),
                key="<name>",
            )
        if name in found:
            raise ProofError(
                f"two shipped proofs are called {name!r}: {found[name]} and {path}",
                file=str(path),
                key="<name>",
            )
        found[name] = path
    return found


def catalogue() -> dict[str, Path]:
    """The proofs shipped under ``proofs/`` and by installed packages (the
    ``advantage.proofs`` entry-point group): name (the file's stem) -> path, sorted by name."""
    return dict(sorted(_catalogue_files().items()))


def load(source: str | PathLike[str]) -> Proof:
    """Read a proof by catalogue name (``ctr-prf``) or from a path to a ``.toml`` file.

    Raises:
        ProofError: no such proof (an :class:`UnknownProof`, whose message names the
            nearest ones), an unreadable file, or anything wrong inside it.
    """
    if isinstance(source, PathLike) or (
        isinstance(source, str) and (source.endswith(".toml") or "/" in source or "\\" in source)
    ):
        path = Path(source)
        name = path.stem
    elif isinstance(source, str):
        known = catalogue()
        if source not in known:
            close = difflib.get_close_matches(source, list(known), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UnknownProof(
                f"unknown proof {source!r}{hint} (shipped: {', '.join(known) or 'none'}; "
                "for one of your own, give the path to its .toml file, or ship it in a "
                "package named in the advantage.proofs entry-point group)",
                name=source,
            )
        path = known[source]
        name = source
    else:
        raise ProofError(
            f"expected a proof name or a path, got {type(source).__name__} {source!r}",
            file=repr(source),
        )
    try:
        if path.stat().st_size > 4 * MAX_SIZE:  # bytes; a character takes at most 4
            raise ProofError(f"the file is larger than {MAX_SIZE} characters", file=str(path))
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProofError("no such file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ProofError(f"cannot read the file: {error}", file=str(path)) from None
    return loads(text, name=name, path=str(path))
