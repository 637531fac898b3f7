"""The project's errors: one root, so a caller can catch everything it raises on purpose.

``AdvantageError`` is the root. ``InvalidArgument`` (also a ``ValueError``) is a bad argument,
raised before any work, naming the argument and its allowed range; the command line turns
it into one line and exit status 2. ``BudgetExceeded`` is an adversary over an oracle's
budget (the trial is lost). ``OracleError`` is a challenger's refusal that could not be
copied as is.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AdvantageError", "BudgetExceeded", "InvalidArgument", "OracleError"]


class AdvantageError(Exception):
    """Root of every error the project raises on purpose."""


class InvalidArgument(AdvantageError, ValueError):
    """A bad argument: raised at construction, naming the argument and its allowed range."""


class BudgetExceeded(AdvantageError, RuntimeError):
    """An adversary queried an oracle more often than its per-trial budget allows."""

    def __init__(self, name: str, budget: int) -> None:
        super().__init__(f"oracle {name!r} queried more than its budget of {budget}")
        self.name = name
        self.budget = budget

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.name, self.budget))


class OracleError(AdvantageError, RuntimeError):
    """The challenger's side refused a query with an error that cannot be rebuilt as is."""
