"""The `advantage` command: the Python API, from a shell."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

from advantage.common import invoked
from oracles import InvalidArgument

__all__ = ["main", "parser"]

# Each module adds its subcommands with `add(subparsers)`; the order is the order of --help.
COMMANDS = (
    "advantage.run",
    "advantage.certify",
    "advantage.sweep",
    "advantage.check",
    "advantage.audit",
    "advantage.listing",
    "advantage.tour",
    "advantage.report",
)

DESCRIPTION = """\
Security games for AI defenses. Play a game many times against an adversary and read its
advantage with a confidence interval; check a proof's reduction to named assumptions.

Start with `advantage tour`, then `advantage list` to see the games and adversaries."""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="advantage",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(name).add(sub)
    return top


def _user_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [InvalidArgument]
    try:
        from proofs.errors import ProofError

        errors.append(ProofError)
    except ImportError:
        pass
    return tuple(errors)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    err = Console(stderr=True, highlight=False)
    try:
        with invoked(argv):
            return int(args.handler(args) or 0)
    except _user_errors() as error:
        err.print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        err.print(
            "interrupted: finished chunks are kept in the run log, if one was given (--resume continues)"
        )
        return 130
    except RuntimeError as error:
        from games.backends import ChunkFailed

        if isinstance(error, ChunkFailed):
            err.print(f"[bold red]run failed:[/] {escape(str(error))}")
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
