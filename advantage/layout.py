"""Tables and help text that read at any terminal width.

A column is never narrower than its longest token (a parameter such as
``key_reuse=true``, a name, an interval's end), so nothing is broken inside a token or
cut short. When the columns cannot all fit, each row is stacked instead: a heading line,
then its details under it, one labelled line each. A command's description is refilled to
the terminal's width, its paragraphs and examples kept.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Sequence

import attrs
from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

__all__ = ["Column", "Paragraphs", "Stacked", "column_widths", "fitted", "stacked"]

Cell = str | Text


@attrs.frozen
class Column:
    """A column: its header, how its cells are aligned, and whether they may wrap."""

    header: str
    justify: str = "left"
    wrap: bool = True


@attrs.frozen
class Stacked:
    """One row, stacked: a heading, what goes at the heading's right end, and its details
    as (label, value) lines."""

    heading: Text
    status: Text
    details: Sequence[tuple[str, Text]]


def _plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else cell


def _longest_token(text: str) -> int:
    return max((cell_len(token) for token in text.split()), default=0)


def _longest_line(text: str) -> int:
    return max((cell_len(line) for line in text.splitlines()), default=0)


def column_widths(
    columns: Sequence[Column], rows: Sequence[Sequence[Cell]], width: int
) -> list[int] | None:
    """Widths for a boxed table of ``rows`` within ``width`` cells in which no column is
    narrower than its longest token, or None when that cannot be."""
    texts = [[column.header, *(_plain(row[i]) for row in rows)] for i, column in enumerate(columns)]
    most = [max(map(_longest_line, cells)) for cells in texts]
    least = [
        most[i] if not column.wrap else max(map(_longest_token, cells))
        for i, (column, cells) in enumerate(zip(columns, texts, strict=True))
    ]
    free = width - (3 * len(columns) + 1) - sum(least)  # borders and a space each side
    if free < 0:
        return None
    lacking = [high - low for low, high in zip(least, most, strict=True)]
    # A column that lacks no more than an even share of the free cells gets all it lacks,
    # fewest first (an interval is kept on one line while long prose wraps); the columns
    # left share what remains in proportion to what they lack.
    grown = list(least)
    pending = sorted((i for i, lack in enumerate(lacking) if lack), key=lacking.__getitem__)
    while pending and lacking[pending[0]] <= free // len(pending):
        i = pending.pop(0)
        grown[i], free = most[i], free - lacking[i]
    rest = sum(lacking[i] for i in pending)
    for i in pending:
        grown[i] += lacking[i] * free // rest
    left = free - sum(grown[i] - least[i] for i in pending)
    for i in sorted(pending, key=lambda i: grown[i] - most[i])[:left]:
        grown[i] += 1
    return grown


def stacked(rows: Sequence[Stacked], title: Text | None = None) -> RenderableType:
    """Each row as its heading, then its details indented under it."""
    parts: list[RenderableType] = [title] if title is not None else []
    for row in rows:
        # A gap between the columns: a heading that fills its own would run into the status.
        head = Table.grid(expand=True, padding=(0, 1))
        head.add_column(overflow="fold", ratio=1)
        head.add_column(justify="right", no_wrap=True)
        head.add_row(row.heading, row.status)
        body = Table.grid(padding=(0, 1))
        body.add_column(no_wrap=True, width=1)
        body.add_column(no_wrap=True, style="dim")
        body.add_column(overflow="fold")
        for label, value in row.details:
            body.add_row("", label, value)
        parts += [head, body]
    return Group(*parts)


def fitted(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    width: int,
    *,
    title: str | Text | None = None,
    stack: Sequence[Stacked],
) -> RenderableType:
    """A table of ``rows`` within ``width`` when every column fits its longest token, else
    ``stack`` (the same rows, stacked)."""
    heading = Text(title, style="bold") if isinstance(title, str) else title
    widths = column_widths(columns, rows, width)
    if widths is None:
        return stacked(stack, heading)
    table = Table(title=heading)
    for column, size in zip(columns, widths, strict=True):
        table.add_column(Text(column.header), justify=column.justify, width=size, overflow="fold")  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*row)
    return table


class Paragraphs(argparse.RawDescriptionHelpFormatter):
    """Help whose description is wrapped at the terminal's width, its layout kept.

    Lines that start at the margin run on into one paragraph, refilled (their breaks were
    made for the source's columns); a blank line still parts paragraphs, and an indented
    line (an example's next command) keeps its own line, wrapped under its indentation.
    """

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines: list[str] = []
        for line in text.splitlines():
            last = lines[-1] if lines else ""
            if last and line and not last[0].isspace() and not line[0].isspace():
                lines[-1] = f"{last} {line}"
            else:
                lines.append(line)
        out: list[str] = []
        for line in lines:
            body = line.lstrip()
            lead = indent + line[: len(line) - len(body)]
            wrapped = textwrap.wrap(
                body,
                width,
                initial_indent=lead,
                subsequent_indent=lead,
                break_long_words=False,
                break_on_hyphens=False,
            )
            out.extend(wrapped or [""])
        return "\n".join(out)
