"""`advantage explain --format latex --standalone`: a whole document, in ASCII, that compiles."""

from __future__ import annotations

import shutil
import subprocess

import pytest

import proofs
from advantage.latex import ascii_latex, escape, standalone

PDFLATEX = shutil.which("pdflatex")


@pytest.mark.parametrize("name", proofs.catalogue())
def test_a_standalone_proof_is_a_whole_document_with_description_and_references(name):
    proof = proofs.load(name)
    text = standalone(proof)
    assert text.isascii()
    assert text.startswith("\\documentclass") and text.rstrip().endswith("\\end{document}")
    assert ascii_latex(proofs.explain(proof, "latex").splitlines()[0]) in text  # its heading
    if proof.description:
        first = " ".join(proof.description.split()[:4])
        assert ascii_latex(escape(first)) in text
    for reference in proof.references:
        assert ascii_latex(escape(reference)) in text
    assert ("\\paragraph{References}" in text) == bool(proof.references)


def test_characters_outside_ascii_become_latex():
    assert ascii_latex("μ ≤ 2·σ") == (
        "\\ensuremath{\\mu} \\ensuremath{\\le} 2\\ensuremath{\\cdot}\\ensuremath{\\sigma}"
    )
    assert ascii_latex("Rényi, Jagielski") == "R\\'{e}nyi, Jagielski"
    assert ascii_latex("x̄1 − x̄0") == "\\={x}1 \\ensuremath{-} \\={x}0"
    assert ascii_latex("Δ ε λ Φ") == (
        "\\ensuremath{\\Delta} \\ensuremath{\\varepsilon} \\ensuremath{\\lambda} "
        "\\ensuremath{\\Phi}"
    )
    assert ascii_latex("☃") == "\\texttt{[U+2603]}"
    assert escape("50% of a_b & {c}") == "50\\% of a\\_b \\& \\{c\\}"


def test_the_command_writes_it_and_refuses_it_without_latex(cli):
    out = cli.out("explain", "ctr-prf", "--format", "latex", "--standalone")
    assert out.startswith("\\documentclass") and out.endswith("\\end{document}")
    cli.fails("explain", "ctr-prf", "--standalone", match="--standalone writes a LaTeX document")
    assert not cli.out("explain", "ctr-prf", "--format", "latex").startswith("\\documentclass")


@pytest.mark.skipif(PDFLATEX is None, reason="no pdflatex (apt-get install texlive-latex-base)")
@pytest.mark.parametrize("name", ["leace", "dp-sgd", "randomized-smoothing", "ctr-prf"])
def test_it_compiles(name, tmp_path):
    (tmp_path / "proof.tex").write_text(standalone(proofs.load(name)), encoding="ascii")
    done = subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "proof.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert (tmp_path / "proof.pdf").stat().st_size > 10_000
