"""explain(): the proof as a text tree, Markdown and LaTeX."""

from __future__ import annotations

import pytest
import sympy

from oracles import InvalidArgument
from proofs import explain, load, loads

NAMES = ["ctr-prf", "hybrid-lr", "luby-rackoff", "prf-mac", "prp-prf-switching"]


@pytest.mark.parametrize("name", NAMES)
def test_text_tree_shows_theorem_hops_assumptions_and_domain(name):
    proof = load(name)
    text = explain(proof)
    lines = text.splitlines()
    assert lines[0].startswith(f"Theorem {name}: ")
    assert any(char in text for char in "├└")  # drawn as a tree
    assert all(line == line.rstrip() for line in lines)
    flat = " ".join(line.strip("│├└─ ") for line in lines)
    assert proof.theorem.bound.text in flat
    for hop in proof.hops:
        assert f"hop {hop.index}: {hop.source[:20]}" in flat
        assert f"[{hop.by}]" in flat.replace("  ", " ") or hop.by in flat
    for assumption in proof.assumptions:
        assert f"{assumption.name} [{assumption.kind}]: game {assumption.game}" in flat
        assert f"claim: Adv(B) ≤ {assumption.claim.text}" in flat
        assert assumption.reduction in flat
    for resource in proof.domain:
        assert f"{resource.name} {resource.type} in [" in flat


def test_text_width_is_respected():
    text = explain(load("ctr-prf"), width=60)
    assert max(len(line) for line in text.splitlines()) <= 60


@pytest.mark.parametrize("name", NAMES)
def test_markdown_has_sections_and_every_hop(name):
    proof = load(name)
    text = explain(proof, "markdown")
    assert text.startswith(f"# Proof `{name}`")
    for heading in ("## Chain of games", "## Assumptions", "## Domain"):
        assert heading in text
    for hop in proof.hops:
        assert f"{hop.index}. **{hop.source} → {hop.target}**" in text
    for assumption in proof.assumptions:
        assert f"**{assumption.name}** ({assumption.kind})" in text
        assert f"`{assumption.claim.text}`" in text
    assert f"`{proof.theorem.bound.text}`" in text


@pytest.mark.parametrize("name", NAMES)
def test_latex_typesets_bounds_with_sympy(name):
    proof = load(name)
    text = explain(proof, "latex")
    assert text.startswith(r"\paragraph{Proof \texttt{" + name.replace("_", r"\_"))
    assert text.count(r"\begin{enumerate}") == text.count(r"\end{enumerate}") == 1
    assert text.count(r"\item") == len(proof.hops) + len(proof.assumptions)
    names = {a.symbol: rf"\mathrm{{Adv}}^{{\mathrm{{{a.name}}}}}" for a in proof.assumptions}
    assert sympy.latex(proof.theorem.bound.expr, symbol_names=names) in text
    # Braces balance, so the fragment compiles as a unit.
    assert text.count("{") - text.count(r"\{") == text.count("}") - text.count(r"\}")


def test_latex_shows_large_powers_of_two_as_powers():
    text = explain(load("ctr-prf"), "latex")
    assert r"\frac{m q}{2^{128}}" in text and "340282366920938463463374607431768211456" not in text
    assert r"q \in [1, 2^{20}] \cap \mathbb{Z}" in text


def test_latex_escapes_special_characters():
    proof = loads(
        """
[proof]
title = "50% of A & B_1 #x"
[theorem]
game = "g"
bound = "adv_a_b"
[[assumptions]]
name = "a_b"
game = "h"
claim = "0"
reduction = "proofs.crypto.reductions:prp_as_prf"
[[hops]]
from = "G_0"
to = "G_1"
by = "assumption a_b"
note = "costs $1 {really}"
""",
        name="special",
    )
    text = explain(proof, "latex")
    assert r"50\% of A \& B\_1 \#x" in text
    assert r"costs \$1 \{really\}" in text
    assert r"\mathrm{Adv}^{\mathrm{a\_b}}" in text


def test_proof_without_hops_or_assumptions():
    proof = loads('[theorem]\ngame = "g"\nbound = "0"\n', name="empty")
    assert "(no hops given)" in explain(proof)
    assert "No hops are given." in explain(proof, "markdown")
    assert "None." in explain(proof, "latex")


@pytest.mark.parametrize("format", ["html", "TEXT", "", None])
def test_unknown_format_is_refused(format):
    with pytest.raises(InvalidArgument, match=r"format=.* must be one of: text, markdown, latex"):
        explain(load("prf-mac"), format)


@pytest.mark.parametrize("width", [0, 39, 1.5, True])
def test_bad_width_is_refused(width):
    with pytest.raises(InvalidArgument, match=r"width=.* must be an integer >= 40"):
        explain(load("prf-mac"), width=width)


def test_explain_needs_a_proof():
    with pytest.raises(InvalidArgument, match="must be a Proof"):
        explain("ctr-prf")  # type: ignore[arg-type]
