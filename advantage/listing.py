"""`advantage list`: what games, adversaries and proofs are installed, and one in detail."""

from __future__ import annotations

import argparse
import inspect
import re
from typing import Any

import attrs
from rich.text import Text

from advantage.common import add_json_option, console, print_json, subcommand
from advantage.layout import Column, Stacked, fitted
from games.registry import ADVERSARIES, GAMES, held, help_of, parameters

__all__ = ["add", "doc_text"]

KINDS = ("games", "adversaries", "proofs")

DESCRIPTION = """\
List the registered games, adversaries and proofs with one-line descriptions.
`advantage list games NAME` (or adversaries NAME) shows one entry's parameters;
`advantage list proofs NAME` shows a proof, as `advantage explain` does."""

# Docstrings are reStructuredText: ``literal``, :role:`target` (with ~ for its last part).
_LITERAL = re.compile(r"``(.+?)``")
_ROLE = re.compile(r":[\w:]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`")


_ITEM = re.compile(r"[-*•] |\d+[.)] ")  # a list item's first line


def _reflow(text: str) -> str:
    """The docstring's paragraphs each as one line, for the terminal to wrap at its width
    (its own breaks, made for the source's columns, would cut terminal lines in two). A list
    item stays an item (its indented continuation joins it) and an indented line (a
    formula) keeps its own line."""
    lines: list[str] = []
    for line in text.splitlines():
        last = lines[-1] if lines else ""
        joins = (
            last
            and line
            and not last[0].isspace()
            and not _ITEM.match(line)
            and (not line[0].isspace() or _ITEM.match(last))
        )
        if joins:
            lines[-1] = f"{last} {line.strip()}"
        else:
            lines.append(line)
    return "\n".join(lines)


def doc_text(text: str) -> Text:
    """A docstring as a terminal shows it: paragraphs reflowed, literals styled, roles as
    their target's name."""
    text = _ROLE.sub(lambda m: m.group(1).strip(), _reflow(inspect.cleandoc(text)))
    out = Text()
    at = 0
    for match in _LITERAL.finditer(text):
        out.append(text[at : match.start()])
        out.append(match.group(1), style="cyan")
        at = match.end()
    out.append(text[at:])
    return out


def add(sub: argparse._SubParsersAction) -> None:
    listing = subcommand(sub, "list", "list games, adversaries and proofs", DESCRIPTION)
    listing.add_argument("kind", nargs="?", choices=KINDS, help="only this kind")
    listing.add_argument("name", nargs="?", help="show this entry in detail")
    add_json_option(listing)
    listing.set_defaults(handler=list_command)


def _proofs() -> dict[str, str]:
    try:
        from proofs import catalogue, load
    except ImportError:
        return {}
    out = {}
    for name, path in catalogue().items():
        try:
            out[name] = load(path).title  # by path: the catalogue is scanned once, not per name
        except Exception as error:  # a broken file is listed with its problem, not hidden
            out[name] = f"cannot be read: {error}"
    return out


def _registry(kind: str):  # type: ignore[no-untyped-def]
    return GAMES if kind == "games" else ADVERSARIES


def _rows(kind: str) -> list[dict[str, Any]]:
    """One dict a name; an adversary's ``games`` is a list, empty when it plays any game."""
    if kind == "proofs":
        return [{"name": n, "summary": s} for n, s in _proofs().items()]
    rows = []
    for entry in _registry(kind).entries():
        row: dict[str, Any] = {"name": entry.name, "summary": entry.summary}
        if kind == "adversaries":
            row["games"] = list(entry.games)
        rows.append(row)
    return rows


def _plays(row: dict[str, Any]) -> Text:
    return Text(", ".join(row["games"]) or "any")


