"""Oracles: the handles an adversary queries, with budgets, transcripts and ideal objects."""

from oracles.core import BudgetExceeded, InvalidArgument, Oracle, Oracles
from oracles.random import RandomFunction, RandomPermutation

__all__ = [
    "BudgetExceeded",
    "InvalidArgument",
    "Oracle",
    "Oracles",
    "RandomFunction",
    "RandomPermutation",
]
