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
_TEXT = {
    "–": "--", "—": "---", "…": r"\ldots{}", "‘": "`", "’": "'", "“": "``", "”": "''",
    "ø": r"{\o}", "Ø": r"{\O}", "ß": r"{\ss}", "æ": r"{\ae}", "Æ": r"{\AE}", "œ": r"{\oe}",
    "Œ": r"{\OE}", "ł": r"{\l}", "Ł": r"{\L}",
}  # fmt: skip
# Combining marks, as the text accents that put them on the letter before.
_ACCENTS = {"\u0300": "`", "\u0301": "'", "\u0302": "^", "\u0303": "~", "\u0304": "=",
            "\u0306": "u", "\u0307": ".", "\u0308": '"', "\u030a": "r", "\u030b": "H",
            "\u030c": "v", "\u0323": "d", "\u0327": "c", "\u0328": "k"}  # fmt: skip
# Greek letters by their Unicode names: the small ones as LaTeX's commands (ε as the
# rounder \varepsilon, final sigma as \varsigma, omicron as o, which LaTeX has no command
# for); the capitals LaTeX has commands for as those, the others as the upright Latin
# letters they look like (LaTeX has no \Alpha). Other Greek letters are named as U+XXXX.
_GREEK_SMALL = {
    "ALPHA": r"\alpha", "BETA": r"\beta", "GAMMA": r"\gamma", "DELTA": r"\delta",
    "EPSILON": r"\varepsilon", "ZETA": r"\zeta", "ETA": r"\eta", "THETA": r"\theta",
    "IOTA": r"\iota", "KAPPA": r"\kappa", "LAMDA": r"\lambda", "MU": r"\mu", "NU": r"\nu",
    "XI": r"\xi", "OMICRON": "o", "PI": r"\pi", "RHO": r"\rho", "FINAL SIGMA": r"\varsigma",
    "SIGMA": r"\sigma", "TAU": r"\tau", "UPSILON": r"\upsilon", "PHI": r"\phi", "CHI": r"\chi",
    "PSI": r"\psi", "OMEGA": r"\omega", "DIGAMMA": r"\digamma",
}  # fmt: skip
_GREEK_CAPITAL = {
    "GAMMA": r"\Gamma", "DELTA": r"\Delta", "THETA": r"\Theta", "LAMDA": r"\Lambda",
    "XI": r"\Xi", "PI": r"\Pi", "SIGMA": r"\Sigma", "UPSILON": r"\Upsilon", "PHI": r"\Phi",
    "PSI": r"\Psi", "OMEGA": r"\Omega",
} | {
    name: rf"\mathrm{{{latin}}}"
    for name, latin in {
        "ALPHA": "A", "BETA": "B", "EPSILON": "E", "ZETA": "Z", "ETA": "H", "IOTA": "I",
        "KAPPA": "K", "MU": "M", "NU": "N", "OMICRON": "O", "RHO": "P", "TAU": "T", "CHI": "X",
    }.items()
}  # fmt: skip
# Symbol forms of Greek letters.
_GREEK_SYMBOLS = {"ϵ": r"\epsilon", "ϑ": r"\vartheta", "ϕ": r"\phi", "ϖ": r"\varpi",
                  "ϱ": r"\varrho", "ϰ": r"\varkappa"}  # fmt: skip


def escape(text: str) -> str:
    """Plain text with LaTeX's special characters escaped."""
    return "".join(_SPECIAL.get(c, c) for c in text)


def _greek(char: str) -> str | None:
    if char in _GREEK_SYMBOLS:
        return _GREEK_SYMBOLS[char]
    name = unicodedata.name(char, "")
    for prefix, letters in (
        ("GREEK SMALL LETTER ", _GREEK_SMALL),
        ("GREEK CAPITAL LETTER ", _GREEK_CAPITAL),
    ):
        if name.startswith(prefix):
            return letters.get(name[len(prefix) :])
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