def list_command(args: argparse.Namespace) -> int:
    if args.name:
        if args.kind is None:
            from oracles import InvalidArgument

            raise InvalidArgument("name a kind first: advantage list games NAME")
        show = _proof if args.kind == "proofs" else _detail
        return show(args.kind, args.name, args.json)
    data = {kind: _rows(kind) for kind in ([args.kind] if args.kind else KINDS)}
    if args.json:
        print_json(data)
        return 0
    for kind, rows in data.items():
        console.print(_table(kind, rows))
    return 0


def _table(kind: str, rows: list[dict[str, Any]]) -> Any:
    plays = kind == "adversaries"
    columns = [
        Column("name", wrap=False),
        *([Column("plays")] if plays else []),
        Column("description"),
    ]
    cells = [
        [
            Text(row["name"], style="cyan"),
            *([_plays(row)] if plays else []),
            doc_text(row["summary"]),
        ]
        for row in rows
    ]
    stack = [
        Stacked(
            heading=Text(row["name"], style="bold cyan"),
            status=Text(""),
            details=[
                *([("plays", _plays(row))] if plays else []),
                ("", doc_text(row["summary"])),
            ],
        )
        for row in rows
    ]
    title = Text(kind, style="bold")
    return fitted(columns, cells, console.width, title=title, stack=stack)


def _type_name(field: attrs.Attribute) -> str:
    return getattr(field.type, "__name__", str(field.type))


def _parameter(field: attrs.Attribute) -> dict[str, Any]:
    """A parameter as the table shows it, as data: its type, default, help and choices."""
    default = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        default = "(computed)"  # made per instance, as the table says
    elif default is attrs.NOTHING:
        default = None
    choices = field.metadata.get("choices")
    return {
        "type": _type_name(field),
        "default": default,
        "help": field.metadata.get("help", ""),
        "choices": list(choices) if choices else None,
    }


def _detail(kind: str, name: str, as_json: bool) -> int:
    entry = _registry(kind).entry(name)
    cls = entry.load()
    fields = {k: f for k, f in parameters(cls).items() if not k.startswith("_")}
    fixed = {k: f.default for k, f in held(cls).items()}
    cost = getattr(cls, "cost_game", None) if kind == "games" else None
    if as_json:
        print_json(
            {
                "name": name,
                "doc": cls.__doc__ or "",
                "parameters": {k: _parameter(f) for k, f in fields.items()},
                "held": fixed,
                **({"cost_game": cost} if kind == "games" else {}),
            }
        )
        return 0
    console.print(Text.assemble((name, "bold cyan"), "  ", doc_text(cls.__doc__ or "")))
    console.print()
    if cost:
        console.print(
            f"cost game: {cost} (the defense's cost on honest input, with the parameters the "
            "two share: `advantage run --utility` plays it)"
        )
        console.print()
    if fixed:  # inherited parameters that play no part here: say so, since -p refuses them
        values = ", ".join(f"{k}={v!r}" for k, v in fixed.items())
        console.print(f"held, no parameters here: {values}")
        console.print()
    flag = "-p" if kind == "games" else "-a"
    if not fields:
        console.print(f"no parameters (nothing to set with {flag})")
        return 0
    rows = [
        [
            Text(key),
            Text(_type_name(field)),
            doc_text(help_of(field)),
        ]
        for key, field in fields.items()
    ]
    stack = [
        Stacked(heading=Text(r[0].plain, style="bold"), status=r[1], details=[("", r[2])])
        for r in rows
    ]
    columns = [Column("parameter", wrap=False), Column("type", wrap=False), Column("meaning")]
    title = f"parameters ({flag} KEY=VALUE)"
    console.print(fitted(columns, rows, console.width, title=title, stack=stack))
    return 0


def _proof(kind: str, name: str, as_json: bool) -> int:
    """A proof, as `advantage explain` shows it."""
    import proofs

    proof = proofs.load(name)
    width = max(40, min(console.width, 120))
    text = proofs.explain(proof, "text", width=width)
    if as_json:
        print_json({"name": proof.name, "title": proof.title, "explanation": text})
        return 0
    console.print(Text(text.rstrip("\n")), soft_wrap=True)
    return 0
