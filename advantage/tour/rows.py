"""The tour's row format: what a row plays, what theory predicts, and what it may cost.

A row is data. :func:`play` and :func:`check` write one in a line, naming the game (or
proof) and the adversary as the command line spells them, parameters included
(``"otp key_reuse=true"``); :func:`domain` gives a list of rows its domain, the optional
module they need and their default budget, so that a domain adds its rows in one place
(:mod:`advantage.tour.catalogue`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from games.engine import Estimate
from oracles import InvalidArgument

__all__ = ["CheckRow", "Row", "agrees", "check", "domain", "play", "spelled"]

#: A row's budget when it names none: seconds on a slow two-core machine.
DEFAULT_BUDGET = 0.5


@attrs.frozen(kw_only=True)
class _Line:
    """What every row of the tour has: its adversary, what theory predicts and why, and
    what it may cost."""

    adversary: str
    expect: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    adversary_params: Mapping[str, Any] = attrs.field(factory=dict)
    trials: int = 2000
    needs: str | None = None  # a module the row imports, e.g. "torch"
    model: str | None = None  # the language model the row plays on, e.g. "tiny:0"
    why: str = ""
    domain: str = ""
    budget: float = DEFAULT_BUDGET
    full: bool = False


@attrs.frozen(kw_only=True)
class Row(_Line):
    """One line of the tour: a game, an adversary, what theory says, and how hard to look.

    ``expect``: "0" (the interval holds 0), "1" (its lower end is above 0.9), ">X" (lower end
    above X), "<X" (upper end below X), or a number the interval must hold. ``budget``: the
    seconds the row may take on a slow two-core machine (the tour reports a row over it);
    ``full``: played only with ``--full``.
    """

    game: str

    @property
    def subject(self) -> str:
        return spelled(self.game, self.params)


@attrs.frozen(kw_only=True)
class CheckRow(_Line):
    """One line of the tour that checks a proof against an adversary: the verdicts expected.

    ``expect`` lists the verdicts joined by ", " (``algorithm``, ``assumption:prf``,
    ``consistent``); ``params`` override the theorem game's parameters, as ``-p`` does. The
    other fields are those of :class:`Row`.
    """

    proof: str
    trials: int = 1000

    @property
    def subject(self) -> str:
        return "check " + spelled(self.proof, self.params)


def spelled(name: str, params: Mapping[str, Any]) -> str:
    """A name and its parameters as the command line and :func:`play` spell them."""
    return " ".join([name, *(f"{k}={_text(v)}" for k, v in params.items())])


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _value(text: str) -> Any:
    """``true``, ``false``, an integer, a number, or the text itself."""
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _parsed(spec: str) -> tuple[str, dict[str, Any]]:
    """``"otp key_reuse=true n=8"`` as ``("otp", {"key_reuse": True, "n": 8})``."""
    name, *items = spec.split()
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidArgument(f"tour row {spec!r}: {item!r} must look like key=value")
        params[key] = _value(value)
    return name, params


def play(game: str, adversary: str, expect: str, why: str = "", **fields: Any) -> Row:
    """An estimate row: ``play("otp key_reuse=true", "two-time-pad", "1", "why")``."""
    name, params = _parsed(game)
    return Row(game=name, params=params, **_common(adversary, expect, why), **fields)


def check(proof: str, adversary: str, expect: str, why: str = "", **fields: Any) -> CheckRow:
    """A check row: ``check("ctr-prf scheme=ctr-nonce-reuse", "nonce-reuse", "algorithm")``."""
    name, params = _parsed(proof)
    return CheckRow(proof=name, params=params, **_common(adversary, expect, why), **fields)


def _common(adversary: str, expect: str, why: str) -> dict[str, Any]:
    name, params = _parsed(adversary)
    return {"adversary": name, "adversary_params": params, "expect": expect, "why": why}


def domain(
    name: str,
    *rows: Row | CheckRow,
    needs: str | None = None,
    model: str | None = None,
    budget: float | None = None,
) -> list[Row | CheckRow]:
    """``rows`` as rows of domain ``name``, needing ``needs`` and playing on ``model``
    (unless a row names its own), with ``budget`` as the budget of the rows that keep the
    default."""

    def placed(row: Row | CheckRow) -> Row | CheckRow:
        changes: dict[str, Any] = {
            "domain": name,
            "needs": row.needs or needs,
            "model": row.model or model,
        }
        if budget is not None and row.budget == DEFAULT_BUDGET:
            changes["budget"] = budget
        return attrs.evolve(row, **changes)

    return [placed(row) for row in rows]


def agrees(expect: str, result: Estimate) -> bool:
    """Whether a measured interval agrees with what theory predicts."""
    if expect == "0":
        return result.ci_low <= 0 <= result.ci_high
    if expect == "1":
        return result.ci_low > 0.9
    if expect.startswith(">"):
        return result.ci_low > float(expect[1:])
    if expect.startswith("<"):
        return result.ci_high < float(expect[1:])
    target = float(expect)
    return result.ci_low <= target <= result.ci_high
