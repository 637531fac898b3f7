"""`advantage tour`: every built-in game against its matching and trivial adversaries.

Each row states what theory predicts and says whether the measured interval agrees, so the
tour doubles as a smoke test of the whole catalogue. It grows as domains are added.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from rich.markup import escape
from rich.table import Table

from advantage.common import console, print_json
from games.engine import Estimate, estimate
from games.registry import ADVERSARIES, GAMES

__all__ = ["ROWS", "Row", "add", "agrees"]


@attrs.frozen(kw_only=True)
class Row:
    """One line of the tour: a game, an adversary, what theory says, and how hard to look."""

    game: str
    adversary: str
    expect: str  # "0" (interval holds 0), "1" (lower end > 0.9), ">0", or a number it must hold
    params: Mapping[str, Any] = attrs.field(factory=dict)
    adversary_params: Mapping[str, Any] = attrs.field(factory=dict)
    trials: int = 2000
    needs: str | None = None  # a module the row imports, e.g. "torch"
    why: str = ""


ROWS: list[Row] = [
    Row(game="otp", adversary="guess", expect="0", why="a guess learns nothing"),
    Row(game="otp", adversary="two-time-pad", expect="0", why="fresh keys: perfect secrecy"),
    Row(game="otp", adversary="two-time-pad", params={"key_reuse": True}, expect="1",
        why="a reused key cancels out"),
]

# Commands other than `run` (a proof check, say) add rows of their own here:
# name -> function(quick) returning (label, measured, expected, agrees, seconds).
EXTRA: dict[str, Callable[[], tuple[str, str, str, bool, float]]] = {}


def agrees(expect: str, result: Estimate) -> bool:
    """Whether a measured interval agrees with what theory predicts."""
    if expect == "0":
        return result.ci_low <= 0 <= result.ci_high
    if expect == "1":
        return result.ci_low > 0.9
    if expect == ">0":
        return result.ci_low > 0
    target = float(expect)
    return result.ci_low <= target <= result.ci_high


def add(sub: argparse._SubParsersAction) -> None:
    tour = sub.add_parser(
        "tour", help="play every built-in game against its matching and trivial adversaries",
        description="Play each built-in game against the adversary that breaks it and against a "
        "trivial one, and print one table of advantages with 95%% Clopper-Pearson intervals next to "
        "what theory predicts. Rows that need an optional extra say how to enable them.",
    )
    tour.add_argument("--seed", type=int, default=0, help="seed of every row (default: 0)")
    tour.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    tour.set_defaults(handler=tour_command)


def _label(name: str, params: Mapping[str, Any]) -> str:
    return name + "".join(f" {k}={v}" for k, v in params.items())


FAMILY_LEVEL = 0.95


def tour_command(args: argparse.Namespace) -> int:
    rows = len(ROWS) + len(EXTRA)
    # The table claims every row agrees with theory at once, so each interval gets its share of
    # the error budget (Bonferroni): the family of rows holds at FAMILY_LEVEL.
    level = 1 - (1 - FAMILY_LEVEL) / rows
    table = Table(
        title=f"advantage tour: {level:.2%} Clopper-Pearson intervals "
        f"(Bonferroni over {rows} rows: {FAMILY_LEVEL:.0%} for the whole table)",
        title_style="bold",
    )
    table.add_column("game", overflow="fold")
    table.add_column("adversary", overflow="fold")
    table.add_column("advantage [interval]", no_wrap=True)
    table.add_column("theory")
    table.add_column("ok", no_wrap=True)
    table.add_column("s", justify="right", no_wrap=True)
    records = []
    failures = 0
    for row in ROWS:
        game_label, adv_label = _label(row.game, row.params), _label(row.adversary, row.adversary_params)
        theory = f"{row.expect}: {row.why}" if row.why else row.expect
        if row.needs and importlib.util.find_spec(row.needs) is None:
            hint = f"needs {row.needs}: pip install -e '.[ml]'"
            table.add_row(escape(game_label), escape(adv_label), escape(hint), escape(theory), "skip", "-")
            records.append({"game": game_label, "adversary": adv_label, "skipped": hint})
            continue
        started = time.perf_counter()
        game = GAMES.get(row.game)(**row.params)
        adversary = ADVERSARIES.get(row.adversary)(**row.adversary_params)
        result = estimate(game, adversary, trials=row.trials, seed=args.seed, level=level)
        ok = agrees(row.expect, result)
        failures += not ok
        table.add_row(
            escape(game_label), escape(adv_label),
            escape(f"{result.advantage:+.3f} [{result.ci_low:+.3f}, {result.ci_high:+.3f}]"),
            escape(theory), "[green]yes[/]" if ok else "[red]NO[/]", f"{time.perf_counter() - started:.1f}",
        )
        records.append({**result.to_json(), "expect": row.expect, "agrees": ok})
    for name, play in EXTRA.items():
        label, measured, expected, ok, seconds = play()
        failures += not ok
        table.add_row(escape(name), escape(label), escape(measured), escape(expected),
                      "[green]yes[/]" if ok else "[red]NO[/]", f"{seconds:.1f}")
        records.append({"check": name, "label": label, "measured": measured, "expect": expected, "agrees": ok})
    if args.json:
        print_json({"rows": records, "level": level, "family_level": FAMILY_LEVEL, "disagreements": failures})
    else:
        console.print(table)
        if failures:
            console.print(f"[red]{failures} row(s) disagree with theory[/]")
    return 1 if failures else 0
