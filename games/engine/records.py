"""The engine's records: what a range of trials produced, an estimate, a replayed trial.

Small frozen records with their JSON forms; tallies of disjoint ranges add up, so a run's
tally is the sum of its chunks' whatever the order they finished in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import FunctionType, MappingProxyType
from typing import Any, NamedTuple

import attrs
import numpy as np

from games.registry import ADVERSARIES, name_of
from games.stats.intervals import percent

__all__ = [
    "ERROR_KINDS",
    "Estimate",
    "Played",
    "Tally",
    "TrialRecord",
    "as_json",
    "describe_adversary",
    "plain",
]

ERROR_KINDS = (
    "exception",
    "budget",
    "invalid-answer",
    "timeout",
    "oracle-failed",
    "game-failed",
)


_NO_COUNTS: Mapping[str, int] = MappingProxyType({})


class Tally(NamedTuple):
    """What a range of trials produced; tallies of disjoint ranges add up.

    ``real`` and ``ideal`` are (trials, answers of 1) per world, for real-vs-ideal games.
    ``first_error`` is (trial index, traceback) of the lowest-numbered failed trial.

    A named tuple rather than an attrs record: every chunk makes one, and a frozen attrs
    class costs about 3 µs to build on a slow machine (a tenth of a small chunk's work).
    """

    ranges: tuple[tuple[int, int], ...]
    trials: int = 0
    wins: int = 0
    real: tuple[int, int] = (0, 0)
    ideal: tuple[int, int] = (0, 0)
    queries: Mapping[str, int] = _NO_COUNTS
    errors: Mapping[str, int] = _NO_COUNTS
    first_error: tuple[int, str] | None = None
    seconds: float = 0.0

    def __add__(self, other: Tally) -> Tally:  # type: ignore[override]
        return Total(self).add(other).tally()

    def to_json(self) -> dict[str, Any]:
        return as_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tally:
        first = data.get("first_error")
        return cls(
            ranges=tuple(tuple(r) for r in data["ranges"]),  # type: ignore[misc]
            trials=int(data["trials"]),
            wins=int(data["wins"]),
            real=tuple(data["real"]),  # type: ignore[arg-type]
            ideal=tuple(data["ideal"]),  # type: ignore[arg-type]
            queries=dict(data["queries"]),
            errors=dict(data["errors"]),
            first_error=(int(first[0]), str(first[1])) if first else None,
            seconds=float(data["seconds"]),
        )


class Total:
    """Tallies added up as they come: what ``a + b + ...`` gives, without a new
    :class:`Tally` for each term (a run adds one per chunk)."""

    __slots__ = (
        "_ranges",
        "trials",
        "wins",
        "_worlds",
        "_queries",
        "_errors",
        "_first",
        "_seconds",
    )

    def __init__(self, tally: Tally | None = None) -> None:
        self._ranges: list[tuple[int, int]] = []
        self.trials = self.wins = 0
        self._worlds = [0, 0, 0, 0]  # real trials, real answers of 1, ideal ones, ideal ones of 1
        self._queries: dict[str, int] = {}
        self._errors: dict[str, int] = {}
        self._first: tuple[int, str] | None = None
        self._seconds = 0.0
        if tally is not None:
            self.add(tally)

    @property
    def ranges(self) -> tuple[tuple[int, int], ...]:
        return tuple(self._ranges)

    def add(self, other: Tally) -> Total:
        ranges, more = self._ranges, other.ranges
        if len(more) == 1 and ranges and ranges[-1][1] == more[0][0]:  # the next chunk, in order
            ranges[-1] = (ranges[-1][0], more[0][1])
        elif more:
            self._ranges = list(_coalesce((*ranges, *more)))
        self.trials += other.trials
        self.wins += other.wins
        if other.real != _NONE or other.ideal != _NONE:  # a real-vs-ideal game's counts
            worlds = self._worlds
            (real_n, real_1), (ideal_n, ideal_1) = other.real, other.ideal
            worlds[0], worlds[1] = worlds[0] + real_n, worlds[1] + real_1
            worlds[2], worlds[3] = worlds[2] + ideal_n, worlds[3] + ideal_1
        if other.queries:
            _into(self._queries, other.queries)
        if other.errors:
            _into(self._errors, other.errors)
        first = other.first_error
        if first is not None and (self._first is None or first < self._first):
            self._first = first
        self._seconds += other.seconds
        return self

    def tally(self) -> Tally:
        real_n, real_1, ideal_n, ideal_1 = self._worlds
        return Tally(
            ranges=tuple(self._ranges),
            trials=self.trials,
            wins=self.wins,
            real=(real_n, real_1),
            ideal=(ideal_n, ideal_1),
            queries=dict(self._queries),
            errors=dict(self._errors),
            first_error=self._first,
            seconds=self._seconds,
        )


def _coalesce(ranges: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """Sorted ranges with touching neighbours joined, so a run's tally stays small."""
    out: list[tuple[int, int]] = []
    for start, stop in sorted(ranges):
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], stop)
        else:
            out.append((start, stop))
    return tuple(out)


