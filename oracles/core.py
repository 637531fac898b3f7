"""The oracle handle an adversary queries, with its budget and transcript."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["BudgetExceeded", "InvalidArgument", "Oracle", "Oracles"]


class InvalidArgument(ValueError):
    """A bad argument: raised at construction, naming the argument and its allowed range."""


class BudgetExceeded(RuntimeError):
    """An adversary queried an oracle more often than its per-trial budget allows."""

    def __init__(self, name: str, budget: int) -> None:
        super().__init__(f"oracle {name!r} queried more than its budget of {budget}")
        self.name = name
        self.budget = budget


def check_budget(budget: int | None, name: str = "budget") -> int | None:
    if budget is not None and (
        isinstance(budget, bool) or not isinstance(budget, int) or budget < 0
    ):
        raise InvalidArgument(f"{name}={budget!r} must be None or a non-negative integer")
    return budget


class Oracle:
    """A callable the adversary may query, at most ``budget`` times per trial.

    The challenger's function is held privately; the handle's public attributes are the
    oracle's name, budget, query count and (when asked for) its transcript, so nothing
    public leads back to the challenger's secrets. Going over the budget raises
    :class:`BudgetExceeded` and marks the handle, so the trial is lost even when the
    adversary catches the exception.
    """

    __slots__ = ("_answer", "_budget", "_exceeded", "_failure", "_name", "_queries", "_transcript")

    def __init__(
        self,
        answer: Callable[..., Any],
        *,
        name: str = "oracle",
        budget: int | None = None,
        transcript: bool = False,
    ) -> None:
        if not callable(answer):
            raise InvalidArgument(f"answer={answer!r} must be callable")
        self._answer = answer
        self._name = name
        self._budget = budget if type(budget) is int and budget >= 0 else check_budget(budget)
        self._queries = 0
        self._exceeded = False
        self._failure: BaseException | None = None
        self._transcript: list[tuple[Any, Any]] | None = [] if transcript else None

    def __call__(self, *query: Any) -> Any:
        if self._budget is not None and self._queries >= self._budget:
            self._exceeded = True
            raise BudgetExceeded(self._name, self._budget)
        self._queries += 1
        try:
            reply = self._answer(*query)
        except Exception as error:
            self._failure = error
            raise
        if self._transcript is not None:
            self._transcript.append((query[0] if len(query) == 1 else query, reply))
        return reply

    @property
    def name(self) -> str:
        return self._name

    @property
    def budget(self) -> int | None:
        return self._budget

    @property
    def queries(self) -> int:
        """Queries answered so far in this trial."""
        return self._queries

    @property
    def remaining(self) -> int | None:
        return None if self._budget is None else self._budget - self._queries

    @property
    def exceeded(self) -> bool:
        """Whether the adversary asked for more than the budget."""
        return self._exceeded

    @property
    def failure(self) -> BaseException | None:
        """The last exception the challenger's side raised while answering, if any."""
        return self._failure

    @property
    def transcript(self) -> tuple[tuple[Any, Any], ...]:
        """The (query, answer) pairs so far; empty unless recording was asked for."""
        return tuple(self._transcript or ())

    def __repr__(self) -> str:
        budget = "∞" if self._budget is None else self._budget
        return f"Oracle({self._name!r}, queries={self._queries}/{budget})"


class Oracles(Mapping[str, Oracle]):
    """What the adversary is handed: oracle handles by name plus the public inputs.

    ``public`` holds what the game reveals openly (parameters, a challenge value, a
    model): a read-only mapping. Oracles are also reachable as attributes
    (``oracles.enc``) for brevity.
    """

    __slots__ = ("_oracles", "_public")

    def __init__(
        self, oracles: Mapping[str, Oracle] | None = None, public: Mapping[str, Any] | None = None
    ) -> None:
        self._oracles = dict(oracles or {})
        for key, oracle in self._oracles.items():
            if type(oracle) is not Oracle and not isinstance(oracle, Oracle):
                raise InvalidArgument(
                    f"oracle {key!r} must be an Oracle, got {type(oracle).__name__}"
                )
        # A read-only view of a private copy: the adversary can neither change nor share it.
        self._public = MappingProxyType(dict(public) if public else {})

    @property
    def public(self) -> Mapping[str, Any]:
        return self._public

    def __getitem__(self, name: str) -> Oracle:
        try:
            return self._oracles[name]
        except KeyError:
            known = ", ".join(sorted(self._oracles)) or "none"
            raise KeyError(f"no oracle named {name!r}; this game offers: {known}") from None

    def __getattr__(self, name: str) -> Oracle:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as error:
            raise AttributeError(str(error)) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._oracles)

    def __len__(self) -> int:
        return len(self._oracles)

    def __repr__(self) -> str:
        return f"Oracles({', '.join(map(repr, self._oracles.values()))}; public={sorted(self._public)})"
