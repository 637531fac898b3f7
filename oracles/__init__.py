"""Oracles: the handles an adversary queries, with budgets, transcripts and ideal objects;
the project's errors and argument checks."""

from oracles import checks
from oracles.core import Account, Oracle, Oracles, inert, open_oracle, open_oracles
from oracles.errors import AdvantageError, BudgetExceeded, InvalidArgument, OracleError
from oracles.random import RandomFunction, RandomPermutation

__all__ = [
    "Account",
    "checks",
    "AdvantageError",
    "BudgetExceeded",
    "InvalidArgument",
    "Oracle",
    "OracleError",
    "Oracles",
    "open_oracle",
    "open_oracles",
    "inert",
    "RandomFunction",
    "RandomPermutation",
]
