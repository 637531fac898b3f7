"""A proof as a tree: the theorem, the chain of hops and their justification, the assumptions
with their claims, and the domain. As plain text (a rich tree), Markdown or LaTeX."""

from __future__ import annotations

import io
from fractions import Fraction
from typing import Any, Literal

import sympy

from oracles import checks
from proofs.model import Assumption, Hop, Proof, Resource, checked_proof

__all__ = ["FORMATS", "explain"]

FORMATS = ("text", "markdown", "latex")
Format = Literal["text", "markdown", "latex"]


def _params(params: Any) -> str:
    return ", ".join(f"{key}={value}" for key, value in params.items())


def _power_of_two(value: int | Fraction) -> int | None:
    if isinstance(value, int) and value > 1024 and value & (value - 1) == 0:
        return value.bit_length() - 1
    return None


def _range_text(resource: Resource) -> str:
    def show(value: int | Fraction) -> str:
        k = _power_of_two(value)
        return f"2**{k}" if k is not None else str(value)

    step = f", step {resource.step}" if resource.step != 1 else ""
    return f"{resource.type} in [{show(resource.low)}, {show(resource.high)}]{step}"


def _source(resource: Resource) -> str:
    if resource.param:
        return f"game parameter {resource.param}"
    if resource.quantity:
        return f"quantity {resource.quantity}"
    return "given"


def _hop_cost(hop: Hop) -> str:
    if hop.kind == "perfect":
        return "+ 0"
    count = "" if hop.count.text in ("1", "1.0") else f"{hop.count.text} × "
    return f"+ {count}{hop.term.text}"


# -- text --------------------------------------------------------------------------------


def _text(proof: Proof, width: int) -> str:
    from rich.console import Console
    from rich.text import Text
    from rich.tree import Tree

    theorem = proof.theorem
    title = f"Theorem {proof.name}" + (f": {proof.title}" if proof.title else "")
    tree = Tree(Text(title, style="bold"))
    game = f"game {theorem.game}" + (f" ({_params(theorem.params)})" if theorem.params else "")
    tree.add(Text(game))
    if theorem.statement:
        tree.add(Text(theorem.statement))
    tree.add(Text(f"bound: Adv(A) ≤ {theorem.bound.text}"))

    chain = tree.add(Text("chain of games"))
    if not proof.hops:
        chain.add(Text("(no hops given)"))
    for hop in proof.hops:
        node = chain.add(
            Text(f"hop {hop.index}: {hop.source} → {hop.target}  [{hop.by}]  {_hop_cost(hop)}")
        )
        if hop.note:
            node.add(Text(hop.note))
    if proof.hops:
        chain.add(Text(f"sum of hops: {proof.chain}"))

    assumptions = tree.add(Text("assumptions"))
    if not proof.assumptions:
        assumptions.add(Text("(none)"))
    for assumption in proof.assumptions:
        node = assumptions.add(Text(_assumption_line(assumption)))
        node.add(Text(f"claim: Adv(B) ≤ {assumption.claim.text}"))
        node.add(Text(f"reduction: {assumption.reduction}"))
        if assumption.resources:
            spends = ", ".join(f"{k} = {v.text}" for k, v in assumption.resources.items())
            node.add(Text(f"B spends: {spends}"))
        if assumption.description:
            node.add(Text(assumption.description))

    domain = tree.add(Text("domain"))
    if not len(proof.domain):
        domain.add(Text("(no resources)"))
    for resource in proof.domain:
        meaning = f": {resource.help}" if resource.help else ""
        domain.add(
            Text(f"{resource.name} {_range_text(resource)} (from {_source(resource)}){meaning}")
        )
    for assumption in proof.assumptions:
        domain.add(Text(f"{assumption.variable} real in [0, 1]"))

    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, color_system=None, force_terminal=False, highlight=False
    )
    console.print(tree)
    # rich pads wrapped lines with spaces; they carry nothing.
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def _assumption_line(assumption: Assumption) -> str:
    params = f" ({_params(assumption.params)})" if assumption.params else ""
    return f"{assumption.name} [{assumption.kind}]: game {assumption.game}{params}"


