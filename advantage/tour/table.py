"""The tour's table: one row each, or stacked rows when the terminal is narrow."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import RenderableType
from rich.text import Text

from advantage.layout import Column, Stacked, fitted
from advantage.tour.playing import FAMILY_LEVEL, Outcome
from advantage.tour.rows import CheckRow, spelled
from games.stats.intervals import percent

__all__ = ["render", "title"]

COLUMNS = (
    Column("game"),
    Column("adversary"),
    Column("advantage [interval] or verdict"),
    Column("theory"),
    Column("ok", wrap=False),
    Column("s", justify="right", wrap=False),
)


def title(level: float, shown: int, catalogue: int) -> str:
    """What the intervals claim, together."""
    head = f"advantage tour: every row at {level:.2%} Clopper-Pearson, so "
    if shown == catalogue:
        return (
            head
            + f"the whole table holds at {percent(FAMILY_LEVEL)} (Bonferroni over {shown} rows)"
        )
    together = 1 - shown * (1 - level)
    return head + (
        f"these {shown} rows hold together at {together:.1%} (Bonferroni over the "
        f"catalogue's {catalogue} rows, which hold together at {percent(FAMILY_LEVEL)})"
    )


def _ok(outcome: Outcome) -> Text:
    if outcome.ok is None:
        return Text("skip")
    return Text("yes", style="green") if outcome.ok else Text("NO", style="red")


def _seconds(outcome: Outcome) -> Text:
    if outcome.elapsed is None:
        return Text("-")
    return Text(f"{outcome.elapsed:.1f}", style="yellow" if outcome.over_budget else "")


def _cells(outcome: Outcome) -> tuple[Text, Text, Text, Text]:
    row = outcome.row
    theory = f"{row.expect}: {row.why}" if row.why else row.expect
    return (
        Text(row.subject),
        Text(spelled(row.adversary, row.adversary_params)),
        Text(outcome.shown),
        Text(theory),
    )


def _stacked(outcome: Outcome) -> Stacked:
    game, adversary, shown, theory = _cells(outcome)
    label = "skipped" if outcome.ok is None else "verdict"
    if outcome.ok is not None and not isinstance(outcome.row, CheckRow):
        label = "advantage"
    status = _ok(outcome)
    if outcome.elapsed is not None:
        status += Text("  ") + _seconds(outcome) + Text(" s")
    heading = Text.assemble((game.plain, "bold"), " · ", (adversary.plain, "bold"))
    return Stacked(heading=heading, status=status, details=[(label, shown), ("theory", theory)])


def render(
    outcomes: Sequence[Outcome], *, level: float, catalogue: int, width: int
) -> RenderableType:
    """The table of ``outcomes`` within ``width`` cells (stacked when it cannot fit)."""
    rows = [[*_cells(o), _ok(o), _seconds(o)] for o in outcomes]
    return fitted(
        COLUMNS,
        rows,
        width,
        title=title(level, len(outcomes), catalogue),
        stack=[_stacked(o) for o in outcomes],
    )
