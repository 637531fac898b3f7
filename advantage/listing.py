"""`advantage list`: what games, adversaries and proofs are installed."""

from __future__ import annotations

import argparse

from rich.markup import escape
from rich.table import Table

from advantage.common import console, print_json
from games.registry import ADVERSARIES, GAMES, help_of, parameters
from oracles import InvalidArgument

__all__ = ["add"]

KINDS = ("games", "adversaries", "proofs")


def add(sub: argparse._SubParsersAction) -> None:
    listing = sub.add_parser(
        "list",
        help="list games, adversaries and proofs",
        description="List the registered games, adversaries and proofs with one-line descriptions. "
        "`advantage list games NAME` shows one game's parameters.",
    )
    listing.add_argument("kind", nargs="?", choices=KINDS, help="only this kind")
    listing.add_argument("name", nargs="?", help="show one entry's parameters")
    listing.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    listing.set_defaults(handler=list_command)


def _proofs() -> dict[str, str]:
    try:
        from proofs import catalogue, load
    except ImportError:
        return {}
    out = {}
    for name in catalogue():
        try:
            out[name] = load(name).title
        except Exception as error:  # a broken file is listed with its problem, not hidden
            out[name] = f"cannot be read: {error}"
    return out


def _registry(kind: str):  # type: ignore[no-untyped-def]
    return GAMES if kind == "games" else ADVERSARIES


def list_command(args: argparse.Namespace) -> int:
    if args.name:
        if args.kind not in ("games", "adversaries"):
            raise InvalidArgument("name a kind first: advantage list games NAME")
        return _detail(args.kind, args.name, args.json)
    kinds = [args.kind] if args.kind else list(KINDS)
    data: dict[str, list[dict[str, str]]] = {}
    for kind in kinds:
        if kind == "proofs":
            data[kind] = [{"name": n, "summary": s} for n, s in _proofs().items()]
            continue
        rows = []
        for entry in _registry(kind).entries():
            row = {"name": entry.name, "summary": entry.summary}
            if kind == "adversaries":
                row["games"] = ", ".join(entry.games) or "any"
            rows.append(row)
        data[kind] = rows
    if args.json:
        print_json(data)
        return 0
    for kind, rows in data.items():
        table = Table(title=kind, title_justify="left", title_style="bold")
        table.add_column("name", style="cyan", no_wrap=True)
        if kind == "adversaries":
            table.add_column("plays")
        table.add_column("description")
        for row in rows:
            cells = (
                [row["name"]] + ([row["games"]] if kind == "adversaries" else []) + [row["summary"]]
            )
            table.add_row(*map(escape, cells))
        console.print(table)
    return 0


def _detail(kind: str, name: str, as_json: bool) -> int:
    entry = _registry(kind).entry(name)
    cls = entry.load()
    fields = {k: f for k, f in parameters(cls).items() if not k.startswith("_")}
    if as_json:
        print_json(
            {
                "name": name,
                "doc": cls.__doc__ or "",
                "parameters": {k: help_of(f) for k, f in fields.items()},
            }
        )
        return 0
    console.print(f"[bold cyan]{name}[/]  {escape((cls.__doc__ or '').strip())}\n")
    table = Table(
        "parameter",
        "type",
        "meaning",
        title="parameters (-p KEY=VALUE)" if kind == "games" else "parameters (-a KEY=VALUE)",
    )
    for key, field in fields.items():
        kind_name = getattr(field.type, "__name__", str(field.type))
        table.add_row(key, escape(kind_name), escape(help_of(field)))
    console.print(table)
    return 0
