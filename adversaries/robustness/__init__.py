"""Attacks on the robustness games (``evasion``, ``pgd-gap``, ``certified-radius``).

Importing this package imports torch. The attacks live in
:mod:`adversaries.robustness.attacks`, the step-size-free PGD in
:mod:`~adversaries.robustness.apgd`, the black-box search in
:mod:`~adversaries.robustness.square`, and the batch view of a challenge that every
attack is written against in :mod:`~adversaries.robustness.view`.
"""

from adversaries.robustness.attacks import (
    GAMES,
    ApgdCe,
    ApgdDlr,
    AutoAttack,
    Bpda,
    Clean,
    Eot,
    Fgsm,
    Pgd,
    Square,
)
from adversaries.robustness.view import View

__all__ = [
    "GAMES",
    "ApgdCe",
    "ApgdDlr",
    "AutoAttack",
    "Bpda",
    "Clean",
    "Eot",
    "Fgsm",
    "Pgd",
    "Square",
    "View",
]
