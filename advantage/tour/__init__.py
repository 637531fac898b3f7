"""`advantage tour`: every built-in game against its matching and trivial adversaries, and
the verdicts of the proof checker on a planted bug, a broken assumption and a sound scheme.

Each row states what theory predicts and says whether the measurement agrees, so the tour
doubles as a smoke test of the whole catalogue. The rows are data, one block per domain
(:mod:`advantage.tour.catalogue`); :mod:`~advantage.tour.playing` plays them and
:mod:`~advantage.tour.table` lays them out for the terminal.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table
from rich.text import Text

from advantage.common import add_json_option, console, print_json, stderr, subcommand
from advantage.tour.catalogue import DOMAINS, ROWS, TARGET, birthday, gaussians_robust_error
from advantage.tour.playing import FAMILY_LEVEL, Outcome, level, play_rows, select
from advantage.tour.rows import CheckRow, Row, agrees, check, domain, play, spelled
from advantage.tour.table import render

__all__ = [
    "DOMAINS",
    "FAMILY_LEVEL",
    "ROWS",
    "TARGET",
    "CheckRow",
    "Row",
    "add",
    "agrees",
    "birthday",
    "check",
    "domain",
    "gaussians_robust_error",
    "play",
]

DESCRIPTION = """\
Play each built-in game against the adversary that breaks it and against a trivial one,
and check proofs against a sound scheme, a planted bug and a broken assumption; print one
table of advantages and verdicts next to what theory predicts. Every row's interval is at
the level that makes all the catalogue's rows hold together at 95% (Bonferroni; a check row
splits its share over its own intervals), so a row's result does not depend on which rows
are played with it. Rows that need an optional extra say how to enable it; slower
demonstrations are played with --full.

Examples: advantage tour --list
          advantage tour --only crypto --only privacy"""


def add(sub: argparse._SubParsersAction) -> None:
    help = "play every built-in game against its matching and trivial adversaries"
    tour = subcommand(sub, "tour", help, DESCRIPTION)
    tour.add_argument("--seed", type=int, default=0, help="seed of every row (default: 0)")
    tour.add_argument(
        "--only",
        action="append",
        metavar="DOMAIN",
        help=f"play only this domain's rows (repeatable): {', '.join(DOMAINS)}",
    )
    tour.add_argument("--full", action="store_true", help="also play the slower demonstrations")
    tour.add_argument(
        "--list", action="store_true", help="list the rows (and their budgets) without playing"
    )
    add_json_option(tour)
    tour.set_defaults(handler=tour_command)


def _list(rows: list[Row | CheckRow], as_json: bool) -> int:
    entries = [
        {
            "domain": row.domain,
            "game": row.subject,
            "adversary": spelled(row.adversary, row.adversary_params),
            "expect": row.expect,
            "trials": row.trials,
            "budget": row.budget,
            "full": row.full,
            "needs": row.needs,
            "model": row.model,
        }
        for row in rows
    ]
    if as_json:
        print_json({"rows": entries, "budget": sum(row.budget for row in rows)})
        return 0
    for domain_name in dict.fromkeys(row.domain for row in rows):
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=1)
        grid.add_column(overflow="fold", ratio=1)
        grid.add_column(no_wrap=True, style="dim")
        for row in rows:
            if row.domain == domain_name:
                adversary = spelled(row.adversary, row.adversary_params)
                extra = ", --full" if row.full else ""
                grid.add_row(
                    "",
                    Text(f"{row.subject} · {adversary}: {row.expect}"),
                    f"{row.trials} trials, {row.budget:g} s{extra}",
                )
        console.print(Text(domain_name, style="bold"))
        console.print(grid)
    total = sum(row.budget for row in rows if not row.full)
    console.print(f"{len(rows)} rows; the default ones have a budget of {total:g} s together")
    return 0


class _Progress:
    """A row at a time on stderr: a live line on a terminal, one line per row elsewhere
    (so that a piped or logged tour is never silent). With ``--json`` (``as_json``) only a
    terminal gets it, as with :func:`advantage.common.progress`: the live line leaves no
    trace, and a pipe that may carry stderr into the JSON stays clean."""

    def __init__(self, total: int, *, as_json: bool = False) -> None:
        self.total = total
        self.live = stderr.is_terminal
        self.plain = not self.live and not as_json
        self.status: Any = None

    def __call__(self, i: int, row: Row | CheckRow, outcome: Outcome | None) -> None:
        what = f"[{i + 1}/{self.total}] {row.subject} · {row.adversary}"
        if outcome is None:
            if self.live:
                if self.status is None:
                    self.status = stderr.status(Text(what))
                    self.status.start()
                self.status.update(Text(what))
            return
        if self.plain:
            took = "skipped" if outcome.elapsed is None else f"{outcome.elapsed:.1f} s"
            ok = {True: "agrees", False: "DISAGREES", None: "skipped"}[outcome.ok]
            stderr.print(Text(f"{what}: {ok}, {took}"), soft_wrap=True)

    def stop(self) -> None:
        if self.status is not None:
            self.status.stop()


def tour_command(args: argparse.Namespace) -> int:
    rows = select(ROWS, only=args.only or (), full=args.full)
    if args.list:
        return _list(rows, args.json)
    each = level(len(ROWS))
    progress = _Progress(len(rows), as_json=args.json)
    try:
        outcomes = play_rows(rows, seed=args.seed, level=each, progress=progress)
    finally:
        progress.stop()
    failures = sum(outcome.ok is False for outcome in outcomes)
    if args.json:
        print_json(
            {
                "rows": [outcome.record for outcome in outcomes],
                "level": each,
                "family_level": 1 - len(rows) * (1 - each)
                if len(rows) < len(ROWS)
                else FAMILY_LEVEL,
                "disagreements": failures,
            }
        )
        return 1 if failures else 0
    console.print(render(outcomes, level=each, catalogue=len(ROWS), width=console.width))
    _summary(outcomes, failures)
    return 1 if failures else 0


def _summary(outcomes: list[Outcome], failures: int) -> None:
    played = [o for o in outcomes if o.elapsed is not None]
    took = sum(o.elapsed or 0 for o in played)
    budget = sum(o.row.budget for o in played)
    line = f"{len(played)} rows played in {took:.0f} s (their budgets: {budget:g} s on a slow two-core machine)"
    over = [o for o in played if o.over_budget]
    if over:
        line += f"; {len(over)} over budget (their seconds in yellow)"
    console.print(line)
    if failures:
        console.print(f"[red]{failures} row(s) disagree with theory[/]")
