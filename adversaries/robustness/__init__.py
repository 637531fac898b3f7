"""Attacks on the robustness games (``evasion``, ``pgd-gap``, ``certified-radius``).

Importing this package imports torch. The attacks live in
:mod:`adversaries.robustness.attacks`, the step-size-free PGD in
:mod:`~adversaries.robustness.apgd`, the black-box search in
:mod:`~adversaries.robustness.square`, and the batch view of a challenge that every
attack is written against in :mod:`~adversaries.robustness.view`.
"""

from adversaries.robustness import attacks
from adversaries.robustness.attacks import *  # noqa: F403 (the names of attacks.__all__)
from adversaries.robustness.view import View

__all__ = [*attacks.__all__, "View"]
