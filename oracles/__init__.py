"""Oracles: the handles an adversary queries, with budgets, transcripts and ideal objects."""

from oracles.core import (
    Account,
    AdvantageError,
    BudgetExceeded,
    InvalidArgument,
    Oracle,
    OracleError,
    Oracles,
    open_oracle,
)
from oracles.random import RandomFunction, RandomPermutation

__all__ = [
    "Account",
    "AdvantageError",
    "BudgetExceeded",
    "InvalidArgument",
    "Oracle",
    "OracleError",
    "Oracles",
    "open_oracle",
    "RandomFunction",
    "RandomPermutation",
]
