"""`advantage explain --format latex --standalone`: a proof as a LaTeX document that compiles.

:func:`proofs.explain` writes a fragment to paste into a paper. :func:`standalone` wraps it
in a document with the proof's description and references, as the Markdown has them, and
writes every character outside ASCII as a LaTeX command (Greek letters and mathematical
signs as math, accented letters with accents), so that plain ``pdflatex`` compiles it.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from typing import Any

__all__ = ["add_standalone_option", "ascii_latex", "standalone"]

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[T1]{fontenc}
\usepackage{amsmath,amssymb}
\usepackage[margin=2.5cm]{geometry}
\begin{document}
"""

_SPECIAL = {c: "\\" + c for c in "&%$#_{}"} | {
    "\\": r"\textbackslash{}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}

# Signs a proof's prose uses, as math (\ensuremath works in text and in math).
_MATH = {
    "·": r"\cdot", "−": "-", "≤": r"\le", "≥": r"\ge", "≠": r"\neq", "≈": r"\approx",
    "→": r"\to", "∞": r"\infty", "⊕": r"\oplus", "‖": r"\|", "ℓ": r"\ell", "√": r"\surd",
    "∏": r"\prod", "∑": r"\sum", "±": r"\pm", "×": r"\times", "∈": r"\in", "½": r"\tfrac{1}{2}",
    "²": "^{2}", "³": "^{3}", "¹": "^{1}", "⁻": "^{-}", "₀": "_{0}", "₁": "_{1}", "₂": "_{2}",
}  # fmt: skip
_TEXT = {"–": "--", "—": "---", "…": r"\ldots{}", "‘": "`", "’": "'", "“": "``", "”": "''"}
# Combining marks, as the text accents that put them on the letter before.
_ACCENTS = {"\u0300": "`", "\u0301": "'", "\u0302": "^", "\u0303": "~", "\u0304": "=",
            "\u0308": '"', "\u0327": "c", "\u030c": "v"}  # fmt: skip
_GREEK = {"LAMDA": "lambda", "EPSILON": "varepsilon", "PHI": "phi"}


def escape(text: str) -> str:
    """Plain text with LaTeX's special characters escaped."""
    return "".join(_SPECIAL.get(c, c) for c in text)


def _greek(char: str) -> str | None:
    name = unicodedata.name(char, "")
    for case in ("SMALL", "CAPITAL"):
        prefix = f"GREEK {case} LETTER "
        if name.startswith(prefix):
            letter = _GREEK.get(name[len(prefix) :], name[len(prefix) :].lower())
            return "\\" + (letter if case == "SMALL" else letter.capitalize())
    return None


def ascii_latex(text: str) -> str:
    """``text`` with every character outside ASCII written as a LaTeX command."""
    out: list[str] = []
    for char in unicodedata.normalize("NFD", text):
        if char.isascii():
            out.append(char)
        elif char in _ACCENTS and out:
            out[-1] = f"\\{_ACCENTS[char]}{{{out[-1]}}}"
        elif char in _TEXT:
            out.append(_TEXT[char])
        elif char in _MATH or _greek(char):
            out.append(f"\\ensuremath{{{_MATH.get(char) or _greek(char)}}}")
        else:  # nothing stands for it: name it, rather than fail to compile
            out.append(f"\\texttt{{[U+{ord(char):04X}]}}")
    return "".join(out)


def standalone(proof: Any) -> str:
    """``proof`` as a complete LaTeX document: its fragment, with the description after
    the heading and the references at the end."""
    import proofs

    heading, _, body = proofs.explain(proof, "latex").partition("\n")
    parts = [PREAMBLE, heading, ""]
    if proof.description:
        paragraphs = [p.strip() for p in proof.description.strip().split("\n\n")]
        parts += [escape(" ".join(p.split())) + "\n" for p in paragraphs]
    parts.append(body.strip())
    if proof.references:
        items = "\n".join(rf"\item {escape(reference)}" for reference in proof.references)
        parts += ["", r"\paragraph{References}", r"\begin{itemize}", items, r"\end{itemize}"]
    parts += ["", r"\end{document}", ""]
    return ascii_latex("\n".join(parts))


def add_standalone_option(explain: argparse.ArgumentParser) -> None:
    """``--standalone`` for `advantage explain`: a whole document rather than a fragment."""
    explain.add_argument(
        "--standalone",
        action="store_true",
        help="with --format latex: a complete document (description, references, preamble) "
        "that pdflatex compiles, rather than a fragment to paste",
    )
    fragment = explain.get_default("handler")

    def handler(args: argparse.Namespace) -> int:
        if not args.standalone:
            return int(fragment(args) or 0)
        if args.format != "latex":
            from oracles import InvalidArgument

            raise InvalidArgument("--standalone writes a LaTeX document: give --format latex")
        import proofs

        sys.stdout.write(standalone(proofs.load(args.proof)))
        return 0

    explain.set_defaults(handler=handler)
