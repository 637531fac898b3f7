"""`advantage explain --format latex --standalone`: a whole document, in ASCII, that compiles."""

from __future__ import annotations

import pathlib
import re
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


# The commands LaTeX (with amssymb and T1 fonts) has for letters and accents.
LETTERS = {"ensuremath", "mathrm", "varepsilon", "varsigma", "digamma", "lambda", "Lambda"}
LETTERS |= {"r", "u", "H", "v", "d", "c", "k", "o", "O", "ss", "ae", "AE", "oe", "OE", "l", "L"}
LETTERS |= {"alpha", "beta", "gamma", "delta", "zeta", "eta", "theta", "iota", "kappa", "mu"}
LETTERS |= {"nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega"}
LETTERS |= {"Gamma", "Delta", "Theta", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega"}


GREEK = "".join(chr(c) for c in range(0x391, 0x3AA) if c != 0x3A2)  # capitals, no U+03A2
GREEK += GREEK.lower() + "ς"


def _user_proof(where: pathlib.Path) -> proofs.Proof:
    """ctr-prf, titled after Damgård and Håstad, its description opening with every Greek
    letter and an Ångström."""
    text = pathlib.Path(str(proofs.load("ctr-prf").path)).read_text(encoding="utf-8")
    title = 'title = "CTR (Damgård and Håstad)"'
    text, titled = re.subn(r'(?m)^title = ".*"$', title, text, count=1)
    text = text.replace('description = """', f'description = """{GREEK}; Ångström. ', 1)
    assert titled == 1 and GREEK in text
    (where / "ctr-user.toml").write_text(text, encoding="utf-8")
    return proofs.load(str(where / "ctr-user.toml"))


def test_every_greek_letter_and_accent_becomes_a_command_latex_has(tmp_path):
    document = standalone(_user_proof(tmp_path))
    assert document.isascii() and "[U+" not in document
    assert "(Damg\\r{a}rd and H\\r{a}stad" in document and '\\r{A}ngstr\\"{o}m' in document
    assert set(re.findall(r"\\([A-Za-z]+)", ascii_latex(GREEK + "åÅøßæœł"))) <= LETTERS
    assert ascii_latex("Α Β Ε Η Τ Ο ο ς") == (
        "\\ensuremath{\\mathrm{A}} \\ensuremath{\\mathrm{B}} \\ensuremath{\\mathrm{E}} "
        "\\ensuremath{\\mathrm{H}} \\ensuremath{\\mathrm{T}} \\ensuremath{\\mathrm{O}} "
        "\\ensuremath{o} \\ensuremath{\\varsigma}"
    )


def test_the_command_writes_it_and_refuses_it_without_latex(cli):
    out = cli.out("explain", "ctr-prf", "--format", "latex", "--standalone")
    assert out.startswith("\\documentclass") and out.endswith("\\end{document}")
    cli.fails("explain", "ctr-prf", "--standalone", match="--standalone writes a LaTeX document")
    assert not cli.out("explain", "ctr-prf", "--format", "latex").startswith("\\documentclass")


@pytest.mark.skipif(PDFLATEX is None, reason="no pdflatex (apt-get install texlive-latex-base)")
@pytest.mark.parametrize("name", ["leace", "dp-sgd", "randomized-smoothing", "ctr-prf", None])
def test_it_compiles(name, tmp_path):
    proof = proofs.load(name) if name else _user_proof(tmp_path)
    (tmp_path / "proof.tex").write_text(standalone(proof), encoding="ascii")
    done = subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "proof.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert (tmp_path / "proof.pdf").stat().st_size > 10_000
