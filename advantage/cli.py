"""The `advantage` command: the Python API, from a shell."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

from advantage.common import add_import_option, import_requested, inline_game_params, invoked
from advantage.latex import add_standalone_option
from advantage.layout import Paragraphs
from oracles import InvalidArgument

__all__ = ["main", "parser"]

# Each module adds its subcommands with `add(subparsers)`; the order is the order of --help.
COMMANDS = (
    "advantage.run",
    "advantage.plan",
    "advantage.certify",
    "advantage.sweep",
    "advantage.check",
    "advantage.audit",
    "advantage.listing",
    "advantage.tour",
    "advantage.report",
    "advantage.lm",
)

# The subcommands that find games, adversaries, proofs or reductions by name: each takes
# --import (and reads $ADVANTAGE_IMPORT) to reach the user's own.
RESOLVING = ("run", "plan", "certify", "sweep", "check", "explain", "audit", "list")

DESCRIPTION = """\
Security games for AI defenses. Play a game many times against an adversary and read its
advantage with a confidence interval; check a proof's reduction to named assumptions.

Start with `advantage tour`, then `advantage list` to see the games and adversaries. Your own
game, adversary or reduction in a file: --import my_game.py (or $ADVANTAGE_IMPORT)."""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="advantage",
        description=DESCRIPTION,
        formatter_class=Paragraphs,
    )
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(name).add(sub)
    for command in RESOLVING:
        add_import_option(sub.choices[command])
    add_standalone_option(sub.choices["explain"])
    return top


#: The subcommands with --log, which keeps the finished chunks of an interrupted run.
LOGGED = ("run",)


def _interrupted(args: argparse.Namespace) -> str:
    """What is left of a command stopped by Ctrl-C: where --log kept the finished chunks,
    or (a command without --log) that nothing was kept."""
    if args.command not in LOGGED:
        return f"interrupted: nothing was kept (`advantage {args.command}` keeps no log)"
    if args.log:
        return (
            f"interrupted: the finished chunks are in {escape(args.log)}; rerun with --resume "
            "to continue"
        )
    return "interrupted: the finished chunks were not kept; no log was given (--log keeps them)"


def _seed(args: argparse.Namespace, argv: list[str]) -> None:
    """Give a run without --seed its seed, once, so that every part of the run shares it: a
    resumed run's own (the only seed that continues it), or 128 fresh random bits."""
    if getattr(args, "seed", 0) is not None:
        return
    seed = None
    if getattr(args, "resume", False) and getattr(args, "log", None):
        from games.engine.runlog import logged_seed

        seed = logged_seed(args.log)
    if seed is None:
        from games.engine.seeds import fresh_seed

        seed = fresh_seed()
    args.seed = seed
    argv += ["--seed", str(seed)]  # the command that reproduces the run names it


def _session(args: argparse.Namespace) -> contextlib.AbstractContextManager[None]:
    """One process pool or Ray instance for all the runs of a command."""
    if getattr(args, "backend", None) not in ("process", "ray"):
        return contextlib.nullcontext()
    from games.engine.backends import session

    return session()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    err = Console(stderr=True, highlight=False)
    try:
        _seed(args, argv)
        inline_game_params(args)
        if args.command in RESOLVING:
            import_requested(args)
        with invoked(argv), _session(args):
            return int(args.handler(args) or 0)
    except InvalidArgument as error:  # proof errors too: every bad input is one
        err.print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        err.print(_interrupted(args), soft_wrap=True)
        return 130
    except RuntimeError as error:
        from games.engine.backends import ChunkFailed

        if isinstance(error, ChunkFailed):
            err.print(f"[bold red]run failed:[/] {escape(str(error))}")
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