# -- markdown ----------------------------------------------------------------------------


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def _markdown(proof: Proof) -> str:
    theorem = proof.theorem
    lines = [f"# Proof {_code(proof.name)}" + (f": {proof.title}" if proof.title else ""), ""]
    if proof.description:
        lines += [proof.description.strip(), ""]
    game = f"game {_code(theorem.game)}" + (
        f" ({_code(_params(theorem.params))})" if theorem.params else ""
    )
    lines += [f"**Theorem.** For the {game}: Adv(A) ≤ {_code(theorem.bound.text)}.", ""]
    if theorem.statement:
        lines += [theorem.statement, ""]
    lines += ["## Chain of games", ""]
    if not proof.hops:
        lines.append("No hops are given.")
    for hop in proof.hops:
        line = f"{hop.index}. **{hop.source} → {hop.target}**: {_code(hop.by)}, cost {_code(_hop_cost(hop))}"
        lines.append(line + (f". {hop.note}" if hop.note else ""))
    if proof.hops:
        lines += ["", f"Sum of hops: {_code(str(proof.chain))}."]
    lines += ["", "## Assumptions", ""]
    if not proof.assumptions:
        lines.append("None.")
    for assumption in proof.assumptions:
        params = f" ({_code(_params(assumption.params))})" if assumption.params else ""
        spends = ""
        if assumption.resources:
            spends = "; B spends " + ", ".join(
                f"{_code(k)} = {_code(v.text)}" for k, v in assumption.resources.items()
            )
        text = (
            f"- **{assumption.name}** ({assumption.kind}): game {_code(assumption.game)}{params}; "
            f"claim Adv(B) ≤ {_code(assumption.claim.text)}; reduction {_code(assumption.reduction)}{spends}."
        )
        if assumption.description:
            text += f" {assumption.description}"
        lines.append(text)
    lines += [
        "",
        "## Domain",
        "",
        "| resource | range | from | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for resource in proof.domain:
        lines.append(
            f"| {_code(resource.name)} | {_range_text(resource)} | {_source(resource)} | {resource.help} |"
        )
    for assumption in proof.assumptions:
        lines.append(
            f"| {_code(assumption.variable)} | real in [0, 1] | measured | advantage against {assumption.name} |"
        )
    if proof.references:
        lines += ["", "## References", ""]
        lines += [f"- {reference}" for reference in proof.references]
    return "\n".join(lines) + "\n"


# -- latex -------------------------------------------------------------------------------

_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _escape(text: str) -> str:
    return "".join(_ESCAPES.get(char, char) for char in text)


def _latex_expr(proof: Proof, expr: sympy.Expr) -> str:
    names: dict[sympy.Basic, str] = {
        a.symbol: rf"\mathrm{{Adv}}^{{\mathrm{{{_escape(a.name)}}}}}" for a in proof.assumptions
    }

    def power(value: int) -> sympy.Expr:
        # A large power of two prints as 2^{k} rather than as its 39 digits: a stand-in
        # symbol named for it keeps sympy's layout (fractions, term order) and its speed.
        if value >= 1 << 16 and value & (value - 1) == 0:
            k = value.bit_length() - 1
            symbol = sympy.Symbol(f"_two_{k}", positive=True)
            names[symbol] = f"2^{{{k}}}"
            return symbol
        return sympy.Integer(value)

    readable = {}
    for atom in expr.atoms(sympy.Rational):
        p, q = abs(int(atom.p)), int(atom.q)
        if max(p, q) >= 1 << 16:
            sign = -1 if atom < 0 else 1
            readable[atom] = sign * power(p) / power(q)
    return sympy.latex(expr.xreplace(readable), symbol_names=names)


def _latex_number(value: int | Fraction) -> str:
    k = _power_of_two(value)
    if k is not None:
        return f"2^{{{k}}}"
    return sympy.latex(
        sympy.Rational(value.numerator, value.denominator)
        if isinstance(value, Fraction)
        else sympy.Integer(value)
    )


def _latex(proof: Proof) -> str:
    theorem = proof.theorem
    out = [
        f"\\paragraph{{Proof \\texttt{{{_escape(proof.name)}}}"
        + (f": {_escape(proof.title)}" if proof.title else "")
        + "}"
    ]
    params = f" ({_escape(_params(theorem.params))})" if theorem.params else ""
    out.append(
        f"\\textbf{{Theorem.}} For the game \\texttt{{{_escape(theorem.game)}}}{params}:"
        f"\n\\[ \\mathrm{{Adv}}(A) \\le {_latex_expr(proof, theorem.bound.expr)} \\]"
    )
    if theorem.statement:
        out.append(_escape(theorem.statement))
    out.append("\\textbf{Chain of games.}")
    if proof.hops:
        items = []
        for hop in proof.hops:
            if hop.kind == "perfect":
                why = "perfect (identical games)"
            elif hop.kind == "assumption":
                why = f"assumption \\texttt{{{_escape(hop.assumption or '')}}}"
            else:
                why = "statistical"
            cost = _latex_expr(proof, hop.total)
            note = f" {_escape(hop.note)}" if hop.note else ""
            items.append(
                f"\\item {_escape(hop.source)} $\\to$ {_escape(hop.target)}: {why}, cost ${cost}$.{note}"
            )
        out.append("\n".join(["\\begin{enumerate}", *items, "\\end{enumerate}"]))
        out.append(f"Sum of hops: \\[ {_latex_expr(proof, proof.chain)} \\]")
    else:
        out.append("No hops are given.")
    out.append("\\textbf{Assumptions.}")
    if proof.assumptions:
        items = []
        for assumption in proof.assumptions:
            params = f" ({_escape(_params(assumption.params))})" if assumption.params else ""
            claim = _latex_expr(proof, assumption.claim.expr)
            items.append(
                f"\\item \\texttt{{{_escape(assumption.name)}}} ({assumption.kind}): game "
                f"\\texttt{{{_escape(assumption.game)}}}{params}, "
                f"$\\mathrm{{Adv}}(B) \\le {claim}$; reduction \\texttt{{{_escape(assumption.reduction)}}}."
                + (f" {_escape(assumption.description)}" if assumption.description else "")
            )
        out.append("\n".join(["\\begin{itemize}", *items, "\\end{itemize}"]))
    else:
        out.append("None.")
    ranges = []
    for resource in proof.domain:
        symbol = sympy.latex(resource.symbol)
        kind = "\\mathbb{Z}" if resource.type == "integer" else "\\mathbb{R}"
        step = f" \\text{{ (step {resource.step})}}" if resource.step != 1 else ""
        ranges.append(
            f"${symbol} \\in [{_latex_number(resource.low)}, {_latex_number(resource.high)}] \\cap {kind}{step}$"
        )
    for assumption in proof.assumptions:
        ranges.append(f"${_latex_expr(proof, assumption.symbol)} \\in [0, 1]$")
    out.append("\\textbf{Domain.} " + (", ".join(ranges) if ranges else "no resources") + ".")
    return "\n\n".join(out) + "\n"


def explain(proof: Proof, format: Format = "text", *, width: int = 100) -> str:
    """The proof as a tree: theorem, hops with their justification, assumptions, domain.

    Args:
        format: ``text`` (a rich tree as plain text), ``markdown`` or ``latex`` (bounds
            typeset by ``sympy.latex``).
        width: line width of the text tree.
    """
    proof = checked_proof(proof)
    checks.choice("format", format, FORMATS)
    if format == "text":
        return _text(proof, checks.integer("width", width, 40, exact=True))
    return _markdown(proof) if format == "markdown" else _latex(proof)