_NONE = (0, 0)


def _into(out: dict[str, int], more: Mapping[str, int]) -> None:
    for key, value in more.items():
        out[key] = out.get(key, 0) + value


@attrs.frozen(kw_only=True)
class Played:
    """What a run played, as its records name it: the game and the adversary, each by its
    registered name with its parameters as plain values (the fields every record of a run
    starts with: an estimate, a certificate, a sweep, an audit)."""

    game: str
    params: Mapping[str, Any]
    adversary: str
    adversary_params: Mapping[str, Any]


@attrs.frozen(kw_only=True)
class Estimate(Played):
    """An adversary's estimated advantage in a game, with its confidence interval.

    ``trials`` counts the trials that were played to the end; trials the adversary lost by
    raising, overspending a budget or giving an invalid answer are among them (counted as
    losses and in ``errors``), as are trials whose challenger failed while answering the
    adversary (``errors["oracle-failed"]``); trials whose challenger failed before the
    adversary played are not, and appear in ``errors["game-failed"]``.
    """

    shape: str
    trials: int
    wins: int
    win_rate: float
    baseline: float
    advantage: float
    ci_low: float
    ci_high: float
    level: float
    method: str
    seed: int
    queries: Mapping[str, int]
    errors: Mapping[str, int]
    first_error: str | None
    seconds: float
    worlds: Mapping[str, tuple[int, int]] | None = None
    path: str = "trial"
    resources: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def to_json(self) -> dict[str, Any]:
        """The fields as plain JSON values (the `--json` output of `advantage run`)."""
        return as_json(self, errors=self.error_count, error_kinds=self.errors)

    def __str__(self) -> str:
        return (
            f"{self.adversary} vs {self.game}: advantage {self.advantage:+.4f} "
            f"[{self.ci_low:+.4f}, {self.ci_high:+.4f}] "
            f"({percent(self.level)} {self.method}, {self.trials} trials, seed {self.seed})"
        )


def as_json(record: Any, **overrides: Any) -> dict[str, Any]:
    """A record's fields (an attrs class or a named tuple) as plain JSON values, with
    ``overrides`` laid over them."""
    fields = (
        {field.name: getattr(record, field.name) for field in attrs.fields(type(record))}
        if attrs.has(type(record))
        else record._asdict()
    )
    return {key: plain(value) for key, value in (fields | overrides).items()}


def plain(value: Any) -> Any:
    """A JSON-friendly copy of parameter values (tuples to lists, objects to their repr)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, type | FunctionType):
        # By name: a repr carries its address, which differs from one process to the next
        # (and a run log that records it could never be resumed).
        return f"{value.__module__}:{value.__qualname__}"
    return _ADDRESS.sub("", repr(value))


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")  # an object's address in a default repr


@attrs.frozen(kw_only=True)
class TrialRecord:
    """One trial replayed: the hidden value, the answer, the outcome and every query."""

    trial: int
    seed: int
    hidden: int | None
    answer: Any
    win: bool
    error: str | None
    error_kind: str | None
    transcripts: Mapping[str, tuple[tuple[Any, Any], ...]]


def describe_adversary(adversary: Any) -> tuple[str, dict[str, Any]]:
    """The adversary's registered name and its parameters."""
    params = attrs.asdict(adversary, recurse=False) if attrs.has(type(adversary)) else {}
    return name_of(adversary, ADVERSARIES), params
